package jwtaudit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ReplayStore remembers the uses of one-time tokens (magic links, password
// resets) for [WithReplayGuard]. FirstUse records a use of the token of an
// issuer with a "jti", valid until expires, and reports whether it was the
// first: of concurrent callers, exactly one gets true. An error means the
// store cannot answer, and the token is refused with
// [ErrStoreUnavailable].
type ReplayStore interface {
	FirstUse(ctx context.Context, issuer, id string, expires time.Time) (bool, error)
}

// MemoryReplay is a [ReplayStore] in this process's memory: a use is
// remembered until the token expires, and the number of uses remembered is
// bounded ([MemoryStoreOptions]).
type MemoryReplay struct {
	mu    sync.Mutex
	used  map[tokenKey]time.Time // until
	max   int
	clock func() time.Time
}

// NewMemoryReplay returns an empty store.
func NewMemoryReplay(opts MemoryStoreOptions) *MemoryReplay {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = defaultMaxRevocations
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &MemoryReplay{used: map[tokenKey]time.Time{}, max: opts.MaxEntries, clock: opts.Clock}
}

// FirstUse implements ReplayStore. A store that is full of uses that have
// not expired answers with an error wrapping ErrStoreFull: refusing the
// token is safer than forgetting a use.
func (m *MemoryReplay) FirstUse(_ context.Context, issuer, id string, expires time.Time) (bool, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	key := tokenKey{issuer, id}
	if until, ok := m.used[key]; ok && until.After(now) {
		return false, nil
	}
	if len(m.used) >= m.max {
		for k, until := range m.used {
			if !until.After(now) {
				delete(m.used, k)
			}
		}
		if len(m.used) >= m.max {
			return false, fmt.Errorf("%w (%d uses)", ErrStoreFull, m.max)
		}
	}
	m.used[key] = expires
	return true, nil
}

var _ ReplayStore = (*MemoryReplay)(nil)
