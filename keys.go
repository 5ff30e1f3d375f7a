package jwtaudit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/jwtaudit/jwtaudit/internal/weakkey"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// minRSABits is the smallest RSA modulus accepted (NIST SP 800-131A, and the
// minimum RFC 7518 §3.3 asks for).
const minRSABits = 2048

// maxRSABits is the largest RSA modulus accepted, as common validators
// allow: the cost of checking a signature grows with the square of the
// modulus, so a 65536-bit key would let one garbage token cost a hundred
// milliseconds of CPU.
const maxRSABits = 8192

// Key is a signing or verification key: an id (the "kid" header), the one
// algorithm it is used with, and its material. Create it once with [NewKey]
// and pass it, through [WithKeys], to both [NewIssuer] and [NewVerifier]: the
// issuer signs with the private part, the verifier checks with the public
// part. A Key is immutable and safe for concurrent use.
//
// A Key never prints its material: whatever the fmt verb, and through
// log/slog, it shows only its id and algorithm.
type Key struct {
	id     string
	alg    Algorithm
	signer any      // []byte secret or crypto.Signer; nil for a public key
	public any      // []byte secret, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	sigLen int      // length of a raw signature, to size the issued token exactly
	legacy bool     // made by InsecureLegacyHMACKey: verifies only, and says so in events
	macs   *macPool // HMAC keys: keyed HMACs, signed and checked without jwx
}

// NewKey binds key material to an id and an algorithm, and refuses weak or
// mismatched material. The material is one of:
//
//   - []byte: an HMAC secret for HS256/384/512, at least as long as the hash
//     output (RFC 7518 §3.2); the bytes are copied.
//   - *rsa.PrivateKey or *rsa.PublicKey for RS* and PS*, 2048 to 8192 bits,
//     and not one of the keys CVE-2017-15361 (ROCA) made weak.
//   - *ecdsa.PrivateKey or *ecdsa.PublicKey for ES256 (P-256), ES384 (P-384)
//     and ES512 (P-521).
//   - ed25519.PrivateKey or ed25519.PublicKey for EdDSA; a public key of
//     small order, or not canonically encoded, is refused: anyone could
//     make signatures that verify with it.
//   - any other crypto.Signer whose Public key fits the algorithm, so that
//     a key held in a KMS or an HSM can sign.
//
// An empty id is replaced by the key's RFC 7638 thumbprint (SHA-256,
// base64url) for public-key algorithms; an HMAC key must be given an id,
// since a thumbprint of a secret would publish a hash of it in every token.
func NewKey(id string, alg Algorithm, material any) (*Key, error) {
	k, err := newKey(id, alg, material)
	if err != nil {
		return nil, fmt.Errorf("jwtaudit: %w", err)
	}
	return k, nil
}

// newKey is NewKey, with errors that do not start with the package's name,
// for the functions that build keys from JWKs and PEM to wrap as their own.
func newKey(id string, alg Algorithm, material any) (*Key, error) {
	info, ok := algorithms[alg]
	if !ok {
		return nil, fmt.Errorf("%s: unsupported algorithm %q", keyName(id), alg)
	}
	if material == nil {
		return nil, fmt.Errorf("%s: no key material", keyName(id))
	}
	k := &Key{id: id, alg: alg}
	var err error
	switch info.family {
	case familyHMAC:
		err = k.setSecret(info, material)
	case familyRSA:
		err = k.setRSA(material)
	case familyECDSA:
		err = k.setECDSA(info, material)
	case familyEdDSA:
		err = k.setEd25519(material)
	}
	if err == nil {
		err = checkKeyPair(material)
	}
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", keyName(id), alg, err)
	}
	if k.id == "" {
		if info.family == familyHMAC {
			return nil, fmt.Errorf("an %s key needs an explicit id", alg)
		}
		if k.id, err = thumbprint(k.public); err != nil {
			return nil, fmt.Errorf("a key without a kid (%s): computing its thumbprint: %w", alg, err)
		}
	}
	return k, nil
}

// keyName names a key in an error: by its id, or as one without.
func keyName(id string) string {
	if id == "" {
		return "a key without a kid"
	}
	return fmt.Sprintf("key %q", clip(id))
}

