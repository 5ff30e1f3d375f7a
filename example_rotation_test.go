package jwtaudit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

// exampleKey is an Ed25519 key from a fixed seed, named kid.
func exampleKey(kid string, seed byte) *jwtaudit.Key {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	k, err := jwtaudit.NewKey(kid, jwtaudit.EdDSA, ed25519.NewKeyFromSeed(s))
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// Rotate the signing key while tokens signed by the old one stay valid
// until it retires.
func ExampleKeySet() {
	ctx := context.Background()
	clock := exampleNow
	now := func() time.Time { return clock }
	keys, _ := jwtaudit.NewKeySet(exampleKey("2026-10", 1), jwtaudit.WithClock(now))
	shared := jwtaudit.Options(jwtaudit.WithKeySet(keys), jwtaudit.WithClock(now))
	issuer, _ := jwtaudit.NewIssuer(shared)
	verifier, _ := jwtaudit.NewVerifier(shared)

	old, _ := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42"})
	_ = keys.Publish(ctx, exampleKey("2026-11", 2)) // announced first, in the JWKS
	_ = keys.Rotate(ctx, 30*time.Minute)            // then signing; the old key retires in 30 minutes
	for _, k := range keys.Keys() {
		fmt.Println(k.ID, k.Status)
	}
	fresh, _ := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42"})
	tok, _ := verifier.Verify(ctx, fresh)
	fmt.Println("new tokens are signed by", tok.Header.KeyID)
	_, err := verifier.Verify(ctx, old)
	fmt.Println("old token before retirement:", jwtaudit.ReasonOf(err))
	clock = clock.Add(30 * time.Minute)
	_, err = verifier.Verify(ctx, old)
	fmt.Println("old token after retirement:", jwtaudit.ReasonOf(err))
	// Output:
	// 2026-11 active
	// 2026-10 retiring
	// new tokens are signed by 2026-11
	// old token before retirement: none
	// old token after retirement: unknown_key
}

// Serve a key set's public keys, with caching headers.
func ExampleKeySet_JWKSHandler() {
	keys, _ := jwtaudit.NewKeySet(exampleKey("2026-11", 2))
	rec := httptest.NewRecorder()
	keys.JWKSHandler(5*time.Minute).ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	body, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	fmt.Println(string(body))
	// Output:
	// 200 application/jwk-set+json public, max-age=300
	// {"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"2026-11","kty":"OKP","use":"sig","x":"a3nFfmoJUjkoLASBjpYRLz8DpAAbqXpWTCOFKj8epfw"}]}
}

// Follow another service's JWKS: the verifier knows only its URL.
func ExampleNewRemoteKeySet() {
	ctx := context.Background()
	keys, _ := jwtaudit.NewKeySet(exampleKey("2026-11", 2))
	server := httptest.NewTLSServer(keys.JWKSHandler(time.Minute)) // the other service
	defer server.Close()
	issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeySet(keys))
	raw, _ := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42"})

	var fetches strings.Builder
	remote, err := jwtaudit.NewRemoteKeySet(ctx, server.URL+"/.well-known/jwks.json", jwtaudit.RemoteKeySetOptions{
		HTTPClient: server.Client(), // trusts the test server's certificate
	}, jwtaudit.WithAudit(jwtaudit.SinkFunc(func(_ context.Context, e jwtaudit.Event) error {
		fmt.Fprintln(&fetches, e.Op, e.Outcome)
		return nil
	})))
	if err != nil {
		log.Fatal(err)
	}
	defer remote.Close()
	verifier, _ := jwtaudit.NewVerifier(jwtaudit.WithKeySource(remote))
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(fetches.String())
	fmt.Println("verified:", tok.Claims.Subject, "with", tok.Header.KeyID)
	// Output:
	// jwks_fetch success
	// verified: 42 with 2026-11
}

// Accept tokens from two issuers, each checked with its own keys.
func ExampleWithTrustedIssuers() {
	ctx := context.Background()
	login := exampleKey("login-1", 3)
	partner := exampleKey("partner-1", 4)
	verifier, _ := jwtaudit.NewVerifier(jwtaudit.WithClock(exampleClock), jwtaudit.WithTrustedIssuers(
		jwtaudit.TrustedIssuer{Issuer: "https://login.example", Keys: []*jwtaudit.Key{login}},
		jwtaudit.TrustedIssuer{Issuer: "https://partner.example", Keys: []*jwtaudit.Key{partner}},
	))
	for _, tc := range []struct {
		iss string
		key *jwtaudit.Key
	}{
		{"https://login.example", login},
		{"https://partner.example", partner},
		{"https://partner.example", login}, // the login key cannot speak for the partner
		{"https://unknown.example", login},
	} {
		is, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(tc.key), jwtaudit.WithIssuer(tc.iss), jwtaudit.WithClock(exampleClock))
		raw, _ := is.Issue(ctx, jwtaudit.Claims{Subject: "42"})
		_, err := verifier.Verify(ctx, raw)
		fmt.Printf("%s signed by %s: %s\n", tc.iss, tc.key.ID(), jwtaudit.ReasonOf(err))
	}
	// Output:
	// https://login.example signed by login-1: none
	// https://partner.example signed by partner-1: none
	// https://partner.example signed by login-1: unknown_key
	// https://unknown.example signed by login-1: issuer
}
