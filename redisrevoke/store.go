// Package redisrevoke shares jwtaudit's revocations, and the uses of
// one-time tokens, among every instance of a service through Redis
// (github.com/redis/go-redis/v9).
//
// A [Store] is a [jwtaudit.RevocationStore]: a revocation is written to
// Redis, with a TTL equal to the remaining lifetime of the tokens it
// covers, and published on a channel; every instance keeps the whole deny
// set in its own memory, learns new revocations through its subscription,
// and reloads the set from Redis whenever the subscription is (re)made. A
// request is checked against memory only: no Redis round trip per Verify.
//
// When the subscription has been lost for longer than Options.StaleAfter,
// the store no longer answers (Revoked returns an error wrapping
// [ErrStale]): a verifier then refuses tokens with
// jwtaudit.ErrStoreUnavailable (fail closed, its default), or lets them
// through if its RevocationPolicy fails open. The store recovers by itself
// when Redis is back.
//
// Redis keeps revocations only as long as it keeps its data: run it with
// persistence (appendonly yes, or RDB snapshots taken more often than the
// revocations you can afford to lose), or a restart forgets every
// revocation, and the tokens they denied pass again until they expire.
//
// A Store is also a [jwtaudit.ReplayStore]: the first use of a one-time
// token is a SET NX with an expiry at the token's, which is atomic across
// instances (and a round trip, for those tokens only).
package redisrevoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/redis/go-redis/v9"
)

// ErrStale is the error Revoked returns while the store's copy of the deny
// set may be missing revocations.
var ErrStale = errors.New("redisrevoke: the revocation set may be stale: the subscription to Redis is lost")

// Options configures a Store. Zero values take the defaults named.
type Options struct {
	// Prefix starts every key and the channel name (default "jwtaudit").
	Prefix string

	// StaleAfter is how long the subscription may be lost before Revoked
	// stops answering (default 5 seconds).
	StaleAfter time.Duration

	// PingEvery is how often a quiet subscription is checked (default one
	// second).
	PingEvery time.Duration

	// MaxEntries bounds the in-memory copy (see jwtaudit.MemoryStoreOptions).
	MaxEntries int

	// Clock is the time entries expire by (default time.Now).
	Clock func() time.Time
}

// Store is a RevocationStore and ReplayStore shared through Redis. Create
// it with [New] and Close it when the service stops.
type Store struct {
	client redis.UniversalClient
	opts   Options
	prefix string

	mu        sync.RWMutex
	local     *jwtaudit.MemoryRevocations
	lostSince time.Time // zero while subscribed and loaded
	ready     chan struct{}
	readyOnce sync.Once
	stop      context.CancelFunc
	done      chan struct{}
	pubsub    *redis.PubSub
}

// New starts following the revocations in Redis and waits (until ctx ends)
// for the first load of the set.
func New(ctx context.Context, client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisrevoke: New: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = "jwtaudit"
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 5 * time.Second
	}
	if opts.PingEvery <= 0 {
		opts.PingEvery = time.Second
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	s := &Store{
		client: client, opts: opts, prefix: opts.Prefix + ":",
		ready: make(chan struct{}), done: make(chan struct{}),
		lostSince: opts.Clock(),
	}
	s.local = s.newLocal()
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.pubsub = client.Subscribe(runCtx, s.channel())
	go s.follow(runCtx)
	select {
	case <-s.ready:
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("redisrevoke: New: the first load did not finish: %w", ctx.Err())
	}
}

func (s *Store) newLocal() *jwtaudit.MemoryRevocations {
	return jwtaudit.NewMemoryRevocations(jwtaudit.MemoryStoreOptions{MaxEntries: s.opts.MaxEntries, Clock: s.opts.Clock})
}

func (s *Store) channel() string { return s.prefix + "revocations" }

// Keys: PREFIX:tok:<issuer> <jti> and PREFIX:sub:<issuer> <subject>; a
// space cannot start an issuer URL, and the lengths keep them apart.
func (s *Store) tokenKey(issuer, id string) string {
	return s.prefix + "tok:" + strconv.Itoa(len(issuer)) + ":" + issuer + " " + id
}

func (s *Store) subjectKey(issuer, sub string) string {
	return s.prefix + "sub:" + strconv.Itoa(len(issuer)) + ":" + issuer + " " + sub
}

func (s *Store) replayKey(issuer, id string) string {
	return s.prefix + "used:" + strconv.Itoa(len(issuer)) + ":" + issuer + " " + id
}

// setSubjectScript keeps the later "issued before" time of a subject's
// revocations and the longer expiry: KEYS[1], ARGV[1] the time in
// nanoseconds, ARGV[2] the expiry as a Unix time in milliseconds.
const setSubjectScript = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
local exp = tonumber(ARGV[2])
local curExp = redis.call('PEXPIRETIME', KEYS[1])
if curExp < exp then
  redis.call('PEXPIREAT', KEYS[1], exp)
