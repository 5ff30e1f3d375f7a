// Package benchmarks compares jwtaudit with the JWT libraries Go services
// use today, and with the bare cryptography underneath, on the same keys,
// the same tokens and the same checks. It is a module of its own so that
// the peers it measures never become dependencies of jwtaudit.
//
//	cd benchmarks && go test -bench . -benchmem
//
// The ratios in the README come from these benchmarks through the program
// in ./ratios, which runs them in interleaved rounds.
package benchmarks

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"sync"
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

// fixture holds one key in the libraries' forms and a token that all of
// them accept.
type fixture struct {
	alg      jwtaudit.Algorithm
	sign     any // private material
	verify   any // public material
	issuer   *jwtaudit.Issuer
	verifier *jwtaudit.Verifier
	token    string
}

// keyPairs are made once per process: RSA key generation would otherwise
// dominate short benchmark runs.
var keyPairs = sync.OnceValue(func() map[jwtaudit.Algorithm][2]any {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return map[jwtaudit.Algorithm][2]any{
		jwtaudit.HS256: {secret, secret},
		jwtaudit.ES256: {ec, &ec.PublicKey},
		jwtaudit.EdDSA: {edPriv, edPub},
		jwtaudit.RS256: {rs, &rs.PublicKey},
	}
})

func newFixture(b *testing.B, alg jwtaudit.Algorithm, sink jwtaudit.AuditSink, vopts ...jwtaudit.VerifierOption) fixture {
	pair := keyPairs()[alg]
	f := fixture{alg: alg, sign: pair[0], verify: pair[1]}
	key, err := jwtaudit.NewKey("k1", alg, f.sign)
	if err != nil {
		b.Fatal(err)
	}
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithIssuer(issuer), jwtaudit.WithAudience(audience), jwtaudit.WithAudit(sink))
	if f.issuer, err = jwtaudit.NewIssuer(shared); err != nil {
		b.Fatal(err)
	}
	if f.verifier, err = jwtaudit.NewVerifier(append([]jwtaudit.VerifierOption{shared}, vopts...)...); err != nil {
		b.Fatal(err)
	}
	if f.token, err = f.issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "user-42"}); err != nil {
		b.Fatal(err)
	}
	return f
}

// auditSetups are jwtaudit's set-ups, all writing to io.Discard: the JSON
// lines written directly (JSONSink), the same lines through slog's JSON
// handler (SlogSink), and no audit at all.
var auditSetups = []struct {
	name string
	sink func() jwtaudit.AuditSink
}{
	{"jwtaudit-json", func() jwtaudit.AuditSink { return jwtaudit.NewJSONSink(io.Discard) }},
	{"jwtaudit-slogJSON", func() jwtaudit.AuditSink { return jwtaudit.NewSlogSink(slog.NewJSONHandler(io.Discard, nil)) }},
	{"jwtaudit-off", func() jwtaudit.AuditSink { return jwtaudit.DiscardSink }},
}

var algs = []jwtaudit.Algorithm{jwtaudit.HS256, jwtaudit.ES256, jwtaudit.EdDSA, jwtaudit.RS256}

