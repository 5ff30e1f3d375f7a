package jwtaudit

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// hs256Token signs header and payload with an arbitrary HMAC secret, as an
// attacker who knows (or guesses) the secret would.
func hs256Token(secret []byte, header, payload string) string {
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	raw := input + "." + b64.EncodeToString(mac.Sum(nil))
	trackToken(raw)
	return raw
}

func TestAttacks(t *testing.T) {
	ctx := context.Background()
	rsaPriv := loadPrivate(t, "rsa2048.pem").(*rsa.PrivateKey)
	rsaKey := mustKey(t, "rsa", RS256, rsaPriv)
	ecKey := mustKey(t, "ec", ES256, loadPrivate(t, "p256.pem"))
	hmacKey := mustKey(t, "k1", HS256, testSecret)
	attackerRSA := mustKey(t, "rsa", RS256, loadPrivate(t, "rsa2048-other.pem"))

	pubDER, err := x509.MarshalPKIXPublicKey(&rsaPriv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pkcs1DER := x509.MarshalPKCS1PublicKey(&rsaPriv.PublicKey)

	// The attacker's own key, published in the token's header.
	attackerJWK, err := jwk.Import(attackerRSA.public)
	if err != nil {
		t.Fatal(err)
	}
	jwkJSON, _ := json.Marshal(attackerJWK)

	claims := `{"sub":"admin","exp":1798000000}`
	is, err := NewIssuer(WithKeys(hmacKey), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := is.Issue(ctx, Claims{Subject: "user-42"})
	trackToken(good)
	gh, gp, gs := splitToken(good)

	type attack struct {
		name   string
		keys   []*Key
		token  string
		reason Reason
	}
	attacks := []attack{
		{"RS256 to HS256 with PEM public key", []*Key{rsaKey}, hs256Token(pubPEM, `{"alg":"HS256","kid":"rsa"}`, claims), ReasonAlgorithm},
		{"RS256 to HS256 with PKIX DER", []*Key{rsaKey}, hs256Token(pubDER, `{"alg":"HS256","kid":"rsa"}`, claims), ReasonAlgorithm},
		{"RS256 to HS256 with PKCS1 DER", []*Key{rsaKey}, hs256Token(pkcs1DER, `{"alg":"HS256","kid":"rsa"}`, claims), ReasonAlgorithm},
		{"RS256 to HS256 without kid", []*Key{rsaKey}, hs256Token(pubPEM, `{"alg":"HS256"}`, claims), ReasonAlgorithm},
		{"header alg differs from key", []*Key{ecKey}, forge(t, mustKey(t, "ec", ES384, loadPrivate(t, "p384.pem")), `{"alg":"ES384","kid":"ec"}`, claims), ReasonAlgorithm},
		{"alg missing", []*Key{hmacKey}, forge(t, hmacKey, `{"kid":"k1"}`, claims), ReasonAlgorithm},
		{"alg not a string", []*Key{hmacKey}, forge(t, hmacKey, `{"alg":["HS256"],"kid":"k1"}`, claims), ReasonMalformed},
		{"embedded jwk with our kid", []*Key{rsaKey}, forge(t, attackerRSA, `{"alg":"RS256","kid":"rsa","jwk":`+string(jwkJSON)+`}`, claims), ReasonSignature},
		{"embedded jwk with its own kid", []*Key{rsaKey}, forge(t, attackerRSA, `{"alg":"RS256","kid":"attacker","jwk":`+string(jwkJSON)+`}`, claims), ReasonUnknownKey},
		{"jku header", []*Key{rsaKey}, forge(t, attackerRSA, `{"alg":"RS256","kid":"rsa","jku":"https://evil.example/jwks.json"}`, claims), ReasonSignature},
		{"x5u header", []*Key{rsaKey}, forge(t, attackerRSA, `{"alg":"RS256","kid":"rsa","x5u":"https://evil.example/cert.pem"}`, claims), ReasonSignature},
		{"crit header", []*Key{hmacKey}, forge(t, hmacKey, `{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}`, claims), ReasonMalformed},
		{"b64 false", []*Key{hmacKey}, forge(t, hmacKey, `{"alg":"HS256","kid":"k1","b64":false}`, claims), ReasonMalformed},
		{"unknown kid", []*Key{hmacKey}, forge(t, hmacKey, `{"alg":"HS256","kid":"k2"}`, claims), ReasonUnknownKey},
		{"signature bit flip", []*Key{hmacKey}, gh + "." + gp + "." + flipBit(t, gs), ReasonSignature},
		{"empty signature", []*Key{hmacKey}, gh + "." + gp + ".", ReasonSignature},
		{"signature of another token", []*Key{hmacKey}, gh + "." + b64.EncodeToString([]byte(claims)) + "." + gs, ReasonSignature},
		{"JWE", []*Key{hmacKey}, b64.EncodeToString([]byte(`{"alg":"dir","enc":"A128GCM"}`)) + "..AAAAAAAAAAAAAAAA.BBBB.CCCC", ReasonMalformed},
		{"JWE header in three segments", []*Key{hmacKey}, forge(t, hmacKey, `{"alg":"HS256","kid":"k1","enc":"A128GCM"}`, claims), ReasonMalformed},
		{"four segments", []*Key{hmacKey}, good + ".AAAA", ReasonMalformed},
		{"two segments", []*Key{hmacKey}, gh + "." + gp, ReasonMalformed},
		{"JSON serialization", []*Key{hmacKey}, fmt.Sprintf(`{"payload":%q,"protected":%q,"signature":%q}`, gp, gh, gs), ReasonMalformed},
		{"oversize", []*Key{hmacKey}, good + strings.Repeat("A", defaultMaxTokenSize), ReasonTooLarge},
		{"padding", []*Key{hmacKey}, gh + "." + gp + "." + gs + "=", ReasonMalformed},
		{"padded payload", []*Key{hmacKey}, padded(t, hmacKey), ReasonMalformed},
		{"standard alphabet", []*Key{hmacKey}, stdAlphabet(t, is), ReasonMalformed},
		{"line break", []*Key{hmacKey}, gh + "." + gp[:10] + "\r\n" + gp[10:] + "." + gs, ReasonMalformed},
		{"space", []*Key{hmacKey}, " " + good, ReasonMalformed},
		{"exp as a string", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `{"sub":"a","exp":"1798000000"}`), ReasonInvalidClaims},
		{"exp as an RFC 3339 string", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `{"sub":"a","exp":"2030-01-01T00:00:00Z"}`), ReasonInvalidClaims},
		{"duplicate sub", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `{"sub":"a","exp":1798000000,"sub":"admin"}`), ReasonInvalidClaims},
		{"duplicate alg", []*Key{hmacKey}, forge(t, hmacKey, `{"alg":"HS256","kid":"k1","alg":"none"}`, claims), ReasonMalformed},
		{"upper-case EXP is not exp", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `{"sub":"a","EXP":1798000000}`), ReasonInvalidClaims},
		{"data after the claims", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, claims+`{"sub":"b"}`), ReasonInvalidClaims},
		{"claims not an object", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `["sub","admin"]`), ReasonInvalidClaims},
		{"claims null", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `null`), ReasonInvalidClaims},
		{"invalid UTF-8 in sub", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, "{\"sub\":\"ad\xffmin\",\"exp\":1798000000}"), ReasonInvalidClaims},
		{"negative exp", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `{"sub":"a","exp":-1}`), ReasonInvalidClaims},
		{"huge exp", []*Key{hmacKey}, forge(t, hmacKey, hdrK1, `{"sub":"a","exp":1e300}`), ReasonInvalidClaims},
	}
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		attacks = append(attacks,
			attack{"alg " + alg, []*Key{hmacKey}, unsigned(`{"alg":"`+alg+`","kid":"k1"}`, claims), ReasonAlgorithm},
			attack{"alg " + alg + " with a signature", []*Key{hmacKey}, forge(t, hmacKey, `{"alg":"`+alg+`","kid":"k1"}`, claims), ReasonAlgorithm},
			attack{"alg " + alg + " without kid", []*Key{hmacKey}, unsigned(`{"alg":"`+alg+`"}`, claims), ReasonAlgorithm},
		)
	}

	for _, tc := range attacks {
		t.Run(tc.name, func(t *testing.T) {
			rec := &captureSink{}
			v, err := NewVerifier(WithKeys(tc.keys...), WithClock(fixedClock(testNow)), WithAudit(rec))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := v.Verify(ctx, tc.token)
			noteError(err)
			if got := ReasonOf(err); got != tc.reason {
				t.Errorf("ReasonOf(%v) = %s, want %s", err, got, tc.reason)
			}
			if tok != nil {
				t.Errorf("attack accepted: %+v", tok.Claims)
			}
			if ev := rec.only(t); ev.Verified || ev.Outcome != OutcomeRejected {
				t.Errorf("event = %+v", ev)
			}
		})
	}
}

