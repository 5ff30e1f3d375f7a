package jwtaudit

import (
	"context"
	"fmt"
)

// KeySource gives a [Verifier] the key that a token's "kid" names. The
// package's own sources are a fixed list ([WithKeys]), a [KeySet] with a
// rotation lifecycle, and a [RemoteKeySet] that follows a JWKS URL; a
// source of your own plugs in with [WithKeySource].
//
// LookupKey is called once per Verify, concurrently, on the request's
// path: it must be safe for concurrent use and fast for keys it knows. kid
// is "" when the token has no "kid". An unknown key is an error wrapping
// [ErrUnknownKey]. The algorithm always comes from the returned Key.
type KeySource interface {
	LookupKey(ctx context.Context, kid string) (*Key, error)
}

// keyFinder is the allocation-free form of KeySource that the package's own
// sources implement: the kid stays the bytes it was decoded into.
type keyFinder interface {
	findKey(ctx context.Context, kid []byte, hasKid bool) (*Key, error)
}

// finderOf uses a source's allocation-free lookup when it has one.
func finderOf(src KeySource) keyFinder {
	if f, ok := src.(keyFinder); ok {
		return f
	}
	return sourceFinder{src}
}

// sourceFinder adapts a caller's KeySource.
type sourceFinder struct{ src KeySource }

func (s sourceFinder) findKey(ctx context.Context, kid []byte, _ bool) (*Key, error) {
	k, err := s.src.LookupKey(ctx, string(kid))
	if err != nil {
		if r, ok := reasonIn(err); ok && r == ReasonUnknownKey {
			return nil, err
		}
		return nil, failWrap(ReasonUnknownKey, err, fmt.Sprintf("kid %q", clip(string(kid))))
	}
	if k == nil {
		return nil, fail(ReasonUnknownKey, "kid %q", clip(string(kid)))
	}
	return k, nil
}

// staticKeys is the fixed list of WithKeys.
type staticKeys struct {
	byID map[string]*Key
	only *Key // used when "kid" is absent: the one key, or the one legacy key
}

func newStaticKeys(keys []*Key) *staticKeys {
	s := &staticKeys{byID: make(map[string]*Key, len(keys))}
	var legacy []*Key
	for _, k := range keys {
		s.byID[k.id] = k
		if k.legacy {
			legacy = append(legacy, k)
		}
	}
	switch {
	case len(keys) == 1:
		s.only = keys[0]
	case len(legacy) == 1:
		// Tokens from before the move to this package often have no
		// kid; those issued since always have one.
		s.only = legacy[0]
	}
	return s
}

// findKey accepts a token without "kid" only when a single key is
// configured, or a single legacy key (InsecureLegacyHMACKey) among others,
// so that there is never a choice to make from anything the token says.
func (s *staticKeys) findKey(_ context.Context, kid []byte, hasKid bool) (*Key, error) {
	if !hasKid {
		if s.only != nil {
			return s.only, nil
		}
		return nil, fail(ReasonUnknownKey, "no kid, and several keys are configured")
	}
	if k, ok := s.byID[string(kid)]; ok {
		return k, nil
	}
	return nil, fail(ReasonUnknownKey, "kid %q", clip(string(kid)))
}
