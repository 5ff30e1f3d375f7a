package jwtaudit

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// This file reads a DPoP proof (RFC 9449 §4.2) and runs the checks of
// §4.3 that need nothing but the proof and the request. The binding to an
// access token and the proof's single use are dpop.go's.

// proofType is the "typ" every DPoP proof carries (RFC 9449 §4.2).
const proofType = "dpop+jwt"

// maxProofSize bounds a proof before it is decoded: an RSA-4096 key in the
// header makes a proof of about 1.5 KiB.
const maxProofSize = 8 << 10

// maxProofID bounds the "jti" a replay store is asked to remember.
const maxProofID = 256

// proofHeader is what a proof's protected header says.
type proofHeader struct {
	typ, alg []byte
	jwk      []byte // the raw JSON object
}

// proofClaims is what a proof's payload says.
type proofClaims struct {
	id, method, uri, ath, nonce string
	issuedAt                    time.Time
	hasIssuedAt                 bool
}

// readProof splits, decodes and authenticates a proof: strict compact
// form, header, an allowed asymmetric "alg", a public "jwk" of that
// algorithm, the signature, and a payload with its required claims.
// It returns the claims and the thumbprint of the proof's key.
func (d *DPoP) readProof(proof string) (proofClaims, Algorithm, string, error) {
	var c proofClaims
	if len(proof) > maxProofSize {
		return c, "", "", fmt.Errorf("%d bytes, the limit is %d", len(proof), maxProofSize)
	}
	parts, err := splitCompact(proof)
	if err != nil {
		return c, "", "", errors.New("not a compact JWS")
	}
	h, err := decodeProofHeader(parts.header)
	if err != nil {
		return c, "", "", fmt.Errorf("header: %w", err)
	}
	if string(h.typ) != proofType {
		return c, "", "", fmt.Errorf("typ %q, not %q", clip(string(h.typ)), proofType)
	}
	alg, known := lookupAlgorithm(h.alg)
	if string(h.alg) == string(proofEd25519) {
		alg, known = EdDSA, true // RFC 9864's name for EdDSA over Ed25519
	}
	if !known || !d.algorithms.allows(alg) {
		return c, "", "", fmt.Errorf("alg %q is not accepted for proofs", clip(string(h.alg)))
	}
	if h.jwk == nil {
		return c, "", "", errors.New(`no "jwk" header`)
	}
	key, err := d.keys.key(h.jwk, alg)
	if err != nil {
		return c, "", "", fmt.Errorf("jwk: %w", err)
	}
	if err := key.verify(parts.signingInput, parts.signature); err != nil {
		return c, "", "", errors.New("the signature does not verify with the header's jwk")
	}
	if c, err = decodeProofClaims(parts.payload); err != nil {
		return c, "", "", fmt.Errorf("payload: %w", err)
	}
	return c, alg, key.id, nil
}

// decodeProofHeader reads a proof's header strictly: no member twice, even
// up to case; no "crit" or "b64"; "typ" and "alg" strings; "jwk" an object.
// Other members ("kid", "x5c") are skipped: the key is the "jwk".
func decodeProofHeader(data []byte) (proofHeader, error) {
	var h proofHeader
	var names jsonx.MemberNames
	r := jsonx.Reader{Data: data}
	if err := r.BeginObject(); err != nil {
		return h, err
	}
	for first := true; ; first = false {
		name, more, err := r.NextMember(first)
		if err != nil {
			return h, err
		}
		if !more {
			break
		}
		if err := names.Add(name); err != nil {
			return h, err
		}
		switch string(name) {
		case "typ":
			h.typ, err = r.StringBytes()
		case "alg":
			h.alg, err = r.StringBytes()
		case "jwk":
			if r.Peek() != '{' {
				return h, errors.New(`"jwk" is not a JSON object`)
			}
			start := r.Pos
			err = r.Skip(0)
			h.jwk = data[start:r.Pos]
		case "crit", "b64":
			return h, fmt.Errorf("header %q is not supported", name)
		default:
			err = r.Skip(0)
		}
		if err != nil {
			return h, fmt.Errorf("%q: %w", clip(string(name)), err)
		}
	}
	return h, r.Finish()
}

// proofKeys remembers the keys of recent proofs by their JWK's exact
// bytes: a client signs all its proofs with one key, and parsing its JWK
// and computing its thumbprint each time would cost a fifth of a proof's
// check. The same bytes always make the same key, so a hit is as good as
// a parse. At most maxProofKeys are kept; when full it starts again.
type proofKeys struct {
	mu   sync.Mutex
	keys map[string]*Key // by alg, a NUL and the JWK's bytes
}

const maxProofKeys = 1024

