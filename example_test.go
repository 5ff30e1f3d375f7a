package jwtaudit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

// The examples run at a fixed time with fixed keys, so that their output
// is the same on every run.
var (
	exampleNow    = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	exampleClock  = func() time.Time { return exampleNow }
	exampleSecret = []byte("example secret: at least 32 bytes for HS256")
)

// Issue a token for a user. The issuer stamps iat, exp (one hour by
// default), jti, and the kid header of its key.
func ExampleIssuer_Issue() {
	key, err := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock))
	if err != nil {
		log.Fatal(err)
	}
	token, err := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42", ID: "session-1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(token)
	// Output:
	// eyJhbGciOiJIUzI1NiIsImtpZCI6IjIwMjYtMTEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI0MiIsImV4cCI6MTc5NTc3NzIwMCwiaWF0IjoxNzk1NzczNjAwLCJqdGkiOiJzZXNzaW9uLTEifQ.ka_z70VT_rRaV0P4J_ynZSoXcDmbrmamUE5YG5Cq8j4
}

// Verify a token and read its claims, registered and private.
func ExampleVerifier_Verify() {
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock))
	issuer, _ := jwtaudit.NewIssuer(shared)
	verifier, _ := jwtaudit.NewVerifier(shared)

	raw, _ := issuer.Issue(context.Background(), jwtaudit.Claims{
		Subject: "42",
		Private: map[string]any{"role": "admin"},
	})
	tok, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		log.Fatal(err)
	}
	var private struct {
		Role string `json:"role"`
	}
	if err := tok.Decode(&private); err != nil {
		log.Fatal(err)
	}
	fmt.Println("subject:", tok.Claims.Subject)
	fmt.Println("expires:", tok.Claims.ExpiresAt.UTC())
	fmt.Println("role:", private.Role)
	// Output:
	// subject: 42
	// expires: 2026-11-27 11:00:00 +0000 UTC
	// role: admin
}

// Tell an expired token (the client should refresh) from every other
// invalid one, and say why a token was refused.
func ExampleVerifier_Verify_errorChecking() {
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock))
	raw, _ := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42"})

	// Two hours later, the one-hour token has expired.
	later := func() time.Time { return exampleNow.Add(2 * time.Hour) }
	verifier, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithClock(later))

	for _, token := range []string{raw, raw + "x", "not a token"} {
		_, err := verifier.Verify(context.Background(), token)
		switch {
		case err == nil:
			fmt.Println("valid")
		case errors.Is(err, jwtaudit.ErrExpired):
			fmt.Println("expired: ask the client to log in again")
		default:
			fmt.Println("invalid:", jwtaudit.ReasonOf(err))
		}
	}
	// Output:
	// expired: ask the client to log in again
	// invalid: signature
	// invalid: malformed
}

// Configure once, share between both sides: the issuer stamps iss, aud and
// typ, and the verifier requires the same values. Options that belong to
// one side only (WithTTL, WithLeeway) are typed so that giving them to the
// other does not compile. An empty key id becomes the key's RFC 7638
// thumbprint.
func ExampleOptions() {
	key, _ := jwtaudit.NewKey("", jwtaudit.EdDSA, ed25519.NewKeyFromSeed(make([]byte, 32)))
	shared := jwtaudit.Options(
		jwtaudit.WithKeys(key),
		jwtaudit.WithIssuer("https://auth.example"),
		jwtaudit.WithAudience("api"),
		jwtaudit.WithType("at+jwt"),
		jwtaudit.WithClock(exampleClock),
	)
	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(15*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := jwtaudit.NewVerifier(shared, jwtaudit.WithLeeway(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	raw, _ := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42"})
	tok, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("kid:", tok.Header.KeyID)
	fmt.Println("typ:", tok.Header.Type, "iss:", tok.Claims.Issuer, "aud:", tok.Claims.Audience)
	fmt.Println("valid for:", tok.Claims.ExpiresAt.Sub(tok.Claims.IssuedAt))
	// Output:
	// kid: 9ZP03Nu8GrXPAUkbKNxHOKBzxPX83SShgFkRNK-f2lw
	// typ: at+jwt iss: https://auth.example aud: [api]
	// valid for: 15m0s
}

// Write the audit trail as JSON lines through any slog.Handler. The sink
// calls the handler itself, so a failed write refuses the operation
// instead of going unrecorded.
func ExampleNewSlogSink() {
	handler := slog.NewJSONHandler(os.Stdout, nil)
	sink := jwtaudit.NewSlogSink(handler)
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock), jwtaudit.WithAudit(sink))
	issuer, _ := jwtaudit.NewIssuer(shared)
	verifier, _ := jwtaudit.NewVerifier(shared)

	raw, _ := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42", ID: "session-1"})
	_, _ = verifier.Verify(context.Background(), raw)
	_, _ = verifier.Verify(context.Background(), raw[:len(raw)-1])
	// Output:
	// {"time":"2026-11-27T10:00:00Z","level":"INFO","msg":"token issued","op":"issue","outcome":"success","alg":"HS256","kid":"2026-11","sub":"42","jti":"session-1","exp":"2026-11-27T11:00:00Z","fingerprint":"4HDzn2c4htiCNHFkz8PVVQ","verified":true}
	// {"time":"2026-11-27T10:00:00Z","level":"INFO","msg":"token verified","op":"verify","outcome":"success","alg":"HS256","kid":"2026-11","sub":"42","jti":"session-1","exp":"2026-11-27T11:00:00Z","fingerprint":"4HDzn2c4htiCNHFkz8PVVQ","verified":true}
	// {"time":"2026-11-27T10:00:00Z","level":"WARN","msg":"token rejected","op":"verify","outcome":"rejected","reason":"malformed","detail":"jwtaudit: malformed token: signature: invalid base64url","fingerprint":"SolfEAtA5LcC-1ZeocgvAw","verified":false}
}

// A validator adds a check of your own; returning ErrRevoked gives the
// rejection the "revoked" reason in the error and the audit trail.
func ExampleWithValidator() {
	revoked := map[string]bool{"session-1": true}
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock))
	verifier, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock),
		jwtaudit.WithValidator(func(_ context.Context, t *jwtaudit.Token) error {
			if revoked[t.Claims.ID] {
				return jwtaudit.ErrRevoked
			}
			return nil
		}))

	raw, _ := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42", ID: "session-1"})
	_, err := verifier.Verify(context.Background(), raw)
	fmt.Println(jwtaudit.ReasonOf(err), errors.Is(err, jwtaudit.ErrRevoked))
	// Output:
	// revoked true
}
