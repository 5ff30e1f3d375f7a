package jwtaudit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// DPoPNonces hands out and checks the server nonces of RFC 9449 §8, which
// keep a client from making proofs ahead of time: a proof must carry a
// nonce the server gave out recently.
//
// It keeps no state. A nonce is a time and a MAC of it under a key, so any
// instance holding the same key accepts the nonces of every other: give
// the instances of a fleet the same key. The nonce handed out changes every
// quarter of the lifetime, and a nonce is accepted until the lifetime has
// passed since it was made (and from a quarter of the lifetime before,
// for instances whose clocks disagree).
type DPoPNonces struct {
	key      []byte
	lifetime time.Duration
	step     time.Duration
}

// nonceMACSize is how much of the HMAC-SHA256 a nonce carries: 128 bits.
const nonceMACSize = 16

// NewDPoPNonces returns nonces made with key, a secret of 32 bytes or
// more, and accepted for lifetime (5 minutes when 0; at least 4 seconds).
func NewDPoPNonces(key []byte, lifetime time.Duration) (*DPoPNonces, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("jwtaudit: NewDPoPNonces: the key is %d bytes; at least 32 are required", len(key))
	}
	if lifetime == 0 {
		lifetime = 5 * time.Minute
	}
	if lifetime < 4*time.Second {
		return nil, errors.New("jwtaudit: NewDPoPNonces: a lifetime under 4 seconds leaves a client no time to use its nonce")
	}
	return &DPoPNonces{key: append([]byte(nil), key...), lifetime: lifetime, step: lifetime / 4}, nil
}

// nonceAt returns the nonce handed out at now.
func (n *DPoPNonces) nonceAt(now time.Time) string {
	return n.make(now.Truncate(n.step).Unix())
}

func (n *DPoPNonces) make(at int64) string {
	var buf [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(at))
	mac := hmac.New(sha256.New, n.key)
	mac.Write(buf[:8])
	mac.Sum(buf[8:8])
	return base64.RawURLEncoding.EncodeToString(buf[:8+nonceMACSize])
}

// accepts reports whether nonce is one of this key's, made within the
// lifetime before now (or a step after it).
func (n *DPoPNonces) accepts(nonce string, now time.Time) bool {
	var raw [8 + nonceMACSize]byte
	if len(nonce) != base64.RawURLEncoding.EncodedLen(len(raw)) {
		return false
	}
	if k, err := b64.Decode(raw[:], []byte(nonce)); err != nil || k != len(raw) {
		return false
	}
	at := int64(binary.BigEndian.Uint64(raw[:8]))
	if !hmac.Equal([]byte(n.make(at)), []byte(nonce)) {
		return false
	}
	made := time.Unix(at, 0)
	return now.Sub(made) < n.lifetime && made.Sub(now) <= n.step
}
