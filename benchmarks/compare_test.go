// Package benchmarks compares jwtaudit with the JWT libraries Go services
// use today, on the same tokens and the same checks. It is a module of its
// own so that the peers it measures never become dependencies of jwtaudit.
//
//	cd benchmarks && go test -bench . -benchmem
package benchmarks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtaudit/jwtaudit"
	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

const (
	issuer   = "https://auth.example"
	audience = "api"
)

// fixture holds one key in the three libraries' forms and a token that all
// three accept.
type fixture struct {
	alg      jwtaudit.Algorithm
	sign     any // private material
	verify   any // public material
	issuer   *jwtaudit.Issuer
	verifier *jwtaudit.Verifier
	token    string
}

func newFixture(b *testing.B, alg jwtaudit.Algorithm, sink jwtaudit.AuditSink) fixture {
	f := fixture{alg: alg}
	switch alg {
	case jwtaudit.HS256:
		f.sign, f.verify = secret, secret
	case jwtaudit.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		f.sign, f.verify = k, &k.PublicKey
	}
	key, err := jwtaudit.NewKey("k1", alg, f.sign)
	if err != nil {
		b.Fatal(err)
	}
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithIssuer(issuer), jwtaudit.WithAudience(audience), jwtaudit.WithAudit(sink))
	if f.issuer, err = jwtaudit.NewIssuer(shared); err != nil {
		b.Fatal(err)
	}
	if f.verifier, err = jwtaudit.NewVerifier(shared); err != nil {
		b.Fatal(err)
	}
	if f.token, err = f.issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "user-42"}); err != nil {
		b.Fatal(err)
	}
	return f
}

func sinks() map[string]jwtaudit.AuditSink {
	return map[string]jwtaudit.AuditSink{
		"discard":  jwtaudit.DiscardSink,
		"json":     jwtaudit.NewJSONSink(io.Discard),
		"slogJSON": jwtaudit.NewSlogSink(slog.NewJSONHandler(io.Discard, nil)),
	}
}

var algs = []jwtaudit.Algorithm{jwtaudit.HS256, jwtaudit.ES256}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range algs {
		for name, sink := range sinks() {
			b.Run(string(alg)+"/jwtaudit-"+name, func(b *testing.B) {
				f := newFixture(b, alg, sink)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := f.verifier.Verify(ctx, f.token); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(string(alg)+"/golang-jwt", func(b *testing.B) {
			f := newFixture(b, alg, jwtaudit.DiscardSink)
			parser := jwt.NewParser(jwt.WithValidMethods([]string{string(alg)}), jwt.WithIssuer(issuer),
				jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			keyFunc := func(*jwt.Token) (any, error) { return f.verify, nil }
			b.ReportAllocs()
			for b.Loop() {
				var claims jwt.RegisteredClaims
				if _, err := parser.ParseWithClaims(f.token, &claims, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/jwx-jwt", func(b *testing.B) {
			f := newFixture(b, alg, jwtaudit.DiscardSink)
			jalg, _ := jwa.LookupSignatureAlgorithm(string(alg))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwxjwt.ParseString(f.token, jwxjwt.WithKey(jalg, f.verify),
					jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(audience)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	for _, alg := range algs {
		for name, sink := range sinks() {
			b.Run(string(alg)+"/jwtaudit-"+name, func(b *testing.B) {
				f := newFixture(b, alg, sink)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := f.issuer.Issue(ctx, jwtaudit.Claims{Subject: "user-42"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(string(alg)+"/golang-jwt", func(b *testing.B) {
			f := newFixture(b, alg, jwtaudit.DiscardSink)
			method := jwt.GetSigningMethod(string(alg))
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				claims := jwt.RegisteredClaims{Issuer: issuer, Subject: "user-42", Audience: jwt.ClaimStrings{audience},
					IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), ID: rand.Text()}
				tok := jwt.NewWithClaims(method, claims)
				tok.Header["kid"] = "k1"
				if _, err := tok.SignedString(f.sign); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
