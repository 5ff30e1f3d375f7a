package jwtaudit_test

import (
	"context"
	"fmt"
	"log"

	"github.com/jwtaudit/jwtaudit"
)

// Log out one session, then every session of a user: the verifier checks
// a revocation store after the signature and claims, and each revocation
// is an audit event. The issuer shares the store
// (WithSubjectGenerations), so that a login after "log out everywhere",
// in the same second, gets a token that works.
func ExampleRevoker() {
	ctx := context.Background()
	key, err := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	if err != nil {
		log.Fatal(err)
	}
	trail := jwtaudit.SinkFunc(func(_ context.Context, e jwtaudit.Event) error {
		switch {
		case e.Op == jwtaudit.OpRevoke && e.ID != "":
			fmt.Println("audit:", e.Message(), "session", e.ID, "of", e.Subject)
		case e.Op == jwtaudit.OpRevoke:
			fmt.Println("audit:", e.Message(), "every session of", e.Subject)
		}
		return nil
	})
	revocations := jwtaudit.NewMemoryRevocations(jwtaudit.MemoryStoreOptions{Clock: exampleClock})
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock), jwtaudit.WithAudit(trail))
	issuer, _ := jwtaudit.NewIssuer(shared, jwtaudit.WithSubjectGenerations(revocations))
	verifier, _ := jwtaudit.NewVerifier(shared, jwtaudit.WithRevocation(revocations, jwtaudit.RevocationPolicy{}))
	revoker, _ := jwtaudit.NewRevoker(revocations, jwtaudit.RevokerOptions{}, jwtaudit.WithAudit(trail), jwtaudit.WithClock(exampleClock))

	phone, _ := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42", ID: "phone-session"})
	laptop, _ := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42", ID: "laptop-session"})

	tok, _ := verifier.Verify(ctx, phone)
	_ = revoker.RevokeToken(ctx, tok) // log out on the phone
	_, err = verifier.Verify(ctx, phone)
	fmt.Println("phone:", jwtaudit.ReasonOf(err))
	_, err = verifier.Verify(ctx, laptop)
	fmt.Println("laptop:", jwtaudit.ReasonOf(err))

	_ = revoker.RevokeSubject(ctx, "", "42", exampleNow) // log out everywhere
	_, err = verifier.Verify(ctx, laptop)
	fmt.Println("laptop:", jwtaudit.ReasonOf(err))

	tablet, _ := issuer.Issue(ctx, jwtaudit.Claims{Subject: "42", ID: "tablet-session"}) // a login after
	_, err = verifier.Verify(ctx, tablet)
	fmt.Println("tablet:", jwtaudit.ReasonOf(err))
	// Output:
	// audit: revoked session phone-session of 42
	// phone: revoked
	// laptop: none
	// audit: revoked every session of 42
	// laptop: revoked
	// tablet: none
}
