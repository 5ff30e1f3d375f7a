package jwtaudit

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestInsecureLegacyHMACKey(t *testing.T) {
	ctx := context.Background()
	old := []byte("secret_key")
	if _, err := NewKey("legacy", HS256, old); err == nil {
		t.Fatal("NewKey took a 10-byte secret")
	}
	legacy, err := InsecureLegacyHMACKey("legacy", HS256, old)
	if err != nil {
		t.Fatal(err)
	}
	if legacy.CanSign() {
		t.Error("a legacy key can sign")
	}
	strong := mustKey(t, "new", HS256, testSecret)
	rec := &captureSink{}
	shared := Options(WithKeys(strong, legacy), WithAudit(rec), WithClock(fixedClock(testNow)))
	is, err := NewIssuer(shared)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(shared)
	if err != nil {
		t.Fatal(err)
	}
	legacyMark := func(e Event) bool {
		return slices.ContainsFunc(e.Attrs, func(a slog.Attr) bool { return a.Key == "legacy_key" && a.Value.Bool() })
	}
	exp := `,"exp":1798000000}`
	for _, tc := range []struct {
		name   string
		token  string
		reason Reason
		marked bool
	}{
		{"old token without kid", hs256Token(old, `{"alg":"HS256","typ":"JWT"}`, `{"sub":"7"`+exp), ReasonNone, true},
		{"old token with the legacy kid", hs256Token(old, `{"alg":"HS256","kid":"legacy"}`, `{"sub":"7"`+exp), ReasonNone, true},
		{"forged with another short secret", hs256Token([]byte("secret_kez"), `{"alg":"HS256"}`, `{"sub":"admin"`+exp), ReasonSignature, true},
		{"old secret under the new kid", hs256Token(old, `{"alg":"HS256","kid":"new"}`, `{"sub":"7"`+exp), ReasonSignature, false},
	} {
		_, err := v.Verify(ctx, tc.token)
		noteError(err)
		e := rec.only(t)
		if ReasonOf(err) != tc.reason || legacyMark(e) != tc.marked {
			t.Errorf("%s: %v, legacy_key in the event %v; want %s, %v", tc.name, err, legacyMark(e), tc.reason, tc.marked)
		}
	}
	raw, err := is.Issue(ctx, Claims{Subject: "42"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	if e := rec.only(t); e.KeyID != "new" {
		t.Errorf("issued with %q", e.KeyID)
	}
	if _, err := NewIssuer(WithKeys(strong, legacy), WithSigningKey("legacy")); err == nil || !strings.Contains(err.Error(), "only verifies") {
		t.Errorf("signing with the legacy key: %v", err)
	}
	if _, err := NewKeySet(legacy); err == nil {
		t.Error("a key set took a legacy key")
	}
	for _, tc := range []struct {
		id     string
		alg    Algorithm
		secret []byte
	}{{"", HS256, old}, {"k", RS256, old}, {"k", HS256, nil}, {"k", HS256, []byte("-----BEGIN PUBLIC KEY-----")}} {
		if _, err := InsecureLegacyHMACKey(tc.id, tc.alg, tc.secret); err == nil {
			t.Errorf("InsecureLegacyHMACKey(%q, %s, %q) accepted", tc.id, tc.alg, tc.secret)
		}
	}
}
