// Package textclip keeps the text of errors and events short and clean:
// it shortens text that may come from anyone (a rejected token, a JSON
// member name), and rewords an error's message over its cause.
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

// Reworded is an error whose message was rewritten (cleaned of a secret,
// or of a library's repetitions) over a cause that errors.Is and errors.As
// can still inspect.
type Reworded struct {
	Msg   string
	Cause error
}

// Error returns the rewritten message.
func (e *Reworded) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Reworded) Unwrap() error { return e.Cause }
