package jwtaudit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// privateJWK renders a key's private part as a JWK with kid and alg.
func privateJWK(t *testing.T, k *Key, extra map[string]any) []byte {
	t.Helper()
	jk, err := jwk.Import(k.signer)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]any{jwk.KeyIDKey: k.id, jwk.AlgorithmKey: string(k.alg)}
	for name, v := range extra {
		fields[name] = v
	}
	for name, v := range fields {
		if err := jk.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(jk)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signsForEachOther checks that a token signed by signer verifies with
// checker.
func signsForEachOther(t *testing.T, signer, checker *Key) {
	t.Helper()
	is, err := NewIssuer(WithKeys(signer), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := is.Issue(context.Background(), Claims{Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	v, _ := NewVerifier(WithKeys(checker), WithClock(fixedClock(testNow)))
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Errorf("%v does not verify what %v signs: %v", checker, signer, err)
	}
}

func TestParseJWK(t *testing.T) {
	for _, alg := range []Algorithm{RS256, PS384, ES256, ES384, ES512, EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			orig := mustKey(t, "k-"+string(alg), alg, materialFor(t, alg))
			public, err := publicJWK(orig)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParseJWK(public)
			if err != nil {
				t.Fatal(err)
			}
			if pub.CanSign() || pub.ID() != orig.ID() || pub.Algorithm() != alg {
				t.Errorf("public JWK gave %v, can sign %v", pub, pub.CanSign())
			}
			signsForEachOther(t, orig, pub)
			priv, err := ParseJWK(privateJWK(t, orig, nil))
			if err != nil {
				t.Fatal(err)
			}
			if !priv.CanSign() {
				t.Fatal("a private JWK gave a key that cannot sign")
			}
			signsForEachOther(t, priv, orig)
		})
	}
	t.Run("secret", func(t *testing.T) {
		k, err := ParseJWK([]byte(`{"kty":"oct","kid":"s","alg":"HS256","k":"` + b64.EncodeToString(testSecret) + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		signsForEachOther(t, k, mustKey(t, "s", HS256, testSecret))
	})
}

func TestParseJWKRefuses(t *testing.T) {
	ec := mustKey(t, "ec", ES256, materialFor(t, ES256))
	public, _ := publicJWK(ec)
	with := func(extra string) []byte {
		return []byte(strings.TrimSuffix(string(public), "}") + "," + extra + "}")
	}
	secret := b64.EncodeToString(testSecret)
	for _, tc := range []struct {
		name string
		jwk  []byte
		want string
	}{
		{"use enc", []byte(strings.Replace(string(public), `"use":"sig"`, `"use":"enc"`, 1)), `use "enc"`},
		{"key_ops without verify", with(`"key_ops":["sign"]`), `does not allow "verify"`},
		{"private key_ops without sign", privateJWK(t, ec, map[string]any{jwk.KeyOpsKey: []string{"verify"}}), `does not allow "sign"`},
		{"secret without alg", []byte(`{"kty":"oct","kid":"s","k":"` + secret + `"}`), `needs an "alg"`},
		{"short secret", []byte(`{"kty":"oct","kid":"s","alg":"HS256","k":"c2hvcnQ"}`), "at least 32"},
		{"alg that does not fit", []byte(strings.Replace(string(public), `"alg":"ES256"`, `"alg":"RS256"`, 1)), "does not fit an RSA"},
		{"small-order Ed25519", []byte(`{"kty":"OKP","crv":"Ed25519","kid":"id","x":"` + b64.EncodeToString(ed25519Encoding(1, 0)) + `"}`), "small order"},
		{"not JSON", []byte(`{"kty":`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseJWK(tc.jwk)
			if err == nil {
				t.Fatalf("accepted: %v", k)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Error("the error shows the secret")
			}
		})
	}
}

// TestParseJWKReadsKidExactly: "kid" is matched as RFC 7517 names it, so
// that a "KID" beside it (or alone) never becomes the key's id, and a JWK
// naming a member twice is refused rather than read one way here and
// another way by the next reader.
func TestParseJWKReadsKidExactly(t *testing.T) {
	secret := `"kty":"oct","alg":"HS256","k":"` + b64.EncodeToString(testSecret) + `"`
	ec := mustKey(t, "", ES256, materialFor(t, ES256)) // its id is its thumbprint
	public, _ := publicJWK(ec)
	noKid := strings.Replace(string(public), `"kid":"`+ec.ID()+`",`, "", 1)
	for _, tc := range []struct {
		name, jwk, kid, err string
	}{
		{"kid then KID", `{` + secret + `,"kid":"a","KID":"b"}`, "a", ""},
		{"KID then kid", `{` + secret + `,"KID":"b","kid":"a"}`, "a", ""},
		{"Kid beside kid", `{` + secret + `,"kid":"a","Kid":"b"}`, "a", ""},
		{"KID alone on a public key", strings.TrimSuffix(noKid, "}") + `,"KID":"b"}`, ec.ID(), ""},
		{"KID alone on a secret", `{` + secret + `,"KID":"b"}`, "", "needs an explicit id"},
		{"kid twice", `{` + secret + `,"kid":"a","kid":"b"}`, "", `member "kid" appears twice`},
		{"k twice", `{` + secret + `,"kid":"a","k":"AAAA"}`, "", `member "k" appears twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseJWK([]byte(tc.jwk))
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("ParseJWK = %v, %v; want an error with %q", k, err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case k.ID() != tc.kid:
				t.Errorf("id %q, want %q", k.ID(), tc.kid)
			}
		})
	}
}

// TestParseJWKRefusesAnotherKeysPublicHalf: a private JWK whose public
// members are another key's is refused at import, for each key type, rather
// than at the first signature (or, for Ed25519, never: the signatures would
// simply not verify with the published key).
func TestParseJWKRefusesAnotherKeysPublicHalf(t *testing.T) {
	for _, tc := range []struct {
		alg     Algorithm
		members []string // the public members swapped
		other   any
	}{
		{RS256, []string{"n"}, loadPrivate(t, "rsa2048-other.pem")},
		{ES256, []string{"x", "y"}, ecdsaFromScalar(t, elliptic.P256(), 7)},
		{ES384, []string{"x", "y"}, ecdsaFromScalar(t, elliptic.P384(), 7)},
		{EdDSA, []string{"x"}, ed25519FromSeed([]byte("another jwtaudit test seed, 32 b"))},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			mine := mustKey(t, "mine", tc.alg, materialFor(t, tc.alg))
			other := mustKey(t, "other", tc.alg, tc.other)
			var priv, pub map[string]any
			if err := json.Unmarshal(privateJWK(t, mine, nil), &priv); err != nil {
				t.Fatal(err)
			}
			otherPublic, _ := publicJWK(other)
			if err := json.Unmarshal(otherPublic, &pub); err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.members {
				priv[m] = pub[m]
			}
			mixed, _ := json.Marshal(priv)
			k, err := ParseJWK(mixed)
			if err == nil {
				t.Fatalf("accepted %v", k)
			}
			// jwx itself already refuses an Ed25519 JWK whose "x" is not
			// its "d"'s; the other two are this package's check.
			if !strings.Contains(err.Error(), "does not fit its public key") && !strings.Contains(err.Error(), "invalid x value given d value") {
				t.Errorf("err = %v", err)
			}
			if _, err := ParseJWK(privateJWK(t, mine, nil)); err != nil {
				t.Errorf("the key's own JWK: %v", err)
			}
		})
	}
}

// TestNewKeyRefusesAnotherKeysPublicHalf: the same check holds for keys
// built in Go, an Ed25519 private key whose second half is another key's
// among them.
func TestNewKeyRefusesAnotherKeysPublicHalf(t *testing.T) {
	other := ed25519FromSeed([]byte("another jwtaudit test seed, 32 b"))
	mixedEd := append(append(ed25519.PrivateKey{}, testEd25519.Seed()...), other.Public().(ed25519.PublicKey)...)
	rsaKey := *loadPrivate(t, "rsa2048.pem").(*rsa.PrivateKey)
	rsaKey.PublicKey = *loadPrivate(t, "rsa2048-other.pem").Public().(*rsa.PublicKey)
	rsaKey.Precomputed = rsa.PrecomputedValues{}
	ecKey := *loadPrivate(t, "p256.pem").(*ecdsa.PrivateKey)
	ecKey.PublicKey = ecdsaFromScalar(t, elliptic.P256(), 7).PublicKey
	for _, tc := range []struct {
		alg      Algorithm
		material any
	}{{EdDSA, mixedEd}, {RS256, &rsaKey}, {ES256, &ecKey}} {
		if k, err := NewKey("k", tc.alg, tc.material); err == nil || !strings.Contains(err.Error(), "does not fit its public key") {
			t.Errorf("%s: NewKey = %v, %v", tc.alg, k, err)
		}
	}
}

// ecdsaFromScalar makes a fixed ECDSA key whose private scalar is n.
func ecdsaFromScalar(t *testing.T, curve elliptic.Curve, n byte) *ecdsa.PrivateKey {
	t.Helper()
	scalar := make([]byte, (curve.Params().BitSize+7)/8)
	scalar[len(scalar)-1] = n
	k, err := ecdsa.ParseRawPrivateKey(curve, scalar)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyErrorsReadWell holds the errors a newcomer meets to what they
// need to read: a short secret points at the way to keep verifying old
// tokens, an import error names the package once and says a thing once, a
// key without a kid is called so, and an empty key set is refused.
func TestKeyErrorsReadWell(t *testing.T) {
	_, short := NewKey("k", HS256, []byte("secret_key"))
	ec := mustKey(t, "ec", ES256, materialFor(t, ES256))
	public, _ := publicJWK(ec)
	var m map[string]any
	json.Unmarshal(public, &m)
	m["y"] = m["x"] // a point that is not on the curve
	offCurve, _ := json.Marshal(m)
	_, offCurveErr := ParseJWK(offCurve)
	identity := `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(ed25519Encoding(1, 0)) + `"}`
	_, noKid := ParseJWK([]byte(identity))
	_, emptySet := ParseJWKSet([]byte(`{"keys":[]}`))
	for _, tc := range []struct {
		name     string
		err      error
		want     []string
		unwanted []string
	}{
		{"a short secret", short, []string{"at least 32", "InsecureLegacyHMACKey"}, nil},
		{"a point off the curve", offCurveErr, []string{"jwtaudit: ParseJWK: "}, []string{"jwtaudit: ParseJWK: jwtaudit:", "key validation failed: key validation failed", "jwk.Parse"}},
		{"a small-order key without a kid", noKid, []string{"a key without a kid (EdDSA): Ed25519 public key has small order"}, []string{`key ""`}},
		{"an empty set", emptySet, []string{"an empty JWK Set"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(tc.err.Error(), w) {
					t.Errorf("%q lacks %q", tc.err, w)
				}
			}
			for _, u := range tc.unwanted {
				if strings.Contains(tc.err.Error(), u) {
					t.Errorf("%q has %q", tc.err, u)
				}
			}
		})
	}
}

func TestParseJWKSet(t *testing.T) {
	a, _ := publicJWK(mustKey(t, "a", ES256, materialFor(t, ES256)))
	b, _ := publicJWK(mustKey(t, "b", EdDSA, testEd25519))
	keys, err := ParseJWKSet([]byte(`{"keys":[` + string(a) + `,` + string(b) + `]}`))
	if err != nil || len(keys) != 2 || keys[0].ID() != "a" || keys[1].ID() != "b" {
		t.Fatalf("ParseJWKSet = %v, %v", keys, err)
	}
	secret := `{"kty":"oct","kid":"s","alg":"HS256","k":"` + b64.EncodeToString(testSecret) + `"}`
	for _, tc := range []struct{ set, want string }{
		{`{"keys":[` + string(a) + `,` + secret + `]}`, "both secrets and asymmetric keys"},
		{`{"keys":[` + string(a) + `,` + string(a) + `]}`, `key 1 (kid "a"): a second key with this kid`},
		{`{"keys":[` + string(a) + `,{"kty":"EC","kid":"bad"}]}`, `key 1 (kid "bad")`},
		{`[]`, "not a JWK Set"},
	} {
		if _, err := ParseJWKSet([]byte(tc.set)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJWKSet(%.60s…) = %v, want %q", tc.set, err, tc.want)
		}
	}
}

func TestParsePEM(t *testing.T) {
	for _, tc := range []struct {
		file string
		alg  Algorithm
	}{{"rsa2048.pem", RS256}, {"p256.pem", ES256}, {"p384.pem", ES384}, {"p521.pem", ES512}} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParsePEM("k", tc.alg, data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		orig := mustKey(t, "k", tc.alg, materialFor(t, tc.alg))
		signsForEachOther(t, k, orig)
		der, err := x509.MarshalPKIXPublicKey(orig.Public())
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePEM("k", tc.alg, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		if err != nil || pub.CanSign() {
			t.Fatalf("%s public: %v, %v", tc.file, pub, err)
		}
		signsForEachOther(t, orig, pub)
		if _, err := ParsePEM("k", tc.alg, append(data, data...)); err == nil {
			t.Errorf("%s twice was accepted", tc.file)
		}
	}
	weak, _ := os.ReadFile(filepath.Join("testdata", "rsa1024.pem"))
	if _, err := ParsePEM("k", RS256, weak); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Errorf("a 1024-bit key: %v", err)
	}
	if _, err := ParsePEM("k", HS256, []byte("not pem")); err == nil {
		t.Error("no PEM block was accepted")
	}
}
