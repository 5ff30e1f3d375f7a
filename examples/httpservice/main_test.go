package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/auditlog"
	"github.com/jwtaudit/jwtaudit/internal/redistest"
)

const testSecret = "a shared secret of 32 bytes or more, for the tests"

// instance starts one service instance on a test server.
func instance(t *testing.T, logPath, redisAddr string) *httptest.Server {
	t.Helper()
	svc, err := newService(context.Background(), config{logPath: logPath, redisAddr: redisAddr, secret: testSecret, out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
	})
	return srv
}

type reply struct {
	status    int
	challenge string
	body      map[string]any
}

func call(t *testing.T, method, url, token, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, challenge: res.Header.Get("WWW-Authenticate")}
	_ = json.NewDecoder(res.Body).Decode(&r.body)
	return r
}

func signIn(t *testing.T, base, user, password string) string {
	t.Helper()
	r := call(t, "POST", base+"/login", "", `{"username":"`+user+`","password":"`+password+`"}`)
	token, _ := r.body["access_token"].(string)
	if r.status != 200 || token == "" || r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(3600) {
		t.Fatalf("login %s: %d %v", user, r.status, r.body)
	}
	return token
}

func TestService(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "httpservice.log")
	srv := instance(t, logPath, "")
	base := srv.URL

	if r := call(t, "POST", base+"/login", "", `{"username":"alice","password":"rabbit"}`); r.status != 401 {
		t.Errorf("a wrong password: %d", r.status)
	}
	alice := signIn(t, base, "alice", "wonderland")
	if r := call(t, "GET", base+"/me", alice, ""); r.status != 200 || r.body["subject"] != "alice" {
		t.Errorf("/me: %d %v", r.status, r.body)
	}
	if r := call(t, "GET", base+"/admin", alice, ""); r.status != 403 || !strings.Contains(r.challenge, `error="insufficient_scope", scope="admin"`) {
		t.Errorf("/admin as alice: %d %q", r.status, r.challenge)
	}
	bob := signIn(t, base, "bob", "builder")
	if r := call(t, "GET", base+"/admin", bob, ""); r.status != 200 {
		t.Errorf("/admin as bob: %d", r.status)
	}

	// Log out: the token is refused from then on.
	if r := call(t, "POST", base+"/logout", alice, ""); r.status != 204 {
		t.Fatalf("/logout: %d", r.status)
	}
	if r := call(t, "GET", base+"/me", alice, ""); r.status != 401 || !strings.Contains(r.challenge, `error="invalid_token"`) {
		t.Errorf("/me after logout: %d %q", r.status, r.challenge)
	}

	// Log out everywhere: both of bob's other sessions are refused.
	phone, laptop := signIn(t, base, "bob", "builder"), signIn(t, base, "bob", "builder")
	if r := call(t, "POST", base+"/logout-all", phone, ""); r.status != 204 {
		t.Fatalf("/logout-all: %d", r.status)
	}
	for _, tok := range []string{phone, laptop, bob} {
		if r := call(t, "GET", base+"/me", tok, ""); r.status != 401 {
			t.Errorf("a session after logout-all: %d", r.status)
		}
	}
	// A login right after, in the same second, gets a token that works.
	if r := call(t, "GET", base+"/me", signIn(t, base, "bob", "builder"), ""); r.status != 200 {
		t.Errorf("a login right after logout-all: %d", r.status)
	}

	if r := call(t, "GET", base+"/.well-known/jwks.json", "", ""); r.status != 200 || len(r.body["keys"].([]any)) != 1 {
		t.Errorf("JWKS: %d %v", r.status, r.body)
	}

	// The trail: chained, with the issues, verifications and revocations.
	srv.Close()
	rep, err := auditlog.Verify([]string{logPath}, auditlog.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(logPath)
	data := string(raw)
	for _, op := range []string{`"op":"issue"`, `"op":"verify"`, `"op":"revoke"`, `"http_route":"GET /me"`} {
		if !strings.Contains(data, op) {
			t.Errorf("the trail has no %s", op)
		}
	}
	t.Logf("%d records, chain verified", rep.Records)
}

// TestInstancesShareRevocations runs two instances on one Redis: a token
// issued by one and revoked on the other is refused by both.
func TestInstancesShareRevocations(t *testing.T) {
	redis := redistest.Start(t)
	dir := t.TempDir()
	a := instance(t, filepath.Join(dir, "a.log"), redis.Addr())
	b := instance(t, filepath.Join(dir, "b.log"), redis.Addr())
	tok := signIn(t, a.URL, "alice", "wonderland")
	if r := call(t, "GET", b.URL+"/me", tok, ""); r.status != 200 {
		t.Fatalf("instance b does not accept instance a's token: %d", r.status)
	}
	if r := call(t, "POST", b.URL+"/logout", tok, ""); r.status != 204 {
		t.Fatalf("/logout on b: %d", r.status)
	}
	deadline := time.Now().Add(2 * time.Second)
	for call(t, "GET", a.URL+"/me", tok, "").status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("instance a still accepts the token b revoked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Log out everywhere on b, log in again at once on a: the new token
	// works on both, the old one on neither.
	old := signIn(t, a.URL, "alice", "wonderland")
	if r := call(t, "POST", b.URL+"/logout-all", old, ""); r.status != 204 {
		t.Fatalf("/logout-all on b: %d", r.status)
	}
	fresh := signIn(t, a.URL, "alice", "wonderland")
	for _, s := range []string{a.URL, b.URL} {
		if r := call(t, "GET", s+"/me", fresh, ""); r.status != 200 {
			t.Errorf("%s: a login on a right after logout-all on b: %d", s, r.status)
		}
		if r := call(t, "GET", s+"/me", old, ""); r.status != 401 {
			t.Errorf("%s: the session logged out everywhere: %d", s, r.status)
		}
	}
}

// TestStartupErrors starts the service wrongly in each way a newcomer
// does: every one is an error that says what is wrong, never a panic, and
// what was opened before it (the log's lock among it) is closed, so that a
// corrected start succeeds.
func TestStartupErrors(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "service.log")
	for _, tc := range []struct {
		name string
		cfg  config
		want string
	}{
		{"a short secret", config{logPath: logPath, secret: "too short"}, "JWTAUDIT_SECRET must be 32 bytes or more"},
		{"an unreachable Redis", config{logPath: logPath, secret: testSecret, redisAddr: "127.0.0.1:1"}, "Redis did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			tc.cfg.out = io.Discard
			svc, err := newService(ctx, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || svc != nil {
				t.Fatalf("newService = %v, %v; want an error saying %q", svc, err, tc.want)
			}
		})
	}
	// The lock of a log is the instance's: a second instance on the same
	// log is refused, with a message that says so.
	ctx := context.Background()
	first, err := newService(ctx, config{logPath: logPath, secret: testSecret, out: io.Discard})
	if err != nil {
		t.Fatalf("a correct start after the failed ones: %v", err)
	}
	defer first.Close()
	if svc, err := newService(ctx, config{logPath: logPath, secret: testSecret, out: io.Discard}); err == nil || !strings.Contains(err.Error(), "one writer") || svc != nil {
		t.Errorf("a second instance on the same log: %v, %v", svc, err)
	}
}
