package jwtaudit

import (
	"errors"
	"fmt"
)

// Bounds on what one fetched JWK Set may cost and write into the trail.
const (
	maxRemoteKeys     = 100 // members of "keys" examined; more than any real JWKS holds
	maxSkipReasons    = 5   // reasons recorded for skipped keys; the rest are counted
	maxRemoteKeyBytes = 64 << 10
)

// fetchedSet is what one fetched JWK Set gave: the keys taken, and an
// account of those that were not.
type fetchedSet struct {
	keys        []*Key
	skipped     int      // members examined and refused
	reasons     []string // why, for the first maxSkipReasons of them
	notExamined int      // members past maxRemoteKeys, left unread
}

func (s *fetchedSet) skip(kid string, err error) {
	s.skipped++
	if len(s.reasons) < maxSkipReasons {
		s.reasons = append(s.reasons, fmt.Sprintf("%s: %s", clip(kid), clip(err.Error())))
	}
}

// parseRemoteKeys turns a fetched JWK Set into keys by the rules of
// ParseJWK, for verification only: secrets are refused and private parts
// dropped. Keys are parsed one by one, so that one bad key (a weak RSA key,
// a curve jwx does not know) costs only itself and says why. Only the
// first maxRemoteKeys members are examined: a set of a million junk
// entries costs one pass over its bytes, not a million parses, and is
// recorded as counts.
func parseRemoteKeys(body []byte) (fetchedSet, error) {
	var set fetchedSet
	raws, err := jwkSetMembers(body)
	if err != nil {
		return set, err
	}
	if len(raws) > maxRemoteKeys {
		set.notExamined = len(raws) - maxRemoteKeys
		raws = raws[:maxRemoteKeys]
	}
	seen := map[string]bool{}
	for _, raw := range raws {
		if len(raw) > maxRemoteKeyBytes {
			set.skip("", fmt.Errorf("a key of %d bytes", len(raw)))
			continue
		}
		k, err := jwkToKey(raw, true)
		if err == nil && seen[k.id] {
			err = errors.New("a second key with this kid")
		}
		if err != nil {
			set.skip(kidForError(raw), err)
			continue
		}
		seen[k.id] = true
		set.keys = append(set.keys, k)
	}
	return set, nil
}
