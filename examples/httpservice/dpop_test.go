package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/dpoptest"
	"github.com/jwtaudit/jwtaudit/internal/redistest"
)

// clientDir holds the real DPoP client: panva's dpop and jose packages,
// installed with npm ci.
const clientDir = "testdata/dpopclient"

// node returns the node command, once the client's packages are
// installed. Without them the test is skipped, or fails with
// JWTAUDIT_REQUIRE_NODE=1 (as in CI).
func node(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(clientDir, "node_modules", "dpop", "package.json"))
	}
	if err != nil {
		msg := "the real DPoP client needs Node.js and its packages (cd examples/httpservice/" + clientDir + " && npm ci): " + err.Error()
		if os.Getenv("JWTAUDIT_REQUIRE_NODE") == "1" {
			t.Fatal(msg + ", and JWTAUDIT_REQUIRE_NODE=1")
		}
		t.Skip(msg)
	}
	return path
}

// clientLine is one request the client made: what it sent and what came
// back.
type clientLine struct {
	Name string `json:"name"`
	Sent struct {
		Method string  `json:"method"`
		Path   string  `json:"path"`
		Scheme *string `json:"scheme"`
		Proof  bool    `json:"proof"`
	} `json:"sent"`
	Status          int            `json:"status"`
	WWWAuthenticate string         `json:"www_authenticate"`
	Body            map[string]any `json:"body"`
	Thumbprint      string         `json:"thumbprint"`
}

