package jwtaudit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
)

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
		buf = jsonx.AppendString(buf, c.Issuer)
	}
	if c.Subject != "" {
		member("sub")
		buf = jsonx.AppendString(buf, c.Subject)
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		member("aud")
		buf = jsonx.AppendString(buf, c.Audience[0])
	default:
		member("aud")
		for i, a := range c.Audience {
			if i == 0 {
				buf = append(buf, '[')
			} else {
				buf = append(buf, ',')
			}
			buf = jsonx.AppendString(buf, a)
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
		buf = jsonx.AppendString(buf, c.ID)
	}
	if c.Confirmation.KeyThumbprint != "" {
		member("cnf")
		buf = append(buf, `{"jkt":`...)
		buf = jsonx.AppendString(buf, c.Confirmation.KeyThumbprint)
		buf = append(buf, '}')
	}
	if c.SubjectGeneration != 0 {
		member("sgen")
		buf = strconv.AppendInt(buf, c.SubjectGeneration, 10)
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
		var seen jsonx.MemberNames
		for _, name := range names {
			if err := seen.Add([]byte(name)); err != nil {
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
			buf = jsonx.AppendString(buf, name)
			buf = append(buf, ':')
			buf = append(buf, v...)
		}
	}
	return append(buf, '}'), nil
}