end
return 1`

// message is a revocation as published.
type message struct {
	Issuer       string `json:"iss,omitempty"`
	ID           string `json:"jti,omitempty"`
	Subject      string `json:"sub,omitempty"`
	IssuedBefore int64  `json:"before,omitempty"` // Unix nanoseconds
	Until        int64  `json:"until"`            // Unix milliseconds
}

// Revoke writes r to Redis with its expiry, publishes it to the other
// instances and adds it to this one's copy. A token's revocation keeps the
// later of two expiries only within one call: revoking a token again with
// an earlier expiry shortens it, which no caller has a reason to do.
func (s *Store) Revoke(ctx context.Context, r jwtaudit.Revocation) error {
	if (r.ID == "") == (r.Subject == "") {
		return errors.New("redisrevoke: a revocation names either an ID or a subject")
	}
	if !r.Until.After(s.opts.Clock()) {
		return nil
	}
	msg, _ := json.Marshal(message{Issuer: r.Issuer, ID: r.ID, Subject: r.Subject, IssuedBefore: unixNano(r.IssuedBefore), Until: r.Until.UnixMilli()})
	// One round trip: the revocation is stored with its expiry and
	// published together, in one transaction.
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if r.ID != "" {
			p.SetArgs(ctx, s.tokenKey(r.Issuer, r.ID), "1", redis.SetArgs{ExpireAt: r.Until})
		} else {
			p.Eval(ctx, setSubjectScript, []string{s.subjectKey(r.Issuer, r.Subject)}, r.IssuedBefore.UnixNano(), r.Until.UnixMilli())
		}
		p.Publish(ctx, s.channel(), msg)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisrevoke: storing the revocation: %w", err)
	}
	return s.addLocal(ctx, r)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (s *Store) addLocal(ctx context.Context, r jwtaudit.Revocation) error {
	s.mu.RLock()
	local := s.local
	s.mu.RUnlock()
	return local.Revoke(ctx, r)
}

// Revoked answers from this instance's copy of the deny set, or with an
// error wrapping ErrStale when the copy may be missing revocations.
func (s *Store) Revoked(ctx context.Context, c *jwtaudit.Claims) (bool, error) {
	s.mu.RLock()
	local, lost := s.local, s.lostSince
	s.mu.RUnlock()
	if !lost.IsZero() && s.opts.Clock().Sub(lost) >= s.opts.StaleAfter {
		return false, fmt.Errorf("%w (since %s)", ErrStale, lost.UTC().Format(time.RFC3339))
	}
	return local.Revoked(ctx, c)
}

// FirstUse records the use of a one-time token with SET NX, expiring with
// the token: of all the instances, exactly one caller gets true.
func (s *Store) FirstUse(ctx context.Context, issuer, id string, expires time.Time) (bool, error) {
	err := s.client.SetArgs(ctx, s.replayKey(issuer, id), "1", redis.SetArgs{Mode: "NX", ExpireAt: expires}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("redisrevoke: recording the token's use: %w", err)
	}
	return true, nil
}

// follow receives published revocations, checks a quiet subscription with
// a ping, and reloads the set after every (re)subscription.
func (s *Store) follow(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		msg, err := s.pubsub.ReceiveTimeout(ctx, s.opts.PingEvery)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var netErr interface{ Timeout() bool }
			if errors.As(err, &netErr) && netErr.Timeout() {
				if perr := s.pubsub.Ping(ctx); perr == nil {
					continue
				}
			}
			s.lose()
			// go-redis reconnects and subscribes again on the next
			// Receive; do not spin while Redis is away.
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.reload(ctx)
			}
		case *redis.Message:
			var pm message
			if json.Unmarshal([]byte(m.Payload), &pm) == nil {
				r := jwtaudit.Revocation{Issuer: pm.Issuer, ID: pm.ID, Subject: pm.Subject, Until: time.UnixMilli(pm.Until)}
				if pm.IssuedBefore != 0 {
					r.IssuedBefore = time.Unix(0, pm.IssuedBefore)
				}
				_ = s.addLocal(ctx, r)
			}
		}
	}
}

// lose marks the subscription lost, from now unless it already was.
func (s *Store) lose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostSince.IsZero() {
		s.lostSince = s.opts.Clock()
	}
}

// reload reads every revocation from Redis into a new copy, which
// replaces the old one whole, and marks the store current. Revocations
// published while it reads arrive through the subscription, which is
// already made, and are added to the new copy too.
func (s *Store) reload(ctx context.Context) {
	fresh := s.newLocal()
	err := s.scan(ctx, fresh)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.lostSince.IsZero() {
			s.lostSince = s.opts.Clock()
		}
		return
	}
	s.local, s.lostSince = fresh, time.Time{}
	s.readyOnce.Do(func() { close(s.ready) })
}

func (s *Store) scan(ctx context.Context, into *jwtaudit.MemoryRevocations) error {
	iter := s.client.Scan(ctx, 0, s.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		r, ok := s.parseKey(key)
		if !ok {
			continue
		}
		ttl, err := s.client.PTTL(ctx, key).Result()
		if err != nil || ttl <= 0 {
			continue
		}
		r.Until = s.opts.Clock().Add(ttl)
		if r.Subject != "" {
			v, err := s.client.Get(ctx, key).Int64()
			if err != nil {
				continue
			}
			r.IssuedBefore = time.Unix(0, v)
		}
		if err := into.Revoke(ctx, r); err != nil {
			return err
		}
	}
	return iter.Err()
}

// parseKey reads a revocation's names back from its key.
func (s *Store) parseKey(key string) (jwtaudit.Revocation, bool) {
	rest := strings.TrimPrefix(key, s.prefix)
	kind, rest, ok := strings.Cut(rest, ":")
	if !ok || (kind != "tok" && kind != "sub") {
		return jwtaudit.Revocation{}, false
	}
	n, rest, ok := strings.Cut(rest, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || len(rest) < size+1 || rest[size] != ' ' {
		return jwtaudit.Revocation{}, false
	}
	issuer, name := rest[:size], rest[size+1:]
	if kind == "tok" {
		return jwtaudit.Revocation{Issuer: issuer, ID: name}, true
	}
	return jwtaudit.Revocation{Issuer: issuer, Subject: name}, true
}

// Close stops following Redis. It does not close the client.
func (s *Store) Close() error {
	s.stop()
	err := s.pubsub.Close()
	<-s.done
	return err
}

var (
	_ jwtaudit.RevocationStore = (*Store)(nil)
	_ jwtaudit.ReplayStore     = (*Store)(nil)
)
