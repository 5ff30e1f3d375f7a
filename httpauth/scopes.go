package httpauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jwtaudit/jwtaudit"
)

// errInsufficientScope is what the scope validator returns; the verifier
// wraps it in jwtaudit.ErrRejected.
var errInsufficientScope = errors.New("httpauth: the token lacks a required scope")

// checkScopes is the validator VerifierOptions installs: it refuses a
// token that lacks a scope the request's route requires.
func checkScopes(ctx context.Context, tok *jwtaudit.Token) error {
	state, ok := ctx.Value(stateKey).(*requestState)
	if !ok {
		return nil // a Verify outside the middleware
	}
	state.scopesChecked = true
	if len(state.scopes) == 0 {
		return nil
	}
	if missing, ok := missingScope(tok, state.scopes); ok {
		return fmt.Errorf("%w: %s", errInsufficientScope, missing)
	}
	return nil
}

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
func Scopes(tok *jwtaudit.Token) []string {
	var c struct {
		Scope any `json:"scope"`
		Scp   any `json:"scp"`
	}
	if tok == nil || tok.Decode(&c) != nil {
		return nil
	}
	var out []string
	for _, v := range []any{c.Scope, c.Scp} {
		switch v := v.(type) {
		case string:
			for s := range strings.SplitSeq(v, " ") {
				if isScopeToken(s) {
					out = append(out, s)
				}
			}
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok && isScopeToken(s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// isScopeToken reports whether s is an RFC 6749 §3.3 scope-token: one or
// more of the characters %x21 / %x23-5B / %x5D-7E (printable ASCII but
// space, '"' and '\\').
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// HasScopes reports whether a token grants every one of scopes.
func HasScopes(tok *jwtaudit.Token, scopes ...string) bool {
	_, missing := missingScope(tok, scopes)
	return !missing
}

func missingScope(tok *jwtaudit.Token, want []string) (string, bool) {
	have := Scopes(tok)
	for _, s := range want {
		if !slices.Contains(have, s) {
			return s, true
		}
	}
	return "", false
}
