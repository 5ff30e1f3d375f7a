package jwtaudit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/internal/weakkey"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

func TestNewKeyRefuses(t *testing.T) {
	rsaKey := loadPrivate(t, "rsa2048.pem").(*rsa.PrivateKey)
	rsaWeak := loadPrivate(t, "rsa1024.pem").(*rsa.PrivateKey)
	p256 := loadPrivate(t, "p256.pem").(*ecdsa.PrivateKey)
	p384 := loadPrivate(t, "p384.pem").(*ecdsa.PrivateKey)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	for _, tc := range []struct {
		name     string
		kid      string
		alg      Algorithm
		material any
		want     string
	}{
		{"none", "k", "none", testSecret, "unsupported algorithm"},
		{"lower-case alg", "k", "hs256", testSecret, "unsupported algorithm"},
		{"nil material", "k", HS256, nil, "no key material"},
		{"short HS256 secret", "k", HS256, testSecret[:31], "at least 32"},
		{"short HS384 secret", "k", HS384, testSecret[:47], "at least 48"},
		{"short HS512 secret", "k", HS512, testSecret[:63], "at least 64"},
		{"PEM as HMAC secret", "k", HS256, rsaPEM, "PEM block"},
		{"HMAC without id", "", HS256, testSecret, "explicit id"},
		{"string secret", "k", HS256, string(testSecret), "[]byte secret is required"},
		{"RSA 1024", "k", RS256, rsaWeak, "1024 bits"},
		{"RSA 1024 public", "k", PS256, &rsaWeak.PublicKey, "1024 bits"},
		{"RSA key for HS256", "k", HS256, rsaKey, "does not fit an HMAC"},
		{"RSA public key for HS256", "k", HS256, &rsaKey.PublicKey, "does not fit an HMAC"},
		{"EC key for RS256", "k", RS256, p256, "does not fit an RSA"},
		{"P-384 for ES256", "k", ES256, p384, "requires P-256"},
		{"P-256 for ES512", "k", ES512, &p256.PublicKey, "requires P-521"},
		{"RSA for ES256", "k", ES256, rsaKey, "does not fit an ECDSA"},
		{"secret for EdDSA", "k", EdDSA, testSecret, "does not fit EdDSA"},
		{"short Ed25519", "k", EdDSA, ed25519.PublicKey(testSecret[:16]), "16 bytes"},
		{"Ed25519 for ES256", "k", ES256, testEd25519, "does not fit an ECDSA"},
		{"Ed25519 identity", "k", EdDSA, ed25519Encoding(1, 0), "small order"},
		{"Ed25519 of order 2", "k", EdDSA, ed25519Encoding(0xec, 0x7f), "small order"},
		{"Ed25519 identity, non-canonical", "k", EdDSA, ed25519Encoding(0xee, 0x7f), "not canonically encoded"},
		{"Ed25519 not on the curve", "k", EdDSA, ed25519Encoding(2, 0), "not a point"},
		{"RSA 16384 public", "k", RS256, hugeRSAPublic(16384), "at most 8192"},
		{"RSA with the ROCA structure", "k", RS256, rocaPublic(t, 2049), "ROCA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := NewKey(tc.kid, tc.alg, tc.material)
			if err == nil {
				t.Fatalf("NewKey accepted it: %v", k)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to mention %q", err, tc.want)
			}
			noteError(err)
		})
	}
}

func TestKeyParts(t *testing.T) {
	rsaKey := loadPrivate(t, "rsa2048.pem").(*rsa.PrivateKey)
	for _, tc := range []struct {
		name     string
		alg      Algorithm
		material any
		canSign  bool
		public   bool
	}{
		{"secret", HS256, testSecret, true, false},
		{"RSA private", RS256, rsaKey, true, true},
		{"RSA public", PS384, &rsaKey.PublicKey, false, true},
		{"Ed25519 private", EdDSA, testEd25519, true, true},
		{"Ed25519 public", EdDSA, testEd25519.Public(), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := mustKey(t, "k", tc.alg, tc.material)
			if k.CanSign() != tc.canSign || (k.Public() != nil) != tc.public {
				t.Errorf("CanSign %v Public %v", k.CanSign(), k.Public())
			}
		})
	}
}