// samePublic reports whether k and o verify the same signatures: the same
// algorithm and the same public key (or secret).
func (k *Key) samePublic(o *Key) bool {
	if k.alg != o.alg {
		return false
	}
	switch p := k.public.(type) {
	case []byte:
		q, ok := o.public.([]byte)
		return ok && hmac.Equal(p, q)
	case interface{ Equal(crypto.PublicKey) bool }:
		return p.Equal(o.public)
	}
	return false
}

// checkKeyPair refuses a private key whose public half is not its own: an
// RSA key whose modulus is not the product of its primes (or whose
// exponents do not fit), an ECDSA key whose point is not its scalar times
// the base point, an Ed25519 key whose last 32 bytes are not its seed's
// public key. Such a key, from a JWK whose "x" and "y" were swapped for
// another key's, say, would publish one key and sign with another: every
// token it issues would fail, and only at the first signature. A
// crypto.Signer of another type (a KMS key) holds its own private half.
func checkKeyPair(material any) error {
	switch m := material.(type) {
	case *rsa.PrivateKey:
		if err := m.Validate(); err != nil {
			return fmt.Errorf("RSA private key does not fit its public key: %w", err)
		}
	case *ecdsa.PrivateKey:
		scalar, err := m.Bytes()
		if err != nil {
			return fmt.Errorf("ECDSA private key: %w", err)
		}
		own, err := ecdsa.ParseRawPrivateKey(m.Curve, scalar)
		if err != nil {
			return fmt.Errorf("ECDSA private key: %w", err)
		}
		if !own.PublicKey.Equal(&m.PublicKey) {
			return errors.New("ECDSA private key does not fit its public key")
		}
	case ed25519.PrivateKey:
		own := ed25519.NewKeyFromSeed(m.Seed())
		if !own.Public().(ed25519.PublicKey).Equal(m.Public()) {
			return errors.New("Ed25519 private key does not fit its public key")
		}
	}
	return nil
}

func (k *Key) setSecret(info algorithmInfo, material any) error {
	secret, ok := material.([]byte)
	if !ok {
		return fmt.Errorf("material of type %T does not fit an HMAC algorithm: a []byte secret is required", material)
	}
	if min := info.hash.Size(); len(secret) < min {
		return fmt.Errorf("secret is %d bytes; at least %d are required (RFC 7518 §3.2); tokens already signed with a short secret can still be verified, and only verified, through InsecureLegacyHMACKey while they are phased out", len(secret), min)
	}
	// A PEM block as an HMAC secret is the classic RS256-to-HS256 confusion
	// set up by the service itself: refuse it outright.
	if bytes.HasPrefix(bytes.TrimSpace(secret), []byte("-----BEGIN")) {
		return errors.New("secret is a PEM block; an HMAC secret must be random bytes, never a public or private key")
	}
	secret = bytes.Clone(secret)
	k.signer, k.public, k.sigLen = secret, secret, info.hash.Size()
	k.macs = newMACPool(info, secret)
	return nil
}

func (k *Key) setRSA(material any) error {
	var pub *rsa.PublicKey
	switch m := material.(type) {
	case *rsa.PublicKey:
		pub = m
	case crypto.Signer: // *rsa.PrivateKey is one, and a KMS-held key too
		p, ok := m.Public().(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("signer with a %T public key does not fit an RSA algorithm", m.Public())
		}
		pub, k.signer = p, m
	default:
		return fmt.Errorf("material of type %T does not fit an RSA algorithm", material)
	}
	if pub == nil || pub.N == nil {
		return errors.New("RSA key is empty")
	}
	switch bits := pub.N.BitLen(); {
	case bits < minRSABits:
		return fmt.Errorf("RSA key is %d bits; at least %d are required", bits, minRSABits)
	case bits > maxRSABits:
		return fmt.Errorf("RSA key is %d bits; at most %d are accepted", bits, maxRSABits)
	case weakkey.HasROCAFingerprint(pub.N):
		return errors.New("RSA key has the structure of CVE-2017-15361 (ROCA): its private key can be computed from it")
	}
	k.public, k.sigLen = pub, pub.Size()
	return nil
}

