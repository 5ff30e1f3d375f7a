package redisrevoke

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/redis/go-redis/v9"
)

// follow keeps the copy current for as long as the store is open: it
// subscribes, reloads the set once the subscription is confirmed, applies
// each published revocation, pings a quiet subscription, and gives up a
// subscription that errs or stays silent, to make a new one. Each session
// is a subscription of its own: go-redis would reconnect a failed one by
// itself, but never one that merely goes quiet.
func (s *Store) follow(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		ps := s.client.Subscribe(ctx, s.channel())
		s.psMu.Lock()
		if s.closed.Load() {
			s.psMu.Unlock()
			ps.Close()
			return
		}
		s.pubsub = ps
		s.psMu.Unlock()
		cause, err := s.session(ctx, ps)
		ps.Close()
		if ctx.Err() != nil {
			return
		}
		s.lose(ctx, cause, err)
		select { // do not spin while Redis is away
		case <-ctx.Done():
			return
		case <-time.After(min(s.opts.PingEvery, 100*time.Millisecond)):
		}
	}
}

// session follows one subscription until it fails or goes silent, and
// says why it ended.
func (s *Store) session(ctx context.Context, ps *redis.PubSub) (jwtaudit.StoreCause, error) {
	// A subscription that has heard nothing for this long is given up:
	// a ping unanswered for two intervals, or StaleAfter.
	giveUp := min(3*s.opts.PingEvery, s.opts.StaleAfter)
	lastWord, lastLoad := time.Now(), time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.opts.PingEvery)
		if err != nil {
			if ctx.Err() != nil {
				return jwtaudit.StoreCauseNone, nil
			}
			var netErr interface{ Timeout() bool }
			if !errors.As(err, &netErr) || !netErr.Timeout() {
				return jwtaudit.StoreLinkLost, err
			}
			if silent := time.Since(lastWord); silent >= giveUp {
				return jwtaudit.StoreSilentLink, fmt.Errorf("nothing came from Redis for %s: no message, no confirmation, no answer to a ping", silent.Round(time.Millisecond))
			}
			if s.incomplete.Load() && time.Since(lastLoad) >= 10*s.opts.StaleAfter {
				// Revocations expire: in time the set fits again.
				lastLoad = time.Now()
				if err := s.reload(ctx); err != nil {
					return jwtaudit.StoreLoadFailed, err
				}
			}
			if err := ps.Ping(ctx); err != nil {
				return jwtaudit.StoreLinkLost, err
			}
			continue
		}
		lastWord = time.Now()
		s.refresh()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				lastLoad = time.Now()
				if err := s.reload(ctx); err != nil {
					return jwtaudit.StoreLoadFailed, err
				}
				lastWord = time.Now()
			}
		case *redis.Message:
			if r, err := parseMessage(m.Payload); err == nil {
				s.merge(ctx, r)
			}
		}
	}
}

// lose marks the copy as no longer live: it is current as of the last
// word from Redis, and goes stale StaleAfter after it.
func (s *Store) lose(ctx context.Context, cause jwtaudit.StoreCause, err error) {
	s.live.Store(false)
	left := max(s.opts.StaleAfter-s.sinceHeard(), 0)
	s.report(ctx, jwtaudit.StoreStale, cause, fmt.Sprintf(
		"the link to Redis is lost (%v); the copy of the revocations is refused in %s, unless Redis answers again", err, left.Round(time.Millisecond)))
}

// reload reads every revocation from Redis into a new copy, which
// replaces the old one whole, and marks the store live. Revocations
// published while it reads arrive through the subscription, which is
// already made, and are applied to the new copy after it. A set larger
// than MaxEntries is loaded as far as it fits, and the copy marked
// incomplete: never a load that fails, and so never a copy that stays
// stale for good.
func (s *Store) reload(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, max(time.Minute, 10*s.opts.StaleAfter))
	defer cancel()
	full, fresh, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.copy.Store(fresh)
	s.incomplete.Store(full)
	s.live.Store(true)
	s.refresh()
	select {
	case <-s.ready:
	default:
		close(s.ready)
	}
	if full {
		s.report(ctx, jwtaudit.StoreIncomplete, jwtaudit.StoreFull, s.fullDetail(fresh))
	} else {
		s.report(ctx, jwtaudit.StoreCurrent, jwtaudit.StoreCauseNone, "")
	}
	return nil
}

