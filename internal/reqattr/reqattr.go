// Package reqattr cleans the values a request carries (a request id, a
// peer's address, a traceparent) before they go into an audit event:
// clipped, and stripped of what is not a printable character.
package reqattr

import (
	"strings"
	"unicode"
)

// MaxLen bounds a value taken from a request into an event.
const MaxLen = 128

// Printable clips s to MaxLen bytes and drops what is not a printable
// character.
func Printable(s string) string {
	if len(s) > MaxLen {
		s = s[:MaxLen]
	}
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
}

// TraceID returns the trace id of a W3C traceparent value
// (version-traceid-parentid-flags), when it is one.
func TraceID(h string) (string, bool) {
	parts := strings.Split(h, "-")
	if len(parts) != 4 || len(parts[1]) != 32 || strings.Trim(parts[1], "0123456789abcdef") != "" || strings.Trim(parts[1], "0") == "" {
		return "", false
	}
	return parts[1], true
}
