package jwtaudit

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// b64 is the only encoding a compact JWS may use (RFC 7515 §2): base64url
// without padding. Strict also refuses non-zero trailing bits, so that each
// token has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// base64urlByte is 1 for the bytes a compact segment may contain and 0
// for the others.
var base64urlByte = func() (t [256]byte) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = 1
	}
	return t
}()

// compactParts is a compact JWS split into its decoded parts. token is
// the verifier's one copy of its input; signingInput is its
// "header.payload" prefix, over which the signature is computed.
type compactParts struct {
	token        []byte
	signingInput []byte
	header       []byte
	payload      []byte
	signature    []byte
}

// splitCompact checks that raw is exactly three base64url segments and
// decodes them. The strict decoder refuses every byte outside the
// alphabet except '\r' and '\n', which Go's base64 skips even in strict
// mode: those are looked for first, since a token must have a single
// spelling. Padding, the standard alphabet's '+' and '/', white space, a
// JWE's five segments and the JSON serialization all fail here.
func splitCompact(raw string) (compactParts, error) {
	var p compactParts
	// The dots and line breaks are found with IndexByte, which does not
	// look at one byte at a time; the decoder checks the alphabet. Only a
	// malformed token is scanned byte by byte, for a message that says
	// where.
	d0 := strings.IndexByte(raw, '.')
	d1 := d0 + 1 + strings.IndexByte(raw[d0+1:], '.')
	if d0 <= 0 || d1 <= d0 || strings.IndexByte(raw[d1+1:], '.') >= 0 ||
		strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return p, malformed(raw, nil)
	}

	// One buffer holds the copy of the input and its three decoded parts.
	// The Token keeps the payload, so the buffer is not pooled.
	h, pl, s := raw[:d0], raw[d0+1:d1], raw[d1+1:]
	hl, pll, sl := b64.DecodedLen(len(h)), b64.DecodedLen(len(pl)), b64.DecodedLen(len(s))
	buf := make([]byte, len(raw), len(raw)+hl+pll+sl)
	copy(buf, raw)
	p.token, p.signingInput = buf, buf[:d1]
	rest := buf[len(raw):]
	var err error
	if p.header, err = decodeSegment(rest[:0:hl], p.token[:d0]); err != nil {
		return p, malformed(raw, fmt.Errorf("header: %w", err))
	}
	if p.payload, err = decodeSegment(rest[hl:hl:hl+pll], p.token[d0+1:d1]); err != nil {
		return p, malformed(raw, fmt.Errorf("payload: %w", err))
	}
	if p.signature, err = decodeSegment(rest[hl+pll:hl+pll], p.token[d1+1:]); err != nil {
		return p, malformed(raw, fmt.Errorf("signature: %w", err))
	}
	return p, nil
}

// malformed says what is wrong with a token that splitCompact refused: a
// byte outside the alphabet or a wrong number of segments, found by
// scanning it, or else decodeErr, or else an empty header.
func malformed(raw string, decodeErr error) error {
	n := 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '.':
			if n == 2 {
				return fmt.Errorf("more than three segments")
			}
			n++
		case base64urlByte[c] == 0:
			return fmt.Errorf("byte %d is not base64url", i)
		}
	}
	if n != 2 {
		return fmt.Errorf("%d segments, a compact JWS has three", n+1)
	}
	if decodeErr != nil {
		return decodeErr
	}
	// An empty signature is left to the signature check, which refuses it:
	// that is what it is, an unsigned token. An empty payload is left to
	// the claims decoder: signed, it is an issuer's mistake, not garbage.
	return fmt.Errorf("empty header")
}

func decodeSegment(dst, src []byte) ([]byte, error) {
	out, err := b64.AppendDecode(dst, src)
	if err != nil {
		return nil, fmt.Errorf("invalid base64url")
	}
	return out, nil
}
