package httpauth

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"unicode"

	"github.com/jwtaudit/jwtaudit"
)

type contextKey int

const (
	stateKey contextKey = iota
	tokenKey
)

// requestState is what the middleware hands the verifier through the
// request's context.
type requestState struct {
	attrs         []slog.Attr
	scopes        []string // required by the route
	scopesChecked bool     // set by the scope validator
}

// RequestAttrs returns the attributes of the request being verified
// (http_method, http_route, client, request_id or trace_id, and
// http_auth when the credentials were malformed), for
// [jwtaudit.WithContextAttrs]. Outside the middleware it returns nil.
func RequestAttrs(ctx context.Context) []slog.Attr {
	if s, ok := ctx.Value(stateKey).(*requestState); ok {
		return s.attrs
	}
	return nil
}

// TokenFrom returns the token the middleware verified for this request.
func TokenFrom(ctx context.Context) (*jwtaudit.Token, bool) {
	tok, ok := ctx.Value(tokenKey).(*jwtaudit.Token)
	return tok, ok && tok != nil
}

// VerifierOptions returns the options a Verifier used by [Middleware]
// needs: [RequestAttrs] as its context attributes, and the scope check as a
// validator. A service with context attributes of its own includes
// RequestAttrs' in its function instead.
func VerifierOptions() []jwtaudit.VerifierOption {
	return []jwtaudit.VerifierOption{jwtaudit.WithContextAttrs(RequestAttrs), jwtaudit.WithValidator(checkScopes)}
}

// maxAttrLen bounds a value taken from a request header into an event.
const maxAttrLen = 128

// requestAttrs describes a request for its event. Values from headers are
// clipped and stripped of anything but printable characters.
func requestAttrs(r *http.Request) []slog.Attr {
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs, slog.String("http_method", printable(r.Method)))
	if r.Pattern != "" {
		attrs = append(attrs, slog.String("http_route", r.Pattern))
	}
	if r.RemoteAddr != "" {
		attrs = append(attrs, slog.String("client", printable(r.RemoteAddr)))
	}
	if id := r.Header.Get("X-Request-Id"); id != "" {
		attrs = append(attrs, slog.String("request_id", printable(id)))
	} else if trace, ok := traceID(r.Header.Get("Traceparent")); ok {
		attrs = append(attrs, slog.String("trace_id", trace))
	}
	return attrs
}

// traceID returns the trace id of a W3C traceparent header
// (version-traceid-parentid-flags).
func traceID(h string) (string, bool) {
	parts := strings.Split(h, "-")
	if len(parts) != 4 || len(parts[1]) != 32 || strings.Trim(parts[1], "0123456789abcdef") != "" || strings.Trim(parts[1], "0") == "" {
		return "", false
	}
	return parts[1], true
}

// printable clips s and drops what is not a printable character.
func printable(s string) string {
	if len(s) > maxAttrLen {
		s = s[:maxAttrLen]
	}
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
}
