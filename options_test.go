package jwtaudit

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestOptionsServeTheirConstructors checks, option by option, which
// constructors it implements the option interface of: an option given to a
// constructor it does not serve does not compile.
func TestOptionsServeTheirConstructors(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	salt := []byte("0123456789abcdef0123456789abcdef")
	redactor, err := NewRedactor(salt)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	type serves struct{ issuer, verifier, keySet, remote, revoker bool }
	audit := serves{true, true, true, true, true}
	shared := serves{true, true, false, false, false}
	for _, tc := range []struct {
		name   string
		option any
		want   serves
	}{
		{"WithAudit", WithAudit(DiscardSink), audit},
		{"WithClock", WithClock(time.Now), audit},
		{"WithContextAttrs", WithContextAttrs(func(context.Context) []slog.Attr { return nil }), audit},
		{"WithRedaction", WithRedaction(redactor), audit},
		{"WithAuditFailOpen", WithAuditFailOpen(func(context.Context, Event, error) {}), audit},
		{"Options", Options(WithKeys(key)), shared},
		{"WithKeys", WithKeys(key), shared},
		{"WithKeySet", WithKeySet(ks), shared},
		{"WithIssuer", WithIssuer("i"), shared},
		{"WithAudience", WithAudience("a"), shared},
		{"WithAlgorithms", WithAlgorithms(HS256), shared},
		{"WithType", WithType("JWT"), shared},
		{"WithAuditClaims", WithAuditClaims("tenant"), shared},
		{"WithTTL", WithTTL(time.Hour), serves{issuer: true}},
		{"WithSigningKey", WithSigningKey("k1"), serves{issuer: true}},
		{"WithLeeway", WithLeeway(time.Second), serves{verifier: true}},
		{"WithKeySource", WithKeySource(ks), serves{verifier: true}},
		{"WithTrustedIssuers", WithTrustedIssuers(TrustedIssuer{Issuer: "i", Keys: []*Key{key}}), serves{verifier: true}},
		{"WithValidator", WithValidator(func(context.Context, *Token) error { return nil }), serves{verifier: true}},
		{"InsecureAllowMissingExpiry", InsecureAllowMissingExpiry(), serves{verifier: true}},
		{"WithRevocation", WithRevocation(NewMemoryRevocations(MemoryStoreOptions{}), RevocationPolicy{}), serves{verifier: true}},
		{"WithReplayGuard", WithReplayGuard(NewMemoryReplay(MemoryStoreOptions{})), serves{verifier: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, issuer := tc.option.(IssuerOption)
			_, verifier := tc.option.(VerifierOption)
			_, keySet := tc.option.(KeySetOption)
			_, remote := tc.option.(RemoteKeySetOption)
			_, revoker := tc.option.(RevokerOption)
			if got := (serves{issuer, verifier, keySet, remote, revoker}); got != tc.want {
				t.Errorf("serves %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestListOptionsAdd checks that list options given twice add up, and
// that naming one trusted issuer twice is refused.
func TestListOptionsAdd(t *testing.T) {
	ctx := context.Background()
	keyA := mustKey(t, "a", HS256, testSecret)
	keyB := mustKey(t, "b", HS256, []byte("another secret, also 32 bytes long"))
	issA, _ := NewIssuer(WithKeys(keyA), WithIssuer("https://a.example"), WithAudience("api"))
	issB, _ := NewIssuer(WithKeys(keyB), WithIssuer("https://b.example"), WithAudience("web"))
	v, err := NewVerifier(
		WithTrustedIssuers(TrustedIssuer{Issuer: "https://a.example", Keys: []*Key{keyA}}),
		WithTrustedIssuers(TrustedIssuer{Issuer: "https://b.example", Keys: []*Key{keyB}}),
		WithAudience("api"), WithAudience("web"),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range []*Issuer{issA, issB} {
		raw, err := is.Issue(ctx, Claims{Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		trackToken(raw)
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Errorf("a token of %s: %v; both WithTrustedIssuers and both WithAudience should count", is.cfg.issuer, err)
		}
	}
	_, err = NewVerifier(
		WithTrustedIssuers(TrustedIssuer{Issuer: "https://a.example", Keys: []*Key{keyA}}),
		WithTrustedIssuers(TrustedIssuer{Issuer: "https://a.example", Keys: []*Key{keyB}}),
	)
	if err == nil {
		t.Error("one issuer trusted twice was accepted")
	}
}
