package httpauth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/eventtest"
	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

var (
	testNow    = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	testSecret = []byte("0123456789abcdef0123456789abcdef")
)

// events keeps what the verifier records.
type events = eventtest.Recorder

func attr(ev jwtaudit.Event, key string) string { return eventtest.Attr(ev, key) }

// service is a ServeMux with an open route for the token's subject and an
// admin route, behind the middleware.
type service struct {
	*httptest.Server
	issuer *jwtaudit.Issuer
	trail  *events
}

func newService(t *testing.T, opts ...Option) *service {
	t.Helper()
	key, err := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	trail := &events{}
	clock := jwtaudit.WithClock(func() time.Time { return testNow })
	issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), clock)
	verifier, err := jwtaudit.NewVerifier(append(VerifierOptions(), jwtaudit.WithKeys(key), clock, jwtaudit.WithAudit(trail))...)
	if err != nil {
		t.Fatal(err)
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := TokenFrom(r.Context())
		if !ok {
			t.Error("no token in the context")
			return
		}
		io.WriteString(w, tok.Claims.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /me", Middleware(verifier, opts...)(me))
	mux.Handle("GET /admin", Middleware(verifier, append(opts, RequireScopes("admin"))...)(me))
	s := &service{Server: httptest.NewServer(mux), issuer: issuer, trail: trail}
	t.Cleanup(s.Close)
	return s
}

func (s *service) token(t *testing.T, c jwtaudit.Claims) string {
	t.Helper()
	raw, err := s.issuer.Issue(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type answer struct {
	status    int
	challenge string
	body      map[string]any
	text      string
}

func (s *service) get(t *testing.T, path string, header http.Header) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, challenge: res.Header.Get("WWW-Authenticate"), text: string(data)}
	_ = json.Unmarshal(data, &a.body)
	return a
}

func TestAnswers(t *testing.T) {
	s := newService(t)
	good := s.token(t, jwtaudit.Claims{Subject: "alice", Private: map[string]any{"scope": "read"}})
	admin := s.token(t, jwtaudit.Claims{Subject: "bob", Private: map[string]any{"scp": []string{"read", "admin"}}})
	expired := s.token(t, jwtaudit.Claims{Subject: "alice", IssuedAt: testNow.Add(-2 * time.Hour), ExpiresAt: testNow.Add(-time.Hour)})
	bearer := func(v ...string) http.Header { return http.Header{"Authorization": v} }
	for _, tc := range []struct {
		name      string
		path      string
		header    http.Header
		status    int
		challenge string
		detail    string
		reason    jwtaudit.Reason
	}{
		{"valid", "/me", bearer("Bearer " + good), 200, "", "", jwtaudit.ReasonNone},
		{"scheme in lower case", "/me", bearer("bearer " + good), 200, "", "", jwtaudit.ReasonNone},
		{"no credentials", "/me", nil, 401, `Bearer realm="api"`, "Authentication required", jwtaudit.ReasonNoToken},
		{"another scheme", "/me", bearer("Basic YWxpY2U6cHc="), 401, `Bearer realm="api"`, "Authentication required", jwtaudit.ReasonNoToken},
		{"expired", "/me", bearer("Bearer " + expired), 401, `Bearer realm="api", error="invalid_token", error_description="the token expired"`, "Token expired", jwtaudit.ReasonExpired},
		{"tampered", "/me", bearer("Bearer " + tokentest.TamperSignature(good)), 401, `Bearer realm="api", error="invalid_token"`, "Invalid token", jwtaudit.ReasonSignature},
		{"garbage", "/me", bearer("Bearer not-a-token"), 401, `Bearer realm="api", error="invalid_token"`, "Invalid token", jwtaudit.ReasonMalformed},
		{"two headers", "/me", bearer("Bearer "+good, "Bearer "+good), 400, `Bearer realm="api", error="invalid_request"`, "Invalid request", jwtaudit.ReasonNoToken},
		{"two tokens", "/me", bearer("Bearer " + good + " " + good), 400, `Bearer realm="api", error="invalid_request"`, "Invalid request", jwtaudit.ReasonNoToken},
		{"schemes mixed", "/me", bearer("Bearer " + good + ", Basic YWxpY2U6cHc="), 400, `Bearer realm="api", error="invalid_request"`, "Invalid request", jwtaudit.ReasonNoToken},
		{"bearer without token", "/me", bearer("Bearer "), 400, `Bearer realm="api", error="invalid_request"`, "Invalid request", jwtaudit.ReasonNoToken},
		{"query token is off", "/me?access_token=" + good, nil, 401, `Bearer realm="api"`, "Authentication required", jwtaudit.ReasonNoToken},
		{"missing scope", "/admin", bearer("Bearer " + good), 403, `Bearer realm="api", error="insufficient_scope", scope="admin"`, "Insufficient scope", jwtaudit.ReasonRejected},
		{"scope in scp", "/admin", bearer("Bearer " + admin), 200, "", "", jwtaudit.ReasonNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.get(t, tc.path, tc.header)
			if a.status != tc.status || a.challenge != tc.challenge {
				t.Errorf("%d %q, want %d %q", a.status, a.challenge, tc.status, tc.challenge)
			}
			if tc.status != 200 && (a.body["detail"] != tc.detail || a.body["status"] != float64(tc.status)) {
				t.Errorf("body %s", a.text)
			}
			for _, secret := range []string{"signature", "k1", "alice", "malformed", "expired at"} {
				if tc.status != 200 && strings.Contains(a.text+a.challenge, secret) {
					t.Errorf("the answer tells the client %q: %s %s", secret, a.challenge, a.text)
				}
			}
			evs := s.trail.Take()
			if len(evs) != 1 {
				t.Fatalf("%d events for one request", len(evs))
			}
			e := evs[0]
			if e.Reason != tc.reason || attr(e, "http_method") != "GET" || attr(e, "http_route") != "GET "+strings.Split(tc.path, "?")[0] || attr(e, "client") == "" {
				t.Errorf("event %s, attrs %v", e.Reason, e.Attrs)
			}
			if tc.status == 400 && attr(e, "http_auth") == "" {
				t.Error("the event does not say what was malformed")
			}
		})
	}
}

