package httpauth

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/dpoptest"
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

// proofPool is how many distinct proofs BenchmarkMiddlewareDPoP makes
// before it starts, whatever b.N: each proof is accepted once, and a fixed
// set-up cancels out of an instruction count (benchmarks/instructions.sh
// runs 1,001 and 5,001 iterations).
const proofPool = 6000

// BenchmarkMiddlewareDPoP measures what DPoP adds to a request: the same
// HS256 access token, bound to the client's key, as a bearer request
// (refused without its proof, so the bearer case uses an unbound token of
// the same size) and with an ES256 or EdDSA proof, each proof new, through
// the default in-memory replay store. Run it with -benchtime 5000x or
// less.
func BenchmarkMiddlewareDPoP(b *testing.B) {
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	sink := jwtaudit.NewSlogSink(slog.NewJSONHandler(io.Discard, nil))
	d, err := jwtaudit.NewDPoP(jwtaudit.DPoPOptions{Replays: jwtaudit.NewMemoryReplay(jwtaudit.MemoryStoreOptions{MaxEntries: 1 << 20})})
	if err != nil {
		b.Fatal(err)
	}
	v, err := jwtaudit.NewVerifier(append(VerifierOptions(), jwtaudit.WithKeys(key), jwtaudit.WithAudit(sink), jwtaudit.WithDPoP(d))...)
	if err != nil {
		b.Fatal(err)
	}
	is, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := Middleware(v, WithDPoP(DPoPOrBearer))(bare)
	const url = "http://api.example/me"
	bound, _ := is.Issue(context.Background(), jwtaudit.Claims{Subject: "a", Confirmation: jwtaudit.Confirmation{KeyThumbprint: strings.Repeat("A", 43)}})
	b.Run("bearer", func(b *testing.B) {
		// An unbound token as long as the bound ones (a bound one is
		// refused as a bearer token): its padding claim stands for "cnf".
		var tok string
		for pad := 0; len(tok) < len(bound); pad++ {
			tok, _ = is.Issue(context.Background(), jwtaudit.Claims{Subject: "a", Private: map[string]any{"pad": strings.Repeat("x", pad)}})
		}
		req := httptest.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d", w.Code)
		}
	})
	for _, alg := range []string{"ES256", "EdDSA"} {
		b.Run("dpop-"+alg, func(b *testing.B) {
			client, err := dpoptest.NewClient(alg)
			if err != nil {
				b.Fatal(err)
			}
			tok, _ := is.Issue(context.Background(), jwtaudit.Claims{Subject: "a", Confirmation: jwtaudit.Confirmation{KeyThumbprint: client.Thumbprint}})
			reqs := make([]*http.Request, proofPool)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", url, nil)
				reqs[i].Header.Set("Authorization", "DPoP "+tok)
				reqs[i].Header.Set("DPoP", client.Proof("GET", url, tok, time.Now()))
			}
			w := httptest.NewRecorder()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(reqs) {
					b.Fatalf("more than %d iterations: run with -benchtime %dx or less", proofPool, proofPool-1000)
				}
				h.ServeHTTP(w, reqs[i])
				i++
			}
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}
