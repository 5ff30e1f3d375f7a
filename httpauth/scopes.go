package httpauth

import (
	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/authctx"
)

// Scopes returns the scopes a token grants: its "scope" claim, a string of
// scopes separated by spaces (RFC 8693, RFC 9068), or its "scp" claim, an
// array of strings or one such string.
//
// A scope is an RFC 6749 §3.3 scope-token: one or more printable ASCII
// characters other than space, '"' and '\\'. Scopes are separated by
// U+0020 alone, as §3.3 says, never by other white space: "read\u00a0admin"
// is one string, and a string that is not a scope-token grants nothing, so
// that no issuer's idea of white space (a no-break space, a vertical tab, a
// line separator) can smuggle a second scope into one.
func Scopes(tok *jwtaudit.Token) []string { return authctx.Scopes(tok) }

// HasScopes reports whether a token grants every one of scopes.
func HasScopes(tok *jwtaudit.Token, scopes ...string) bool {
	_, missing := authctx.MissingScope(tok, scopes)
	return !missing
}
