// Command basic is the job jwtaudit does, in one program: it issues a token
// for a user, verifies it, refuses a tampered copy and an expired token, and
// writes every decision to an audit trail of JSON lines.
//
//	go run ./examples/basic              # audit trail appended to ./token.log
//	go run ./examples/basic -log /tmp/t.log
//
// The HMAC secret comes from JWTAUDIT_SECRET (32 bytes or more) when it is
// set; otherwise a random one is made for this run. The trail is a hash
// chain (HMAC-SHA256 under JWTAUDIT_CHAIN_KEY when that is set), which
// `go run ./cmd/jwtaudit verify token.log` checks.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
)

func main() {
	logPath := flag.String("log", "token.log", "file the audit trail is appended to, as JSON lines")
	flag.Parse()
	if err := run(os.Stdout, *logPath, os.Getenv("JWTAUDIT_SECRET"), os.Getenv("JWTAUDIT_CHAIN_KEY")); err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, logPath, envSecret, chainKey string) error {
	secret := []byte(envSecret)
	if envSecret == "" {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // never fails (crypto/rand)
		fmt.Fprintln(out, "JWTAUDIT_SECRET is not set: using a random secret for this run.")
	}
	key, err := jwtaudit.NewKey("basic-1", jwtaudit.HS256, secret)
	if err != nil {
		return err
	}

	// The audit trail: one JSON line per decision, each chained to the one
	// before it. Running the program again continues the chain.
	audit, err := auditlog.Open(logPath, auditlog.Options{ChainKey: []byte(chainKey)})
	if err != nil {
		return err
	}
	defer audit.Close()

	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(audit))
	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(time.Hour))
	if err != nil {
		return err
	}
	verifier, err := jwtaudit.NewVerifier(shared)
	if err != nil {
		return err
	}
	ctx := context.Background()

	// 1. Issue a token for user 42, valid for one hour.
	token, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "issued:   a token for user 42, fingerprint %s\n", jwtaudit.FingerprintOf(token))

	// 2. Verify it.
	tok, err := verifier.Verify(ctx, token)
	if err != nil {
		return fmt.Errorf("a fresh token did not verify: %w", err)
	}
	fmt.Fprintf(out, "verified: subject %s, expires %s\n", tok.Claims.Subject, tok.Claims.ExpiresAt.UTC().Format(time.RFC3339))

	// 3. Verify a tampered copy: one character of the signature changed.
	tampered := token[:len(token)-2] + flip(token[len(token)-2]) + token[len(token)-1:]
	report(out, "tampered", verifier, tampered)

	// 4. Verify a token that expired an hour ago.
	now := time.Now()
	expired, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	if err != nil {
		return err
	}
	report(out, "expired", verifier, expired)

	head := audit.Head()
	if err := audit.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "audit:    5 events appended to %s, head %d:%s\n", logPath, head.Seq, head.Hash)
	if chainKey != "" {
		// The log is chained under the key: verify needs it too.
		fmt.Fprintf(out, "check it: go run ./cmd/jwtaudit verify %s   (with the same JWTAUDIT_CHAIN_KEY set)\n", logPath)
	} else {
		fmt.Fprintf(out, "check it: go run ./cmd/jwtaudit verify %s\n", logPath)
	}
	return nil
}

// report verifies a token and prints the outcome the way a service would
// tell its client: expired tokens apart from every other invalid one.
func report(out io.Writer, label string, v *jwtaudit.Verifier, token string) {
	_, err := v.Verify(context.Background(), token)
	switch {
	case err == nil:
		fmt.Fprintf(out, "%-9s valid\n", label+":")
	case errors.Is(err, jwtaudit.ErrExpired):
		fmt.Fprintf(out, "%-9s token expired\n", label+":")
	default:
		fmt.Fprintf(out, "%-9s invalid token (%s)\n", label+":", jwtaudit.ReasonOf(err))
	}
}

// flip returns a different base64url character.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
