package jwtaudit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
)

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
		case jsonx.SameUpToCase(name, want):
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

// auditValue renders a raw private claim value for an event: a JSON string
// as its text, anything else as compact JSON text.
func auditValue(raw []byte) string {
	r := jsonx.Reader{Data: raw}
	if r.Peek() == '"' {
		if s, err := r.String(); err == nil {
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
