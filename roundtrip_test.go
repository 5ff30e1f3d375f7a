package jwtaudit

import (
	"context"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

func TestRoundTripEveryAlgorithm(t *testing.T) {
	ctx := context.Background()
	for _, alg := range allAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := mustKey(t, "k-"+string(alg), alg, materialFor(t, alg))
			rec := &captureSink{}
			shared := []Option{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(rec), WithIssuer("https://auth.example"), WithAudience("api")}
			is, v := pair(t, shared, nil, nil)

			raw, err := is.Issue(ctx, Claims{Subject: "user-42"})
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			trackToken(raw)
			issued := rec.only(t)

			tok, err := v.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			verified := rec.only(t)

			if tok.Claims.Subject != "user-42" || tok.Claims.Issuer != "https://auth.example" {
				t.Errorf("claims = %+v", tok.Claims)
			}
			if got, want := tok.Claims.ExpiresAt, testNow.Add(defaultTTL); !got.Equal(want) {
				t.Errorf("exp = %v, want %v", got, want)
			}
			if !tok.Claims.IssuedAt.Equal(testNow) {
				t.Errorf("iat = %v, want %v", tok.Claims.IssuedAt, testNow)
			}
			if len(tok.Claims.ID) != 26 {
				t.Errorf("jti %q is not 26 base32 characters", tok.Claims.ID)
			}
			if tok.Header.Algorithm != alg || tok.Header.KeyID != key.ID() || tok.Header.Type != "JWT" {
				t.Errorf("header = %+v", tok.Header)
			}
			for _, e := range []Event{issued, verified} {
				if e.Outcome != OutcomeSuccess || e.Reason != ReasonNone || !e.Verified {
					t.Errorf("%s event: outcome %s reason %s verified %v", e.Op, e.Outcome, e.Reason, e.Verified)
				}
				if e.Algorithm != alg || e.KeyID != key.ID() || e.Subject != "user-42" || e.ID != tok.Claims.ID {
					t.Errorf("%s event = %+v", e.Op, e)
				}
				if e.Fingerprint != FingerprintOf(raw) {
					t.Errorf("%s event fingerprint %s, want %s", e.Op, e.Fingerprint, FingerprintOf(raw))
				}
			}
			if issued.Op != OpIssue || verified.Op != OpVerify {
				t.Errorf("ops = %s, %s", issued.Op, verified.Op)
			}

			// Differential: jwx's own full verifier accepts what we issue.
			if _, err := jws.Verify([]byte(raw), jws.WithKey(mustJWA(t, alg), key.public)); err != nil {
				t.Errorf("jws.Verify refuses an issued token: %v", err)
			}
		})
	}
}

func mustJWA(tb testing.TB, alg Algorithm) jwa.SignatureAlgorithm {
	tb.Helper()
	a, ok := jwa.LookupSignatureAlgorithm(string(alg))
	if !ok {
		tb.Fatalf("jwa does not know %s", alg)
	}
	return a
}
