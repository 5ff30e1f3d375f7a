package jwtaudit

import (
	"crypto/hmac"
	"errors"
	"hash"
	"sync"
)

// macPool holds HMACs keyed with one key's secret. hmac.New costs a
// handful of allocations and two block hashes of the key, on every call
// when jwx makes one; a pooled HMAC is Reset to its keyed state instead,
// which costs neither. The arithmetic is crypto/hmac's.
type macPool struct{ pool sync.Pool }

func newMACPool(info algorithmInfo, secret []byte) *macPool {
	p := &macPool{}
	p.pool.New = func() any { return hmac.New(info.hash.New, secret) }
	return p
}

// sum appends the HMAC of input to dst.
func (p *macPool) sum(dst, input []byte) []byte {
	mac := p.pool.Get().(hash.Hash)
	mac.Reset()
	mac.Write(input)
	dst = mac.Sum(dst)
	p.pool.Put(mac)
	return dst
}

var errHMACMismatch = errors.New("HMAC does not match")

// verify checks an HMAC signature in constant time.
func (p *macPool) verify(input, signature []byte) error {
	var buf [64]byte // SHA-512's size, the largest
	if !hmac.Equal(p.sum(buf[:0], input), signature) {
		return errHMACMismatch
	}
	return nil
}
