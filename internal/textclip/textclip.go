// Package textclip shortens text that may come from anyone (a rejected
// token, a JSON member name) before it goes into an error or an event.
package textclip

import "unicode/utf8"

// MaxUnverified is how long a string copied from a rejected token may be.
const MaxUnverified = 256

// To shortens s to at most max bytes, on a rune boundary, marking the cut
// with "…".
func To(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
