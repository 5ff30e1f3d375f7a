package jwtaudit

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRevocation(t *testing.T) {
	ctx := context.Background()
	clock := newMovableClock(testNow)
	key := mustKey(t, "k1", HS256, testSecret)
	rec := &captureSink{}
	store := NewMemoryRevocations(MemoryStoreOptions{Clock: clock.Now})
	shared := Options(WithKeys(key), WithIssuer("https://auth.example"), WithAudit(rec), WithClock(clock.Now))
	is, _ := NewIssuer(shared)
	v, err := NewVerifier(shared, WithRevocation(store, RevocationPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	revoker, err := NewRevoker(store, RevokerOptions{}, WithAudit(rec), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	issue := func(sub string) string {
		raw, err := is.Issue(ctx, Claims{Subject: sub})
		if err != nil {
			t.Fatal(err)
		}
		trackToken(raw)
		return raw
	}
	verify := func(raw string) Reason {
		_, err := v.Verify(ctx, raw)
		noteError(err)
		return ReasonOf(err)
	}
	alice1, alice2, bob := issue("alice"), issue("alice"), issue("bob")
	tok, err := v.Verify(ctx, alice1)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()

	if err := revoker.RevokeToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if e := rec.only(t); e.Op != OpRevoke || e.Outcome != OutcomeSuccess || e.ID != tok.Claims.ID || e.Issuer != "https://auth.example" {
		t.Errorf("revoke event %+v", e)
	}
	for _, tc := range []struct {
		raw  string
		want Reason
	}{{alice1, ReasonRevoked}, {alice2, ReasonNone}, {bob, ReasonNone}} {
		if got := verify(tc.raw); got != tc.want {
			t.Errorf("after revoking one token: %s, want %s", got, tc.want)
		}
	}

	clock.Add(time.Second) // "log out everywhere" at a later second than the tokens' iat
	if err := revoker.RevokeSubject(ctx, "https://auth.example", "alice", clock.Now()); err != nil {
		t.Fatal(err)
	}
	rec.take()
	clock.Add(time.Second)
	alice3 := issue("alice") // issued after: passes
	for _, tc := range []struct {
		raw  string
		want Reason
	}{{alice2, ReasonRevoked}, {bob, ReasonNone}, {alice3, ReasonNone}} {
		if got := verify(tc.raw); got != tc.want {
			t.Errorf("after revoking alice: %s, want %s", got, tc.want)
		}
	}
	if n := store.Len(); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}

	// Entries go once every token they cover has expired.
	clock.Add(25 * time.Hour)
	if err := store.Revoke(ctx, Revocation{ID: "x", Until: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.sweep(clock.Now())
	store.mu.Unlock()
	if n := store.Len(); n != 1 {
		t.Errorf("%d entries after expiry, want 1", n)
	}
}

func TestRevocationPolicy(t *testing.T) {
	ctx := context.Background()
	key := mustKey(t, "k1", HS256, testSecret)
	noJTI := forge(t, key, hdrK1, `{"sub":"a","exp":1798000000}`)
	withJTI := forge(t, key, hdrK1, `{"sub":"a","jti":"j1","exp":1798000000}`)
	store := NewMemoryRevocations(MemoryStoreOptions{Clock: fixedClock(testNow)})
	for _, tc := range []struct {
		name   string
		store  RevocationStore
		policy RevocationPolicy
		raw    string
		want   Reason
		mark   bool
	}{
		{"no jti refused by default", store, RevocationPolicy{}, noJTI, ReasonMissingClaim, false},
		{"no jti allowed", store, RevocationPolicy{AllowMissingID: true}, noJTI, ReasonNone, false},
		{"store down: fail closed", brokenStore{}, RevocationPolicy{}, withJTI, ReasonStoreUnavailable, false},
		{"store down: fail open", brokenStore{}, RevocationPolicy{FailOpen: true}, withJTI, ReasonNone, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &captureSink{}
			v, _ := NewVerifier(WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(rec), WithRevocation(tc.store, tc.policy))
			_, err := v.Verify(ctx, tc.raw)
			noteError(err)
			e := rec.only(t)
			marked := slices.ContainsFunc(e.Attrs, func(a slog.Attr) bool { return a.Key == "revocation" })
			if ReasonOf(err) != tc.want || e.Reason != tc.want || marked != tc.mark {
				t.Errorf("%v, event %s, marked %v; want %s, %v", err, e.Reason, marked, tc.want, tc.mark)
			}
		})
	}
}

// TestRevokerIsMadeWhenTheTrailFails checks that a revocation whose event
// cannot be recorded is still made, and says so.
func TestRevokerIsMadeWhenTheTrailFails(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryRevocations(MemoryStoreOptions{Clock: fixedClock(testNow)})
	revoker, _ := NewRevoker(store, RevokerOptions{}, WithAudit(&captureSink{err: errors.New("disk full")}), WithClock(fixedClock(testNow)))
	err := revoker.RevokeID(ctx, "", "j1", testNow.Add(time.Hour))
	if !errors.Is(err, ErrAudit) {
		t.Errorf("RevokeID with a failing sink = %v, want ErrAudit", err)
	}
	if revoked, _ := store.Revoked(ctx, &Claims{ID: "j1"}); !revoked {
		t.Error("the revocation was not made")
	}
	plain, _ := NewRevoker(store, RevokerOptions{})
	for _, err := range []error{
		plain.RevokeID(ctx, "", "", testNow.Add(time.Hour)),
		plain.RevokeSubject(ctx, "", "", testNow),
	} {
		if ReasonOf(err) != ReasonMissingClaim {
			t.Errorf("an empty revocation: %v", err)
		}
	}
	broken, _ := NewRevoker(brokenStore{}, RevokerOptions{})
	if err := broken.RevokeID(ctx, "", "j1", testNow.Add(time.Hour)); ReasonOf(err) != ReasonStoreUnavailable {
		t.Errorf("a store that fails: %v", err)
	}
}

func TestMemoryStoresAreBounded(t *testing.T) {
	ctx := context.Background()
	clock := newMovableClock(testNow)
	store := NewMemoryRevocations(MemoryStoreOptions{MaxEntries: 2, Clock: clock.Now})
	replay := NewMemoryReplay(MemoryStoreOptions{MaxEntries: 2, Clock: clock.Now})
	for i, id := range []string{"a", "b"} {
		if err := store.Revoke(ctx, Revocation{ID: id, Until: testNow.Add(time.Duration(i+1) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if first, err := replay.FirstUse(ctx, "", id, testNow.Add(time.Duration(i+1)*time.Minute)); !first || err != nil {
			t.Fatal(first, err)
		}
	}
	if err := store.Revoke(ctx, Revocation{ID: "c", Until: testNow.Add(time.Hour)}); !errors.Is(err, ErrStoreFull) {
		t.Errorf("a third revocation in a store of two: %v", err)
	}
	if _, err := replay.FirstUse(ctx, "", "c", testNow.Add(time.Hour)); !errors.Is(err, ErrStoreFull) {
		t.Errorf("a third use in a store of two: %v", err)
	}
	clock.Add(90 * time.Second) // "a" has expired
	if err := store.Revoke(ctx, Revocation{ID: "c", Until: testNow.Add(time.Hour)}); err != nil {
		t.Errorf("after an entry expired: %v", err)
	}
	if first, err := replay.FirstUse(ctx, "", "c", testNow.Add(time.Hour)); !first || err != nil {
		t.Errorf("after a use expired: %v %v", first, err)
	}
}

// TestReplayGuardOneWinner verifies one one-time token from many
// goroutines through two verifiers sharing a store: exactly one succeeds,
// and every attempt has its event.
func TestReplayGuardOneWinner(t *testing.T) {
	ctx := context.Background()
	key := mustKey(t, "k1", HS256, testSecret)
	shared := NewMemoryReplay(MemoryStoreOptions{Clock: fixedClock(testNow)})
	rec := &countingSink{}
	var verifiers []*Verifier
	for range 2 {
		v, _ := NewVerifier(WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(rec), WithReplayGuard(shared))
		verifiers = append(verifiers, v)
	}
	is, _ := NewIssuer(WithKeys(key), WithClock(fixedClock(testNow)))
	raw, _ := is.Issue(ctx, Claims{Subject: "reset-password:alice"})
	trackToken(raw)
	var ok, replayed atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			_, err := verifiers[i%2].Verify(ctx, raw)
			switch ReasonOf(err) {
			case ReasonNone:
				ok.Add(1)
			case ReasonReplayed:
				replayed.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || replayed.Load() != 63 || rec.n.Load() != 64 {
		t.Errorf("%d succeeded, %d replayed, %d events; want 1, 63, 64", ok.Load(), replayed.Load(), rec.n.Load())
	}
}