func TestKeyIDDefaultsToThumbprint(t *testing.T) {
	// RFC 7638 §3.1 gives the thumbprint of its example RSA key; an
	// Ed25519 key from RFC 8037 §A.3 has a published thumbprint too.
	pub := ed25519.PublicKey(mustB64(t, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
	k := mustKey(t, "", EdDSA, pub)
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; k.ID() != want {
		t.Errorf("kid = %q, want the RFC 8037 thumbprint %q", k.ID(), want)
	}
}

func mustB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestKeyNeverPrintsMaterial checks every way a key can be formatted.
func TestKeyNeverPrintsMaterial(t *testing.T) {
	k := mustKey(t, "k1", HS256, testSecret)
	var sb strings.Builder
	logger := slog.New(slog.NewTextHandler(&sb, nil))
	logger.Info("key", "key", k)
	out := []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), sb.String()}
	for _, s := range out {
		if strings.Contains(s, string(testSecret)) || strings.Contains(s, fmt.Sprint(testSecret[:8])) {
			t.Errorf("key printed its secret: %s", s)
		}
		if !strings.Contains(s, "k1") {
			t.Errorf("key printed without its id: %s", s)
		}
	}
}

// TestKeyNeverPrintsMaterialWhateverTheVerb prints keys every way fmt
// allows, on their own and inside other values, and looks for their
// material.
func TestKeyNeverPrintsMaterialWhateverTheVerb(t *testing.T) {
	hmacKey := mustKey(t, "hs", HS256, testSecret)
	edKey := mustKey(t, "ed", EdDSA, testEd25519)
	secrets := []string{string(testSecret), fmt.Sprintf("%x", testSecret), fmt.Sprintf("%v", testSecret[:8]),
		fmt.Sprintf("%x", []byte(testEd25519.Seed())), fmt.Sprintf("%v", []byte(testEd25519.Seed())[:8])}
	for _, k := range []*Key{hmacKey, edKey} {
		holders := []any{k, *k, struct{ K Key }{*k}, struct{ K *Key }{k}, []*Key{k}, []Key{*k}, map[string]Key{"k": *k}}
		for _, v := range holders {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
				out := fmt.Sprintf(verb, v)
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s of %T shows key material: %s", verb, v, out)
					}
				}
				if !strings.Contains(out, k.ID()) && verb != "%x" && verb != "%X" && verb != "%d" {
					// every verb but the numeric ones still names the key
					t.Errorf("%s of %T does not name the key: %s", verb, v, out)
				}
			}
		}
	}
}

// ed25519Encoding returns the 32-byte point encoding whose first byte is
// first, whose last byte is last, and whose other bytes are 0x00 when
// first is small (a small y) and 0xff otherwise (y near or above p).
func ed25519Encoding(first, last byte) ed25519.PublicKey {
	b := make(ed25519.PublicKey, ed25519.PublicKeySize)
	fill := byte(0)
	if first > 0x7f {
		fill = 0xff
	}
	for i := range b {
		b[i] = fill
	}
	b[0], b[31] = first, last
	return b
}

// hugeRSAPublic returns an RSA public key of the given size (its modulus
// need not factor for a public key to be refused).
func hugeRSAPublic(bits int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(12345))
	return &rsa.PublicKey{N: n, E: 65537}
}

// rocaPublic returns a public key of the given size whose modulus has the
// structure CVE-2017-15361 keys have: congruent to a power of 65537 modulo
// the product of the small primes the detector tests.
func rocaPublic(tb testing.TB, bits int) *rsa.PublicKey {
	tb.Helper()
	m := big.NewInt(1)
	for _, p := range weakkey.ROCAPrimes {
		m.Mul(m, new(big.Int).SetUint64(p))
	}
	residue := new(big.Int).Exp(big.NewInt(65537), big.NewInt(1234567), m)
	k := new(big.Int).Lsh(big.NewInt(1), uint(bits-m.BitLen()))
	for {
		n := new(big.Int).Add(new(big.Int).Mul(k, m), residue)
		if n.Bit(0) == 1 && n.BitLen() == bits {
			if !weakkey.HasROCAFingerprint(n) {
				tb.Fatal("the constructed modulus lacks the fingerprint")
			}
			return &rsa.PublicKey{N: n, E: 65537}
		}
		k.Add(k, big.NewInt(1))
	}
}

