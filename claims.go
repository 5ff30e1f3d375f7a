package jwtaudit

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
)

// This file is the claims codec: the JWT rules (RFC 7519) on top of the
// JSON reader and writer.

// registeredClaims are the claim names that Claims types: RFC 7519's, and
// "sgen", this package's own (Claims.SubjectGeneration), and RFC 7800's
// "cnf" (Claims.Confirmation).
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sgen", "cnf"}

func isRegisteredClaim(name string) bool { return slices.Contains(registeredClaims[:], name) }

// registeredFoldKeys are the foldKey of each registered claim name.
var registeredFoldKeys = func() (keys [len(registeredClaims)]uint64) {
	for i, r := range registeredClaims {
		keys[i] = jsonx.FoldKey([]byte(r))
	}
	return keys
}()

// registeredUpToCase returns the registered claim name that name equals up
// to case, if there is one. It runs for every private member of a claims
// set, so short ASCII names are compared by their fold keys alone.
func registeredUpToCase(name []byte) (string, bool) {
	key := jsonx.FoldKey(name)
	for i, r := range registeredClaims {
		if key != 0 {
			if key == registeredFoldKeys[i] {
				return r, true
			}
		} else if bytes.EqualFold(name, []byte(r)) {
			return r, true
		}
	}
	return "", false
}

// checkPrivateName refuses a name that cannot be a private claim: empty, a
// registered claim, or one up to case.
func checkPrivateName(name string) error {
	if name == "" {
		return errors.New("empty claim name")
	}
	if r, ok := registeredUpToCase([]byte(name)); ok {
		if r == name {
			return fmt.Errorf("%q is a registered claim", name)
		}
		return fmt.Errorf("%q differs from the registered claim %q only in case", name, r)
	}
	return nil
}

// decodeClaims reads a claims set strictly into Claims. Registered claims
// must have their RFC 7519 types: NumericDate as a JSON number (a string such
// as "2030-01-01T00:00:00Z" is refused), "aud" as a string or an array of
// strings. No member name may appear twice, even up to case, and no private
// member may differ only in case from a registered or watched name: then
// every reader of the payload, encoding/json included, sees the same
// members. Private members are skipped, except that the watched ones are
// noted in m. A string equal to one of known is returned as that string,
// without allocating: the verifier passes the issuer and audiences it
// expects.
func decodeClaims(data []byte, w *claimWatch, m *watchMatch, known []string) (c Claims, err error) {
	err = decodeClaimsInto(&c, nil, data, w, m, known)
	return c, err
}

// decodeClaimsInto is decodeClaims into *c, with a single audience held in
// one (when not nil) rather than in a slice of its own: a verified Token
// decodes into itself, its one audience in its own array, so that the
// claims cost no allocation beyond the Token's.
func decodeClaimsInto(c *Claims, one *[1]string, data []byte, w *claimWatch, m *watchMatch, known []string) error {
	// A registered name may appear once (seen); a private name may not
	// repeat another private name up to case (private), nor differ only in
	// case from a registered or a watched name (checked below). Between
	// them these refuse every pair of names encoding/json would confuse.
	var seen [len(registeredClaims)]bool
	var private jsonx.MemberNames
	r := jsonx.Reader{Data: data}
	if err := r.BeginObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		name, more, err := r.NextMember(first)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		switch string(name) {
		case "iss":
			if err = once(&seen[0], name); err == nil {
				c.Issuer, err = r.KnownString(known)
			}
		case "sub":
			if err = once(&seen[1], name); err == nil {
				c.Subject, err = r.KnownString(known)
			}
		case "aud":
			if err = once(&seen[2], name); err == nil {
				c.Audience, err = readStringOrStrings(&r, known, one)
			}
		case "exp":
			if err = once(&seen[3], name); err == nil {
				c.ExpiresAt, err = readDate(&r)
			}
		case "nbf":
			if err = once(&seen[4], name); err == nil {
				c.NotBefore, err = readDate(&r)
			}
		case "iat":
			if err = once(&seen[5], name); err == nil {
				c.IssuedAt, err = readDate(&r)
			}
		case "jti":
			if err = once(&seen[6], name); err == nil {
				c.ID, err = r.String()
			}
		case "sgen":
			if err = once(&seen[7], name); err == nil {
				c.SubjectGeneration, err = readGeneration(&r)
			}
		case "cnf":
			if err = once(&seen[8], name); err == nil {
				c.Confirmation, c.boundOtherwise, err = readConfirmation(&r)
			}
		default:
			if reg, ok := registeredUpToCase(name); ok {
				return fmt.Errorf("claim %q differs from %q only in case", clip(string(name)), reg)
			}
			if err := private.Add(name); err != nil {
				return err
			}
			start := r.Pos
			if err = r.Skip(0); err == nil {
				err = w.see(name, start, r.Pos, m)
			}
		}
		if err != nil {
			return fmt.Errorf("claim %q: %w", clip(string(name)), err)
		}
	}
	return r.Finish()
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

