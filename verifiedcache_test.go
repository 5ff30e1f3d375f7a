package jwtaudit

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

// cacheCase is a verifier with a verified-token cache, its issuer, clock
// and trail.
type cacheCase struct {
	t     *testing.T
	clock *movableClock
	rec   *captureSink
	is    *Issuer
	v     *Verifier
}

// newCacheCase builds a cacheCase on clock (the stores' clock too), with
// one HS256 key unless shared gives the keys.
func newCacheCase(t *testing.T, clock *movableClock, shared []Option, vopts ...VerifierOption) *cacheCase {
	t.Helper()
	if clock == nil {
		clock = newMovableClock(testNow)
	}
	c := &cacheCase{t: t, clock: clock, rec: &captureSink{}}
	if shared == nil {
		shared = []Option{WithKeys(mustKey(t, "k1", HS256, testSecret))}
	}
	shared = append(shared, WithIssuer("https://auth.example"), WithAudience("api"), WithAudit(c.rec), WithClock(c.clock.Now))
	c.is, c.v = pair(t, shared, []IssuerOption{WithTTL(time.Hour)}, append([]VerifierOption{WithVerifiedCache(100, 1<<20)}, vopts...))
	return c
}

func (c *cacheCase) issue(sub string) string {
	c.t.Helper()
	raw, err := c.is.Issue(context.Background(), Claims{Subject: sub})
	if err != nil {
		c.t.Fatal(err)
	}
	trackToken(raw)
	c.rec.take()
	return raw
}

// verify verifies raw and returns the token, the reason and the one event.
func (c *cacheCase) verify(raw string) (*Token, Reason, Event) {
	c.t.Helper()
	tok, err := c.v.Verify(context.Background(), raw)
	noteError(err)
	return tok, ReasonOf(err), c.rec.only(c.t)
}

func (c *cacheCase) entries() int {
	n, _ := c.v.cache.len()
	return n
}

func TestVerifiedCacheHit(t *testing.T) {
	c := newCacheCase(t, nil, nil)
	raw := c.issue("alice")
	first, reason, ev := c.verify(raw)
	if reason != ReasonNone || ev.Cached {
		t.Fatalf("first Verify: %s, cached %v", reason, ev.Cached)
	}
	second, reason, hit := c.verify(raw)
	if reason != ReasonNone || !hit.Cached || !hit.Verified {
		t.Fatalf("second Verify: %s, event %+v", reason, hit)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("the cached token differs:\n%+v\n%+v", first, second)
	}
	// The hit's event says what the full verification's said.
	ev.Cached, ev.Duration, hit.Duration = true, 0, 0
	if !reflect.DeepEqual(ev, hit) {
		t.Errorf("hit event\n%+v\nfull event\n%+v", hit, ev)
	}
	// A token handed out is the caller's: changing it changes no other.
	second.Claims.Audience[0] = "changed"
	if third, _, _ := c.verify(raw); third.Claims.Audience[0] != "api" {
		t.Errorf("a change to a returned token reached the cache: %q", third.Claims.Audience)
	}
	var out strings.Builder
	if _, err := NewJSONSink(&out).Record(context.Background(), hit), error(nil); err != nil || !strings.Contains(out.String(), `"verified":true,"cached":true`) {
		t.Errorf("the hit's line: %s", out.String())
	}
}

// TestVerifiedCacheIsNotASignatureCheck checks that only the exact token
// text hits: a tampered token, or another spelling of a cached one, is
// verified in full and refused.
func TestVerifiedCacheIsNotASignatureCheck(t *testing.T) {
	c := newCacheCase(t, nil, nil)
	raw := c.issue("alice")
	c.verify(raw)
	if _, reason, ev := c.verify(tokentest.TamperSignature(raw)); reason != ReasonSignature || ev.Cached {
		t.Errorf("tampered token: %s, cached %v", reason, ev.Cached)
	}
	// The last of the 43 base64url characters of a 32-byte signature
	// carries 4 bits of it and 2 of padding: setting a padding bit spells
	// the same bytes another way.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := len(raw) - 1
	other := raw[:i] + string(alphabet[strings.IndexByte(alphabet, raw[i])^1])
	if sig, err := base64.RawURLEncoding.DecodeString(other[strings.LastIndexByte(other, '.')+1:]); err != nil || len(sig) != 32 {
		t.Fatalf("the other spelling does not decode leniently to 32 bytes: %v", err)
	}
	if _, reason, ev := c.verify(other); reason != ReasonMalformed || ev.Cached {
		t.Errorf("another spelling of a cached token: %s, cached %v", reason, ev.Cached)
	}
	if _, reason, ev := c.verify(raw); reason != ReasonNone || !ev.Cached {
		t.Errorf("the cached token itself: %s, cached %v", reason, ev.Cached)
	}
}

