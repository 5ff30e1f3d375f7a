package jwtaudit

import (
	"context"
	"errors"
	"fmt"
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
	is, _ := NewIssuer(shared, WithSubjectGenerations(store))
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
	store.sweep(clock.Now().UnixMilli())
	store.mu.Unlock()
	if n := store.Len(); n != 1 {
		t.Errorf("%d entries after expiry, want 1", n)
	}
}

// TestLogOutEverywhere holds "log out everywhere" to both its promises, in
// the second it is made and with clocks that disagree: every token issued
// before it is revoked, including one from an issuer whose clock runs 30
// seconds ahead (within the leeway), and no token issued after it returns
// is refused, including one issued in the same second (iat has whole
// seconds), by an issuer whose clock runs behind, and after a second
// revocation in the same microsecond.
func TestLogOutEverywhere(t *testing.T) {
	ctx := context.Background()
	now := testNow.Add(500 * time.Millisecond)
	clock := newMovableClock(now)
	key := mustKey(t, "k1", HS256, testSecret)
	store := NewMemoryRevocations(MemoryStoreOptions{Clock: clock.Now})
	// The verifiers' leeway, which the Revoker's is.
	v, _ := NewVerifier(WithKeys(key), WithClock(clock.Now), WithLeeway(time.Minute), WithRevocation(store, RevocationPolicy{}))
	revoker, _ := NewRevoker(store, RevokerOptions{Leeway: time.Minute}, WithClock(clock.Now))
	issuer := func(skew time.Duration, shares bool) *Issuer {
		opts := []IssuerOption{WithKeys(key), WithClock(func() time.Time { return clock.Now().Add(skew) })}
		if shares {
			opts = append(opts, WithSubjectGenerations(store))
		}
		is, err := NewIssuer(opts...)
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	sharing, ahead, behind := issuer(0, true), issuer(30*time.Second, true), issuer(-20*time.Second, true)
	aheadAlone, alone := issuer(30*time.Second, false), issuer(0, false)
	issue := func(is *Issuer) string {
		raw, err := is.Issue(ctx, Claims{Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		trackToken(raw)
		return raw
	}
	check := func(when string, tokens map[string]string, want Reason) {
		t.Helper()
		for name, raw := range tokens {
			if _, err := v.Verify(ctx, raw); ReasonOf(err) != want {
				t.Errorf("%s, the token %s: %v, want %s", when, name, err, want)
			}
		}
	}
	before := map[string]string{
		"of a sharing issuer": issue(sharing), "of an issuer ahead": issue(ahead),
		"of an issuer 30s ahead, alone": issue(aheadAlone), "of an issuer alone": issue(alone),
	}
	if err := revoker.RevokeSubject(ctx, "", "alice", clock.Now()); err != nil {
		t.Fatal(err)
	}
	check("issued before log out everywhere", before, ReasonRevoked)
	after := map[string]string{"in the same second": issue(sharing), "ahead": issue(ahead), "20s behind": issue(behind)}
	check("issued after it returned", after, ReasonNone)

	// A second revocation in the same microsecond is a new generation:
	// it revokes what was issued after the first.
	if err := revoker.RevokeSubject(ctx, "", "alice", clock.Now()); err != nil {
		t.Fatal(err)
	}
	check("issued between two revocations", after, ReasonRevoked)
	check("issued after the second", map[string]string{"same microsecond": issue(sharing)}, ReasonNone)

	// An issuer that does not share the store stamps no generation: its
	// tokens are judged by "iat", and refused for the leeway after the
	// revocation, never later.
	check("of an issuer alone, within the leeway", map[string]string{"alone": issue(alone)}, ReasonRevoked)
	clock.Add(61 * time.Second)
	check("of an issuer alone, past the leeway", map[string]string{"alone": issue(alone)}, ReasonNone)
}

// TestOneSubjectCannotFillTheStore revokes one subject's tokens one by one,
// far more often than the store allows a subject: the store keeps at most
// MaxPerSubject of them, then revokes the subject (its tokens issued
// before), so that everyone else's logout still has room, every revoked
// token stays revoked, and a token issued after (with its generation)
// passes. A token revoked again is revoked when the store is full.
func TestOneSubjectCannotFillTheStore(t *testing.T) {
	ctx := context.Background()
	clock := newMovableClock(testNow)
	key := mustKey(t, "k1", HS256, testSecret)
	store := NewMemoryRevocations(MemoryStoreOptions{MaxEntries: 10, MaxPerSubject: 3, Clock: clock.Now})
	is, _ := NewIssuer(WithKeys(key), WithClock(clock.Now), WithSubjectGenerations(store))
	v, _ := NewVerifier(WithKeys(key), WithClock(clock.Now), WithRevocation(store, RevocationPolicy{}))
	revoker, _ := NewRevoker(store, RevokerOptions{}, WithClock(clock.Now))
	var revoked []string
	for range 50 {
		raw, _ := is.Issue(ctx, Claims{Subject: "mallory"})
		trackToken(raw)
		tok, err := v.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("a token issued after the last revocation: %v", err)
		}
		if err := revoker.RevokeToken(ctx, tok); err != nil {
			t.Fatalf("logout %d: %v", len(revoked), err)
		}
		revoked = append(revoked, raw)
		clock.Add(time.Millisecond)
	}
	if n := store.Len(); n > 4 {
		t.Errorf("one subject holds %d entries; MaxPerSubject is 3 (and one for the subject)", n)
	}
	for i, raw := range revoked {
		if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrRevoked) {
			t.Errorf("revoked token %d: %v", i, err)
		}
	}
	for i := range 6 { // everyone else still has room
		if err := store.Revoke(ctx, Revocation{ID: fmt.Sprint("other-", i), Subject: fmt.Sprint("user-", i), Until: clock.Now().Add(time.Hour)}); err != nil {
			t.Errorf("another subject's logout: %v", err)
		}
	}
	if err := store.Revoke(ctx, Revocation{ID: "one-too-many", Until: clock.Now().Add(time.Hour)}); !errors.Is(err, ErrStoreFull) {
		t.Errorf("a revocation past MaxEntries: %v", err)
	}
	if err := store.Revoke(ctx, Revocation{ID: "other-0", Subject: "user-0", Until: clock.Now().Add(2 * time.Hour)}); err != nil {
		t.Errorf("a token revoked again, the store full: %v", err)
	}
}

// TestMergeKeepsCutoffs: a copy takes cut-offs as the deciding store made
// them, keeping the later of two, and never makes a generation of its own.
func TestMergeKeepsCutoffs(t *testing.T) {
	ctx := context.Background()
	copy := NewMemoryRevocations(MemoryStoreOptions{Clock: fixedClock(testNow)})
	at := testNow.Add(time.Minute)
	for _, cutoff := range []time.Time{at, at, at.Add(-time.Second)} {
		if err := copy.Merge(ctx, Revocation{Subject: "alice", IssuedBefore: cutoff, Until: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if gen, _ := copy.SubjectGeneration(ctx, "", "alice"); gen != at.UnixMicro() {
		t.Errorf("generation %d, want %d", gen, at.UnixMicro())
	}
	if revoked, _ := copy.Revoked(ctx, &Claims{Subject: "alice", SubjectGeneration: at.UnixMicro()}); revoked {
		t.Error("a token of the generation in force was revoked")
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