func TestExtractors(t *testing.T) {
	probe := func(t *testing.T, s *service, req func(*http.Request)) int {
		r, _ := http.NewRequest("GET", s.URL+"/me", nil)
		req(r)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		s.trail.Take()
		return res.StatusCode
	}
	t.Run("query", func(t *testing.T) {
		s := newService(t, AllowQueryToken())
		tok := s.token(t, jwtaudit.Claims{Subject: "a"})
		if got := probe(t, s, func(r *http.Request) { r.URL.RawQuery = "access_token=" + tok }); got != 200 {
			t.Errorf("query token: %d", got)
		}
		if got := probe(t, s, func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + tok
			r.Header.Set("Authorization", "Bearer "+tok)
		}); got != 400 {
			t.Errorf("query and header: %d", got)
		}
	})
	t.Run("cookie", func(t *testing.T) {
		s := newService(t, WithCookie("session"))
		tok := s.token(t, jwtaudit.Claims{Subject: "a"})
		other := s.token(t, jwtaudit.Claims{Subject: "b"})
		for _, tc := range []struct {
			name string
			req  func(*http.Request)
			want int
		}{
			{"one cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: tok}) }, 200},
			{"two cookies of the name", func(r *http.Request) {
				r.AddCookie(&http.Cookie{Name: "session", Value: tok})
				r.AddCookie(&http.Cookie{Name: "session", Value: other})
			}, 400},
			{"two cookies, the second empty", func(r *http.Request) {
				r.AddCookie(&http.Cookie{Name: "session", Value: tok})
				r.AddCookie(&http.Cookie{Name: "session", Value: ""})
			}, 400},
			{"cookie and a bearer header", func(r *http.Request) {
				r.AddCookie(&http.Cookie{Name: "session", Value: tok})
				r.Header.Set("Authorization", "Bearer "+tok)
			}, 400},
			{"cookie and another scheme", func(r *http.Request) {
				r.AddCookie(&http.Cookie{Name: "session", Value: tok})
				r.Header.Set("Authorization", "Basic YWxpY2U6cHc=")
			}, 400},
			{"another scheme alone", func(r *http.Request) { r.Header.Set("Authorization", "Basic YWxpY2U6cHc=") }, 401},
			{"a cookie of another name", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "other", Value: tok}) }, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := probe(t, s, tc.req); got != tc.want {
					t.Errorf("status %d, want %d", got, tc.want)
				}
			})
		}
	})
	t.Run("custom extractor and error handler", func(t *testing.T) {
		var seen *Problem
		s := newService(t,
			WithExtractor(func(r *http.Request) (string, error) { return r.Header.Get("X-Token"), nil }),
			WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, p *Problem) { seen = p; w.WriteHeader(418) }))
		tok := s.token(t, jwtaudit.Claims{Subject: "a"})
		if got := probe(t, s, func(r *http.Request) { r.Header.Set("X-Token", tok) }); got != 200 {
			t.Errorf("custom extractor: %d", got)
		}
		if got := probe(t, s, func(r *http.Request) {}); got != 418 || seen == nil || seen.Status != 401 || seen.Err == nil {
			t.Errorf("custom error handler: %d %+v", got, seen)
		}
	})
}

