package jwtaudit

import (
	"context"
	"testing"
)

func TestTrustedIssuers(t *testing.T) {
	ctx := context.Background()
	keyA := mustKey(t, "a-1", HS256, testSecret)
	keyB := mustKey(t, "b-1", ES256, loadPrivate(t, "p256.pem"))
	setB, _ := NewKeySet(keyB)

	issuerA, _ := NewIssuer(WithKeys(keyA), WithIssuer("https://a.example"), WithClock(fixedClock(testNow)))
	issuerB, _ := NewIssuer(WithKeySet(setB), WithIssuer("https://b.example"), WithAudience("b-api"), WithClock(fixedClock(testNow)))
	// An issuer that holds A's key but claims to be B.
	impostor, _ := NewIssuer(WithKeys(keyA), WithIssuer("https://b.example"), WithAudience("b-api"), WithClock(fixedClock(testNow)))
	stranger, _ := NewIssuer(WithKeys(keyA), WithIssuer("https://evil.example"), WithClock(fixedClock(testNow)))
	anonymous, _ := NewIssuer(WithKeys(keyA), WithClock(fixedClock(testNow)))

	v, err := NewVerifier(WithClock(fixedClock(testNow)), WithTrustedIssuers(
		TrustedIssuer{Issuer: "https://a.example", Keys: []*Key{keyA}},
		TrustedIssuer{Issuer: "https://b.example", Source: setB, Audience: []string{"b-api"}},
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		is     *Issuer
		claims Claims
		reason Reason
	}{
		{"issuer A", issuerA, Claims{Subject: "a"}, ReasonNone},
		{"issuer B", issuerB, Claims{Subject: "a"}, ReasonNone},
		{"issuer B, audience of A", issuerB, Claims{Subject: "a", Audience: []string{"a-api"}}, ReasonAudience},
		{"A's key claiming to be B", impostor, Claims{Subject: "a"}, ReasonUnknownKey},
		{"untrusted issuer", stranger, Claims{Subject: "a"}, ReasonIssuer},
		{"no issuer", anonymous, Claims{Subject: "a"}, ReasonIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.is.Issue(ctx, tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			trackToken(raw)
			tok, err := v.Verify(ctx, raw)
			noteError(err)
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("ReasonOf(%v) = %s, want %s", err, got, tc.reason)
			}
			if err == nil && tok.Claims.Issuer != tc.is.cfg.issuer {
				t.Errorf("verified iss %q", tok.Claims.Issuer)
			}
		})
	}

	for name, opts := range map[string][]VerifierOption{
		"no issuer":             {WithTrustedIssuers()},
		"unnamed":               {WithTrustedIssuers(TrustedIssuer{Keys: []*Key{keyA}})},
		"twice":                 {WithTrustedIssuers(TrustedIssuer{Issuer: "x", Keys: []*Key{keyA}}, TrustedIssuer{Issuer: "x", Keys: []*Key{keyA}})},
		"keys and source":       {WithTrustedIssuers(TrustedIssuer{Issuer: "x", Keys: []*Key{keyA}, Source: setB})},
		"neither":               {WithTrustedIssuers(TrustedIssuer{Issuer: "x"})},
		"with WithKeys":         {WithKeys(keyA), WithTrustedIssuers(TrustedIssuer{Issuer: "x", Keys: []*Key{keyA}})},
		"with WithIssuer":       {WithIssuer("x"), WithTrustedIssuers(TrustedIssuer{Issuer: "x", Keys: []*Key{keyA}})},
		"WithKeys and a keyset": {WithKeys(keyA), WithKeySet(setB)},
	} {
		if _, err := NewVerifier(opts...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
