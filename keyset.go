package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// KeyStatus is where a key stands in a [KeySet]'s lifecycle:
// next → active → retiring → removed.
type KeyStatus uint8

// The statuses. A removed key is no longer in the set.
const (
	KeyNext     KeyStatus = iota + 1 // published and accepted, not yet signing
	KeyActive                        // signing; exactly one key is active
	KeyRetiring                      // accepted until its retire time, no longer signing
)

// MarshalText encodes s as String does.
func (s KeyStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String returns "next", "active" or "retiring".
func (s KeyStatus) String() string { return enumName(keyStatusNames[:], int(s)) }

var keyStatusNames = [...]string{KeyNext: "next", KeyActive: "active", KeyRetiring: "retiring"}

// KeyState describes one key of a KeySet.
type KeyState struct {
	ID        string
	Algorithm Algorithm
	Status    KeyStatus
	RetireAt  time.Time // when a retiring key stops being accepted
}

// KeySet holds keys through their lifecycle, for rotation without
// downtime: a new key is published (next) before it signs, so that caches
// of the JWKS ([KeySet.JWKSHandler]) know it by the time tokens carry it;
// rotating makes it active and the old active key retiring, still accepted
// until tokens it signed have expired; then it is removed.
//
// Give it to both sides with [WithKeySet]: the issuer signs with the active
// key, the verifier accepts next, active and unexpired retiring keys.
// Changes are atomic and lock-free for Issue and Verify, which read an
// immutable snapshot; each change is an audit event with op key_rotate.
type KeySet struct {
	mu    sync.Mutex // serializes changes
	state atomic.Pointer[keySetState]
	rec   recorder
}

// keySetConfig is what the options of NewKeySet set: the audit options
// ([WithAudit], [WithClock], …), which record every change and time the
// retiring keys.
type keySetConfig struct {
	audit auditConfig
}

// keySetState is one immutable snapshot of a KeySet.
type keySetState struct {
	entries []keyEntry // active first, then next in publication order, then retiring
	byID    map[string]int
	active  *Key
	jwks    jwksDocument
}

type keyEntry struct {
	key      *Key
	status   KeyStatus
	retireAt time.Time
}

// NewKeySet returns a set whose active key is active; it must be able to
// sign. Without options it uses the real clock and records nothing; give
// it the same [WithAudit] as the issuer and verifier, so that key changes
// are on the same trail as the tokens they sign.
func NewKeySet(active *Key, opts ...KeySetOption) (*KeySet, error) {
	if active == nil || !active.CanSign() {
		return nil, errors.New("jwtaudit: NewKeySet: the active key must be able to sign")
	}
	cfg := keySetConfig{audit: defaultAuditConfig()}
	if err := applyAll("NewKeySet", opts, func(o KeySetOption) error { return o.applyKeySet(&cfg) }); err != nil {
		return nil, err
	}
	ks := &KeySet{rec: newRecorder(cfg.audit)}
	st, err := newKeySetState([]keyEntry{{key: active, status: KeyActive}})
	if err != nil {
		return nil, err
	}
	ks.state.Store(st)
	return ks, nil
}

func newKeySetState(entries []keyEntry) (*keySetState, error) {
	st := &keySetState{entries: entries, byID: make(map[string]int, len(entries))}
	for i, e := range entries {
		if _, dup := st.byID[e.key.id]; dup {
			return nil, fmt.Errorf("jwtaudit: two keys of the set have the id %q", e.key.id)
		}
		st.byID[e.key.id] = i
		if e.status == KeyActive {
			st.active = e.key
		}
	}
	doc, err := newJWKSDocument(entries)
	if err != nil {
		return nil, err
	}
	st.jwks = doc
	return st, nil
}

// Publish adds k as a next key: accepted and published in the JWKS, not
// yet signing. Publish a key at least one JWKS cache lifetime before
// rotating to it.
func (ks *KeySet) Publish(ctx context.Context, k *Key) error {
	if k == nil || !k.CanSign() {
		return errors.New("jwtaudit: KeySet.Publish: the key must be able to sign, to become active later")
	}
	return ks.change(ctx, "publish", k.id, func(old []keyEntry, _ time.Time) ([]keyEntry, error) {
		return append(old, keyEntry{key: k, status: KeyNext}), nil
	})
}

// Rotate makes the earliest published next key active, and the active key
// retiring: accepted for retireAfter more (set it to the longest lifetime
// of a token the key signed, plus the verifiers' leeway). Retiring keys
// whose time has passed are removed.
func (ks *KeySet) Rotate(ctx context.Context, retireAfter time.Duration) error {
	if retireAfter < 0 {
		return errors.New("jwtaudit: KeySet.Rotate: negative retireAfter")
	}
	return ks.change(ctx, "rotate", "", func(old []keyEntry, now time.Time) ([]keyEntry, error) {
		next := -1
		for i, e := range old {
			if e.status == KeyNext {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, errors.New("jwtaudit: KeySet.Rotate: no next key; Publish one first")
		}
		entries := []keyEntry{{key: old[next].key, status: KeyActive}}
		var retiring []keyEntry
		for i, e := range old {
			switch {
			case i == next:
			case e.status == KeyActive:
				retiring = append(retiring, keyEntry{key: e.key, status: KeyRetiring, retireAt: now.Add(retireAfter)})
			case e.status == KeyNext:
				entries = append(entries, e)
			case e.retireAt.After(now):
				retiring = append(retiring, e)
			}
		}
		return append(entries, retiring...), nil
	})
}

// Remove takes a next or retiring key out of the set at once: tokens it
// signed are refused from now on. The active key cannot be removed; rotate
// away from it first.
func (ks *KeySet) Remove(ctx context.Context, kid string) error {
	return ks.change(ctx, "remove", kid, func(old []keyEntry, _ time.Time) ([]keyEntry, error) {
		out := make([]keyEntry, 0, len(old))
		found := false
		for _, e := range old {
			if e.key.id != kid {
				out = append(out, e)
				continue
			}
			if e.status == KeyActive {
				return nil, fmt.Errorf("jwtaudit: KeySet.Remove: %q is the active key", kid)
			}
			found = true
		}
		if !found {
			return nil, fmt.Errorf("jwtaudit: KeySet.Remove: no key %q", kid)
		}
		return out, nil
	})
}

// change applies one lifecycle change under the lock, records it and swaps
// the new snapshot in. A change that is refused (no next key to rotate to,
// an unknown kid) leaves the set as it was and records nothing. A change
// that cannot be recorded is not made, unless the trail fails open
// ([WithAuditFailOpen]).
func (ks *KeySet) change(ctx context.Context, what, kid string, apply func([]keyEntry, time.Time) ([]keyEntry, error)) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ev := ks.rec.begin(OpKeyRotate)
	old := ks.state.Load()
	entries, err := apply(append([]keyEntry(nil), old.entries...), ev.Time)
	if err != nil {
		return err
	}
	st, err := newKeySetState(entries)
	if err != nil {
		return err
	}
	ev.KeyID, ev.Algorithm, ev.Verified = st.active.id, st.active.alg, true
	ev.Attrs = []slog.Attr{slog.String("change", what), slog.Any("keys", keyStatesValue(st.entries))}
	if kid != "" {
		ev.Attrs = append(ev.Attrs, slog.String("changed_kid", kid))
	}
	if err := ks.rec.finish(ctx, &ev, nil, nil); err != nil {
		return err
	}
	ks.state.Store(st)
	return nil
}

// keyStatesValue renders the set for an event: "kid:status" each.
func keyStatesValue(entries []keyEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.key.id + ":" + e.status.String()
	}
	return out
}

