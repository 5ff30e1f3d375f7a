package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// WithVerifiedCache makes the verifier remember the tokens it verified, up
// to maxEntries of them in about maxBytes, so that verifying one again
// skips the signature check and the decoding, which are the cost of a
// Verify; the least recently used entry makes room for a new one.
//
// A token is found only by its exact text: another spelling of it (which
// strict decoding refuses anyway) is verified in full. What can change
// between two uses of a token is checked again on every hit, in the order
// of a full Verify: the key must still be the one the verifier's keys give
// for its "kid" (a key removed from a [KeySet], retired, or dropped from a
// JWKS makes the token miss and be verified in full, which refuses it),
// "exp", "nbf", "iat" and the maximum age against the clock, the
// revocation store, the validators and the replay guard (with which a
// cache is of no use: every token is used once). A hit is recorded like
// any Verify, one event, with Cached set. The token returned is a copy of
// its own.
//
// Only a token that passed every check is remembered; a rejection is
// never cached, and an entry whose token fails a check on a hit is
// dropped. An entry counts its token's length, its decoded claims set and
// a fixed overhead against maxBytes.
func WithVerifiedCache(maxEntries int, maxBytes int64) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if maxEntries <= 0 || maxBytes <= 0 {
			return fmt.Errorf("jwtaudit: WithVerifiedCache: bounds must be positive, got %d entries and %d bytes", maxEntries, maxBytes)
		}
		c.cacheEntries, c.cacheBytes = maxEntries, maxBytes
		return nil
	})
}

// cachedToken is what a full verification established of a token: all
// that a hit needs to check it again without its signature.
type cachedToken struct {
	raw    string
	tok    *Token    // the verified token, never handed out: hits get copies
	keys   keyFinder // where its key came from
	key    *Key      // the key that verified it
	kid    []byte    // the header's "kid", to ask keys again
	hasKid bool      // whether the header has a "kid"
	found  uint64    // the watched private claims present (watchMatch.found)
	expect expectations
	audit  []slog.Attr // the event's Claims
	size   int64

	prev, next *cachedToken // the recency list, under verifiedCache.mu
}

// cacheEntryOverhead is what an entry is counted beyond its token and
// claims set: the entry, the map's slot and the strings of the claims.
const cacheEntryOverhead = 512

// verifiedCache holds cachedTokens by their exact text, most recently used
// first.
type verifiedCache struct {
	maxEntries int
	maxBytes   int64

	mu         sync.Mutex
	byToken    map[string]*cachedToken
	head, tail *cachedToken // most and least recently used
	bytes      int64
}

func newVerifiedCache(maxEntries int, maxBytes int64) *verifiedCache {
	return &verifiedCache{maxEntries: maxEntries, maxBytes: maxBytes, byToken: make(map[string]*cachedToken)}
}

// get returns the entry for raw, marking it used, or nil.
func (c *verifiedCache) get(raw string) *cachedToken {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byToken[raw]
	if e != nil && e != c.head {
		c.unlink(e)
		c.pushFront(e)
	}
	return e
}

// add remembers e, replacing an entry for the same token, and drops the
// least recently used entries until the bounds hold. An entry larger than
// the whole byte bound is not kept.
func (c *verifiedCache) add(e *cachedToken) {
	if e.size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byToken[e.raw]; old != nil {
		c.remove(old)
	}
	for len(c.byToken) >= c.maxEntries || c.bytes+e.size > c.maxBytes {
		c.remove(c.tail)
	}
	c.byToken[e.raw] = e
	c.bytes += e.size
	c.pushFront(e)
}

// drop forgets e, if it is still the entry for its token.
func (c *verifiedCache) drop(e *cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byToken[e.raw] == e {
		c.remove(e)
	}
}

// len returns the number of entries and the bytes they count.
func (c *verifiedCache) len() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byToken), c.bytes
}

func (c *verifiedCache) remove(e *cachedToken) {
	delete(c.byToken, e.raw)
	c.bytes -= e.size
	c.unlink(e)
}

func (c *verifiedCache) pushFront(e *cachedToken) {
	e.prev, e.next = nil, c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *verifiedCache) unlink(e *cachedToken) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// remember caches a token that passed every check of a full verification.
func (v *Verifier) remember(raw string, tok *Token, s *signedBy, m *watchMatch, audit []slog.Attr) {
	v.cache.add(&cachedToken{
		raw:    strings.Clone(raw), // not the caller's string, which may be part of a larger one
		tok:    tok.clone(),
		keys:   s.keys,
		key:    s.key,
		kid:    append([]byte(nil), s.header.kid...),
		hasKid: s.header.hasKid,
		found:  m.found,
		expect: s.expect,
		audit:  copyOf(audit, 0),
		size:   int64(2*len(raw)+len(tok.payload)) + cacheEntryOverhead,
	})
}

// errCacheMiss says that a cached token must be verified in full after
// all: its key is no longer the one the keys give.
var errCacheMiss = errors.New("jwtaudit: cache miss")

// verifyCached checks a token found in the cache again, as the steps of a
// full verification after the signature do, and fills the event as a full
// verification would. It returns errCacheMiss, having recorded nothing in
// the event, when the token must be verified in full.
func (v *Verifier) verifyCached(ctx context.Context, now time.Time, raw string, e *cachedToken, how *presented, ev *Event) (*Token, error) {
	key, err := e.keys.findKey(ctx, e.kid, e.hasKid)
	if err != nil || key != e.key {
		v.cache.drop(e)
		return nil, errCacheMiss
	}
	ev.Cached = true
	ev.Fingerprint = e.tok.Fingerprint
	ev.KeyID, ev.Algorithm = key.id, key.alg
	if key.legacy {
		ev.Attrs = append(ev.Attrs, legacyKeyAttr)
	}
	ev.setClaims(&e.tok.Claims)
	ev.Claims = e.audit

	match := watchMatch{found: e.found}
	if err := v.checkClaims(now, &e.tok.Header, &e.tok.Claims, &match, &e.expect); err != nil {
		v.cache.drop(e) // a full verification decides next time
		return nil, err
	}
	if err := v.checkBinding(raw, &e.tok.Claims, how, ev); err != nil {
		return nil, err
	}
	if err := v.checkRevocation(ctx, &e.tok.Claims, ev); err != nil {
		if errors.Is(err, ErrRevoked) {
			v.cache.drop(e)
		}
		return nil, err
	}
	tok := e.tok.clone()
	if err := v.runValidators(ctx, tok); err != nil {
		return nil, err
	}
	if err := v.useProof(ctx, how); err != nil {
		return nil, err
	}
	if err := v.checkReplay(ctx, &tok.Claims); err != nil {
		return nil, err
	}
	ev.Verified = true
	return tok, nil
}

// clone returns a copy of t that shares no slice a caller could change.
func (t *Token) clone() *Token {
	c := *t
	if len(t.Claims.Audience) == 1 {
		c.audience[0] = t.Claims.Audience[0]
		c.Claims.Audience = c.audience[:]
	} else {
		c.Claims.Audience = copyOf(t.Claims.Audience, 0)
	}
	return &c
}
