package jwtaudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"
)

// This file is the claims codec: the JWT rules (RFC 7519) on top of the
// JSON reader and writer.

// registeredClaims are the claim names that Claims types.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

func isRegisteredClaim(name string) bool { return slices.Contains(registeredClaims[:], name) }

// registeredFoldKeys are the foldKey of each registered claim name.
var registeredFoldKeys = func() (keys [len(registeredClaims)]uint64) {
	for i, r := range registeredClaims {
		keys[i] = foldKey([]byte(r))
	}
	return keys
}()

// registeredUpToCase returns the registered claim name that name equals up
// to case, if there is one. It runs for every private member of a claims
// set, so short ASCII names are compared by their fold keys alone.
func registeredUpToCase(name []byte) (string, bool) {
	key := foldKey(name)
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

// maxWatchedClaims is the most private claims a verifier watches: those
// WithRequiredClaims and WithAuditClaims name, together. Each has one bit
// of a uint64.
const maxWatchedClaims = 64

// claimWatch is the list of private claims the claims decoder looks for
// besides the registered ones: the required ones first, then the audited
// ones not already required. A member whose name differs from a watched
// name only in case is refused.
type claimWatch struct {
	names    [][]byte
	required int   // names[:required] are required
	audited  []int // the index in names of each audited claim, in WithAuditClaims order
}

func newClaimWatch(required, audited []string) (claimWatch, error) {
	var w claimWatch
	add := func(n string) int {
		for i, have := range w.names {
			if string(have) == n {
				return i
			}
		}
		w.names = append(w.names, []byte(n))
		return len(w.names) - 1
	}
	for _, n := range required {
		add(n)
	}
	w.required = len(w.names)
	for _, n := range audited {
		w.audited = append(w.audited, add(n))
	}
	if len(w.names) > maxWatchedClaims {
		return w, fmt.Errorf("jwtaudit: WithRequiredClaims and WithAuditClaims name more than %d private claims together", maxWatchedClaims)
	}
	return w, nil
}

// watchMatch is what the decoder found of a claimWatch in one claims set.
type watchMatch struct {
	found uint64      // bit i: names[i] is present
	spans []valueSpan // where each watched value is, when audited claims are watched
}

// valueSpan locates a raw JSON value within a claims set.
type valueSpan struct{ start, end int }

// newMatch prepares a match; it allocates only when there are audited
// claims, whose values are kept.
func (w *claimWatch) newMatch() watchMatch {
	if len(w.audited) == 0 {
		return watchMatch{}
	}
	return watchMatch{spans: make([]valueSpan, len(w.names))}
}

// see notes a private member of the claims set, whose value is at
// data[start:end].
func (w *claimWatch) see(name []byte, start, end int, m *watchMatch) error {
	for i, want := range w.names {
		switch {
		case bytes.Equal(name, want):
			m.found |= 1 << i
			if m.spans != nil {
				m.spans[i] = valueSpan{start, end}
			}
		case sameUpToCase(name, want):
			return fmt.Errorf("claim %q differs from %q only in case", clip(string(name)), want)
		}
	}
	return nil
}

// missingRequired returns the first required claim that is absent.
func (w *claimWatch) missingRequired(m *watchMatch) (string, bool) {
	for i := range w.required {
		if m.found&(1<<i) == 0 {
			return string(w.names[i]), true
		}
	}
	return "", false
}

// auditAttrs renders the audited claims found, in WithAuditClaims order.
func (w *claimWatch) auditAttrs(payload []byte, m *watchMatch) []slog.Attr {
	var attrs []slog.Attr
	for _, i := range w.audited {
		if m.found&(1<<i) != 0 {
			sp := m.spans[i]
			attrs = append(attrs, slog.String(string(w.names[i]), auditValue(payload[sp.start:sp.end])))
		}
	}
	return attrs
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
	// A registered name may appear once (seen); a private name may not
	// repeat another private name up to case (private), nor differ only in
	// case from a registered or a watched name (checked below). Between
	// them these refuse every pair of names encoding/json would confuse.
	var seen [len(registeredClaims)]bool
	var private memberNames
	r := jsonReader{data: data}
	if err := r.beginObject(); err != nil {
		return c, err
	}
	for first := true; ; first = false {
		name, more, err := r.nextMember(first)
		if err != nil {
			return c, err
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
			if reg, ok := registeredUpToCase(name); ok {
				return c, fmt.Errorf("claim %q differs from %q only in case", clip(string(name)), reg)
			}
			if err := private.add(name); err != nil {
				return c, err
			}
			start := r.pos
			if err = r.skip(0); err == nil {
				err = w.see(name, start, r.pos, m)
			}
		}
		if err != nil {
			return c, fmt.Errorf("claim %q: %w", clip(string(name)), err)
		}
	}
	return c, r.finish()
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
	r := jsonReader{data: payload}
	if r.beginObject() != nil {
		return nil, false
	}
	for first := true; ; first = false {
		name, more, err := r.nextMember(first)
		if err != nil || !more {
			return nil, false
		}
		if string(name) == "iss" {
			s, err := r.stringBytes()
			return s, err == nil
		}
		if r.skip(0) != nil {
			return nil, false
		}
	}
}

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

// auditText renders a private claim value for an issue event as the
// verifier will: a string as itself, anything else as JSON text.
func auditText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// maxNumericDate is the last second of the year 9999; later dates are
// refused rather than overflowing time arithmetic.
const maxNumericDate = 253402300799

// date reads an RFC 7519 NumericDate: a JSON number (never a string) of
// seconds since the epoch, possibly with a fraction, between 0 and
// maxNumericDate.
func (r *jsonReader) date() (time.Time, error) {
	lit, err := r.number()
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

// stringOrStrings reads a value that is a string or an array of strings,
// the two forms of "aud".
func (r *jsonReader) stringOrStrings(known []string) ([]string, error) {
	switch r.peek() {
	case '"':
		s, err := r.knownString(known)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	case '[':
		list := []string{}
		err := r.array(func() error {
			s, err := r.knownString(known)
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

// appendClaims writes c as a JSON object: the registered claims in a fixed
// order, then the private claims sorted by name. It refuses private claim
// names that a reader could confuse with a registered claim or with each
// other (see Claims.Private).
func appendClaims(buf []byte, c *Claims) ([]byte, error) {
	buf = append(buf, '{')
	comma := false
	// member writes a member's name, which is plain ASCII, and its colon.
	member := func(name string) {
		if comma {
			buf = append(buf, ',')
		}
		comma = true
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, '"', ':')
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
			if err := checkPrivateName(name); err != nil {
				return nil, fmt.Errorf("private claim: %w", err)
			}
			names = append(names, name)
		}
		slices.Sort(names)
		var seen memberNames
		for _, name := range names {
			if err := seen.add([]byte(name)); err != nil {
				return nil, fmt.Errorf("private claims: %w", err)
			}
			v, err := json.Marshal(c.Private[name])
			if err != nil {
				return nil, fmt.Errorf("private claim %q: %w", name, err)
			}
			if comma {
				buf = append(buf, ',')
			}
			comma = true
			buf = appendJSONString(buf, name)
			buf = append(buf, ':')
			buf = append(buf, v...)
		}
	}
	return append(buf, '}'), nil
}