// Keys returns the keys of the set and their statuses.
func (ks *KeySet) Keys() []KeyState {
	st := ks.state.Load()
	out := make([]KeyState, len(st.entries))
	for i, e := range st.entries {
		out[i] = KeyState{ID: e.key.id, Algorithm: e.key.alg, Status: e.status, RetireAt: e.retireAt}
	}
	return out
}

// Active returns the key the set signs with now.
func (ks *KeySet) Active() *Key { return ks.state.Load().active }

// findKey accepts next, active and unexpired retiring keys. A token without
// "kid" is refused: with a rotating set there is always a choice.
func (ks *KeySet) findKey(_ context.Context, kid []byte, hasKid bool) (*Key, error) {
	if !hasKid {
		return nil, fail(ReasonUnknownKey, "no kid, and the key set rotates")
	}
	st := ks.state.Load()
	i, ok := st.byID[string(kid)]
	if !ok {
		return nil, fail(ReasonUnknownKey, "kid %q", clip(string(kid)))
	}
	e := &st.entries[i]
	if e.status == KeyRetiring && !ks.rec.clock().Before(e.retireAt) {
		return nil, fail(ReasonUnknownKey, "kid %q retired at %s", e.key.id, rfc3339(e.retireAt))
	}
	return e.key, nil
}

// LookupKey implements KeySource.
func (ks *KeySet) LookupKey(ctx context.Context, kid string) (*Key, error) {
	return ks.findKey(ctx, []byte(kid), kid != "")
}
