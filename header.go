package jwtaudit

import (
	"errors"
	"fmt"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
)

// rawHeader is a protected header as read, its values still bytes: the
// verifier matches them against its keys and configuration without
// allocating, and makes strings only of what it keeps.
type rawHeader struct {
	alg, kid, typ, cty []byte
	hasKid, hasTyp     bool
}

// headerNames are the header members this package reads or refuses; a
// member whose name differs from one of them only in case is refused, so
// that no reader can take it for the real one.
var headerNames = [...][]byte{
	[]byte("alg"), []byte("kid"), []byte("typ"), []byte("cty"),
	[]byte("crit"), []byte("b64"), []byte("enc"), []byte("zip"),
}

// decodeHeader reads a protected header strictly. It refuses what this
// verifier cannot honour: "crit" (RFC 7515 §4.1.11 makes unknown extensions
// fatal), "b64" (RFC 7797 unencoded payloads), and "enc" or "zip" (a JWE).
// Members that would name another key ("jwk", "jku", "x5u", "x5c") are
// skipped unread: the key comes from the configuration alone. Member names
// may not repeat, even up to case, and none may differ only in case from
// a name this package knows.
func decodeHeader(data []byte) (rawHeader, error) {
	var h rawHeader
	var seen [4]bool // alg kid typ cty; other names go to others
	var others jsonx.MemberNames
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
			for _, known := range headerNames {
				if jsonx.SameUpToCase(name, known) {
					return h, fmt.Errorf("header %q differs from %q only in case", clip(string(name)), known)
				}
			}
			if err = others.Add(name); err != nil {
				return h, err
			}
			if err = r.Skip(0); err != nil {
				return h, err
			}
			continue
		}
		if err != nil {
			return h, err
		}
		if *dst, err = r.StringBytes(); err != nil {
			return h, fmt.Errorf("header %q: %w", name, err)
		}
	}
	return h, r.Finish()
}

// appendHeader writes the protected header the issuer puts on every token
// signed with k. Fixed member order keeps tokens byte-for-byte reproducible.
func appendHeader(buf []byte, k *Key, typ string) []byte {
	buf = append(buf, `{"alg":`...)
	buf = jsonx.AppendString(buf, string(k.alg))
	buf = append(buf, `,"kid":`...)
	buf = jsonx.AppendString(buf, k.id)
	if typ != "" {
		buf = append(buf, `,"typ":`...)
		buf = jsonx.AppendString(buf, typ)
	}
	return append(buf, '}')
}
