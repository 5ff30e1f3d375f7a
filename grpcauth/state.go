package grpcauth

import (
	"context"
	"log/slog"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/authctx"
)

// RequestAttrs returns the attributes of the call being verified
// (grpc_method, client, request_id or trace_id, and grpc_auth when the
// credentials were malformed), for [jwtaudit.WithContextAttrs]. Outside
// the interceptors it returns nil.
func RequestAttrs(ctx context.Context) []slog.Attr { return authctx.Attrs(ctx) }

// TokenFrom returns the token the interceptor verified for this call.
func TokenFrom(ctx context.Context) (*jwtaudit.Token, bool) { return authctx.Token(ctx) }

// VerifierOptions returns the options a Verifier used by the interceptors
// needs: [RequestAttrs] as its context attributes, and the scope check as
// a validator. A service with context attributes of its own includes
// RequestAttrs' in its function instead. The same options serve
// httpauth's middleware.
func VerifierOptions() []jwtaudit.VerifierOption {
	return []jwtaudit.VerifierOption{jwtaudit.WithContextAttrs(RequestAttrs), jwtaudit.WithValidator(authctx.CheckScopes)}
}
