// Command frompyjwt is the README's recipe for a service that issued its
// tokens with PyJWT, jwt.encode({"user_id": …, "exp": …}, 'secret_key',
// algorithm='HS256'), and wrote "Token expired" or "Invalid token": a
// strong key for every new token, the old tokens still verified (never
// issued) until the trail shows none is used any more, and user_id in the
// trail.
//
//	go run ./cmd/jwtaudit keygen hmac.key   # once; or take the key from your secret store
//	go run ./examples/frompyjwt -key-file hmac.key
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
)

func main() {
	keyFile := flag.String("key-file", "", "the HMAC key, as `jwtaudit keygen` writes it (default: a random key for this run)")
	flag.Parse()
	ctx := context.Background()

	// New tokens: HS256 under a strong key, 32 random bytes or more.
	secret, err := readKey(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	key, err := jwtaudit.NewKey("2026-12", jwtaudit.HS256, secret)
	if err != nil {
		log.Fatal(err)
	}
	// The old tokens, signed with 'secret_key': verified for as long as
	// they live, never issued. Remove the key once the trail shows no
	// successful verification with it (see below).
	legacy, err := jwtaudit.InsecureLegacyHMACKey("pyjwt", jwtaudit.HS256, []byte("secret_key"))
	if err != nil {
		log.Fatal(err)
	}
	trail, err := auditlog.Open("token.log", auditlog.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer trail.Close()

	shared := jwtaudit.Options(
		jwtaudit.WithKeys(key, legacy), // the issuer signs with key; old tokens, which have no kid, verify with legacy
		jwtaudit.WithAudit(trail),
		jwtaudit.WithAuditClaims("user_id"), // user_id in every event, as "claims":{"user_id":…}
	)
	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := jwtaudit.NewVerifier(shared)
	if err != nil {
		log.Fatal(err)
	}

	// A new token: sub is the user, and user_id stays for code that reads it.
	raw, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42", Private: map[string]any{"user_id": 42}})
	if err != nil {
		log.Fatal(err)
	}
	check(ctx, verifier, "new token", raw)

	// A token the old service issued, still valid: accepted, and marked
	// legacy_key in the trail.
	check(ctx, verifier, "old token", pyjwtToken(fmt.Sprintf(`{"user_id":42,"exp":%d}`, time.Now().Add(30*time.Minute).Unix())))

	// An expired token, as a test makes one: dates in the past.
	now := time.Now()
	expired, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	check(ctx, verifier, "expired", expired)
}

// check answers as the old service did.
func check(ctx context.Context, verifier *jwtaudit.Verifier, what, raw string) {
	var claims struct {
		UserID int `json:"user_id"`
	}
	tok, err := verifier.Verify(ctx, raw)
	if err == nil {
		err = tok.Decode(&claims)
	}
	switch {
	case errors.Is(err, jwtaudit.ErrExpired):
		fmt.Printf("%-9s Token expired\n", what+":")
	case err != nil:
		fmt.Printf("%-9s Invalid token (%s)\n", what+":", jwtaudit.ReasonOf(err))
	default:
		fmt.Printf("%-9s user %d\n", what+":", claims.UserID)
	}
}

// readKey reads a key file `jwtaudit keygen` wrote (64 hex digits: 32
// random bytes), or makes a random key for this run.
func readKey(path string) ([]byte, error) {
	if path == "" {
		secret := make([]byte, 32)
		_, err := rand.Read(secret)
		return secret, err
	}
	data, err := os.ReadFile(path)
	return []byte(strings.TrimSpace(string(data))), err
}

// pyjwtToken makes a token as PyJWT did: jwt.encode(payload, 'secret_key',
// algorithm='HS256').
func pyjwtToken(payload string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte("secret_key"))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}
