package grpcauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/authctx"
	"github.com/jwtaudit/jwtaudit/internal/reqattr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Option configures the interceptors.
type Option func(*config)

type config struct {
	scopes map[string][]string // by full method name
	open   map[string]bool     // WithoutAuthentication
}

// RequireScopes makes calls to fullMethod ("/package.Service/Method")
// need a token that grants every one of scopes (see httpauth.Scopes for
// how a token grants them); other methods need a valid token only. Each
// scope must be an RFC 6749 §3.3 scope-token: the interceptors panic on
// one that is not, which no token could grant, and on a name that is not
// a full method name.
func RequireScopes(fullMethod string, scopes ...string) Option {
	return func(c *config) {
		c.scopes[fullMethod] = append(c.scopes[fullMethod], scopes...)
	}
}

// WithoutAuthentication lets calls to the named full methods through
// unverified, and so without an audit event: for a health check that a
// load balancer calls without credentials. Name each method exactly; no
// other method is opened by it.
func WithoutAuthentication(fullMethods ...string) Option {
	return func(c *config) {
		for _, m := range fullMethods {
			c.open[m] = true
		}
	}
}

// authenticator is what both interceptors share.
type authenticator struct {
	v   *jwtaudit.Verifier
	cfg config
}

func newAuthenticator(v *jwtaudit.Verifier, opts []Option) *authenticator {
	if v == nil {
		panic("grpcauth: nil verifier")
	}
	a := &authenticator{v: v, cfg: config{scopes: map[string][]string{}, open: map[string]bool{}}}
	for _, o := range opts {
		o(&a.cfg)
	}
	for m, scopes := range a.cfg.scopes {
		if !isFullMethod(m) {
			panic(fmt.Sprintf("grpcauth: RequireScopes: %q is not a full method name such as /package.Service/Method", m))
		}
		for _, s := range scopes {
			if !authctx.IsScopeToken(s) {
				panic(fmt.Sprintf("grpcauth: RequireScopes: %q is not an RFC 6749 scope-token", s))
			}
		}
	}
	for m := range a.cfg.open {
		if !isFullMethod(m) {
			panic(fmt.Sprintf("grpcauth: WithoutAuthentication: %q is not a full method name such as /package.Service/Method", m))
		}
		if len(a.cfg.scopes[m]) > 0 {
			panic(fmt.Sprintf("grpcauth: %s requires scopes and is opened by WithoutAuthentication", m))
		}
	}
	return a
}

// UnaryServerInterceptor returns an interceptor that verifies the token of
// each unary call with v before its handler runs.
func UnaryServerInterceptor(v *jwtaudit.Verifier, opts ...Option) grpc.UnaryServerInterceptor {
	a := newAuthenticator(v, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns an interceptor that verifies the token
// of each streaming call with v once, when the stream opens, before its
// handler runs; the handler's stream carries the token in its context.
func StreamServerInterceptor(v *jwtaudit.Verifier, opts ...Option) grpc.StreamServerInterceptor {
	a := newAuthenticator(v, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &authenticatedStream{ServerStream: ss, ctx: ctx})
	}
}

// authenticatedStream is a stream whose context holds its verified token.
type authenticatedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authenticatedStream) Context() context.Context { return s.ctx }

// authenticate verifies a call's token: one Verify, so one event, and the
// status the client gets when it is refused.
func (a *authenticator) authenticate(ctx context.Context, method string) (context.Context, error) {
	if a.cfg.open[method] {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	state := &authctx.State{Attrs: callAttrs(ctx, method, md), Scopes: a.cfg.scopes[method]}
	raw, malformed := bearerToken(md)
	if malformed != "" {
		state.Attrs = append(state.Attrs, slog.String("grpc_auth", malformed))
		raw = "" // on the record as a call without a usable token
	}
	ctx = authctx.With(ctx, state)
	tok, err := a.v.Verify(ctx, raw)
	switch {
	case err != nil:
		return nil, statusFor(err, malformed != "")
	case len(state.Scopes) > 0 && !state.ScopesChecked:
		return nil, status.Error(codes.Internal, "internal error")
	}
	return authctx.WithToken(ctx, tok), nil
}

// bearerToken returns the token of the "authorization" metadata, or why
// the metadata is malformed. No credentials at all is "", "".
func bearerToken(md metadata.MD) (token, malformed string) {
	values := md.Get("authorization")
	switch len(values) {
	case 0:
		return "", ""
	case 1:
	default:
		return "", "more than one authorization value"
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	rest = strings.TrimLeft(rest, " ")
	switch {
	case !strings.EqualFold(scheme, "Bearer"):
		return "", "not the Bearer scheme"
	case rest == "":
		return "", "Bearer without a token"
	case strings.ContainsAny(rest, " ,\t"):
		return "", "more than one token, or another scheme mixed in"
	}
	return rest, ""
}

// statusFor maps a verifier's error to what the client may learn.
func statusFor(err error, malformed bool) error {
	switch {
	case malformed:
		return status.Error(codes.Unauthenticated, "malformed credentials")
	case errors.Is(err, jwtaudit.ErrNoToken):
		return status.Error(codes.Unauthenticated, "authentication required")
	case errors.Is(err, authctx.ErrInsufficientScope):
		return status.Error(codes.PermissionDenied, "insufficient scope")
	case errors.Is(err, jwtaudit.ErrExpired):
		return status.Error(codes.Unauthenticated, "token expired")
	}
	switch jwtaudit.ReasonOf(err) {
	case jwtaudit.ReasonAudit, jwtaudit.ReasonStoreUnavailable, jwtaudit.ReasonInternal:
		return status.Error(codes.Unavailable, "service unavailable")
	}
	return status.Error(codes.Unauthenticated, "invalid token")
}

// isFullMethod reports whether m looks like "/package.Service/Method".
func isFullMethod(m string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	return strings.HasPrefix(m, "/") && ok && service != "" && method != "" && !strings.Contains(method, "/")
}

// callAttrs describes a call for its event.
func callAttrs(ctx context.Context, method string, md metadata.MD) []slog.Attr {
	attrs := make([]slog.Attr, 0, 4)
	attrs = append(attrs, slog.String("grpc_method", reqattr.Printable(method)))
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("client", reqattr.Printable(p.Addr.String())))
	}
	if ids := md.Get("x-request-id"); len(ids) > 0 && ids[0] != "" {
		attrs = append(attrs, slog.String("request_id", reqattr.Printable(ids[0])))
	} else if tp := md.Get("traceparent"); len(tp) > 0 {
		if trace, ok := reqattr.TraceID(tp[0]); ok {
			attrs = append(attrs, slog.String("trace_id", trace))
		}
	}
	return attrs
}