// TestScopesSplitOnSpaceOnly holds the scope claim to RFC 6749 §3.3: scopes
// are separated by U+0020 alone, and a string with any other white space
// (or any character outside the scope-token set) is not a scope, so that
// "read<NBSP>admin" grants neither read nor admin.
func TestScopesSplitOnSpaceOnly(t *testing.T) {
	s := newService(t)
	for _, tc := range []struct {
		name  string
		scope any
		want  int
	}{
		{"space", "read admin", 200},
		{"two spaces", "read  admin", 200},
		{"scp array", []string{"read", "admin"}, 200},
		{"no-break space", "read\u00a0admin", 403},
		{"tab", "read\tadmin", 403},
		{"vertical tab", "read\vadmin", 403},
		{"line feed", "read\nadmin", 403},
		{"next line", "read\u0085admin", 403},
		{"ogham space", "read\u1680admin", 403},
		{"line separator", "read\u2028admin", 403},
		{"ideographic space", "read\u3000admin", 403},
		{"scp element with a space", []string{"read admin"}, 403},
		{"scp element with a no-break space", []string{"read\u00a0admin"}, 403},
		{"admin with a no-break space after", "admin\u00a0", 403},
		{"quote inside", `ad"min`, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "scope"
			if _, ok := tc.scope.([]string); ok {
				name = "scp"
			}
			tok := s.token(t, jwtaudit.Claims{Subject: "alice", Private: map[string]any{name: tc.scope}})
			if a := s.get(t, "/admin", http.Header{"Authorization": {"Bearer " + tok}}); a.status != tc.want {
				t.Errorf("status %d, want %d", a.status, tc.want)
			}
			s.trail.Take()
		})
	}
}

// TestRequireScopesRefusesWhatNoTokenGrants: a required scope that is not
// a scope-token could never be granted, and is a configuration error.
func TestRequireScopesRefusesWhatNoTokenGrants(t *testing.T) {
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	v, _ := jwtaudit.NewVerifier(append(VerifierOptions(), jwtaudit.WithKeys(key))...)
	for _, scope := range []string{"", "read admin", "read\u00a0admin", `a\b`} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireScopes(%q) was accepted", scope)
				}
			}()
			Middleware(v, RequireScopes(scope))
		}()
	}
}

// TestHugeHeader sends "Bearer " and 1 MiB of dots (the golang-jwt
// CVE-2025-30204 class): refused by the verifier's size check, before
// anything is split or decoded (the event's reason says which check).
func TestHugeHeader(t *testing.T) {
	s := newService(t)
	a := s.get(t, "/me", http.Header{"Authorization": {"Bearer " + strings.Repeat(".", 1<<20)}})
	if a.status != 401 {
		t.Errorf("status %d", a.status)
	}
	if evs := s.trail.Take(); len(evs) != 1 || evs[0].Reason != jwtaudit.ReasonTooLarge {
		t.Errorf("events %+v", evs)
	}
}

// TestScopesNeedTheValidator checks that a verifier built without
// VerifierOptions never lets a request through a route that requires
// scopes.
func TestScopesNeedTheValidator(t *testing.T) {
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	v, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key))
	is, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	tok, _ := is.Issue(context.Background(), jwtaudit.Claims{Subject: "a"})
	h := Middleware(v, RequireScopes("admin"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the handler ran")
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/admin", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(rec, req)
	if rec.Code != 500 {
		t.Errorf("%d, want 500", rec.Code)
	}
}

func TestRequestAttrs(t *testing.T) {
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("X-Request-Id", "req-1\x1b[2J\n")
	if got := requestAttrs(r); attrValue(got, "request_id") != "req-1[2J" {
		t.Errorf("request id %q", attrValue(got, "request_id"))
	}
	r.Header.Del("X-Request-Id")
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if got := requestAttrs(r); attrValue(got, "trace_id") != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id from %v", got)
	}
}

func attrValue(attrs []slog.Attr, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}
