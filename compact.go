package jwtaudit

import (
	"encoding/base64"
	"fmt"
)

// b64 is the only encoding a compact JWS may use (RFC 7515 §2): base64url
// without padding. Strict also refuses non-zero trailing bits, so that each
// token has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// base64urlAlphabet marks the bytes a compact segment may contain.
var base64urlAlphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

// compactParts is a compact JWS split into its decoded parts. signingInput
// is the "header.payload" prefix of the token, over which the signature is
// computed.
type compactParts struct {
	signingInput []byte
	header       []byte
	payload      []byte
	signature    []byte
}

// splitCompact checks that raw is exactly three base64url segments and
// decodes them. It scans every byte itself before decoding because Go's
// base64 decoder skips '\r' and '\n' even in strict mode, and a token must
// have a single spelling. Padding, the standard alphabet's '+' and '/',
// white space, a JWE's five segments and the JSON serialization all fail
// here.
func splitCompact(raw []byte) (compactParts, error) {
	var p compactParts
	dots := [2]int{}
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '.' {
			if n == 2 {
				return p, fmt.Errorf("more than three segments")
			}
			dots[n] = i
			n++
			continue
		}
		if !base64urlAlphabet[c] {
			return p, fmt.Errorf("byte %d is not base64url", i)
		}
	}
	if n != 2 {
		return p, fmt.Errorf("%d segments, a compact JWS has three", n+1)
	}
	h, pl, s := raw[:dots[0]], raw[dots[0]+1:dots[1]], raw[dots[1]+1:]
	// An empty signature is left to the signature check, which refuses it:
	// that is what it is, an unsigned token.
	if len(h) == 0 || len(pl) == 0 {
		return p, fmt.Errorf("empty header or payload")
	}

	// One buffer for the three decoded parts; the payload stays referenced
	// by the Token, so the buffer is not pooled.
	hl, pll, sl := b64.DecodedLen(len(h)), b64.DecodedLen(len(pl)), b64.DecodedLen(len(s))
	buf := make([]byte, hl+pll+sl)
	var err error
	if p.header, err = decodeSegment(buf[:0:hl], raw[:dots[0]]); err != nil {
		return p, fmt.Errorf("header: %w", err)
	}
	if p.payload, err = decodeSegment(buf[hl:hl:hl+pll], raw[dots[0]+1:dots[1]]); err != nil {
		return p, fmt.Errorf("payload: %w", err)
	}
	if p.signature, err = decodeSegment(buf[hl+pll:hl+pll], raw[dots[1]+1:]); err != nil {
		return p, fmt.Errorf("signature: %w", err)
	}
	p.signingInput = raw[:dots[1]]
	return p, nil
}

func decodeSegment(dst, src []byte) ([]byte, error) {
	out, err := b64.AppendDecode(dst, src)
	if err != nil {
		return nil, fmt.Errorf("invalid base64url")
	}
	return out, nil
}
