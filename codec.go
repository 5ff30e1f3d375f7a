package jwtaudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// rawHeader is a protected header as read, its values still bytes: the
// verifier matches them against its keys and configuration without
// allocating, and makes strings only of what it keeps.
type rawHeader struct {
	alg, kid, typ, cty []byte
	hasKid, hasTyp     bool
}

// decodeHeader reads a protected header strictly. It refuses what this
// verifier cannot honour: "crit" (RFC 7515 §4.1.11 makes unknown extensions
// fatal), "b64" (RFC 7797 unencoded payloads), and "enc" or "zip" (a JWE).
// Members that would name another key ("jwk", "jku", "x5u", "x5c") are
// skipped unread: the key comes from the configuration alone.
func decodeHeader(data []byte) (rawHeader, error) {
	var h rawHeader
	var seen [4]bool // alg kid typ cty
	r := jsonReader{data: data}
	if err := r.beginObject(); err != nil {
		return h, err
	}
	for first := true; ; first = false {
		name, more, err := r.nextMember(first)
		if err != nil {
			return h, err
		}
		if !more {
			break
		}
		var dst *[]byte
		switch string(name) {
		case "alg":
			dst, err = &h.alg, once(&seen[0], name)
		case "kid":
			dst, err, h.hasKid = &h.kid, once(&seen[1], name), true
		case "typ":
			dst, err, h.hasTyp = &h.typ, once(&seen[2], name), true
		case "cty":
			dst, err = &h.cty, once(&seen[3], name)
		case "crit", "b64":
			return h, fmt.Errorf("header %q is not supported", name)
		case "enc", "zip":
			return h, errors.New("a JWE is not a signed token")
		default:
			if err = r.skip(0); err != nil {
				return h, err
			}
			continue
		}
		if err != nil {
			return h, err
		}
		if *dst, err = r.stringBytes(); err != nil {
			return h, fmt.Errorf("header %q: %w", name, err)
		}
	}
	return h, r.finish()
}

// lookupAlgorithm returns the supported algorithm spelled exactly b.
func lookupAlgorithm(b []byte) (Algorithm, bool) {
	for _, a := range allAlgorithms {
		if string(b) == string(a) {
			return a, true
		}
	}
	return "", false
}

// once marks a member as seen and refuses a second one: with duplicates, two
// parsers could disagree about which value a token carries.
func once(seen *bool, name []byte) error {
	if *seen {
		return fmt.Errorf("duplicate member %q", name)
	}
	*seen = true
	return nil
}

// decodeClaims reads a claims set strictly into Claims. Registered claims
// must have their RFC 7519 types: NumericDate as a JSON number (a string such
// as "2030-01-01T00:00:00Z" is refused), "aud" as a string or an array of
// strings. Registered names may appear once. For each name of watch found
// among the other members, the bit of its index is set in found, which is
// how required private claims are checked without decoding them; when spans
// is not nil (it then has one element per watched name), the position of
// the member's raw JSON value is kept there too. A string equal to one of
// known is returned as that string, without allocating: the verifier
// passes the issuer and audiences it expects.
func decodeClaims(data []byte, watch []string, spans []valueSpan, known []string) (c Claims, found uint64, err error) {
	var seen [len(registeredClaims)]bool
	r := jsonReader{data: data}
	if err := r.beginObject(); err != nil {
		return c, 0, err
	}
	for first := true; ; first = false {
		name, more, err := r.nextMember(first)
		if err != nil {
			return c, found, err
		}
		if !more {
			break
		}
		switch string(name) {
		case "iss":
			if err = once(&seen[0], name); err == nil {
				c.Issuer, err = r.knownString(known)
			}
		case "sub":
			if err = once(&seen[1], name); err == nil {
				c.Subject, err = r.knownString(known)
			}
		case "aud":
			if err = once(&seen[2], name); err == nil {
				c.Audience, err = r.stringOrStrings(known)
			}
		case "exp":
			if err = once(&seen[3], name); err == nil {
				c.ExpiresAt, err = r.date()
			}
		case "nbf":
			if err = once(&seen[4], name); err == nil {
				c.NotBefore, err = r.date()
			}
		case "iat":
			if err = once(&seen[5], name); err == nil {
				c.IssuedAt, err = r.date()
			}
		case "jti":
			if err = once(&seen[6], name); err == nil {
				c.ID, err = r.string()
			}
		default:
			start := r.pos
			err = r.skip(0)
			for i, w := range watch {
				if w == string(name) {
					found |= 1 << i
					if spans != nil {
						spans[i] = valueSpan{start, r.pos}
					}
				}
			}
		}
		if err != nil {
			return c, found, fmt.Errorf("claim %q: %w", name, err)
		}
	}
	return c, found, r.finish()
}

