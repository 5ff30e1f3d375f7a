package weakkey

import (
	"bytes"
	"crypto/ed25519"
	"errors"

	"filippo.io/edwards25519"
)

// CheckEd25519Public refuses an Ed25519 public key that a forger could
// choose: an encoding that is not canonical, or a point of small order
// (the identity among them), for which signatures can be made without any
// private key. Go's ed25519.Verify accepts such keys, as RFC 8032 leaves
// it to the application to refuse them. The curve arithmetic is
// filippo.io/edwards25519's, the package crypto/ed25519 is built on.
func CheckEd25519Public(pub ed25519.PublicKey) error {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return errors.New("Ed25519 public key is not a point of the curve")
	}
	if !bytes.Equal(p.Bytes(), pub) {
		return errors.New("Ed25519 public key is not canonically encoded")
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errors.New("Ed25519 public key has small order: anyone can sign for it")
	}
	return nil
}
