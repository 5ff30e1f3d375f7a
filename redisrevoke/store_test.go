package redisrevoke

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// redisClient returns a client of srv, closed when the test ends.
func redisClient(tb testing.TB, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second, MaxRetries: 1})
	tb.Cleanup(func() { c.Close() })
	return c
}

func newStore(t *testing.T, srv *redistest.Server, opts Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := New(ctx, redisClient(t, srv), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eventually waits for cond, for at most d.
func eventually(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestRevocationsReachEveryInstance(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := newStore(t, srv, Options{}), newStore(t, srv, Options{})
	now := time.Now()
	if err := a.Revoke(ctx, jwtaudit.Revocation{Issuer: "https://a.example", ID: "j1", Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, jwtaudit.Revocation{Issuer: "https://a.example", Subject: "alice", IssuedBefore: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    jwtaudit.Claims
		want bool
	}{
		{jwtaudit.Claims{Issuer: "https://a.example", ID: "j1"}, true},
		{jwtaudit.Claims{Issuer: "https://b.example", ID: "j1"}, false},
		{jwtaudit.Claims{Issuer: "https://a.example", Subject: "alice", IssuedAt: now.Add(-time.Minute)}, true},
		{jwtaudit.Claims{Issuer: "https://a.example", Subject: "alice", IssuedAt: now.Add(time.Minute)}, false},
	} {
		if !eventually(2*time.Second, func() bool { got, err := b.Revoked(ctx, &tc.c); return err == nil && got == tc.want }) {
			t.Errorf("instance b on %+v: want %v", tc.c, tc.want)
		}
	}
	// A third instance, started later, loads what was revoked before it.
	c := newStore(t, srv, Options{})
	if got, err := c.Revoked(ctx, &jwtaudit.Claims{Issuer: "https://a.example", ID: "j1"}); !got || err != nil {
		t.Errorf("a late instance: %v %v", got, err)
	}
	// Entries carry the TTL of the tokens they cover, to the end of their
	// bucket's minute.
	n, _ := bucketOf(now.Add(time.Hour).UnixMilli())
	ttl, err := redisClient(t, srv).PTTL(ctx, bucketKey(a.prefix, n)).Result()
	if err != nil || ttl < 59*time.Minute || ttl > time.Hour+time.Minute {
		t.Errorf("TTL %v, %v", ttl, err)
	}
}

// TestPropagation measures how long a revocation made on one instance
// takes to reach another, through one Redis on loopback: from the call to
// Revoke (which stores, sets the expiry and publishes) to the moment the
// other instance's Revoked says so.
func TestPropagation(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := newStore(t, srv, Options{}), newStore(t, srv, Options{})
	const n = 200
	lat := make([]time.Duration, 0, n)
	for i := range n {
		id := "propagation-" + strconv.Itoa(i)
		c := &jwtaudit.Claims{ID: id}
		start := time.Now()
		if err := a.Revoke(ctx, jwtaudit.Revocation{ID: id, Until: start.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for got, _ := b.Revoked(ctx, c); !got; got, _ = b.Revoked(ctx, c) {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("revocation %d never arrived", i)
			}
			runtime.Gosched()
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("propagation over %d revocations: p50 %v, p99 %v, max %v", n, lat[n/2], lat[n*99/100], lat[n-1])
}

// TestStaleFailsClosedAndRecovers stops Redis while verifications run:
// once the subscription has been lost for StaleAfter, tokens are refused
// (fail closed) and no revoked token is ever accepted; when Redis is back
// the store recovers by itself, with the revocations it had.
func TestStaleFailsClosedAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	store := newStore(t, srv, Options{StaleAfter: 300 * time.Millisecond, PingEvery: 100 * time.Millisecond})
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	rec := &counter{}
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(rec))
	is, _ := jwtaudit.NewIssuer(shared)
	closed, _ := jwtaudit.NewVerifier(shared, jwtaudit.WithRevocation(store, jwtaudit.RevocationPolicy{}))
	open, _ := jwtaudit.NewVerifier(shared, jwtaudit.WithRevocation(store, jwtaudit.RevocationPolicy{FailOpen: true}))
	revoker, _ := jwtaudit.NewRevoker(store, jwtaudit.RevokerOptions{}, jwtaudit.WithAudit(rec))
	revokedTok, _ := is.Issue(ctx, jwtaudit.Claims{Subject: "mallory"})
	goodTok, _ := is.Issue(ctx, jwtaudit.Claims{Subject: "alice"})
	tok, err := closed.Verify(ctx, revokedTok)
	if err != nil {
		t.Fatal(err)
	}
	if err := revoker.RevokeToken(ctx, tok); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var acceptedRevoked, refusedStale, acceptedGood, openAccepted atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := closed.Verify(ctx, revokedTok); err == nil {
					acceptedRevoked.Add(1)
				}
				switch _, err := closed.Verify(ctx, goodTok); {
				case err == nil:
					acceptedGood.Add(1)
				case errors.Is(err, jwtaudit.ErrStoreUnavailable):
					refusedStale.Add(1)
				}
				if _, err := open.Verify(ctx, goodTok); err == nil {
					openAccepted.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	srv.Stop()
	staleSeen := eventually(3*time.Second, func() bool { _, err := store.Revoked(ctx, &jwtaudit.Claims{ID: "x"}); return errors.Is(err, ErrStale) })
	time.Sleep(300 * time.Millisecond)
	openDuringOutage := openAccepted.Load()
	time.Sleep(200 * time.Millisecond)
	openGrew := openAccepted.Load() > openDuringOutage
	srv.Restart()
	recovered := eventually(10*time.Second, func() bool { _, err := closed.Verify(ctx, goodTok); return err == nil })
	stop.Store(true)
	wg.Wait()

	if !staleSeen {
		t.Error("the store never went stale while Redis was down")
	}
	if acceptedRevoked.Load() != 0 {
		t.Errorf("a revoked token was accepted %d times", acceptedRevoked.Load())
	}
	if refusedStale.Load() == 0 {
		t.Error("no verification was refused for a stale store")
	}
	if !openGrew {
		t.Error("failing open, tokens were not accepted during the outage")
	}
	if !recovered {
		t.Fatal("the store did not recover after Redis came back")
	}
	if _, err := closed.Verify(ctx, revokedTok); !errors.Is(err, jwtaudit.ErrRevoked) {
		t.Errorf("after the restart the revoked token: %v", err)
	}
	t.Logf("good tokens accepted %d, refused as stale %d; fail-open accepted %d", acceptedGood.Load(), refusedStale.Load(), openAccepted.Load())
}

// TestOneTimeTokenAcrossInstances verifies one one-time token from many
// goroutines through two verifiers on two stores sharing one Redis:
// exactly one succeeds, and every attempt has its event.
func TestOneTimeTokenAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	rec := &counter{}
	var verifiers []*jwtaudit.Verifier
	for range 2 {
		v, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithAudit(rec), jwtaudit.WithReplayGuard(newStore(t, srv, Options{})))
		verifiers = append(verifiers, v)
	}
	is, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	raw, _ := is.Issue(ctx, jwtaudit.Claims{Subject: "reset:alice"})
	var ok, replayed atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			_, err := verifiers[i%2].Verify(ctx, raw)
			switch jwtaudit.ReasonOf(err) {
			case jwtaudit.ReasonNone:
				ok.Add(1)
			case jwtaudit.ReasonReplayed:
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

type counter struct{ n atomic.Int64 }

func (c *counter) Record(context.Context, jwtaudit.Event) error { c.n.Add(1); return nil }