// valueSpan locates a raw JSON value within a claims set.
type valueSpan struct{ start, end int }

// auditValue renders a raw private claim value for an event: a JSON string
// as its text, anything else as compact JSON text.
func auditValue(raw []byte) string {
	r := jsonReader{data: raw}
	if r.peek() == '"' {
		if s, err := r.string(); err == nil {
			return s
		}
	}
	return string(bytes.TrimSpace(raw))
}

// date reads a NumericDate as a time.Time.
func (r *jsonReader) date() (time.Time, error) {
	sec, nsec, err := r.numericDate()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// appendHeader writes the protected header the issuer puts on every token
// signed with k. Fixed member order keeps tokens byte-for-byte reproducible.
func appendHeader(buf []byte, k *Key, typ string) []byte {
	buf = append(buf, `{"alg":`...)
	buf = appendJSONString(buf, string(k.alg))
	buf = append(buf, `,"kid":`...)
	buf = appendJSONString(buf, k.id)
	if typ != "" {
		buf = append(buf, `,"typ":`...)
		buf = appendJSONString(buf, typ)
	}
	return append(buf, '}')
}

// appendClaims writes c as a JSON object: the registered claims in a fixed
// order, then the private claims sorted by name.
func appendClaims(buf []byte, c *Claims) ([]byte, error) {
	buf = append(buf, '{')
	comma := false
	member := func(name string) {
		if comma {
			buf = append(buf, ',')
		}
		comma = true
		buf = appendJSONString(buf, name)
		buf = append(buf, ':')
	}
	if c.Issuer != "" {
		member("iss")
		buf = appendJSONString(buf, c.Issuer)
	}
	if c.Subject != "" {
		member("sub")
		buf = appendJSONString(buf, c.Subject)
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		member("aud")
		buf = appendJSONString(buf, c.Audience[0])
	default:
		member("aud")
		for i, a := range c.Audience {
			if i == 0 {
				buf = append(buf, '[')
			} else {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, a)
		}
		buf = append(buf, ']')
	}
	for _, d := range [...]struct {
		name string
		t    time.Time
	}{{"exp", c.ExpiresAt}, {"nbf", c.NotBefore}, {"iat", c.IssuedAt}} {
		if !d.t.IsZero() {
			member(d.name)
			buf = strconv.AppendInt(buf, d.t.Unix(), 10)
		}
	}
	if c.ID != "" {
		member("jti")
		buf = appendJSONString(buf, c.ID)
	}
	if len(c.Private) > 0 {
		names := make([]string, 0, len(c.Private))
		for name := range c.Private {
			if isRegisteredClaim(name) {
				return nil, fmt.Errorf("private claim %q would overwrite the registered claim", name)
			}
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			v, err := json.Marshal(c.Private[name])
			if err != nil {
				return nil, fmt.Errorf("private claim %q: %w", name, err)
			}
			member(name)
			buf = append(buf, v...)
		}
	}
	return append(buf, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Invalid UTF-8 is replaced by
// U+FFFD, as encoding/json does, so that the strict reader accepts every
// token this package issues.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
