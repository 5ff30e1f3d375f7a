package httpauth

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/authctx"
	"github.com/jwtaudit/jwtaudit/internal/reqattr"
)

// RequestAttrs returns the attributes of the request being verified
// (http_method, http_route, client, request_id or trace_id, and
// http_auth when the credentials were malformed), for
// [jwtaudit.WithContextAttrs]. Outside the middleware it returns nil.
func RequestAttrs(ctx context.Context) []slog.Attr { return authctx.Attrs(ctx) }

// TokenFrom returns the token the middleware verified for this request.
func TokenFrom(ctx context.Context) (*jwtaudit.Token, bool) { return authctx.Token(ctx) }

// VerifierOptions returns the options a Verifier used by [Middleware]
// needs: [RequestAttrs] as its context attributes, and the scope check as a
// validator. A service with context attributes of its own includes
// RequestAttrs' in its function instead.
func VerifierOptions() []jwtaudit.VerifierOption {
	return []jwtaudit.VerifierOption{jwtaudit.WithContextAttrs(RequestAttrs), jwtaudit.WithValidator(authctx.CheckScopes)}
}

// requestAttrs describes a request for its event. Values from headers are
// clipped and stripped of anything but printable characters.
func requestAttrs(r *http.Request) []slog.Attr {
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs, slog.String("http_method", reqattr.Printable(r.Method)))
	if r.Pattern != "" {
		attrs = append(attrs, slog.String("http_route", r.Pattern))
	}
	if r.RemoteAddr != "" {
		attrs = append(attrs, slog.String("client", reqattr.Printable(r.RemoteAddr)))
	}
	if id := r.Header.Get("X-Request-Id"); id != "" {
		attrs = append(attrs, slog.String("request_id", reqattr.Printable(id)))
	} else if trace, ok := reqattr.TraceID(r.Header.Get("Traceparent")); ok {
		attrs = append(attrs, slog.String("trace_id", trace))
	}
	return attrs
}
