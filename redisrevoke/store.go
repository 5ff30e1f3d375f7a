// Package redisrevoke shares jwtaudit's revocations, and the uses of
// one-time tokens, among every instance of a service through Redis
// (github.com/redis/go-redis/v9).
//
// A [Store] is a [jwtaudit.RevocationStore]: a revocation is decided in
// Redis by one script, which stores it with a TTL equal to the remaining
// lifetime of the tokens it covers and publishes it on a channel; every
// instance keeps the whole deny set in its own memory (a
// jwtaudit.MemoryRevocations), learns new revocations through its
// subscription, and reloads the set from Redis whenever the subscription
// is (re)made, one round trip a page of keys. A request is checked against
// memory only: no Redis round trip per Verify.
//
// # When the copy cannot be trusted
//
// The copy is stale once nothing has come from Redis for
// Options.StaleAfter: no message, no confirmation, no answer to the ping
// the store sends every Options.PingEvery on a quiet subscription. A link
// that stays open but passes nothing (a router that drops packets, a
// half-dead proxy) is as stale as a closed one, and is given up and made
// again. The copy is incomplete when it cannot hold a revocation Redis
// holds (Options.MaxEntries). Then Revoked still answers "revoked" for the
// tokens it knows to be revoked, and answers every other token with an
// error wrapping [ErrStale] or [ErrIncomplete]: a verifier refuses it with
// jwtaudit.ErrStoreUnavailable (fail closed, its default), or lets it
// through if its RevocationPolicy fails open. Each change of state is an
// audit event (op store_state, naming its cause: silent_link, link_lost,
// load_failed, full) and, through the otelmetrics sink, a metric. The
// store recovers by itself when Redis answers again, and retries an
// incomplete load every ten StaleAfter.
//
// # Bounds
//
// One subject holds at most Options.MaxPerSubject token revocations at a
// time, counted in Redis for the whole fleet: past it, a token's
// revocation revokes the subject instead (every token of it issued before,
// "log out everywhere"), so that one account logging out over and over
// cannot fill the store. A copy holds at most Options.MaxEntries
// revocations, about 100 bytes of heap each (a token's, with a 26-character
// id; BenchmarkCopyMemory).
//
// # Redis
//
// Redis keeps revocations only as long as it keeps its data: run it with
// persistence (appendonly yes, or RDB snapshots taken more often than the
// revocations you can afford to lose), or a restart forgets every
// revocation, and the tokens they denied pass again until they expire. A
// single Redis (with replicas, or Sentinel failover) is supported, not
// Redis Cluster: a revocation's keys are read and written by one script.
//
// A Store is also a [jwtaudit.ReplayStore] (the first use of a one-time
// token is a SET NX with a relative expiry, atomic across instances, and a
// round trip, for those tokens only) and a [jwtaudit.SubjectGenerations]
// (one round trip per Issue, for an Issuer with
// jwtaudit.WithSubjectGenerations).
package redisrevoke

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/redis/go-redis/v9"
)

// ErrStale is what Revoked's error wraps while the copy of the deny set
// may miss revocations: nothing has come from Redis for StaleAfter.
var ErrStale = errors.New("redisrevoke: the revocation set may be stale")

// ErrIncomplete is what Revoked's error wraps while the copy cannot hold
// every revocation Redis holds (Options.MaxEntries).
var ErrIncomplete = errors.New("redisrevoke: the copy of the revocation set is incomplete")

// Options configures a Store. Zero values take the defaults named.
type Options struct {
	// Prefix starts every key and the channel name (default "jwtaudit").
	Prefix string

	// StaleAfter is how long the copy may go without word from Redis
	// before Revoked stops answering for tokens it does not know to be
	// revoked (default 5 seconds).
	StaleAfter time.Duration

	// PingEvery is how often a quiet subscription is pinged (default one
	// second). A subscription that has heard nothing for three of them,
	// or for StaleAfter if that is shorter, is given up and made again.
	PingEvery time.Duration

	// MaxEntries bounds the copy (default 1,000,000 revocations); see
	// jwtaudit.MemoryStoreOptions.
	MaxEntries int

	// MaxPerSubject bounds the token revocations one subject holds, in
	// Redis and in the copy (default 1,000); see
	// jwtaudit.MemoryStoreOptions. Give every instance the same.
	MaxPerSubject int

	// LoadPage is how many keys one round trip of a reload reads
	// (default 1,000).
	LoadPage int

	// Clock is the time entries expire by (default time.Now): expiries
	// are sent to Redis relative to it.
	Clock func() time.Time
}

