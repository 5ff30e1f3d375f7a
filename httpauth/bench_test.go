package httpauth

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtaudit/jwtaudit"
)

// BenchmarkMiddleware measures what the middleware adds to a request: a
// bare handler, then the same behind the middleware (HS256, audit as JSON
// lines through slog to io.Discard), without and with a required scope.
func BenchmarkMiddleware(b *testing.B) {
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	sink := jwtaudit.NewSlogSink(slog.NewJSONHandler(io.Discard, nil))
	v, err := jwtaudit.NewVerifier(append(VerifierOptions(), jwtaudit.WithKeys(key), jwtaudit.WithAudit(sink))...)
	if err != nil {
		b.Fatal(err)
	}
	is, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	tok, _ := is.Issue(context.Background(), jwtaudit.Claims{Subject: "a", Private: map[string]any{"scope": "read admin"}})
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	b.Run("verify-alone", func(b *testing.B) {
		// What the middleware wraps: one Verify with the same verifier.
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"middleware", Middleware(v)(bare)},
		{"middleware+scope", Middleware(v, RequireScopes("admin"))(bare)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Request-Id", "bench-1")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				tc.h.ServeHTTP(w, req)
			}
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}
