// Package authctx is what httpauth and grpcauth share: the state a
// request hands the verifier through its context (its attributes for the
// event, the scopes it requires), the verified token, and the scope
// check.
package authctx

import (
	"context"
	"log/slog"

	"github.com/jwtaudit/jwtaudit"
)

type contextKey int

const (
	stateKey contextKey = iota
	tokenKey
)

// State is what a boundary package hands the verifier through a
// request's context.
type State struct {
	Attrs         []slog.Attr
	Scopes        []string // required by the request's route or method
	ScopesChecked bool     // set by CheckScopes
}

// With returns ctx carrying s.
func With(ctx context.Context, s *State) context.Context {
	return context.WithValue(ctx, stateKey, s)
}

// From returns the state ctx carries.
func From(ctx context.Context) (*State, bool) {
	s, ok := ctx.Value(stateKey).(*State)
	return s, ok
}

// Attrs returns the attributes of the request ctx carries, or nil.
func Attrs(ctx context.Context) []slog.Attr {
	if s, ok := From(ctx); ok {
		return s.Attrs
	}
	return nil
}

// WithToken returns ctx carrying the verified token.
func WithToken(ctx context.Context, tok *jwtaudit.Token) context.Context {
	return context.WithValue(ctx, tokenKey, tok)
}

// Token returns the verified token ctx carries.
func Token(ctx context.Context) (*jwtaudit.Token, bool) {
	tok, ok := ctx.Value(tokenKey).(*jwtaudit.Token)
	return tok, ok && tok != nil
}
