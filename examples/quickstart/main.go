// Command quickstart is the README's quick start, as a program that runs:
// it issues a token for a user, verifies it, tells an expired token from an
// invalid one, and writes every decision to token.log, one hash-chained
// JSON line each, that `jwtaudit verify token.log` checks.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
)

func main() {
	ctx := context.Background()
	secret := make([]byte, 32) // in a service: from your secret store, or `jwtaudit keygen`
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	key, err := jwtaudit.NewKey("2026-12", jwtaudit.HS256, secret) // or ES256 with an *ecdsa.PrivateKey, …
	if err != nil {
		log.Fatal(err)
	}
	trail, err := auditlog.Open("token.log", auditlog.Options{}) // appends; one writer per file
	if err != nil {
		log.Fatal(err)
	}
	defer trail.Close()

	// Configure once, hand the same options to both sides.
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(trail))
	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := jwtaudit.NewVerifier(shared)
	if err != nil {
		log.Fatal(err)
	}

	raw, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "user-42"})
	if err != nil {
		log.Fatal(err)
	}
	check(ctx, verifier, raw)

	// A token that expired an hour ago: a test makes one the same way.
	now := time.Now()
	old, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "user-42", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	check(ctx, verifier, old)
	check(ctx, verifier, raw+"x") // tampered
}

// check verifies a token and says what a service would tell its client.
func check(ctx context.Context, verifier *jwtaudit.Verifier, raw string) {
	tok, err := verifier.Verify(ctx, raw)
	switch {
	case errors.Is(err, jwtaudit.ErrExpired):
		fmt.Println("Token expired") // the client should log in again
	case err != nil:
		fmt.Println("Invalid token:", jwtaudit.ReasonOf(err))
	default:
		fmt.Println("verified:", tok.Claims.Subject)
	}
}
