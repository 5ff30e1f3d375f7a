package jwtaudit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// movableClock is a clock tests can move.
type movableClock struct{ now atomic.Int64 }

func newMovableClock(t time.Time) *movableClock {
	c := &movableClock{}
	c.now.Store(t.UnixNano())
	return c
}
func (c *movableClock) Now() time.Time      { return time.Unix(0, c.now.Load()).UTC() }
func (c *movableClock) Add(d time.Duration) { c.now.Add(int64(d)) }
func edKey(t testing.TB, kid string, seed byte) *Key {
	var s [32]byte
	s[0] = seed
	return mustKey(t, kid, EdDSA, ed25519FromSeed(s[:]))
}

func TestKeySetLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := newMovableClock(testNow)
	rec := &captureSink{}
	ks, err := NewKeySet(edKey(t, "k0", 0), WithAudit(rec), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	shared := Options(WithKeySet(ks), WithClock(clock.Now))
	is, err := NewIssuer(shared)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(shared)
	if err != nil {
		t.Fatal(err)
	}
	issue := func() string {
		raw, err := is.Issue(ctx, Claims{Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		trackToken(raw)
		return raw
	}
	verifies := func(raw string) Reason {
		_, err := v.Verify(ctx, raw)
		return ReasonOf(err)
	}

	t0 := issue()
	if err := ks.Publish(ctx, edKey(t, "k1", 1)); err != nil {
		t.Fatal(err)
	}
	if is.signing().key.ID() != "k0" {
		t.Errorf("a published key signs before rotation")
	}
	// A token signed with a next key (by another issuer that rotated
	// sooner) is accepted.
	early, _ := NewIssuer(WithKeys(edKey(t, "k1", 1)), WithClock(clock.Now))
	fromNext, _ := early.Issue(ctx, Claims{Subject: "a"})
	trackToken(fromNext)
	if r := verifies(fromNext); r != ReasonNone {
		t.Errorf("token of the next key: %s", r)
	}

	if err := ks.Rotate(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if is.signing().key.ID() != "k1" {
		t.Errorf("after rotation the issuer signs with %s", is.signing().key.ID())
	}
	t1 := issue()
	if r := verifies(t0); r != ReasonNone {
		t.Errorf("token of the retiring key: %s", r)
	}
	if got := fmt.Sprint(ks.Keys()); !strings.Contains(got, "k1 EdDSA active") || !strings.Contains(got, "k0 EdDSA retiring 2026-11-27 10:10:00") {
		t.Errorf("keys = %s", got)
	}

	clock.Add(10 * time.Minute)
	if r := verifies(t0); r != ReasonUnknownKey {
		t.Errorf("token of a key past its retire time: %s", r)
	}
	if r := verifies(t1); r != ReasonNone {
		t.Errorf("token of the active key: %s", r)
	}

	// Refused changes leave the set alone and record nothing.
	rec.take()
	if err := ks.Rotate(ctx, time.Minute); err == nil || !strings.Contains(err.Error(), "no next key") {
		t.Errorf("Rotate without a next key = %v", err)
	}
	if err := ks.Remove(ctx, "k1"); err == nil || !strings.Contains(err.Error(), "active key") {
		t.Errorf("Remove of the active key = %v", err)
	}
	if err := ks.Publish(ctx, edKey(t, "k1", 9)); err == nil {
		t.Errorf("a second key with the id k1 was published")
	}
	if n := len(rec.take()); n != 0 {
		t.Errorf("refused changes recorded %d events", n)
	}

	// Each change is one key_rotate event.
	if err := ks.Publish(ctx, edKey(t, "k2", 2)); err != nil {
		t.Fatal(err)
	}
	if err := ks.Remove(ctx, "k2"); err != nil {
		t.Fatal(err)
	}
	evs := rec.take()
	if len(evs) != 2 || evs[0].Op != OpKeyRotate || evs[0].KeyID != "k1" || evs[0].Message() != "key set changed" {
		t.Fatalf("events = %+v", evs)
	}
	attrs := fmt.Sprint(evs[1].Attrs)
	if !strings.Contains(attrs, "change=remove") || !strings.Contains(attrs, "changed_kid=k2") {
		t.Errorf("remove event attrs = %s", attrs)
	}

	// A change that cannot be recorded is not made.
	rec.err = errors.New("disk full")
	if err := ks.Publish(ctx, edKey(t, "k3", 3)); !errors.Is(err, ErrAudit) {
		t.Errorf("Publish with a failing sink = %v", err)
	}
	if len(ks.Keys()) != 2 {
		t.Errorf("an unrecorded change was made: %v", ks.Keys())
	}
}

// TestRotationUnderLoad rotates 20 times while 4 goroutines issue and
// verify: no token signed by a key of the set is ever refused. Then the
// retired keys are removed, and their tokens are refused.
func TestRotationUnderLoad(t *testing.T) {
	ctx := context.Background()
	ks, err := NewKeySet(edKey(t, "gen-0", 0))
	if err != nil {
		t.Fatal(err)
	}
	shared := Options(WithKeySet(ks))
	is, _ := NewIssuer(shared)
	v, _ := NewVerifier(shared)

	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	byKey := map[string][]string{}
	var failures atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				raw, err := is.Issue(ctx, Claims{Subject: "a"})
				if err != nil {
					failures.Add(1)
					continue
				}
				tok, err := v.Verify(ctx, raw)
				if err != nil {
					failures.Add(1)
					continue
				}
				mu.Lock()
				byKey[tok.Header.KeyID] = append(byKey[tok.Header.KeyID], raw)
				mu.Unlock()
			}
		})
	}
	for i := 1; i <= 20; i++ {
		if err := ks.Publish(ctx, edKey(t, fmt.Sprintf("gen-%d", i), byte(i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if err := ks.Rotate(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d tokens were refused during rotation", n)
	}
	if len(byKey) < 5 {
		t.Errorf("tokens from only %d keys: the rotations did not interleave with the load", len(byKey))
	}

	// Remove every retiring key: their tokens are refused from now on, the
	// active key's still verify.
	for _, k := range ks.Keys() {
		if k.Status == KeyRetiring {
			if err := ks.Remove(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for kid, tokens := range byKey {
		want := ReasonUnknownKey
		if kid == "gen-20" {
			want = ReasonNone
		}
		for _, raw := range tokens[:min(len(tokens), 5)] {
			if _, err := v.Verify(ctx, raw); ReasonOf(err) != want {
				t.Errorf("token of %s after removal: %v, want %s", kid, err, want)
			}
		}
	}
}

// TestJWKSHandler serves a set holding every kind of key and checks that
// nothing secret is ever published, and the HTTP caching behaviour.
func TestJWKSHandler(t *testing.T) {
	ctx := context.Background()
	ks, err := NewKeySet(mustKey(t, "rsa", RS256, loadPrivate(t, "rsa2048.pem")))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Key{
		mustKey(t, "hmac", HS256, testSecret),
		mustKey(t, "pss", PS384, loadPrivate(t, "rsa2048-other.pem")),
		mustKey(t, "p256", ES256, loadPrivate(t, "p256.pem")),
		mustKey(t, "p384", ES384, loadPrivate(t, "p384.pem")),
		mustKey(t, "p521", ES512, loadPrivate(t, "p521.pem")),
		mustKey(t, "ed", EdDSA, testEd25519),
	} {
		if err := ks.Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(ks.JWKSHandler(5 * time.Minute))
	defer srv.Close()

	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET: %d, %v", res.StatusCode, err)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var kids []string
	for _, k := range doc.Keys {
		kids = append(kids, fmt.Sprint(k["kid"]))
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %v publishes the private member %q", k["kid"], private)
			}
		}
		if k["use"] != "sig" || k["alg"] == nil {
			t.Errorf("key %v lacks use or alg: %v", k["kid"], k)
		}
	}
	if got := strings.Join(kids, ","); got != "rsa,pss,p256,p384,p521,ed" {
		t.Errorf("published kids %s (the HMAC key must never be published)", got)
	}

	etag := res.Header.Get("ETag")
	for _, tc := range []struct {
		method, inm string
		status      int
	}{
		{"GET", etag, 304},
		{"GET", `"other", W/` + etag, 304},
		{"GET", `"other"`, 200},
		{"HEAD", "", 200},
		{"POST", "", 405},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL, nil)
		if tc.inm != "" {
			req.Header.Set("If-None-Match", tc.inm)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s If-None-Match %q: %d, want %d", tc.method, tc.inm, res.StatusCode, tc.status)
		}
	}

	// A change to the set changes the ETag.
	if err := ks.Remove(ctx, "ed"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("If-None-Match", etag)
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %s", res.StatusCode, res.Header.Get("ETag"))
	}
}

// TestKeySetRotatesToAKeyTheIssuerMayNotUse rotates to a key whose
// algorithm the issuer's WithAlgorithms leaves out: Issue refuses to sign
// with it rather than issue a token its own verifiers would refuse.
func TestKeySetRotatesToAKeyTheIssuerMayNotUse(t *testing.T) {
	ctx := context.Background()
	ks, err := NewKeySet(mustKey(t, "hs", HS256, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	rec := &captureSink{}
	is, err := NewIssuer(WithKeySet(ks), WithAlgorithms(HS256), WithAudit(rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Publish(ctx, edKey(t, "ed", 5)); err != nil {
		t.Fatal(err)
	}
	if err := ks.Rotate(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	raw, err := is.Issue(ctx, Claims{Subject: "a"})
	noteError(err)
	if !errors.Is(err, ErrSigning) || raw != "" {
		t.Errorf("Issue with a disallowed active key = %q, %v", raw, err)
	}
	if ev := rec.only(t); ev.KeyID != "ed" || ev.Reason != ReasonSigning || ev.Outcome != OutcomeError {
		t.Errorf("event = %+v", ev)
	}
}