// golangJWTParser checks what jwtaudit's verifier checks: the algorithm,
// issuer, audience, a required expiry, and iat.
func golangJWTParser(alg jwtaudit.Algorithm) *jwt.Parser {
	return jwt.NewParser(jwt.WithValidMethods([]string{string(alg)}), jwt.WithIssuer(issuer),
		jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
}

// A check verifies the fixture's token once. Each maker below builds its
// fixture and returns a function that makes checks: one per goroutine,
// since some keep scratch space.

func jwtauditChecks(b *testing.B, alg jwtaudit.Algorithm, sink jwtaudit.AuditSink, vopts ...jwtaudit.VerifierOption) func() func() error {
	f := newFixture(b, alg, sink, vopts...)
	ctx := context.Background()
	return func() func() error {
		return func() error { _, err := f.verifier.Verify(ctx, f.token); return err }
	}
}

func golangJWTChecks(b *testing.B, alg jwtaudit.Algorithm) func() func() error {
	f := newFixture(b, alg, jwtaudit.DiscardSink)
	parser := golangJWTParser(alg)
	keyFunc := func(*jwt.Token) (any, error) { return f.verify, nil }
	return func() func() error {
		return func() error {
			var claims jwt.RegisteredClaims
			_, err := parser.ParseWithClaims(f.token, &claims, keyFunc)
			return err
		}
	}
}

func jwxChecks(b *testing.B, alg jwtaudit.Algorithm) func() func() error {
	f := newFixture(b, alg, jwtaudit.DiscardSink)
	jalg, _ := jwa.LookupSignatureAlgorithm(string(alg))
	return func() func() error {
		return func() error {
			_, err := jwxjwt.ParseString(f.token, jwxjwt.WithKey(jalg, f.verify), jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(audience))
			return err
		}
	}
}

func bareChecks(b *testing.B, alg jwtaudit.Algorithm) func() func() error {
	f := newFixture(b, alg, jwtaudit.DiscardSink)
	return func() func() error {
		check := bareVerifier(alg, f.verify)
		return func() error {
			if !check(f.token) {
				return errors.New("bare check refused the token")
			}
			return nil
		}
	}
}

// loop runs one check b.N times; inParallel runs checks from every core
// at once, one per goroutine.
func loop(b *testing.B, checks func() func() error) {
	check := checks()
	b.ReportAllocs()
	for b.Loop() {
		if err := check(); err != nil {
			b.Fatal(err)
		}
	}
}

func inParallel(b *testing.B, checks func() func() error) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		check := checks()
		for pb.Next() {
			if err := check(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range algs {
		for _, a := range auditSetups {
			b.Run(string(alg)+"/"+a.name, func(b *testing.B) { loop(b, jwtauditChecks(b, alg, a.sink())) })
		}
		b.Run(string(alg)+"/golang-jwt", func(b *testing.B) { loop(b, golangJWTChecks(b, alg)) })
		b.Run(string(alg)+"/jwx-jwt", func(b *testing.B) { loop(b, jwxChecks(b, alg)) })
		b.Run(string(alg)+"/bare", func(b *testing.B) { loop(b, bareChecks(b, alg)) })
	}
}

// BenchmarkVerifyCached verifies the same token again and again, as a
// service does with a session's token: jwtaudit with its verified-token
// cache, golang-jwt (which has none) as in BenchmarkVerify.
func BenchmarkVerifyCached(b *testing.B) {
	for _, alg := range []jwtaudit.Algorithm{jwtaudit.HS256, jwtaudit.ES256} {
		for _, a := range auditSetups {
			b.Run(string(alg)+"/"+a.name, func(b *testing.B) {
				loop(b, jwtauditChecks(b, alg, a.sink(), jwtaudit.WithVerifiedCache(10000, 16<<20)))
			})
		}
		b.Run(string(alg)+"/golang-jwt", func(b *testing.B) { loop(b, golangJWTChecks(b, alg)) })
	}
}

// BenchmarkVerifyParallel verifies one HS256 token from every core at once.
func BenchmarkVerifyParallel(b *testing.B) {
	alg := jwtaudit.HS256
	for _, a := range auditSetups {
		b.Run(string(alg)+"/"+a.name, func(b *testing.B) { inParallel(b, jwtauditChecks(b, alg, a.sink())) })
	}
	b.Run(string(alg)+"/golang-jwt", func(b *testing.B) { inParallel(b, golangJWTChecks(b, alg)) })
	b.Run(string(alg)+"/bare", func(b *testing.B) { inParallel(b, bareChecks(b, alg)) })
}

func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	alg := jwtaudit.HS256
	for _, a := range auditSetups {
		b.Run(string(alg)+"/"+a.name, func(b *testing.B) {
			f := newFixture(b, alg, a.sink())
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
	b.Run(string(alg)+"/bare", func(b *testing.B) {
		sign := bareHS256Signer(secret)
		b.ReportAllocs()
		for b.Loop() {
			if len(sign()) == 0 {
				b.Fatal("no token")
			}
		}
	})
}

// BenchmarkAuditEvent records the event of one successful HS256 Verify,
// alone: what the audit adds to a decision, from the event to the bytes
// handed to the writer.
func BenchmarkAuditEvent(b *testing.B) {
	var event jwtaudit.Event
	f := newFixture(b, jwtaudit.HS256, jwtaudit.SinkFunc(func(_ context.Context, e jwtaudit.Event) error {
		event = e
		return nil
	}))
	if _, err := f.verifier.Verify(context.Background(), f.token); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range auditSetups[:2] {
		b.Run(a.name, func(b *testing.B) {
			sink := a.sink()
			b.ReportAllocs()
			for b.Loop() {
				if err := sink.Record(ctx, event); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