// TestROCAFingerprintSparesOrdinaryKeys checks that the detector does not
// refuse keys made the ordinary way.
func TestROCAFingerprintSparesOrdinaryKeys(t *testing.T) {
	for _, name := range []string{"rsa2048.pem", "rsa2048-other.pem"} {
		if k := loadPrivate(t, name).(*rsa.PrivateKey); weakkey.HasROCAFingerprint(k.N) {
			t.Errorf("%s is taken for a ROCA key", name)
		}
	}
}

// TestPublicKeyVerifiersAgreeWithJWX holds the direct calls of crypto's
// verifiers to jwx's, for every public-key algorithm: the same verdicts on
// right, wrong, short, long, empty and zero signatures, and for ECDSA on
// the other s of a signature and on r and s swapped.
func TestPublicKeyVerifiersAgreeWithJWX(t *testing.T) {
	for _, alg := range []Algorithm{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA} {
		k := mustKey(t, "k", alg, materialFor(t, alg))
		for i, input := range [][]byte{nil, []byte("a"), []byte(strings.Repeat("header.payload", 100))} {
			sig, err := k.sign(input)
			if err != nil {
				t.Fatal(err)
			}
			flipped := bytes.Clone(sig)
			flipped[len(flipped)-1] ^= 1
			variants := [][]byte{sig, flipped, sig[:len(sig)-1], append(bytes.Clone(sig), 0), nil, make([]byte, len(sig))}
			if algorithms[alg].family == familyECDSA {
				half := len(sig) / 2
				n := algorithms[alg].curve.Params().N
				s := new(big.Int).SetBytes(sig[half:])
				otherS := bytes.Clone(sig)
				new(big.Int).Sub(n, s).FillBytes(otherS[half:])
				swapped := append(bytes.Clone(sig[half:]), sig[:half]...)
				variants = append(variants, otherS, swapped)
			}
			for j, v := range variants {
				if (k.verify(input, v) == nil) != (jwsbb.Verify(k.public, string(alg), input, v) == nil) {
					t.Errorf("%s input %d: verdicts differ on variant %d (%d bytes)", alg, i, j, len(v))
				}
			}
			if k.verify(input, sig) != nil || k.verify(input, flipped) == nil {
				t.Errorf("%s input %d: wrong verdict", alg, i)
			}
		}
	}
}

// TestHMACAgreesWithJWX holds the pooled HMAC signer and verifier to jwx's
// own: the same signatures, and the same verdicts on right, wrong, short,
// long and empty signatures, for each HMAC algorithm.
func TestHMACAgreesWithJWX(t *testing.T) {
	for _, alg := range []Algorithm{HS256, HS384, HS512} {
		k := mustKey(t, "k", alg, testSecret)
		for i, input := range [][]byte{nil, []byte("a"), []byte(strings.Repeat("header.payload", 100))} {
			ours, err := k.sign(input)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := jwsbb.Sign(testSecret, string(alg), input, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) {
				t.Fatalf("%s input %d: signatures differ", alg, i)
			}
			flipped := bytes.Clone(ours)
			flipped[len(flipped)-1] ^= 1
			for _, sig := range [][]byte{ours, flipped, ours[:len(ours)-1], append(bytes.Clone(ours), 0), nil} {
				if (k.verify(input, sig) == nil) != (jwsbb.Verify(testSecret, string(alg), input, sig) == nil) {
					t.Errorf("%s input %d: verdicts differ on a %d-byte signature", alg, i, len(sig))
				}
			}
			if k.verify(input, ours) != nil || k.verify(input, flipped) == nil {
				t.Errorf("%s input %d: wrong verdict", alg, i)
			}
		}
	}
}