// unsigned builds an Unsecured JWS (RFC 7519 §6): an empty signature.
func unsigned(header, payload string) string {
	raw := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload)) + "."
	trackToken(raw)
	return raw
}

func splitToken(raw string) (h, p, s string) {
	parts := strings.Split(raw, ".")
	return parts[0], parts[1], parts[2]
}

// flipBit flips the lowest bit of the first byte of a base64url signature.
func flipBit(t *testing.T, seg string) string {
	sig, err := b64.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	sig[0] ^= 1
	return b64.EncodeToString(sig)
}

// padded returns a validly signed token whose payload segment carries
// base64 padding.
func padded(t *testing.T, key *Key) string {
	for n := 0; ; n++ {
		payload := fmt.Sprintf(`{"sub":"a","exp":1798000000,"n":%d}`, n)
		if len(payload)%3 == 0 {
			continue
		}
		return signSegments(t, key, b64.EncodeToString([]byte(hdrK1)), base64.URLEncoding.EncodeToString([]byte(payload)))
	}
}

// stdAlphabet returns a token written in the standard base64 alphabet,
// which a strict verifier must refuse even though the bytes decode.
func stdAlphabet(t *testing.T, is *Issuer) string {
	for i := 0; i < 1000; i++ {
		raw, err := is.Issue(context.Background(), Claims{Subject: fmt.Sprintf("user-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		trackToken(raw)
		if std := strings.NewReplacer("-", "+", "_", "/").Replace(raw); std != raw {
			trackToken(std)
			return std
		}
	}
	t.Fatal("no token with '-' or '_' in 1000 tries")
	return ""
}

// TestDifferentialJWS checks, over valid tokens and many mutations of them,
// that whenever this verifier accepts a token, jwx's full jws.Verify accepts
// it with the same key: the hand-written split and decode never let through
// what jwx refuses.
func TestDifferentialJWS(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []Algorithm{HS256, ES256, EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			key := mustKey(t, "k1", alg, materialFor(t, alg))
			is, v := pair(t, []Option{WithKeys(key), WithClock(fixedClock(testNow))}, nil, []VerifierOption{InsecureAllowMissingExpiry()})
			accepted, refused := 0, 0
			for i := 0; i < 20; i++ {
				raw, err := is.Issue(ctx, Claims{Subject: fmt.Sprintf("user-%d", i), Private: map[string]any{"n": i}})
				if err != nil {
					t.Fatal(err)
				}
				trackToken(raw)
				for _, m := range mutations(raw, i) {
					_, ours := v.Verify(ctx, m)
					_, theirs := jws.Verify([]byte(m), jws.WithKey(mustJWA(t, alg), key.public))
					if ours == nil {
						accepted++
						if theirs != nil {
							t.Errorf("accepted a token jws.Verify refuses (%v)", theirs)
						}
					} else {
						refused++
					}
				}
			}
			if accepted < 20 || refused < 20 {
				t.Errorf("accepted %d, refused %d: the comparison proved little", accepted, refused)
			}
		})
	}
}

// mutations returns raw itself and variants of it: characters replaced,
// removed and inserted, segments swapped and extended.
func mutations(raw string, seed int) []string {
	out := []string{raw}
	for _, pos := range []int{seed % len(raw), (seed * 7) % len(raw), len(raw) - 1 - seed%5} {
		for _, c := range []byte{'A', '_', '-', '+', '/', '=', '.', '\n'} {
			out = append(out, raw[:pos]+string(c)+raw[pos+1:], raw[:pos]+string(c)+raw[pos:])
		}
		out = append(out, raw[:pos]+raw[pos+1:])
	}
	h, p, s := splitToken(raw)
	out = append(out, p+"."+h+"."+s, h+"."+p+"."+s+"."+s, h+".."+s, "."+p+"."+s, h+"."+p+"."+s+s)
	return out
}
