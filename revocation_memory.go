package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// MemoryRevocations is a [RevocationStore] in this process's memory, for a
// service of one instance; several share revocations through the
// redisrevoke sub-package, which keeps a MemoryRevocations as each
// instance's copy ([MemoryRevocations.Merge]). Entries are forgotten once
// the tokens they cover have expired, and their number is bounded, in all
// and per subject: memory stays bounded whatever is revoked, and no one
// account can fill the store. It is safe for concurrent use; a check
// takes a read lock and two map lookups.
//
// It is also the [SubjectGenerations] of an Issuer that shares it
// ([WithSubjectGenerations]).
type MemoryRevocations struct {
	mu         sync.RWMutex
	tokens     map[string]map[string]int64 // by issuer, then "jti": until, in Unix milliseconds
	nTokens    int                         // entries in tokens
	subjects   map[tokenKey]subjectRevoke  // Key: issuer and subject
	perSubject map[tokenKey]subjectCount   // token revocations held, by issuer and subject
	issuers    map[string]string           // the issuers' names, kept once
	nextExpiry int64                       // no entry expires before this (Unix ms): nothing to sweep
	max        int
	maxPer     int
	hint       int // SizeHint: the room the first issuer's tokens get
	clock      func() time.Time
}

// MemoryStoreOptions configures a [MemoryRevocations] or a
// [MemoryReplay]. Zero values take the defaults named.
type MemoryStoreOptions struct {
	// MaxEntries bounds the entries kept (default 1,000,000). A token's
	// revocation with a 26-character id takes about 100 bytes of heap,
	// a replay guard's use about 160. When the bound is reached, expired
	// entries are swept; if none has expired, Revoke fails (ErrStoreFull)
	// rather than let memory grow.
	MaxEntries int

	// MaxPerSubject bounds the revocations of single tokens one subject
	// holds at once (default 1,000): past it, a token's revocation that
	// names its subject becomes a revocation of all the subject's tokens
	// issued before it ("log out everywhere"), which takes one entry
	// however often it is renewed. So one account cannot fill the store
	// by logging out over and over; its owner is logged out everywhere
	// instead. A count is forgotten once every token it counted has
	// expired. MemoryReplay does not use it.
	MaxPerSubject int

	// SizeHint, when positive, makes room at once for this many entries
	// of MemoryRevocations, so that a store about to take a known number
	// of them (a shared store's copy, reloading) never grows its maps on
	// the way. It does not bound anything.
	SizeHint int

	// Clock is the time entries expire by (default time.Now).
	Clock func() time.Time
}

// tokenKey names a token by issuer and "jti", or a subject by issuer and
// "sub".
type tokenKey struct{ issuer, name string }

// subjectRevoke is a subject's revocation: its cut-off, in Unix
// microseconds (the subject's generation, see Claims.SubjectGeneration),
// and when it can be forgotten, in Unix milliseconds.
type subjectRevoke struct{ before, until int64 }

// subjectCount is how many token revocations a subject holds, until the
// last of the tokens they cover has expired (Unix milliseconds).
type subjectCount struct {
	n     int
	until int64
}

const (
	defaultMaxRevocations = 1_000_000
	defaultMaxPerSubject  = 1_000
	maxInternedIssuers    = 1_000
)

// NewMemoryRevocations returns an empty store.
func NewMemoryRevocations(opts MemoryStoreOptions) *MemoryRevocations {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = defaultMaxRevocations
	}
	if opts.MaxPerSubject <= 0 {
		opts.MaxPerSubject = defaultMaxPerSubject
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &MemoryRevocations{
		tokens: map[string]map[string]int64{}, subjects: map[tokenKey]subjectRevoke{}, perSubject: map[tokenKey]subjectCount{},
		issuers: map[string]string{}, nextExpiry: math.MaxInt64,
		max: opts.MaxEntries, maxPer: opts.MaxPerSubject, hint: min(max(opts.SizeHint, 0), opts.MaxEntries), clock: opts.Clock,
	}
}

