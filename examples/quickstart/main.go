// Command quickstart is the README's quick start, as a program that runs:
// it issues a token, verifies it, and tells an expired token from an
// invalid one, with every decision written to standard output as a JSON
// line.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

func main() {
	ctx := context.Background()
	secret := make([]byte, 32) // in a service: from your secret store
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	key, err := jwtaudit.NewKey("2026-11", jwtaudit.HS256, secret) // or ES256 with an *ecdsa.PrivateKey, …
	if err != nil {
		log.Fatal(err)
	}
	audit := jwtaudit.NewSlogSink(slog.NewJSONHandler(os.Stdout, nil))

	// Configure once, hand the same options to both sides.
	shared := jwtaudit.Options(
		jwtaudit.WithKeys(key),
		jwtaudit.WithIssuer("https://auth.example"), // stamped by the issuer, required by the verifier
		jwtaudit.WithAudience("api"),
		jwtaudit.WithAudit(audit),
	)
	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := jwtaudit.NewVerifier(shared, jwtaudit.WithLeeway(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}

	raw, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "user-42"})
	if err != nil {
		log.Fatal(err)
	}
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