func (c *proofKeys) key(raw []byte, alg Algorithm) (*Key, error) {
	name := make([]byte, 0, len(alg)+1+len(raw))
	name = append(append(append(name, alg...), 0), raw...)
	c.mu.Lock()
	k, ok := c.keys[string(name)]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := proofKey(raw, alg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxProofKeys {
		c.keys = make(map[string]*Key)
	}
	c.keys[string(name)] = k
	c.mu.Unlock()
	return k, nil
}

// privateJWKMembers are the JWK members that carry private material (RFC
// 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2): a proof's key must have none.
var privateJWKMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// proofKey makes the Key of a proof's "jwk": a public key of alg's family,
// held to the checks of NewKey, whose id is its RFC 7638 thumbprint.
func proofKey(raw []byte, alg Algorithm) (k *Key, err error) {
	defer func() {
		if p := recover(); p != nil { // the bytes come from the network
			k, err = nil, errors.New("the JWK could not be parsed (parser panic)")
		}
	}()
	r := jsonx.Reader{Data: raw}
	if err := r.BeginObject(); err != nil {
		return nil, err
	}
	var names jsonx.MemberNames
	for first := true; ; first = false {
		name, more, err := r.NextMember(first)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		if err := names.Add(name); err != nil {
			return nil, err
		}
		for _, p := range privateJWKMembers {
			if string(name) == p {
				return nil, fmt.Errorf("private member %q: a proof's key must be public", p)
			}
		}
		if err := r.Skip(0); err != nil {
			return nil, err
		}
	}
	jk, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, tidyJWX(err)
	}
	if jk.KeyType() == jwa.OctetSeq() {
		return nil, errors.New("a symmetric key")
	}
	if a, ok := jk.Algorithm(); ok && a.String() != string(alg) {
		return nil, fmt.Errorf("the key's alg %q is not the proof's %s", clip(a.String()), alg)
	}
	var public any
	if err := jwk.Export(jk, &public); err != nil {
		return nil, tidyJWX(err)
	}
	// An empty id makes newKey name the key by its thumbprint.
	return newKey("", alg, public)
}

// decodeProofClaims reads a proof's payload strictly: no member twice,
// even up to case; "jti", "htm", "htu", "ath" and "nonce" strings, "iat" a
// NumericDate. Other members are skipped.
func decodeProofClaims(data []byte) (proofClaims, error) {
	var c proofClaims
	var names jsonx.MemberNames
	r := jsonx.Reader{Data: data}
	if err := r.BeginObject(); err != nil {
		return c, err
	}
	for first := true; ; first = false {
		name, more, err := r.NextMember(first)
		if err != nil {
			return c, err
		}
		if !more {
			break
		}
		if err := names.Add(name); err != nil {
			return c, err
		}
		switch string(name) {
		case "jti":
			c.id, err = r.String()
		case "htm":
			c.method, err = r.String()
		case "htu":
			c.uri, err = r.String()
		case "ath":
			c.ath, err = r.String()
		case "nonce":
			c.nonce, err = r.String()
		case "iat":
			c.issuedAt, err = readDate(&r)
			c.hasIssuedAt = true
		default:
			err = r.Skip(0)
		}
		if err != nil {
			return c, fmt.Errorf("claim %q: %w", clip(string(name)), err)
		}
	}
	if err := r.Finish(); err != nil {
		return c, err
	}
	switch {
	case c.id == "":
		return c, errors.New(`no "jti"`)
	case len(c.id) > maxProofID:
		return c, fmt.Errorf(`"jti" of %d bytes, the limit is %d`, len(c.id), maxProofID)
	case c.method == "":
		return c, errors.New(`no "htm"`)
	case c.uri == "":
		return c, errors.New(`no "htu"`)
	case !c.hasIssuedAt:
		return c, errors.New(`no "iat"`)
	}
	return c, nil
}

// accessTokenHash is "ath" for an access token (RFC 9449 §4.2): the
// base64url SHA-256 of its ASCII bytes.
func accessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// isThumbprint reports whether s is a base64url SHA-256 digest without
// padding: 43 characters of the alphabet, the last of which leaves no
// stray bits.
func isThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	var sum [32]byte
	n, err := b64.Decode(sum[:], []byte(s))
	return err == nil && n == 32
}

// htuOf is a URI as RFC 9449 §4.3 compares it: without query and
// fragment, after the syntax-based normalization of RFC 3986 §6.2.2 and
// the scheme-based one of §6.2.3 (scheme and host in lower case, the
// default port dropped, an empty path as "/", percent-encodings in upper
// case and of unreserved characters decoded). ok is false for what is
// not an absolute http or https URI.
func htuOf(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "https" && scheme != "http") || u.Host == "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	path := normalizePercents(u.EscapedPath())
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// normalizePercents upper-cases the hex digits of percent-encodings and
// decodes those of unreserved characters (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizePercents(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			b.WriteByte(p[i])
			continue
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteString(strings.ToUpper(p[i : i+3]))
		}
		i += 2
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// isUnreserved reports whether c is an RFC 3986 §2.3 unreserved character.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
