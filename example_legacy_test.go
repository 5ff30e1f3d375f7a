package jwtaudit_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log"

	"github.com/jwtaudit/jwtaudit"
)

// oldServiceToken is a token as the service this package replaces made
// them: HS256 under the 10-byte secret "secret_key", no "kid".
func oldServiceToken(payload string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte("secret_key"))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

// Moving off a short secret: issue with a strong key at once, accept the
// old secret's tokens for verification only until they have expired, and
// read in the trail when the last of them was used.
func ExampleInsecureLegacyHMACKey() {
	legacy, err := jwtaudit.InsecureLegacyHMACKey("legacy", jwtaudit.HS256, []byte("secret_key"))
	if err != nil {
		log.Fatal(err)
	}
	strong, err := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	if err != nil {
		log.Fatal(err)
	}
	var lastLegacyUse string
	trail := jwtaudit.SinkFunc(func(_ context.Context, e jwtaudit.Event) error {
		for _, a := range e.Attrs {
			if a.Key == "legacy_key" && e.Outcome == jwtaudit.OutcomeSuccess {
				lastLegacyUse = e.Time.Format("2006-01-02 15:04")
			}
		}
		return nil
	})
	// Both sides share the keys: the issuer signs with the strong one (the
	// legacy key never signs); the verifier takes tokens with a kid by
	// their kid, and old tokens, which have none, with the legacy key.
	shared := jwtaudit.Options(jwtaudit.WithKeys(strong, legacy), jwtaudit.WithClock(exampleClock), jwtaudit.WithAudit(trail))
	issuer, _ := jwtaudit.NewIssuer(shared)
	verifier, _ := jwtaudit.NewVerifier(shared)

	fresh, _ := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42"})
	tok, err := verifier.Verify(context.Background(), fresh)
	fmt.Println("new token:", tok.Header.KeyID, err)
	tok, err = verifier.Verify(context.Background(), oldServiceToken(`{"sub":"7","exp":1795777200}`))
	fmt.Println("old token:", tok.Claims.Subject, err)
	fmt.Println("last legacy token used:", lastLegacyUse)
	_, err = jwtaudit.NewIssuer(jwtaudit.WithKeys(legacy))
	fmt.Println(err)
	// Output:
	// new token: 2026-11 <nil>
	// old token: 7 <nil>
	// last legacy token used: 2026-11-27 10:00
	// jwtaudit: NewIssuer needs a key that can sign: "legacy" is a legacy key (InsecureLegacyHMACKey), which only verifies; issue with a key of your own (NewKey, jwtaudit keygen)
}
