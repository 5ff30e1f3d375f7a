package httpauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/httpauth"
)

// Protect two routes, one of which needs the admin scope, and see what
// clients are told.
func ExampleMiddleware() {
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	key, err := jwtaudit.NewKey("2026-11", jwtaudit.HS256, []byte("example secret: at least 32 bytes for HS256"))
	if err != nil {
		log.Fatal(err)
	}
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithClock(now))
	issuer, _ := jwtaudit.NewIssuer(shared)
	verifier, err := jwtaudit.NewVerifier(append(httpauth.VerifierOptions(), shared)...)
	if err != nil {
		log.Fatal(err)
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := httpauth.TokenFrom(r.Context())
		fmt.Fprintf(w, "hello %s", tok.Claims.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /me", httpauth.Middleware(verifier)(me))
	mux.Handle("GET /admin", httpauth.Middleware(verifier, httpauth.RequireScopes("admin"))(me))

	alice, _ := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "alice", Private: map[string]any{"scope": "read"}})
	for _, req := range []struct{ path, token string }{{"/me", alice}, {"/me", ""}, {"/admin", alice}} {
		r := httptest.NewRequest("GET", req.path, nil)
		if req.token != "" {
			r.Header.Set("Authorization", "Bearer "+req.token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %d %s", req.path, w.Code, w.Header().Get("WWW-Authenticate"))))
		fmt.Println(strings.TrimSpace(string(body)))
	}
	// Output:
	// /me 200
	// hello alice
	// /me 401 Bearer realm="api"
	// {"type":"about:blank","title":"Unauthorized","status":401,"detail":"Authentication required"}
	// /admin 403 Bearer realm="api", error="insufficient_scope", scope="admin"
	// {"type":"about:blank","title":"Forbidden","status":403,"detail":"Insufficient scope"}
}
