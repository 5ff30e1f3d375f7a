package jwtaudit

import (
	"context"
	"crypto"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// brokenSigner is a crypto.Signer, as a KMS client would be, that fails or
// panics.
type brokenSigner struct {
	crypto.Signer
	panics bool
}

func (s brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	if s.panics {
		panic("hsm unplugged")
	}
	return nil, errors.New("kms: quota exceeded")
}

func TestIssueReasons(t *testing.T) {
	hmacKey := mustKey(t, "k1", HS256, testSecret)
	ec := loadPrivate(t, "p256.pem")
	for _, tc := range []struct {
		name    string
		key     *Key
		opts    []IssuerOption
		claims  Claims
		sinkErr error
		reason  Reason
	}{
		{name: "empty subject", claims: Claims{}, reason: ReasonInvalidClaims},
		{name: "exp before iat", claims: Claims{Subject: "a", ExpiresAt: testNow.Add(-time.Minute)}, reason: ReasonInvalidClaims},
		{name: "exp equal to iat", claims: Claims{Subject: "a", ExpiresAt: testNow}, reason: ReasonInvalidClaims},
		{name: "nbf after exp", claims: Claims{Subject: "a", NotBefore: testNow.Add(2 * time.Hour)}, reason: ReasonInvalidClaims},
		{name: "foreign iss", opts: []IssuerOption{WithIssuer("https://auth.example")}, claims: Claims{Subject: "a", Issuer: "https://other.example"}, reason: ReasonInvalidClaims},
		{name: "private overwrites sub", claims: Claims{Subject: "a", Private: map[string]any{"sub": "admin"}}, reason: ReasonInvalidClaims},
		{name: "private not encodable", claims: Claims{Subject: "a", Private: map[string]any{"ch": make(chan int)}}, reason: ReasonInvalidClaims},
		{name: "empty audience", claims: Claims{Subject: "a", Audience: []string{""}}, reason: ReasonInvalidClaims},
		{name: "signer fails", key: mustKey(t, "kms", ES256, brokenSigner{Signer: ec}), claims: Claims{Subject: "a"}, reason: ReasonSigning},
		{name: "signer panics", key: mustKey(t, "hsm", ES256, brokenSigner{Signer: ec, panics: true}), claims: Claims{Subject: "a"}, reason: ReasonInternal},
		{name: "audit fails", claims: Claims{Subject: "a"}, sinkErr: errors.New("disk full"), reason: ReasonAudit},
		{name: "valid", claims: Claims{Subject: "a"}, reason: ReasonNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			if key == nil {
				key = hmacKey
			}
			rec := &captureSink{err: tc.sinkErr}
			opts := append([]IssuerOption{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(rec)}, tc.opts...)
			is, err := NewIssuer(opts...)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := is.Issue(context.Background(), tc.claims)
			noteError(err)
			ev := rec.only(t)
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("ReasonOf(%v) = %s, want %s", err, got, tc.reason)
			}
			if tc.reason == ReasonNone {
				if raw == "" || ev.Outcome != OutcomeSuccess || ev.Fingerprint != FingerprintOf(raw) {
					t.Errorf("token %q, event %+v", raw, ev)
				}
				trackToken(raw)
				return
			}
			if raw != "" {
				t.Errorf("a failed Issue returned a token")
			}
			if !errors.Is(err, sentinels[tc.reason]) {
				t.Errorf("errors.Is(%v, %v) = false", err, sentinels[tc.reason])
			}
			if ev.Op != OpIssue || ev.KeyID != key.ID() || ev.Algorithm != key.Algorithm() {
				t.Errorf("event = %+v", ev)
			}
			if tc.sinkErr == nil && (ev.Reason != tc.reason || ev.Outcome != outcomeOf(tc.reason) || ev.Detail != err.Error()) {
				t.Errorf("event reason %s outcome %s detail %q", ev.Reason, ev.Outcome, ev.Detail)
			}
			if tc.sinkErr == nil && !ev.Fingerprint.IsZero() {
				t.Errorf("a failed Issue has a fingerprint")
			}
		})
	}
}

