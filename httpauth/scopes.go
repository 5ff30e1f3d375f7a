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
// space-separated scopes (RFC 8693, RFC 9068), or its "scp" claim, an
// array of strings or one such string.
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
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok && s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out
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
