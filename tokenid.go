package jwtaudit

import (
	crand "crypto/rand"
	mrand "math/rand/v2"
	"sync"
)

// newTokenID returns a fresh "jti": 26 characters of the RFC 4648 base32
// alphabet, 130 random bits, the shape crypto/rand.Text gives. The bits
// come from ChaCha8 generators (math/rand/v2's cryptographically strong
// generator, the construction Go's runtime uses for its own randomness),
// each seeded with 32 bytes from crypto/rand and used by one Issue at a
// time: a read from one costs a fraction of a crypto/rand read, which is
// a tenth of an HS256 Issue.
func newTokenID() string {
	g := idGenerators.Get().(*mrand.ChaCha8)
	var b [26]byte
	g.Read(b[:])
	idGenerators.Put(g)
	for i := range b {
		b[i] = base32Alphabet[b[i]%32]
	}
	return string(b[:])
}

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

var idGenerators = sync.Pool{New: func() any {
	var seed [32]byte
	crand.Read(seed[:]) // never fails: crypto/rand crashes the program rather than return an error
	return mrand.NewChaCha8(seed)
}}