func TestIssueStamps(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	shared := []Option{WithKeys(key), WithClock(fixedClock(testNow)), WithIssuer("https://auth.example"), WithAudience("api", "admin"), WithType("at+jwt")}
	is, v := pair(t, shared, []IssuerOption{WithTTL(15 * time.Minute)}, nil)
	ctx := context.Background()

	raw, err := is.Issue(ctx, Claims{Subject: "user-42", ID: "fixed-id", Private: map[string]any{"scope": "read write", "tenant": 7}})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	c := tok.Claims
	if c.Issuer != "https://auth.example" || c.ID != "fixed-id" || strings.Join(c.Audience, ",") != "api,admin" {
		t.Errorf("claims = %+v", c)
	}
	if got := c.ExpiresAt.Sub(c.IssuedAt); got != 15*time.Minute {
		t.Errorf("exp - iat = %s, want the TTL", got)
	}
	if tok.Header.Type != "at+jwt" {
		t.Errorf("typ = %q", tok.Header.Type)
	}
	var private struct {
		Scope  string `json:"scope"`
		Tenant int    `json:"tenant"`
		Sub    string `json:"sub"`
	}
	if err := tok.Decode(&private); err != nil {
		t.Fatal(err)
	}
	if private.Scope != "read write" || private.Tenant != 7 || private.Sub != "user-42" {
		t.Errorf("Decode = %+v", private)
	}

	// A per-call expiry overrides the TTL.
	exp := testNow.Add(5 * time.Minute)
	raw, err = is.Issue(ctx, Claims{Subject: "user-42", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	if tok, err = v.Verify(ctx, raw); err != nil || !tok.Claims.ExpiresAt.Equal(exp) {
		t.Errorf("per-call exp: %v, %v", tok, err)
	}
}

func TestIssueIsDeterministicButForJTI(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	is, err := NewIssuer(WithKeys(key), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := is.Issue(context.Background(), Claims{Subject: "a", ID: "x"})
	b, _ := is.Issue(context.Background(), Claims{Subject: "a", ID: "x"})
	c, _ := is.Issue(context.Background(), Claims{Subject: "a"})
	d, _ := is.Issue(context.Background(), Claims{Subject: "a"})
	for _, raw := range []string{a, b, c, d} {
		trackToken(raw)
	}
	if a != b {
		t.Errorf("same claims, same clock, different tokens")
	}
	if c == d {
		t.Errorf("two tokens share a random jti")
	}
}

func TestSigningKeyChoice(t *testing.T) {
	pubOnly := mustKey(t, "pub", ES256, loadPrivate(t, "p256.pem").Public())
	first := mustKey(t, "first", HS256, testSecret)
	second := mustKey(t, "second", EdDSA, testEd25519)
	for _, tc := range []struct {
		name    string
		opts    []IssuerOption
		want    string
		wantErr string
	}{
		{name: "first that can sign", opts: []IssuerOption{WithKeys(pubOnly, first, second)}, want: "first"},
		{name: "named", opts: []IssuerOption{WithKeys(pubOnly, first, second), WithSigningKey("second")}, want: "second"},
		{name: "named has no private part", opts: []IssuerOption{WithKeys(pubOnly, first), WithSigningKey("pub")}, wantErr: "no private part"},
		{name: "named is missing", opts: []IssuerOption{WithKeys(first), WithSigningKey("gone")}, wantErr: "no key has"},
		{name: "no key", opts: nil, wantErr: "needs a key that can sign"},
		{name: "only public keys", opts: []IssuerOption{WithKeys(pubOnly)}, wantErr: "needs a key that can sign"},
		{name: "duplicate ids", opts: []IssuerOption{WithKeys(first, mustKey(t, "first", HS512, testSecret))}, wantErr: "two keys"},
		{name: "algorithm not allowed", opts: []IssuerOption{WithKeys(first), WithAlgorithms(ES256)}, wantErr: "does not allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is, err := NewIssuer(tc.opts...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if is.signing().key.ID() != tc.want {
				t.Errorf("signs with %q, want %q", is.signing().key.ID(), tc.want)
			}
		})
	}
}

func TestBadOptionValues(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	issuerOpts := map[string]IssuerOption{
		"nil option":        nil,
		"WithTTL zero":      WithTTL(0),
		"WithSigningKey":    WithSigningKey(""),
		"WithKeys nil":      WithKeys(nil),
		"WithIssuer":        WithIssuer(""),
		"WithAudience none": WithAudience(),
		"WithAudience ''":   WithAudience(""),
		"WithClock":         WithClock(nil),
		"WithAudit":         WithAudit(nil),
		"WithAlgorithms":    WithAlgorithms(),
		"WithAlgorithms x":  WithAlgorithms("none"),
		"WithType":          WithType(""),
		"WithContextAttrs":  WithContextAttrs(nil),
		"Options nil":       Options(nil),
		"Options bad value": Options(WithIssuer("")),
	}
	for name, o := range issuerOpts {
		if _, err := NewIssuer(WithKeys(key), o); err == nil {
			t.Errorf("NewIssuer accepted %s", name)
		}
	}
	verifierOpts := map[string]VerifierOption{
		"nil option":         nil,
		"WithLeeway":         WithLeeway(-time.Second),
		"WithMaxTokenSize":   WithMaxTokenSize(0),
		"WithSubject":        WithSubject(""),
		"WithRequiredClaims": WithRequiredClaims(""),
		"WithMaxAge":         WithMaxAge(0),
		"WithValidator":      WithValidator(nil),
		"WithClock":          WithClock(nil),
	}
	for name, o := range verifierOpts {
		if _, err := NewVerifier(WithKeys(key), o); err == nil {
			t.Errorf("NewVerifier accepted %s", name)
		}
	}
	if _, err := NewVerifier(); err == nil {
		t.Errorf("NewVerifier accepted no key")
	}
}

// TestTokenIDs checks the shape of issued "jti" values and that they do
// not repeat, from many goroutines at once.
func TestTokenIDs(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				id := newTokenID()
				if len(id) != 26 || strings.Trim(id, base32Alphabet) != "" {
					t.Errorf("jti %q is not 26 base32 characters", id)
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("jti %q issued twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
