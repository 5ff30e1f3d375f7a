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

// pooledMAC is a keyed HMAC with room for its output, which would escape
// to the heap through the hash.Hash interface if it were on the caller's
// stack.
type pooledMAC struct {
	mac hash.Hash
	out [64]byte // SHA-512's size, the largest
}

func newMACPool(info algorithmInfo, secret []byte) *macPool {
	p := &macPool{}
	p.pool.New = func() any { return &pooledMAC{mac: hmac.New(info.hash.New, secret)} }
	return p
}

// sum appends the HMAC of input to dst.
func (p *macPool) sum(dst, input []byte) []byte {
	m := p.pool.Get().(*pooledMAC)
	dst = append(dst, m.compute(input)...)
	p.pool.Put(m)
	return dst
}

// compute returns the HMAC of input in m's own buffer.
func (m *pooledMAC) compute(input []byte) []byte {
	m.mac.Reset()
	m.mac.Write(input)
	return m.mac.Sum(m.out[:0])
}

var errHMACMismatch = errors.New("HMAC does not match")

// verify checks an HMAC signature in constant time.
func (p *macPool) verify(input, signature []byte) error {
	m := p.pool.Get().(*pooledMAC)
	ok := hmac.Equal(m.compute(input), signature)
	p.pool.Put(m)
	if !ok {
		return errHMACMismatch
	}
	return nil
}
