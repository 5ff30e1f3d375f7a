package jwtaudit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"math/big"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// verifyPublic checks a signature made with a public-key algorithm by
// calling crypto's own functions, as jwx's verifiers do underneath, with
// the same checks (an ECDSA signature is r||s of exactly twice the curve's
// size; RSA-PSS salts are as long as the hash) but without the lookups and
// conversions around them. Tests hold the two to the same verdicts on
// right, wrong and malformed signatures.
func verifyPublic(alg Algorithm, public any, input, signature []byte) error {
	switch pub := public.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, input, signature) {
			return errSignature
		}
		return nil
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(signature) != 2*size {
			return errSignature
		}
		var digest [sha512.Size]byte
		d := hashInto(&digest, algorithms[alg].hash, input)
		r, s := new(big.Int).SetBytes(signature[:size]), new(big.Int).SetBytes(signature[size:])
		if !ecdsa.Verify(pub, d, r, s) {
			return errSignature
		}
		return nil
	case *rsa.PublicKey:
		h := algorithms[alg].hash
		var digest [sha512.Size]byte
		d := hashInto(&digest, h, input)
		switch alg {
		case PS256, PS384, PS512:
			return rsa.VerifyPSS(pub, h, d, signature, &rsa.PSSOptions{Hash: h, SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(pub, h, d, signature)
	}
	return jwsbb.Verify(public, string(alg), input, signature)
}

var errSignature = errors.New("invalid signature")

// hashInto hashes input with h (SHA-256, -384 or -512) into buf and
// returns the digest.
func hashInto(buf *[sha512.Size]byte, h crypto.Hash, input []byte) []byte {
	switch h {
	case crypto.SHA256:
		*(*[sha256.Size]byte)(buf[:]) = sha256.Sum256(input)
		return buf[:sha256.Size]
	case crypto.SHA384:
		*(*[sha512.Size384]byte)(buf[:]) = sha512.Sum384(input)
		return buf[:sha512.Size384]
	}
	*buf = sha512.Sum512(input)
	return buf[:]
}