// TestVerifiedCacheEntryStopsBeingUsed shows each way a cached token
// stops being accepted from the cache.
func TestVerifiedCacheEntryStopsBeingUsed(t *testing.T) {
	ctx := context.Background()
	t.Run("expired", func(t *testing.T) {
		c := newCacheCase(t, nil, nil)
		raw := c.issue("alice")
		c.verify(raw)
		c.clock.Add(time.Hour)
		if _, reason, ev := c.verify(raw); reason != ReasonExpired || !ev.Cached || ev.Verified {
			t.Errorf("after exp: %s, event %+v", reason, ev)
		}
		if n := c.entries(); n != 0 {
			t.Errorf("%d entries after expiry", n)
		}
	})
	t.Run("maximum age", func(t *testing.T) {
		c := newCacheCase(t, nil, nil, WithMaxAge(10*time.Minute))
		raw := c.issue("alice")
		c.verify(raw)
		c.clock.Add(11 * time.Minute)
		if _, reason, _ := c.verify(raw); reason != ReasonTooOld {
			t.Errorf("past the maximum age: %s", reason)
		}
	})
	for _, by := range []string{"id", "subject"} {
		t.Run("revoked by "+by, func(t *testing.T) {
			clock := newMovableClock(testNow)
			store := NewMemoryRevocations(MemoryStoreOptions{Clock: clock.Now})
			c := newCacheCase(t, clock, nil, WithRevocation(store, RevocationPolicy{}))
			revoker, _ := NewRevoker(store, RevokerOptions{})
			raw := c.issue("alice")
			tok, _, _ := c.verify(raw)
			if _, _, ev := c.verify(raw); !ev.Cached {
				t.Fatal("not cached")
			}
			var err error
			if by == "id" {
				err = revoker.RevokeToken(ctx, tok)
			} else {
				err = revoker.RevokeSubject(ctx, "https://auth.example", "alice", c.clock.Now().Add(time.Second))
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, reason, ev := c.verify(raw); reason != ReasonRevoked || !ev.Cached {
				t.Errorf("revoked: %s, cached %v", reason, ev.Cached)
			}
			if n := c.entries(); n != 0 {
				t.Errorf("%d entries after the revocation", n)
			}
		})
	}
	t.Run("key removed from the set", func(t *testing.T) {
		k1, k2 := edKey(t, "k1", 1), edKey(t, "k2", 2)
		ks, _ := NewKeySet(k1)
		c := newCacheCase(t, nil, []Option{WithKeySet(ks)})
		raw := c.issue("alice")
		c.verify(raw)
		if err := ks.Publish(ctx, k2); err != nil {
			t.Fatal(err)
		}
		if err := ks.Rotate(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, reason, ev := c.verify(raw); reason != ReasonNone || !ev.Cached {
			t.Fatalf("retiring key, still accepted: %s, cached %v", reason, ev.Cached)
		}
		if err := ks.Remove(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, reason, ev := c.verify(raw); reason != ReasonUnknownKey || ev.Cached {
			t.Errorf("after Remove: %s, cached %v", reason, ev.Cached)
		}
		if n := c.entries(); n != 0 {
			t.Errorf("%d entries after the key's removal", n)
		}
	})
	t.Run("key retired", func(t *testing.T) {
		k1, k2 := edKey(t, "k1", 1), edKey(t, "k2", 2)
		clock := newMovableClock(testNow)
		ks, _ := NewKeySet(k1, WithClock(clock.Now))
		c := newCacheCase(t, clock, []Option{WithKeySet(ks)})
		raw := c.issue("alice")
		c.verify(raw)
		ks.Publish(ctx, k2)
		ks.Rotate(ctx, time.Minute)
		clock.Add(2 * time.Minute)
		if _, reason, ev := c.verify(raw); reason != ReasonUnknownKey || ev.Cached {
			t.Errorf("after the key retired: %s, cached %v", reason, ev.Cached)
		}
	})
	t.Run("validator", func(t *testing.T) {
		var calls atomic.Int32
		var refuse atomic.Bool
		c := newCacheCase(t, nil, nil, WithValidator(func(context.Context, *Token) error {
			calls.Add(1)
			if refuse.Load() {
				return errors.New("account locked")
			}
			return nil
		}))
		raw := c.issue("alice")
		c.verify(raw)
		c.verify(raw)
		if n := calls.Load(); n != 2 {
			t.Errorf("the validator ran %d times for a verification and a hit", n)
		}
		refuse.Store(true)
		if _, reason, ev := c.verify(raw); reason != ReasonRejected || !ev.Cached {
			t.Errorf("refused by the validator: %s, cached %v", reason, ev.Cached)
		}
	})
	t.Run("replay guard", func(t *testing.T) {
		clock := newMovableClock(testNow)
		c := newCacheCase(t, clock, nil, WithReplayGuard(NewMemoryReplay(MemoryStoreOptions{Clock: clock.Now})))
		raw := c.issue("alice")
		c.verify(raw)
		if _, reason, _ := c.verify(raw); reason != ReasonReplayed {
			t.Errorf("second use of a one-time token: %s", reason)
		}
	})
}

func TestVerifiedCacheBounds(t *testing.T) {
	t.Run("entries", func(t *testing.T) {
		c := newCacheCase(t, nil, nil)
		c.v.cache = newVerifiedCache(2, 1<<20)
		a, b, d := c.issue("a"), c.issue("b"), c.issue("d")
		c.verify(a)
		c.verify(b)
		c.verify(a) // a is now the most recently used
		c.verify(d) // b goes
		for _, want := range []struct {
			raw    string
			cached bool
		}{{a, true}, {d, true}, {b, false}} {
			if _, _, ev := c.verify(want.raw); ev.Cached != want.cached {
				t.Errorf("%s: cached %v, want %v", ev.Subject, ev.Cached, want.cached)
			}
		}
	})
	t.Run("bytes", func(t *testing.T) {
		c := newCacheCase(t, nil, nil)
		a, b := c.issue("a"), c.issue("b")
		c.verify(a)
		_, size := c.v.cache.len()
		c.v.cache = newVerifiedCache(100, size+size/2) // room for one
		c.verify(a)
		c.verify(b)
		if n, bytes := c.v.cache.len(); n != 1 || bytes > size+size/2 {
			t.Errorf("%d entries in %d bytes, bound %d", n, bytes, size+size/2)
		}
		c.v.cache = newVerifiedCache(100, size-1) // room for none
		c.verify(a)
		if n := c.entries(); n != 0 {
			t.Errorf("an entry larger than the bound was kept")
		}
	})
	t.Run("rejections are not cached", func(t *testing.T) {
		c := newCacheCase(t, nil, nil)
		raw := c.issue("a")
		c.clock.Add(2 * time.Hour)
		for range 2 {
			if _, reason, ev := c.verify(raw); reason != ReasonExpired || ev.Cached {
				t.Errorf("expired token: %s, cached %v", reason, ev.Cached)
			}
		}
	})
	if _, err := NewVerifier(WithKeys(mustKey(t, "k1", HS256, testSecret)), WithVerifiedCache(0, 1)); err == nil {
		t.Error("a cache of no entries was accepted")
	}
}

// TestVerifiedCacheConcurrent verifies a few tokens from many goroutines
// through a cache too small for them, so that entries come and go while
// they are used (run with -race).
func TestVerifiedCacheConcurrent(t *testing.T) {
	c := newCacheCase(t, nil, nil)
	c.v.cache = newVerifiedCache(2, 1<<20)
	raws := []string{c.issue("a"), c.issue("b"), c.issue("c")}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				raw := raws[(g+i)%len(raws)]
				tok, err := c.v.Verify(context.Background(), raw)
				if err != nil {
					t.Error(err)
					return
				}
				tok.Claims.Audience[0] = "mine" // each caller's own copy
			}
		})
	}
	wg.Wait()
	if n, _ := c.v.cache.len(); n > 2 {
		t.Errorf("%d entries, bound 2", n)
	}
	for _, e := range c.rec.take() {
		if !e.Verified || e.Audience[0] != "api" {
			t.Fatalf("event %+v", e)
		}
	}
}

// TestVerifiedCacheFollowsTheJWKS checks that a token whose key leaves the
// JWKS a RemoteKeySet follows stops verifying from the cache.
func TestVerifiedCacheFollowsTheJWKS(t *testing.T) {
	ctx := context.Background()
	f := newRemoteFixture(t, RemoteKeySetOptions{})
	rec := &captureSink{}
	v, err := NewVerifier(WithKeySource(f.remote), WithVerifiedCache(10, 1<<20), WithAudit(rec))
	if err != nil {
		t.Fatal(err)
	}
	raw := f.issue(t)
	for i := range 2 {
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if e := rec.only(t); e.Cached != (i == 1) {
			t.Fatalf("verification %d: cached %v", i+1, e.Cached)
		}
	}
	old := f.ks.Active().ID()
	if err := f.ks.Publish(ctx, mustKey(t, "next", EdDSA, testEd25519)); err != nil {
		t.Fatal(err)
	}
	if err := f.ks.Rotate(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := f.ks.Remove(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.remote.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("after its key left the JWKS: %v", err)
	}
	if e := rec.only(t); e.Cached {
		t.Error("the refusal came from the cache")
	}
}
