package redisrevoke

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/faultproxy"
	"github.com/jwtaudit/jwtaudit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// throughProxy returns a client of srv whose every connection goes
// through a fault-injecting proxy.
func throughProxy(t *testing.T, srv *redistest.Server) (*faultproxy.Proxy, *redis.Client) {
	t.Helper()
	p, err := faultproxy.Start(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond, MaxRetries: 1})
	t.Cleanup(func() { c.Close() })
	return p, c
}

// stateEvents collects the store_state events of a store.
type stateEvents struct {
	mu     sync.Mutex
	events []jwtaudit.Event
}

func (s *stateEvents) Record(_ context.Context, e jwtaudit.Event) error {
	if e.Op == jwtaudit.OpStoreState {
		s.mu.Lock()
		s.events = append(s.events, e)
		s.mu.Unlock()
	}
	return nil
}

// seen reports whether a state change of the given state and cause was
// recorded.
func (s *stateEvents) seen(state jwtaudit.StoreState, cause jwtaudit.StoreCause) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if attrText(e, "state") == state.String() && attrText(e, "cause") == cause.String() {
			return true
		}
	}
	return false
}

func attrText(e jwtaudit.Event, key string) string {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// fleet is two instances on one Redis: a, connected directly, and b,
// through a fault-injecting proxy, each with a verifier that fails closed
// and one that fails open.
type fleet struct {
	srv          *redistest.Server
	proxy        *faultproxy.Proxy
	a, b         *Store
	issuer       *jwtaudit.Issuer
	revoker      *jwtaudit.Revoker
	closed, open *jwtaudit.Verifier // b's
	plain        *jwtaudit.Verifier // no revocation: reads a token to revoke it
	states       *stateEvents       // b's state changes
}

func newFleet(t *testing.T, opts Options) *fleet {
	t.Helper()
	srv := redistest.Start(t)
	proxy, viaProxy := throughProxy(t, srv)
	f := &fleet{srv: srv, proxy: proxy, states: &stateEvents{}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if f.a, err = New(ctx, redisClient(t, srv), opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.a.Close() })
	if f.b, err = New(ctx, viaProxy, opts, jwtaudit.WithAudit(f.states)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.b.Close() })
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	f.issuer, _ = jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	f.revoker, _ = jwtaudit.NewRevoker(f.a, jwtaudit.RevokerOptions{})
	f.closed, _ = jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithRevocation(f.b, jwtaudit.RevocationPolicy{}))
	f.open, _ = jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithRevocation(f.b, jwtaudit.RevocationPolicy{FailOpen: true}))
	f.plain, _ = jwtaudit.NewVerifier(jwtaudit.WithKeys(key))
	return f
}

func (f *fleet) token(t *testing.T, sub string) (string, *jwtaudit.Token) {
	t.Helper()
	raw, err := f.issuer.Issue(context.Background(), jwtaudit.Claims{Subject: sub})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.plain.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, tok
}