// load reads the set into a new copy and reports whether some revocation
// did not fit: the list of buckets and their sizes (to size the copy), the
// buckets' members, then the subjects' revocations. Every round trip
// carries about loadPages × LoadPage revocations, whatever the buckets'
// sizes: small buckets go many to a round trip, a large one is read a
// page at a time (SSCAN), so that no reply is so large that reading it
// outlasts the client's read timeout.
func (s *Store) load(ctx context.Context) (full bool, c *jwtaudit.MemoryRevocations, err error) {
	// The cut-off, should the subject's revocation replace a token's in
	// the copy: now, as Revoke takes it.
	now := s.opts.Clock()
	merge := func(r jwtaudit.Revocation) {
		if err := c.Merge(ctx, r); errors.Is(err, jwtaudit.ErrStoreFull) {
			full = true
		}
	}
	mergeMembers := func(members []string) {
		for _, m := range members {
			if r, ok := parseTokenMember(m); ok {
				r.IssuedBefore = now
				merge(r)
			}
		}
	}
	buckets, sizes, err := s.buckets(ctx)
	if err != nil {
		return false, nil, err
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	c = s.newCopy(total)
	limit := loadPages * s.opts.LoadPage
	for i := 0; i < len(buckets); {
		if sizes[i] > limit {
			if err := s.scanBucket(ctx, buckets[i], limit, mergeMembers); err != nil {
				return full, nil, err
			}
			i++
			continue
		}
		batch, members := i, 0
		for ; i < len(buckets) && sizes[i] <= limit && members+sizes[i] <= limit; i++ {
			members += sizes[i]
		}
		cmds, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, n := range buckets[batch:i] {
				p.SMembers(ctx, s.prefix+"tok@"+n)
			}
			return nil
		})
		if err != nil {
			return full, nil, fmt.Errorf("redisrevoke: loading the revocations: %w", err)
		}
		for _, cmd := range cmds {
			mergeMembers(cmd.(*redis.StringSliceCmd).Val())
		}
	}
	for cursor := uint64(0); ; {
		fields, next, err := s.client.HScan(ctx, s.prefix+"subjects", cursor, "", int64(s.opts.LoadPage)).Result()
		if err != nil {
			return full, nil, fmt.Errorf("redisrevoke: loading the revocations of subjects: %w", err)
		}
		for i := 0; i+1 < len(fields); i += 2 {
			if r, ok := parseSubjectField(fields[i], fields[i+1]); ok {
				merge(r)
			}
		}
		if cursor = next; cursor == 0 {
			return full, c, nil
		}
	}
}

// loadPages is how many of LoadPage one round trip of a reload reads.
const loadPages = 16

// buckets lists the buckets and their sizes, in two round trips.
func (s *Store) buckets(ctx context.Context) ([]string, []int, error) {
	buckets, err := s.client.ZRange(ctx, s.prefix+"buckets", 0, -1).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("redisrevoke: loading the revocations: %w", err)
	}
	cmds, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range buckets {
			p.SCard(ctx, s.prefix+"tok@"+n)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("redisrevoke: loading the revocations: %w", err)
	}
	sizes := make([]int, len(cmds))
	for i, cmd := range cmds {
		sizes[i] = int(cmd.(*redis.IntCmd).Val())
	}
	return buckets, sizes, nil
}

// scanBucket reads a large bucket about page members at a time. SSCAN
// returns every member the bucket holds from start to end; one added
// meanwhile is also published, and one returned twice is merged twice, to
// no effect.
func (s *Store) scanBucket(ctx context.Context, n string, page int, use func([]string)) error {
	for cursor := uint64(0); ; {
		members, next, err := s.client.SScan(ctx, s.prefix+"tok@"+n, cursor, "", int64(page)).Result()
		if err != nil {
			return fmt.Errorf("redisrevoke: loading the revocations: %w", err)
		}
		use(members)
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// markIncomplete marks the copy as lacking a revocation Redis holds.
func (s *Store) markIncomplete(ctx context.Context) {
	if !s.incomplete.Swap(true) {
		s.report(ctx, jwtaudit.StoreIncomplete, jwtaudit.StoreFull, s.fullDetail(s.copy.Load()))
	}
}

func (s *Store) fullDetail(c *jwtaudit.MemoryRevocations) string {
	return fmt.Sprintf("the copy of the revocations holds %d entries, its MaxEntries, and Redis holds more: tokens it does not know to be revoked are refused until the set fits (a reload every %s)",
		c.Len(), 10*s.opts.StaleAfter)
}

// stateReport is the state last recorded, so that each change is recorded
// once, however many times it is seen.
type stateReport struct {
	mu    sync.Mutex
	state jwtaudit.StoreState
	cause jwtaudit.StoreCause
}

// report records a change of state, if it is one, as an audit event.
func (s *Store) report(ctx context.Context, state jwtaudit.StoreState, cause jwtaudit.StoreCause, detail string) {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	if s.state.state == state && s.state.cause == cause {
		return
	}
	s.state.state, s.state.cause = state, cause
	// An event that cannot be recorded changes nothing: the state has
	// changed, and Revoked says so to every verifier.
	_ = s.events.Record(context.WithoutCancel(ctx), jwtaudit.StoreChange{
		State: state, Cause: cause, Detail: detail, Entries: s.copy.Load().Len(), MaxEntries: s.opts.MaxEntries,
	})
}
