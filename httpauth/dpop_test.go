package httpauth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/dpoptest"
)

// dpopService is a service whose /me takes DPoP by a policy, on a clock
// the test moves.
type dpopService struct {
	*httptest.Server
	issuer *jwtaudit.Issuer
	trail  *events
	now    time.Time
}

func newDPoPService(t *testing.T, policy DPoPPolicy, nonces *jwtaudit.DPoPNonces, opts ...Option) *dpopService {
	t.Helper()
	key, err := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &dpopService{trail: &events{}, now: testNow}
	clock := func() time.Time { return s.now }
	d, err := jwtaudit.NewDPoP(jwtaudit.DPoPOptions{Algorithms: []jwtaudit.Algorithm{jwtaudit.ES256, jwtaudit.EdDSA}, Nonces: nonces, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	s.issuer, _ = jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithClock(clock))
	v, err := jwtaudit.NewVerifier(append(VerifierOptions(), jwtaudit.WithKeys(key), jwtaudit.WithClock(clock), jwtaudit.WithAudit(s.trail), jwtaudit.WithDPoP(d))...)
	if err != nil {
		t.Fatal(err)
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := TokenFrom(r.Context())
		io.WriteString(w, tok.Claims.Subject)
	})
	mux := http.NewServeMux()
	opts = append(opts, WithDPoP(policy))
	mux.Handle("GET /me", Middleware(v, opts...)(me))
	mux.Handle("POST /me", Middleware(v, opts...)(me))
	mux.Handle("GET /admin", Middleware(v, append(opts, RequireScopes("admin"))...)(me))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *dpopService) token(t *testing.T, jkt string, scope string) string {
	t.Helper()
	raw, err := s.issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "alice",
		Confirmation: jwtaudit.Confirmation{KeyThumbprint: jkt}, Private: map[string]any{"scope": scope}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type dpopAnswer struct {
	status     int
	challenges []string
	nonce      string
	text       string
}

func (s *dpopService) do(t *testing.T, method, path string, header http.Header) dpopAnswer {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	req.Header = header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return dpopAnswer{status: res.StatusCode, challenges: res.Header.Values("WWW-Authenticate"), nonce: res.Header.Get("DPoP-Nonce"), text: string(data)}
}

func dpopHeader(token string, proofs ...string) http.Header {
	return http.Header{"Authorization": {"DPoP " + token}, "Dpop": proofs}
}

// TestDPoPAnswers holds the answers of RFC 9449 §7.1 and the one event
// per request, with the proof's key, for each way a DPoP request fails.
func TestDPoPAnswers(t *testing.T) {
	client, _ := dpoptest.NewClient("ES256")
	other, _ := dpoptest.NewClient("EdDSA")
	const algs = `algs="ES256 EdDSA Ed25519"`
	for _, policy := range []DPoPPolicy{DPoPRequired, DPoPOrBearer} {
		s := newDPoPService(t, policy, nil)
		bound, unbound, admin := s.token(t, client.Thumbprint, "read"), s.token(t, "", "read"), s.token(t, client.Thumbprint, "admin")
		url := s.URL + "/me"
		proof := func(token string) string { return client.Proof("GET", url, token, s.now) }
		replayed := proof(bound)
		s.do(t, "GET", "/me", dpopHeader(bound, replayed))
		s.trail.Take()
		bearerChallenge := `DPoP realm="api", ` + algs
		if policy == DPoPOrBearer {
			bearerChallenge = `Bearer realm="api", error="invalid_token"`
		}
		for _, tc := range []struct {
			name       string
			method     string
			path       string
			header     http.Header
			status     int
			challenge  string
			reason     jwtaudit.Reason
			named      bool // the event has dpop_jkt
			bearerOnly bool // the case's answer differs under DPoPRequired
		}{
			{"valid", "GET", "/me", dpopHeader(bound, proof(bound)), 200, "", jwtaudit.ReasonNone, true, false},
			{"scheme in any case", "GET", "/me", http.Header{"Authorization": {"dpop " + bound}, "Dpop": {proof(bound)}}, 200, "", jwtaudit.ReasonNone, true, false},
			{"no proof", "GET", "/me", dpopHeader(bound), 401, `DPoP realm="api", ` + algs + `, error="invalid_dpop_proof"`, jwtaudit.ReasonDPoPProof, false, false},
			{"two proofs", "GET", "/me", dpopHeader(bound, proof(bound), proof(bound)), 401, `DPoP realm="api", ` + algs + `, error="invalid_dpop_proof"`, jwtaudit.ReasonDPoPProof, false, false},
			{"replayed proof", "GET", "/me", dpopHeader(bound, replayed), 401, `DPoP realm="api", ` + algs + `, error="invalid_dpop_proof"`, jwtaudit.ReasonDPoPReplayed, true, false},
			{"proof for another method", "POST", "/me", dpopHeader(bound, proof(bound)), 401, `DPoP realm="api", ` + algs + `, error="invalid_dpop_proof"`, jwtaudit.ReasonDPoPProof, true, false},
			{"proof for another URL", "GET", "/me", dpopHeader(bound, client.Proof("GET", s.URL+"/admin", bound, s.now)), 401, `DPoP realm="api", ` + algs + `, error="invalid_dpop_proof"`, jwtaudit.ReasonDPoPProof, true, false},
			{"stale proof", "GET", "/me", dpopHeader(bound, client.Proof("GET", url, bound, s.now.Add(-10*time.Minute))), 401, `DPoP realm="api", ` + algs + `, error="invalid_dpop_proof"`, jwtaudit.ReasonDPoPProof, true, false},
			{"proof by another key", "GET", "/me", dpopHeader(bound, other.Proof("GET", url, bound, s.now)), 401, `DPoP realm="api", ` + algs + `, error="invalid_token"`, jwtaudit.ReasonDPoPBinding, true, false},
			{"unbound token with a proof", "GET", "/me", dpopHeader(unbound, proof(unbound)), 401, `DPoP realm="api", ` + algs + `, error="invalid_token"`, jwtaudit.ReasonDPoPBinding, true, false},
			{"tampered token", "GET", "/me", dpopHeader(bound+"x", proof(bound+"x")), 401, `DPoP realm="api", ` + algs + `, error="invalid_token"`, jwtaudit.ReasonSignature, false, false},
			{"DPoP without a token", "GET", "/me", http.Header{"Authorization": {"DPoP "}}, 400, `DPoP realm="api", ` + algs + `, error="invalid_request"`, jwtaudit.ReasonNoToken, false, false},
			{"bound token as bearer", "GET", "/me", http.Header{"Authorization": {"Bearer " + bound}}, 401, bearerChallenge, jwtaudit.ReasonDPoPBinding, false, true},
			{"bound token as bearer, proof beside", "GET", "/me", http.Header{"Authorization": {"Bearer " + bound}, "Dpop": {proof(bound)}}, 401, bearerChallenge, jwtaudit.ReasonDPoPBinding, false, true},
			{"missing scope", "GET", "/admin", dpopHeader(bound, client.Proof("GET", s.URL+"/admin", bound, s.now)), 403, `DPoP realm="api", ` + algs + `, error="insufficient_scope", scope="admin"`, jwtaudit.ReasonRejected, true, false},
			{"scope granted", "GET", "/admin", dpopHeader(admin, client.Proof("GET", s.URL+"/admin", admin, s.now)), 200, "", jwtaudit.ReasonNone, true, false},
		} {
			name := map[DPoPPolicy]string{DPoPRequired: "required/", DPoPOrBearer: "or bearer/"}[policy] + tc.name
			t.Run(name, func(t *testing.T) {
				if policy == DPoPRequired && tc.bearerOnly {
					tc.challenge = `DPoP realm="api", ` + algs + `, error="invalid_dpop_proof"`
					tc.reason = jwtaudit.ReasonDPoPProof
				}
				a := s.do(t, tc.method, tc.path, tc.header)
				first := ""
				if len(a.challenges) > 0 {
					first = a.challenges[0]
				}
				if a.status != tc.status || first != tc.challenge {
					t.Errorf("%d %q, want %d %q", a.status, a.challenges, tc.status, tc.challenge)
				}
				if wantN := map[bool]int{true: 1, false: 2}[policy == DPoPRequired]; tc.status != 200 && len(a.challenges) != wantN {
					t.Errorf("challenges %q, want %d", a.challenges, wantN)
				}
				evs := s.trail.Take()
				if len(evs) != 1 {
					t.Fatalf("%d events for one request", len(evs))
				}
				e := evs[0]
				if e.Reason != tc.reason {
					t.Errorf("event reason %s, want %s (%s)", e.Reason, tc.reason, e.Detail)
				}
				if jkt := attr(e, "dpop_jkt"); (jkt != "") != tc.named {
					t.Errorf("dpop_jkt %q, want named=%v", jkt, tc.named)
				}
				for _, a := range e.Attrs {
					if strings.Contains(a.Value.String(), ".") && strings.Count(a.Value.String(), ".") == 2 && len(a.Value.String()) > 100 {
						t.Errorf("attribute %s holds a JWS", a.Key)
					}
				}
			})
		}
		if policy == DPoPOrBearer {
			if a := s.do(t, "GET", "/me", http.Header{"Authorization": {"Bearer " + unbound}}); a.status != 200 {
				t.Errorf("an unbound bearer token under DPoPOrBearer: %d", a.status)
			}
			if a := s.do(t, "GET", "/me", nil); a.status != 401 || strings.Join(a.challenges, "|") != `Bearer realm="api"|DPoP realm="api", `+algs {
				t.Errorf("no credentials: %d %q", a.status, a.challenges)
			}
		} else if a := s.do(t, "GET", "/me", http.Header{"Authorization": {"Bearer " + unbound}}); a.status != 401 {
			t.Errorf("an unbound bearer token under DPoPRequired: %d", a.status)
		}
		s.trail.Take()
	}
}

// TestDPoPNonceAnswers holds RFC 9449 §8: without the server's nonce, 401
// use_dpop_nonce with the nonce in DPoP-Nonce; with it, accepted.
func TestDPoPNonceAnswers(t *testing.T) {
	nonces, err := jwtaudit.NewDPoPNonces([]byte(strings.Repeat("k", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s := newDPoPService(t, DPoPRequired, nonces)
	client, _ := dpoptest.NewClient("EdDSA")
	tok := s.token(t, client.Thumbprint, "read")
	a := s.do(t, "GET", "/me", dpopHeader(tok, client.Proof("GET", s.URL+"/me", tok, s.now)))
	if a.status != 401 || len(a.challenges) != 1 || !strings.HasSuffix(a.challenges[0], `error="use_dpop_nonce"`) || a.nonce == "" {
		t.Fatalf("without a nonce: %d %q nonce %q", a.status, a.challenges, a.nonce)
	}
	if e := s.trail.Take(); len(e) != 1 || e[0].Reason != jwtaudit.ReasonDPoPNonce {
		t.Fatalf("events %v", e)
	}
	withNonce := func(p *dpoptest.Proof) { p.Claims["nonce"] = a.nonce }
	b := s.do(t, "GET", "/me", dpopHeader(tok, client.Proof("GET", s.URL+"/me", tok, s.now, withNonce)))
	if b.status != 200 || b.text != "alice" || b.nonce == "" {
		t.Fatalf("with the nonce: %d %s nonce %q", b.status, b.text, b.nonce)
	}
	s.now = s.now.Add(2 * time.Minute)
	if c := s.do(t, "GET", "/me", dpopHeader(tok, client.Proof("GET", s.URL+"/me", tok, s.now, withNonce))); c.status != 401 || c.nonce == a.nonce {
		t.Fatalf("an expired nonce: %d, new nonce %q", c.status, c.nonce)
	}
	s.trail.Take()
}

// TestDPoPOrigin holds WithOrigin: the proof names the public URL, not
// the one the server sees behind its proxy.
func TestDPoPOrigin(t *testing.T) {
	s := newDPoPService(t, DPoPRequired, nil, WithOrigin("https://api.example.com"))
	client, _ := dpoptest.NewClient("ES256")
	tok := s.token(t, client.Thumbprint, "read")
	if a := s.do(t, "GET", "/me", dpopHeader(tok, client.Proof("GET", "https://api.example.com/me?x=1", tok, s.now))); a.status != 200 {
		t.Errorf("proof for the public URL: %d %q", a.status, a.challenges)
	}
	if a := s.do(t, "GET", "/me", dpopHeader(tok, client.Proof("GET", s.URL+"/me", tok, s.now))); a.status != 401 {
		t.Errorf("proof for the internal URL: %d", a.status)
	}
	s.trail.Take()
}

func TestDPoPMisconfigured(t *testing.T) {
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	v, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key))
	d, _ := jwtaudit.NewDPoP(jwtaudit.DPoPOptions{})
	withDPoP, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithDPoP(d))
	for name, build := range map[string]func(){
		"verifier without WithDPoP": func() { Middleware(v, WithDPoP(DPoPRequired)) },
		"unknown policy":            func() { Middleware(withDPoP, WithDPoP(9)) },
		"origin with a path":        func() { Middleware(withDPoP, WithDPoP(DPoPRequired), WithOrigin("https://api.example.com/v1")) },
		"origin without a scheme":   func() { Middleware(withDPoP, WithOrigin("api.example.com")) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}
