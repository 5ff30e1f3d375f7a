package authctx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jwtaudit/jwtaudit"
)

// ErrInsufficientScope is what the scope validator returns; the verifier
// wraps it in jwtaudit.ErrRejected.
var ErrInsufficientScope = errors.New("the token lacks a required scope")

// CheckScopes is the validator the boundary packages install: it refuses
// a token that lacks a scope the request requires, and notes that the
// scopes were checked.
func CheckScopes(ctx context.Context, tok *jwtaudit.Token) error {
	state, ok := From(ctx)
	if !ok {
		return nil // a Verify outside the boundary packages
	}
	state.ScopesChecked = true
	if missing, ok := MissingScope(tok, state.Scopes); ok {
		return fmt.Errorf("%w: %s", ErrInsufficientScope, missing)
	}
	return nil
}

// MissingScope returns a scope of want that tok does not grant.
func MissingScope(tok *jwtaudit.Token, want []string) (string, bool) {
	if len(want) == 0 {
		return "", false
	}
	have := Scopes(tok)
	for _, s := range want {
		if !slices.Contains(have, s) {
			return s, true
		}
	}
	return "", false
}

// Scopes returns the scopes a token grants (see httpauth.Scopes).
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
				if IsScopeToken(s) {
					out = append(out, s)
				}
			}
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok && IsScopeToken(s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// IsScopeToken reports whether s is an RFC 6749 §3.3 scope-token: one or
// more of the characters %x21 / %x23-5B / %x5D-7E (printable ASCII but
// space, '"' and '\\').
func IsScopeToken(s string) bool {
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