// ErrStoreFull is what a bounded in-memory store answers when it has no
// room left for an entry that has not expired.
var ErrStoreFull = errors.New("jwtaudit: the in-memory store is full of entries that have not expired")

// Revoke adds r, as the store that decides revocations. A subject's
// revocation moves the subject's cut-off to r.IssuedBefore, or, when that
// is not after the cut-off in force (two revocations in one microsecond,
// or from machines whose clocks disagree), to just after it: every
// revocation of a subject starts a new generation, so that it revokes
// every token issued before it, including those stamped with the
// generation before. A later revocation never shortens how long an entry
// is kept. A token already revoked is revoked again (keeping the longer
// life) even when the store is full.
func (m *MemoryRevocations) Revoke(_ context.Context, r Revocation) error {
	return m.add(r, true)
}

// Merge adds r as decided by another store, as a shared store's copy does
// (redisrevoke): a subject's cut-off is kept as r says, or the one in
// force if that is later, and never moved past it. Otherwise it is
// Revoke, bounds and all: ErrStoreFull means the copy cannot hold r.
func (m *MemoryRevocations) Merge(_ context.Context, r Revocation) error {
	return m.add(r, false)
}

func (m *MemoryRevocations) add(r Revocation, decide bool) error {
	if r.ID == "" && r.Subject == "" {
		return errors.New("jwtaudit: a revocation names an ID, a subject, or both")
	}
	now := m.clock()
	if !r.Until.After(now) {
		return nil // every token it covers has expired already
	}
	until := r.Until.UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.ID == "" {
		before, err := cutoffMicros(r.IssuedBefore)
		if err != nil {
			return err
		}
		return m.addSubject(tokenKey{r.Issuer, r.Subject}, before, until, decide, now)
	}
	if old, ok := m.tokens[r.Issuer][r.ID]; ok {
		m.tokens[r.Issuer][r.ID] = max(old, until)
		return nil
	}
	if r.Subject != "" {
		sub := tokenKey{r.Issuer, r.Subject}
		count := m.perSubject[sub]
		if count.until <= now.UnixMilli() {
			count = subjectCount{} // every token it counted has expired
		}
		if count.n >= m.maxPer {
			// One subject holds as many token revocations as it may:
			// this one revokes all its tokens issued before it instead.
			before, err := cutoffMicros(r.IssuedBefore)
			if err != nil {
				return err
			}
			return m.addSubject(sub, before, until, decide, now)
		}
		if err := m.room(now); err != nil {
			return err
		}
		m.perSubject[sub] = subjectCount{n: count.n + 1, until: max(count.until, until)}
	} else if err := m.room(now); err != nil {
		return err
	}
	ids := m.tokens[r.Issuer]
	if ids == nil {
		ids = make(map[string]int64, m.hint)
		m.hint = 0
		m.tokens[m.intern(r.Issuer)] = ids
	}
	ids[strings.Clone(r.ID)] = until
	m.nTokens++
	m.nextExpiry = min(m.nextExpiry, until)
	return nil
}

// addSubject adds or renews a subject's revocation. The caller holds the
// write lock.
func (m *MemoryRevocations) addSubject(key tokenKey, before, until int64, decide bool, now time.Time) error {
	old, ok := m.subjects[key]
	if !ok {
		if err := m.room(now); err != nil {
			return err
		}
		key = tokenKey{m.intern(key.issuer), strings.Clone(key.name)}
	}
	if decide && before <= old.before {
		before = old.before + 1 // a new generation, however the clocks disagree
	}
	m.subjects[key] = subjectRevoke{before: max(before, old.before), until: max(until, old.until)}
	m.nextExpiry = min(m.nextExpiry, until)
	return nil
}