// TestRealDPoPClient drives the service with a DPoP client written by
// others (panva's dpop, with jose for a proof dpop will not make), for an
// ES256 key and an Ed25519 one: a DPoP login, requests with proofs right
// and wrong, a replayed proof, the bearer downgrade. Each answer is the
// one RFC 9449 asks for, and each request is one event on the trail,
// with the refusal's reason and the proof key's thumbprint.
func TestRealDPoPClient(t *testing.T) {
	nodePath := node(t)
	for _, alg := range []string{"ES256", "Ed25519"} {
		t.Run(alg, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "trail.log")
			srv := instance(t, logPath, "")
			cmd := exec.Command(nodePath, "client.mjs", srv.URL, alg)
			cmd.Dir = clientDir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("the client failed: %v\n%s", err, stderr.String())
			}
			lines := map[string]clientLine{}
			var order []string
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var l clientLine
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("%v: %s", err, sc.Text())
				}
				if _, seen := lines[l.Name]; seen {
					l.Name += " again"
				}
				lines[l.Name] = l
				order = append(order, l.Name)
				t.Logf("%s: sent %s %s scheme=%v proof=%v → %d %s", l.Name, l.Sent.Method, l.Sent.Path, deref(l.Sent.Scheme), l.Sent.Proof, l.Status, l.WWWAuthenticate)
			}
			jkt := lines["key"].Thumbprint
			wants := []struct {
				name   string
				status int
				error  string // the first challenge's error, or the body's
				reason string // of the request's event
			}{
				{"login alice", 200, "", "none"},
				{"login bob", 200, "", "none"},
				{"me with a proof", 200, "", "none"},
				{"first use of a proof", 200, "", "none"},
				{"replayed proof", 401, "invalid_dpop_proof", "dpop_replay"},
				{"proof for another URL", 401, "invalid_dpop_proof", "dpop_proof"},
				{"proof for another method", 401, "invalid_dpop_proof", "dpop_proof"},
				{"stale iat", 401, "invalid_dpop_proof", "dpop_proof"},
				{"proof by another key", 401, "invalid_token", "dpop_binding"},
				{"proof without ath", 401, "invalid_dpop_proof", "dpop_proof"},
				{"bearer downgrade", 401, "invalid_token", "dpop_binding"},
				{"bearer downgrade with a proof", 401, "invalid_token", "dpop_binding"},
				{"admin without the scope", 403, "insufficient_scope", "rejected"},
				{"admin with the scope", 200, "", "none"},
				{"login alice again", 400, "invalid_dpop_proof", ""},
			}
			reasons := map[string]string{}
			for _, want := range wants {
				reasons[want.name] = want.reason
				l, ok := lines[want.name]
				if !ok {
					t.Errorf("the client made no request %q", want.name)
					continue
				}
				got := ""
				if l.WWWAuthenticate != "" {
					got = challengeError(l.WWWAuthenticate)
				} else if e, ok := l.Body["error"].(string); ok {
					got = e
				}
				if l.Status != want.status || got != want.error {
					t.Errorf("%s: %d %q, want %d %q", want.name, l.Status, got, want.status, want.error)
				}
				if strings.HasPrefix(want.name, "login") && l.Status == 200 && l.Body["token_type"] != "DPoP" {
					t.Errorf("%s: token_type %v, want DPoP", want.name, l.Body["token_type"])
				}
			}

			// The trail: one event per login that issued and per request
			// that reached the middleware, in order, each with its
			// reason; the issues and every request whose proof was read
			// name the client's key.
			srv.Close()
			var wantReasons []string
			for _, name := range order {
				switch {
				case name == "key" || name == "login alice again": // no Issue, no Verify
				case strings.HasPrefix(name, "login"):
					wantReasons = append(wantReasons, "issue "+reasons[name])
				default:
					wantReasons = append(wantReasons, "verify "+reasons[name])
				}
			}
			var got []string
			keyed := 0
			for _, rec := range trailEvents(t, logPath) {
				if rec["op"] != "issue" && rec["op"] != "verify" {
					continue
				}
				reason, _ := rec["reason"].(string)
				if reason == "" {
					reason = "none"
				}
				got = append(got, rec["op"].(string)+" "+reason)
				if rec["dpop_jkt"] == jkt {
					keyed++
				}
				for _, v := range rec {
					if s, ok := v.(string); ok && strings.Count(s, ".") == 2 && len(s) > 100 {
						t.Errorf("an event holds what looks like a token or a proof: %.40s…", s)
					}
				}
			}
			if strings.Join(got, ", ") != strings.Join(wantReasons, ", ") {
				t.Fatalf("events\n %q, want\n %q", got, wantReasons)
			}
			t.Logf("events: %q; %d name the client's key", got, keyed)
			// All but three: the proof by another key names that key, and
			// the bearer downgrades carry no proof the verifier reads.
			if keyed != len(got)-3 {
				t.Errorf("%d of %d events name the client's key", keyed, len(got))
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// challengeError returns the error parameter of a WWW-Authenticate value.
func challengeError(h string) string {
	_, rest, ok := strings.Cut(h, `error="`)
	if !ok {
		return ""
	}
	e, _, _ := strings.Cut(rest, `"`)
	return e
}

// trailEvents reads the trail's records as JSON objects.
func trailEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

// TestInstancesShareDPoPProofs runs two instances behind one public
// origin on one Redis: a proof accepted by one is refused by the other,
// so a proof captured on its way to one instance cannot be played to
// another.
func TestInstancesShareDPoPProofs(t *testing.T) {
	redis := redistest.Start(t)
	const origin = "https://api.example"
	start := func(name string) *httptest.Server {
		svc, err := newService(context.Background(), config{logPath: filepath.Join(t.TempDir(), name+".log"), redisAddr: redis.Addr(),
			origin: origin, secret: testSecret, out: io.Discard})
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
	a, b := start("a"), start("b")
	client, err := dpoptest.NewClient("ES256")
	if err != nil {
		t.Fatal(err)
	}
	send := func(srv *httptest.Server, method, path, token, proof, body string) reply {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("DPoP", proof)
		if token != "" {
			req.Header.Set("Authorization", "DPoP "+token)
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
	loginProof := client.Proof("POST", origin+"/login", "", time.Now())
	login := send(a, "POST", "/login", "", loginProof, `{"username":"alice","password":"wonderland"}`)
	token, _ := login.body["access_token"].(string)
	if login.status != 200 || login.body["token_type"] != "DPoP" {
		t.Fatalf("DPoP login on a: %d %v", login.status, login.body)
	}
	if r := send(b, "POST", "/login", "", loginProof, `{"username":"alice","password":"wonderland"}`); r.status != 400 {
		t.Errorf("the login proof replayed on b: %d", r.status)
	}
	proof := client.Proof("GET", origin+"/me", token, time.Now())
	if r := send(a, "GET", "/me", token, proof, ""); r.status != 200 {
		t.Fatalf("/me on a: %d %q", r.status, r.challenge)
	}
	if r := send(b, "GET", "/me", token, proof, ""); r.status != 401 || challengeError(r.challenge) != "invalid_dpop_proof" {
		t.Errorf("the proof replayed on b: %d %q", r.status, r.challenge)
	}
	if r := send(b, "GET", "/me", token, client.Proof("GET", origin+"/me", token, time.Now()), ""); r.status != 200 {
		t.Errorf("a fresh proof on b: %d %q", r.status, r.challenge)
	}
}