// Store is a RevocationStore, ReplayStore and SubjectGenerations shared
// through Redis. Create it with [New] and Close it when the service stops.
type Store struct {
	client redis.UniversalClient
	opts   Options
	prefix string
	events *jwtaudit.StoreEvents

	copy       atomic.Pointer[jwtaudit.MemoryRevocations]
	start      time.Time    // the origin of heard, on the monotonic clock
	heard      atomic.Int64 // when the copy was last known current: nanoseconds since start
	live       atomic.Bool  // loaded and following: each word from Redis refreshes heard
	incomplete atomic.Bool  // the copy lacks a revocation Redis holds

	state  stateReport // owned by the follower, and by Revoke under stateMu
	ready  chan struct{}
	stop   context.CancelFunc
	done   chan struct{}
	closed atomic.Bool

	psMu   sync.Mutex
	pubsub *redis.PubSub // the follower's current subscription
}

// New starts following the revocations in Redis and waits (until ctx
// ends) for the first load of the set. The first New on a Redis that holds
// revocations written by an earlier version of this package moves them
// into this version's layout. The audit options say where the
// store's state changes are recorded (see [jwtaudit.StoreEvents]): give
// it those of the verifiers.
func New(ctx context.Context, client redis.UniversalClient, opts Options, auditOpts ...jwtaudit.RevokerOption) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisrevoke: New: nil client")
	}
	if opts.StaleAfter < 0 || opts.PingEvery < 0 || opts.MaxEntries < 0 || opts.MaxPerSubject < 0 || opts.LoadPage < 0 {
		return nil, errors.New("redisrevoke: New: negative option")
	}
	setDefault(&opts.Prefix, "jwtaudit")
	setDefault(&opts.StaleAfter, 5*time.Second)
	setDefault(&opts.PingEvery, time.Second)
	setDefault(&opts.MaxEntries, 1_000_000)
	setDefault(&opts.MaxPerSubject, 1_000)
	setDefault(&opts.LoadPage, 1_000)
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	events, err := jwtaudit.NewStoreEvents("redisrevoke", auditOpts...)
	if err != nil {
		return nil, fmt.Errorf("redisrevoke: New: %w", err)
	}
	s := &Store{
		client: client, opts: opts, prefix: opts.Prefix + ":", events: events,
		start: time.Now(), ready: make(chan struct{}), done: make(chan struct{}),
	}
	s.copy.Store(s.newCopy(0))
	var cause error // the last failure that is Redis's, not ctx's
	for err := s.migrate(ctx); err != nil; err = s.migrate(ctx) {
		if ctx.Err() == nil {
			cause = err
		}
		select { // Redis may be on its way: try again until ctx ends
		case <-ctx.Done():
			if cause == nil {
				cause = err
			}
			return nil, fmt.Errorf("redisrevoke: New: Redis did not answer before the context ended: %w", cause)
		case <-time.After(100 * time.Millisecond):
		}
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go s.follow(runCtx)
	select {
	case <-s.ready:
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("redisrevoke: New: the first load did not finish: %w", ctx.Err())
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// newCopy makes an empty copy, with room for size revocations.
func (s *Store) newCopy(size int) *jwtaudit.MemoryRevocations {
	return jwtaudit.NewMemoryRevocations(jwtaudit.MemoryStoreOptions{
		MaxEntries: s.opts.MaxEntries, MaxPerSubject: s.opts.MaxPerSubject, SizeHint: size, Clock: s.opts.Clock,
	})
}

func (s *Store) channel() string { return s.prefix + "revocations" }

// Revoke decides r in Redis, which publishes it to every instance, and
// adds what was decided to this instance's copy. The revocation is in
// force once Revoke returns nil; if this instance's copy cannot hold it,
// the copy is marked incomplete (see the package's documentation), which
// does not undo the revocation.
func (s *Store) Revoke(ctx context.Context, r jwtaudit.Revocation) error {
	if r.ID == "" && r.Subject == "" {
		return errors.New("redisrevoke: a revocation names an ID, a subject, or both")
	}
	ttl := r.Until.Sub(s.opts.Clock()).Milliseconds()
	if ttl <= 0 {
		return nil // every token it covers has expired already
	}
	if r.IssuedBefore.IsZero() {
		if r.ID == "" {
			return errors.New("redisrevoke: a subject's revocation needs its IssuedBefore")
		}
		r.IssuedBefore = s.opts.Clock() // the cut-off, should it become the subject's
	}
	until := r.Until.UnixMilli()
	n, end := bucketOf(until)
	bucketTTL := max(time.UnixMilli(end).Sub(s.opts.Clock()).Milliseconds(), ttl)
	keys := []string{s.prefix + "buckets", bucketKey(s.prefix, n), s.prefix + "subjects",
		keyName(s.prefix, "sub", r.Issuer, r.Subject), keyName(s.prefix, "cnt", r.Issuer, r.Subject)}
	msg, err := revokeScript.Run(ctx, s.client, keys, r.ID, r.Issuer, r.Subject, until, ttl, bucketTTL, n,
		s.opts.MaxPerSubject, r.IssuedBefore.UnixMicro(), s.channel(), s.prefix).Text()
	if err != nil {
		return fmt.Errorf("redisrevoke: storing the revocation: %w", err)
	}
	decided, err := parseMessage(msg)
	if err != nil {
		return err
	}
	s.merge(ctx, decided)
	return nil
}

// merge adds a revocation decided in Redis to the copy, and marks the copy
// incomplete when it cannot hold it.
func (s *Store) merge(ctx context.Context, r jwtaudit.Revocation) {
	if err := s.copy.Load().Merge(ctx, r); errors.Is(err, jwtaudit.ErrStoreFull) {
		s.markIncomplete(ctx)
	}
}

// Revoked answers from this instance's copy of the deny set: a token the
// copy knows to be revoked is revoked, whatever else; any other token is
// answered with an error wrapping ErrIncomplete or ErrStale while the copy
// cannot be trusted.
func (s *Store) Revoked(ctx context.Context, c *jwtaudit.Claims) (bool, error) {
	if revoked, err := s.copy.Load().Revoked(ctx, c); revoked || err != nil {
		return revoked, err
	}
	return false, s.untrusted()
}

// untrusted says why the copy cannot vouch that a token is not revoked,
// or returns nil when it can.
func (s *Store) untrusted() error {
	if s.incomplete.Load() {
		return fmt.Errorf("%w: it cannot hold every revocation Redis holds (MaxEntries %d)", ErrIncomplete, s.opts.MaxEntries)
	}
	if silent := s.sinceHeard(); silent >= s.opts.StaleAfter {
		return fmt.Errorf("%w: nothing has come from Redis for %s", ErrStale, silent.Round(time.Millisecond))
	}
	return nil
}

// sinceHeard is how long ago the copy was last known current.
func (s *Store) sinceHeard() time.Duration {
	return time.Since(s.start) - time.Duration(s.heard.Load())
}

// refresh notes a word from Redis: while the copy is live, it is current
// as of now.
func (s *Store) refresh() {
	if s.live.Load() {
		s.heard.Store(int64(time.Since(s.start)))
	}
}

// FirstUse records the use of a one-time token with SET NX, expiring when
// the token does by the application's clock (a relative expiry: a Redis
// whose clock disagrees keeps it as long): of all the instances, exactly
// one caller gets true.
func (s *Store) FirstUse(ctx context.Context, issuer, id string, expires time.Time) (bool, error) {
	ttl := max(expires.Sub(s.opts.Clock()), time.Millisecond)
	err := s.client.SetArgs(ctx, keyName(s.prefix, "used", issuer, id), "1", redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("redisrevoke: recording the token's use: %w", err)
	}
	return true, nil
}

// SubjectGeneration reads the subject's cut-off from Redis, where every
// instance's revocations are decided, so that a token issued on any
// instance after a revocation returned carries its generation. When Redis
// cannot answer, the copy answers while it is current; otherwise the
// error stands, and the Issuer issues the token without a generation.
func (s *Store) SubjectGeneration(ctx context.Context, issuer, subject string) (int64, error) {
	v, err := s.client.Get(ctx, keyName(s.prefix, "sub", issuer, subject)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return 0, nil
	case err == nil:
		return strconv.ParseInt(v, 10, 64)
	case s.untrusted() == nil:
		return s.copy.Load().SubjectGeneration(ctx, issuer, subject)
	}
	return 0, fmt.Errorf("redisrevoke: reading the subject's generation: %w", err)
}

// Len returns the number of revocations in this instance's copy.
func (s *Store) Len() int { return s.copy.Load().Len() }

// Close stops following Redis. It does not close the client.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stop()
	s.psMu.Lock()
	if s.pubsub != nil {
		s.pubsub.Close()
	}
	s.psMu.Unlock()
	<-s.done
	return nil
}

var (
	_ jwtaudit.RevocationStore    = (*Store)(nil)
	_ jwtaudit.ReplayStore        = (*Store)(nil)
	_ jwtaudit.SubjectGenerations = (*Store)(nil)
)