// cutoffMicros is a subject revocation's cut-off in Unix microseconds,
// the unit of generations.
func cutoffMicros(t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, errors.New("jwtaudit: a subject's revocation needs its IssuedBefore")
	}
	us := t.UnixMicro()
	if us <= 0 || t.Year() > 9999 {
		return 0, fmt.Errorf("jwtaudit: a subject's revocation cut-off outside the years 1970 to 9999: %s", rfc3339(t))
	}
	return us, nil
}

// room makes room for one more entry, sweeping expired ones if the store
// is full, or says there is none. The caller holds the write lock.
func (m *MemoryRevocations) room(now time.Time) error {
	if m.nTokens+len(m.subjects) < m.max {
		return nil
	}
	if ms := now.UnixMilli(); m.nextExpiry <= ms {
		m.sweep(ms)
	}
	if m.nTokens+len(m.subjects) >= m.max {
		return fmt.Errorf("%w (%d entries)", ErrStoreFull, m.max)
	}
	return nil
}

// intern returns the issuer's name as the store keeps it: one copy for
// all its entries (as long as the issuers are few, as they are).
func (m *MemoryRevocations) intern(issuer string) string {
	if kept, ok := m.issuers[issuer]; ok {
		return kept
	}
	if len(m.issuers) >= maxInternedIssuers {
		return strings.Clone(issuer)
	}
	kept := strings.Clone(issuer)
	m.issuers[kept] = kept
	return kept
}

// sweep forgets the entries whose tokens have all expired by now (Unix
// milliseconds). The caller holds the write lock.
func (m *MemoryRevocations) sweep(now int64) {
	next := int64(math.MaxInt64)
	for issuer, ids := range m.tokens {
		for id, until := range ids {
			if until <= now {
				delete(ids, id)
				m.nTokens--
			} else {
				next = min(next, until)
			}
		}
		if len(ids) == 0 {
			delete(m.tokens, issuer)
		}
	}
	for k, s := range m.subjects {
		if s.until <= now {
			delete(m.subjects, k)
		} else {
			next = min(next, s.until)
		}
	}
	for k, c := range m.perSubject {
		if c.until <= now {
			delete(m.perSubject, k)
		}
	}
	m.nextExpiry = next
}

// Revoked reports whether the token's "jti" is revoked, or its subject's
// tokens before its generation: a token stamped with the subject's
// generation ("sgen") is revoked when the subject's cut-off is a later
// one; a token without it, when its "iat" is before the cut-off (a token
// without "iat" counts as issued before).
func (m *MemoryRevocations) Revoked(_ context.Context, c *Claims) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.nTokens > 0 && c.ID != "" {
		if _, ok := m.tokens[c.Issuer][c.ID]; ok {
			return true, nil
		}
	}
	if len(m.subjects) > 0 && c.Subject != "" {
		if s, ok := m.subjects[tokenKey{c.Issuer, c.Subject}]; ok && issuedBefore(c, s.before) {
			return true, nil
		}
	}
	return false, nil
}

// issuedBefore reports whether a token was issued before a subject's
// cut-off: by its generation when it has one, else by its "iat".
func issuedBefore(c *Claims, cutoff int64) bool {
	if c.SubjectGeneration != 0 {
		return c.SubjectGeneration < cutoff
	}
	return c.IssuedAt.IsZero() || c.IssuedAt.UnixMicro() < cutoff
}

// SubjectGeneration returns the cut-off of the subject's revocation in
// force, or 0: the generation an Issuer stamps in a token of the subject
// ([WithSubjectGenerations]).
func (m *MemoryRevocations) SubjectGeneration(_ context.Context, issuer, subject string) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if s, ok := m.subjects[tokenKey{issuer, subject}]; ok && s.until > m.clock().UnixMilli() {
		return s.before, nil
	}
	return 0, nil
}

// Len returns the number of entries kept, for metrics and tests.
func (m *MemoryRevocations) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.nTokens + len(m.subjects)
}

var (
	_ RevocationStore    = (*MemoryRevocations)(nil)
	_ SubjectGenerations = (*MemoryRevocations)(nil)
)