// unverifiedIssuer reads the "iss" of a claims set whose signature has not
// been checked yet, only to pick whose keys check it (WithTrustedIssuers).
// It reads the members up to the first "iss" and nothing after it; the
// claims set is decoded in full, strictly, only once the signature holds.
func unverifiedIssuer(payload []byte) ([]byte, bool) {
	r := jsonx.Reader{Data: payload}
	if r.BeginObject() != nil {
		return nil, false
	}
	for first := true; ; first = false {
		name, more, err := r.NextMember(first)
		if err != nil || !more {
			return nil, false
		}
		if string(name) == "iss" {
			s, err := r.StringBytes()
			return s, err == nil
		}
		if r.Skip(0) != nil {
			return nil, false
		}
	}
}

// readGeneration reads "sgen": a JSON integer, 1 or more, that fits in 64
// bits.
func readGeneration(r *jsonx.Reader) (int64, error) {
	lit, err := r.Number()
	if err != nil {
		return 0, errors.New("not a JSON number")
	}
	v, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil || v < 1 {
		return 0, errors.New("not a positive integer of 64 bits")
	}
	return v, nil
}

// readConfirmation reads "cnf" (RFC 7800 §3.1): an object of confirmation
// methods. "jkt" must be a SHA-256 thumbprint; any other member is a
// method this package cannot check, reported as otherwise. An object
// without a member binds to nothing checkable either, and is refused.
func readConfirmation(r *jsonx.Reader) (c Confirmation, otherwise bool, err error) {
	if r.Peek() != '{' {
		return c, false, errors.New("not a JSON object")
	}
	if err := r.BeginObject(); err != nil {
		return c, false, err
	}
	var names jsonx.MemberNames
	for first := true; ; first = false {
		name, more, err := r.NextMember(first)
		if err != nil {
			return c, false, err
		}
		if !more {
			break
		}
		if err := names.Add(name); err != nil {
			return c, false, err
		}
		if string(name) != "jkt" {
			otherwise = true
			if err := r.Skip(0); err != nil {
				return c, false, err
			}
			continue
		}
		if c.KeyThumbprint, err = r.String(); err != nil {
			return c, false, fmt.Errorf("jkt: %w", err)
		}
		if !isThumbprint(c.KeyThumbprint) {
			return c, false, errors.New("jkt is not a base64url SHA-256 thumbprint")
		}
	}
	if c.KeyThumbprint == "" && !otherwise {
		return c, false, errors.New("an empty object")
	}
	return c, otherwise, nil
}

// maxNumericDate is the last second of the year 9999; later dates are
// refused rather than overflowing time arithmetic.
const maxNumericDate = 253402300799

// readDate reads an RFC 7519 NumericDate: a JSON number (never a string) of
// seconds since the epoch, possibly with a fraction, between 0 and
// maxNumericDate.
func readDate(r *jsonx.Reader) (time.Time, error) {
	lit, err := r.Number()
	if err != nil {
		return time.Time{}, errors.New("not a JSON number")
	}
	if v, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
		if v < 0 || v > maxNumericDate {
			return time.Time{}, errors.New("date out of range")
		}
		return time.Unix(v, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, errors.New("date out of range")
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// readStringOrStrings reads a value that is a string or an array of strings,
// the two forms of "aud".
func readStringOrStrings(r *jsonx.Reader, known []string, one *[1]string) ([]string, error) {
	switch r.Peek() {
	case '"':
		s, err := r.KnownString(known)
		if err != nil {
			return nil, err
		}
		if one != nil {
			one[0] = s
			return one[:], nil
		}
		return []string{s}, nil
	case '[':
		list := []string{}
		err := r.Array(func() error {
			s, err := r.KnownString(known)
			if err != nil {
				return errors.New("not an array of strings")
			}
			list = append(list, s)
			return nil
		})
		return list, err
	default:
		return nil, errors.New("neither a string nor an array of strings")
	}
}