// watch verifies raw on b, failing closed, until stop is closed, and
// fails the test for any acceptance of a Verify that began at or after
// deadline(): the promise that a revoked token is never accepted past
// StaleAfter.
func (f *fleet) watch(t *testing.T, raw string, deadline func() time.Time, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			began := time.Now()
			_, err := f.closed.Verify(context.Background(), raw)
			if d := deadline(); err == nil && !d.IsZero() && !began.Before(d) {
				t.Errorf("the revoked token was accepted %s after the time it must be refused by", began.Sub(d))
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	return &wg
}

// TestSilentLinkGoesStale puts a black hole between instance b and Redis:
// the connection stays open and passes nothing. A token revoked on
// instance a meanwhile cannot reach b; b's copy goes stale once nothing
// has come from Redis for StaleAfter (a ping unanswered is nothing), its
// verifier refuses every token it does not know to be revoked (failing
// closed; the one that fails open lets good tokens through), the change is
// an event naming the silent link, and the revoked token is never accepted
// past StaleAfter. When the link heals, b subscribes again, reloads, and
// refuses the revoked token while good tokens pass again.
func TestSilentLinkGoesStale(t *testing.T) {
	const staleAfter = 600 * time.Millisecond
	f := newFleet(t, Options{StaleAfter: staleAfter, PingEvery: 100 * time.Millisecond})
	ctx := context.Background()
	revokedRaw, revokedTok := f.token(t, "mallory")
	goodRaw, _ := f.token(t, "alice")

	f.proxy.BlackHole()
	holeAt := time.Now()
	if err := f.revoker.RevokeToken(ctx, revokedTok); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	// Nothing passes after holeAt; a reply already past the proxy may be
	// read a moment later, hence the margin.
	deadline := holeAt.Add(staleAfter + 50*time.Millisecond)
	wg := f.watch(t, revokedRaw, func() time.Time { return deadline }, stop)

	staleBy := eventually(3*time.Second, func() bool {
		_, err := f.b.Revoked(ctx, &jwtaudit.Claims{ID: "any"})
		return errors.Is(err, ErrStale)
	})
	wentStale := time.Since(holeAt)
	if !staleBy {
		t.Fatal("b never went stale behind a link that passes nothing")
	}
	if wentStale > staleAfter+200*time.Millisecond {
		t.Errorf("b went stale %s after the link went silent; StaleAfter is %s", wentStale, staleAfter)
	}
	if _, err := f.closed.Verify(ctx, goodRaw); !errors.Is(err, jwtaudit.ErrStoreUnavailable) {
		t.Errorf("a good token on a stale instance, failing closed: %v", err)
	}
	if _, err := f.open.Verify(ctx, goodRaw); err != nil {
		t.Errorf("a good token on a stale instance, failing open: %v", err)
	}
	if !eventually(3*time.Second, func() bool { return f.states.seen(jwtaudit.StoreStale, jwtaudit.StoreSilentLink) }) {
		t.Errorf("no stale event naming the silent link: %+v", f.states.events)
	}

	f.proxy.Heal()
	healed := time.Now()
	if !eventually(10*time.Second, func() bool { _, err := f.closed.Verify(ctx, goodRaw); return err == nil }) {
		t.Fatal("b did not recover once the link passed again")
	}
	t.Logf("stale %s after the link went silent; good tokens back %s after it healed", wentStale.Round(time.Millisecond), time.Since(healed).Round(time.Millisecond))
	close(stop)
	wg.Wait()
	if _, err := f.closed.Verify(ctx, revokedRaw); !errors.Is(err, jwtaudit.ErrRevoked) {
		t.Errorf("after the link healed, the revoked token: %v", err)
	}
	if !f.states.seen(jwtaudit.StoreCurrent, jwtaudit.StoreCauseNone) {
		t.Error("no event says b is current again")
	}
}

// TestFleetFaults runs the faults a fleet meets between instance b and
// Redis, one after the other, while a watcher verifies each revoked token
// on b: 1 ms of round-trip latency (no false alarm: b stays current and
// learns revocations), every connection reset, and Redis killed and
// restarted. No revoked token is accepted past StaleAfter from its
// revocation, and good tokens pass again once the link does.
func TestFleetFaults(t *testing.T) {
	const staleAfter = 800 * time.Millisecond
	f := newFleet(t, Options{StaleAfter: staleAfter, PingEvery: 100 * time.Millisecond})
	ctx := context.Background()
	goodRaw, _ := f.token(t, "alice")
	stop := make(chan struct{})
	var watchers []*sync.WaitGroup
	revoke := func(sub string) {
		t.Helper()
		raw, tok := f.token(t, sub)
		var at atomic.Pointer[time.Time]
		watchers = append(watchers, f.watch(t, raw, func() time.Time {
			if p := at.Load(); p != nil {
				return p.Add(staleAfter)
			}
			return time.Time{}
		}, stop))
		if !eventually(10*time.Second, func() bool { return f.revoker.RevokeToken(ctx, tok) == nil }) {
			t.Fatalf("revoking %s's token never succeeded", sub)
		}
		now := time.Now()
		at.Store(&now)
	}
	goodAgain := func(phase string) {
		t.Helper()
		if !eventually(15*time.Second, func() bool { _, err := f.closed.Verify(ctx, goodRaw); return err == nil }) {
			t.Fatalf("%s: good tokens did not pass again", phase)
		}
	}

	// 1 ms of round trip: revocations arrive, and b never goes stale.
	f.proxy.SetLatency(500 * time.Microsecond)
	var stale atomic.Bool
	probe := make(chan struct{})
	var probing sync.WaitGroup
	probing.Go(func() {
		for {
			select {
			case <-probe:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if _, err := f.b.Revoked(ctx, &jwtaudit.Claims{ID: "probe"}); err != nil {
				stale.Store(true)
			}
		}
	})
	for _, sub := range []string{"latency-1", "latency-2", "latency-3"} {
		revoke(sub)
	}
	time.Sleep(3 * staleAfter)
	close(probe)
	probing.Wait()
	if stale.Load() {
		t.Error("b went stale over a link with 1 ms of round trip")
	}
	f.proxy.SetLatency(0)

	// Every connection reset: b subscribes again and reloads.
	f.proxy.ResetAll()
	if !eventually(5*time.Second, func() bool { return f.states.seen(jwtaudit.StoreStale, jwtaudit.StoreLinkLost) }) {
		t.Errorf("no event names the lost link: %+v", f.states.events)
	}
	revoke("after-reset")
	goodAgain("after a reset")

	// Redis killed, then restarted with its data.
	f.srv.Stop()
	time.Sleep(2 * staleAfter)
	if _, err := f.closed.Verify(ctx, goodRaw); !errors.Is(err, jwtaudit.ErrStoreUnavailable) {
		t.Errorf("with Redis down for twice StaleAfter, a good token: %v", err)
	}
	f.srv.Restart()
	revoke("after-restart")
	goodAgain("after Redis restarted")

	time.Sleep(2 * staleAfter) // let the watchers see the last revocation settle
	close(stop)
	for _, wg := range watchers {
		wg.Wait()
	}
}
