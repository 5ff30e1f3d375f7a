package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MemoryRevocations is a [RevocationStore] in this process's memory, for a
// service of one instance (several share revocations through the
// redisrevoke sub-package). Entries are forgotten once the tokens they
// cover have expired, and their number is bounded: memory stays bounded
// whatever is revoked. It is safe for concurrent use; a check takes a read
// lock and two map lookups.
type MemoryRevocations struct {
	mu       sync.RWMutex
	tokens   map[tokenKey]time.Time     // until
	subjects map[tokenKey]subjectRevoke // Key: issuer and subject
	max      int
	clock    func() time.Time
}

// MemoryStoreOptions configures a [MemoryRevocations] or a
// [MemoryReplay]. Zero values take the defaults named.
type MemoryStoreOptions struct {
	// MaxEntries bounds the revocations kept (default 1,000,000: a
	// million token revocations with 26-character ids of one issuer take
	// about 160 MB of heap). When it is reached, expired entries are
	// swept; if none has expired, Revoke fails rather than let memory
	// grow.
	MaxEntries int

	// Clock is the time entries expire by (default time.Now).
	Clock func() time.Time
}

// tokenKey names a token by issuer and "jti", or a subject by issuer and
// "sub".
type tokenKey struct{ issuer, name string }

type subjectRevoke struct{ before, until time.Time }

const defaultMaxRevocations = 1_000_000

// NewMemoryRevocations returns an empty store.
func NewMemoryRevocations(opts MemoryStoreOptions) *MemoryRevocations {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = defaultMaxRevocations
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &MemoryRevocations{tokens: map[tokenKey]time.Time{}, subjects: map[tokenKey]subjectRevoke{}, max: opts.MaxEntries, clock: opts.Clock}
}

// ErrStoreFull is what a bounded in-memory store answers when it has no
// room left for an entry that has not expired.
var ErrStoreFull = errors.New("jwtaudit: the in-memory store is full of entries that have not expired")

// Revoke adds r. A later revocation of the same subject keeps the later
// time and the longer life.
func (m *MemoryRevocations) Revoke(_ context.Context, r Revocation) error {
	if (r.ID == "") == (r.Subject == "") {
		return errors.New("jwtaudit: a revocation names either an ID or a subject")
	}
	now := m.clock()
	if !r.Until.After(now) {
		return nil // every token it covers has expired already
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.tokens)+len(m.subjects) >= m.max {
		m.sweep(now)
		if len(m.tokens)+len(m.subjects) >= m.max {
			return fmt.Errorf("%w (%d entries)", ErrStoreFull, m.max)
		}
	}
	if r.ID != "" {
		key := tokenKey{r.Issuer, r.ID}
		if r.Until.After(m.tokens[key]) {
			m.tokens[key] = r.Until
		}
		return nil
	}
	key := tokenKey{r.Issuer, r.Subject}
	old := m.subjects[key]
	if r.IssuedBefore.After(old.before) {
		old.before = r.IssuedBefore
	}
	if r.Until.After(old.until) {
		old.until = r.Until
	}
	m.subjects[key] = old
	return nil
}

// sweep forgets the entries whose tokens have all expired. The caller
// holds the write lock.
func (m *MemoryRevocations) sweep(now time.Time) {
	for k, until := range m.tokens {
		if !until.After(now) {
			delete(m.tokens, k)
		}
	}
	for k, s := range m.subjects {
		if !s.until.After(now) {
			delete(m.subjects, k)
		}
	}
}

// Revoked reports whether the token's "jti" is revoked, or its subject's
// tokens issued before its "iat" (a token without "iat" counts as issued
// before).
func (m *MemoryRevocations) Revoked(_ context.Context, c *Claims) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.tokens) > 0 && c.ID != "" {
		if _, ok := m.tokens[tokenKey{c.Issuer, c.ID}]; ok {
			return true, nil
		}
	}
	if len(m.subjects) > 0 && c.Subject != "" {
		if s, ok := m.subjects[tokenKey{c.Issuer, c.Subject}]; ok && (c.IssuedAt.IsZero() || c.IssuedAt.Before(s.before)) {
			return true, nil
		}
	}
	return false, nil
}

// Len returns the number of entries kept, for metrics and tests.
func (m *MemoryRevocations) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.tokens) + len(m.subjects)
}

var _ RevocationStore = (*MemoryRevocations)(nil)