func (k *Key) setECDSA(info algorithmInfo, material any) error {
	var pub *ecdsa.PublicKey
	switch m := material.(type) {
	case *ecdsa.PublicKey:
		pub = m
	case crypto.Signer:
		p, ok := m.Public().(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("signer with a %T public key does not fit an ECDSA algorithm", m.Public())
		}
		pub, k.signer = p, m
	default:
		return fmt.Errorf("material of type %T does not fit an ECDSA algorithm", material)
	}
	if pub == nil || pub.Curve == nil {
		return errors.New("ECDSA key is empty")
	}
	if pub.Curve != info.curve {
		return fmt.Errorf("ECDSA key is on %s; %s requires %s (RFC 7518 §3.4)",
			pub.Curve.Params().Name, k.alg, info.curve.Params().Name)
	}
	k.public, k.sigLen = pub, 2*((info.curve.Params().BitSize+7)/8)
	return nil
}

func (k *Key) setEd25519(material any) error {
	var pub ed25519.PublicKey
	switch m := material.(type) {
	case ed25519.PublicKey:
		if len(m) != ed25519.PublicKeySize {
			return fmt.Errorf("Ed25519 public key is %d bytes; %d are required", len(m), ed25519.PublicKeySize)
		}
		pub = m
	case ed25519.PrivateKey:
		if len(m) != ed25519.PrivateKeySize {
			return fmt.Errorf("Ed25519 private key is %d bytes; %d are required", len(m), ed25519.PrivateKeySize)
		}
		pub, k.signer = m.Public().(ed25519.PublicKey), m
	case crypto.Signer:
		p, ok := m.Public().(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("signer with a %T public key does not fit EdDSA", m.Public())
		}
		pub, k.signer = p, m
	default:
		return fmt.Errorf("material of type %T does not fit EdDSA", material)
	}
	if err := weakkey.CheckEd25519Public(pub); err != nil {
		return err
	}
	k.public, k.sigLen = pub, ed25519.SignatureSize
	return nil
}

// thumbprint returns the RFC 7638 SHA-256 thumbprint of a public key,
// base64url encoded without padding.
func thumbprint(public any) (string, error) {
	jk, err := jwk.Import(public)
	if err != nil {
		return "", err
	}
	sum, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// ID returns the key id, written to and matched against the "kid" header.
func (k *Key) ID() string { return k.id }

// Algorithm returns the one algorithm the key is used with.
func (k *Key) Algorithm() Algorithm { return k.alg }

// CanSign reports whether the key holds a private part (or a secret), so
// that an [Issuer] can sign with it.
func (k *Key) CanSign() bool { return k.signer != nil }

// Public returns the public key for RSA, ECDSA and EdDSA keys
// (*rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey), and nil for an HMAC
// key, whose secret has no public part.
func (k *Key) Public() crypto.PublicKey {
	if algorithms[k.alg].family == familyHMAC {
		return nil
	}
	return k.public
}

// String describes the key by id and algorithm, never its material.
func (k Key) String() string { return fmt.Sprintf("jwtaudit.Key{kid=%q alg=%s}", k.id, k.alg) }

// GoString is String, so that %#v cannot print the material either.
func (k Key) GoString() string { return k.String() }

// Format writes String for every verb and flag (%v, %+v, %#v, %s, %x, …),
// on a Key and on a *Key alike, so that no way of printing a key, or a
// struct that holds one, shows its material.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue logs the key as its id and algorithm only.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.id), slog.String("alg", string(k.alg)))
}

// sign returns the raw signature of input. The private material goes to jwx
// as a plain Go key (or the caller's crypto.Signer), never as a jwk.Key,
// which jwx would convert back on every call.
func (k *Key) sign(input []byte) ([]byte, error) {
	if k.macs != nil {
		return k.macs.sum(nil, input), nil
	}
	return jwsbb.Sign(k.signer, string(k.alg), input, nil)
}

// verify checks a raw signature over input with the key's own algorithm.
// HMAC keys check with crypto/hmac directly, from a pooled keyed state
// (TestHMACAgreesWithJWX holds them to jwx); the others with crypto's own
// verifiers (see verifyPublic; TestPublicKeyVerifiersAgreeWithJWX).
func (k *Key) verify(input, signature []byte) error {
	if k.macs != nil {
		return k.macs.verify(input, signature)
	}
	return verifyPublic(k.alg, k.public, input, signature)
}
