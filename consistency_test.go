package jwtaudit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

// mapSource is a KeySource of the caller's own kind, to take the adapter
// path that the package's own sources skip.
type mapSource map[string]*Key

func (m mapSource) LookupKey(_ context.Context, kid string) (*Key, error) {
	if k, ok := m[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key %q: %w", kid, ErrUnknownKey)
}

// TestReasonsDoNotDependOnHowKeysAreConfigured runs the same tokens
// through verifiers that differ only in how they were given their key, and
// requires the same reason from each.
func TestReasonsDoNotDependOnHowKeysAreConfigured(t *testing.T) {
	ctx := context.Background()
	const iss = "https://auth.example"
	key := mustKey(t, "k1", HS256, testSecret)
	other := mustKey(t, "k1", HS256, []byte("another secret, also 32 bytes long"))
	ks, err := NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	common := []VerifierOption{WithAudience("api"), WithClock(fixedClock(testNow))}
	configs := map[string][]VerifierOption{
		"WithKeys":           {WithKeys(key), WithIssuer(iss)},
		"WithKeySet":         {WithKeySet(ks), WithIssuer(iss)},
		"WithKeySource":      {WithKeySource(mapSource{"k1": key}), WithIssuer(iss)},
		"WithTrustedIssuers": {WithTrustedIssuers(TrustedIssuer{Issuer: iss, Keys: []*Key{key}})},
	}
	claims := func(extra string) string {
		return fmt.Sprintf(`{"iss":%q,"aud":"api","sub":"a","exp":%d%s}`, iss, future, extra)
	}
	for _, tc := range []struct {
		name   string
		token  string
		reason Reason
	}{
		{"valid", forge(t, key, hdrK1, claims("")), ReasonNone},
		{"wrong signature", tokentest.TamperSignature(forge(t, key, hdrK1, claims(""))), ReasonSignature},
		{"wrong signature and bad claims", forge(t, other, hdrK1, fmt.Sprintf(`{"iss":%q,"exp":"soon"}`, iss)), ReasonSignature},
		{"wrong signature and duplicate sub", forge(t, other, hdrK1, claims(`,"sub":"admin"`)), ReasonSignature},
		{"signed, exp as a string", forge(t, key, hdrK1, fmt.Sprintf(`{"iss":%q,"exp":"soon"}`, iss)), ReasonInvalidClaims},
		{"signed, duplicate sub", forge(t, key, hdrK1, claims(`,"sub":"admin"`)), ReasonInvalidClaims},
		{"signed, SUB beside sub", forge(t, key, hdrK1, claims(`,"SUB":"admin"`)), ReasonInvalidClaims},
		{"signed, data after the claims", forge(t, key, hdrK1, claims("")+"{}"), ReasonInvalidClaims},
		{"expired", forge(t, key, hdrK1, fmt.Sprintf(`{"iss":%q,"aud":"api","exp":%d}`, iss, past)), ReasonExpired},
		{"another audience", forge(t, key, hdrK1, fmt.Sprintf(`{"iss":%q,"aud":"web","exp":%d}`, iss, future)), ReasonAudience},
		{"another issuer", forge(t, key, hdrK1, fmt.Sprintf(`{"iss":"https://evil.example","aud":"api","exp":%d}`, future)), ReasonIssuer},
		{"unknown kid", forge(t, key, `{"alg":"HS256","kid":"k2"}`, claims("")), ReasonUnknownKey},
		{"alg none", forge(t, key, `{"alg":"none","kid":"k1"}`, claims("")), ReasonAlgorithm},
		{"alg of another key", forge(t, key, `{"alg":"HS384","kid":"k1"}`, claims("")), ReasonAlgorithm},
		{"bad header", forge(t, key, `{"alg":"HS256","kid":"k1","kid":"k1"}`, claims("")), ReasonMalformed},
		{"two segments", "e30.e30", ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, opts := range configs {
				rec := &captureSink{}
				v, err := NewVerifier(append(append([]VerifierOption{WithAudit(rec)}, common...), opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				_, err = v.Verify(ctx, tc.token)
				noteError(err)
				if got := ReasonOf(err); got != tc.reason {
					t.Errorf("%s: reason %s (%v), want %s", name, got, err, tc.reason)
				}
				if e := rec.only(t); e.Reason != tc.reason || e.Verified != (tc.reason == ReasonNone) {
					t.Errorf("%s: event reason %s verified %v", name, e.Reason, e.Verified)
				}
			}
		})
	}
}

// TestEmptyPayload checks that an empty payload segment is a claims set
// that is not valid when signed, and a wrong signature when not.
func TestEmptyPayload(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	other := mustKey(t, "k1", HS256, []byte("another secret, also 32 bytes long"))
	v, err := NewVerifier(WithKeys(key), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		signer *Key
		want   Reason
	}{{key, ReasonInvalidClaims}, {other, ReasonSignature}} {
		_, err := v.Verify(context.Background(), forge(t, tc.signer, hdrK1, ""))
		noteError(err)
		if ReasonOf(err) != tc.want {
			t.Errorf("signed by %p: %v, want %s", tc.signer, err, tc.want)
		}
	}
}

// TestOneReadingOfTheClaims checks that a token the checks, the audit
// trail and Token.Decode could read differently is refused, and that Issue
// does not make one.
func TestOneReadingOfTheClaims(t *testing.T) {
	ctx := context.Background()
	key := mustKey(t, "k1", HS256, testSecret)
	rec := &captureSink{}
	is, v := pair(t, []Option{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(rec), WithAuditClaims("tenant")}, nil,
		[]VerifierOption{WithSubject("alice")})
	exp := fmt.Sprintf(`"exp":%d`, future)
	for _, payload := range []string{
		`{"sub":"alice","SUB":"admin",` + exp + `}`,
		`{"sub":"alice","Sub":"admin",` + exp + `}`,
		`{"sub":"alice","ſub":"admin",` + exp + `}`, // U+017F folds to s in encoding/json
		`{"sub":"alice","tenant":"a","Tenant":"b",` + exp + `}`,
		`{"sub":"alice","tenant":"a","tenant":"b",` + exp + `}`,
		`{"sub":"alice","role":"user","role":"admin",` + exp + `}`,
		`{"sub":"alice","Role":"user","ROLE":"admin",` + exp + `}`,
		`{"sub":"alice","Tenant":"b",` + exp + `}`, // "tenant" is audited: Decode would read this, the trail not
		`{"sub":"alice","EXP":1,` + exp + `}`,
		`{"sub":"alice","x":{"admin":false,"admin":true},` + exp + `}`,
		`{"sub":"alice","x":{"a":1,"A":2},` + exp + `}`,
	} {
		_, err := v.Verify(ctx, forge(t, key, hdrK1, payload))
		noteError(err)
		if ReasonOf(err) != ReasonInvalidClaims {
			t.Errorf("%s: %v, want invalid_claims", payload, err)
		}
	}
	rec.take()

	for _, private := range []map[string]any{
		{"SUB": "admin"},
		{"Exp": 1},
		{"tenant": "a", "Tenant": "b"},
		{"ſub": "admin"},
	} {
		_, err := is.Issue(ctx, Claims{Subject: "alice", Private: private})
		if ReasonOf(err) != ReasonInvalidClaims {
			t.Errorf("Issue with %v: %v, want invalid_claims", private, err)
		}
	}
	for _, bad := range []string{"Sub", "EXP", "jti"} {
		if _, err := NewVerifier(WithKeys(key), WithAuditClaims(bad)); err == nil {
			t.Errorf("WithAuditClaims(%q) accepted", bad)
		}
		if bad != "jti" {
			if _, err := NewVerifier(WithKeys(key), WithRequiredClaims(bad)); err == nil {
				t.Errorf("WithRequiredClaims(%q) accepted", bad)
			}
		}
	}
}

// registeredView is how an application reads the registered claims with
// encoding/json.
type registeredView struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expires  *float64 `json:"exp"`
	ID       string   `json:"jti"`
	Tenant   string   `json:"tenant"`
}

// audience reads "aud" as a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// FuzzTokenDecode signs fuzzed claims sets and holds Token.Decode to the
// strict reader: for every token Verify accepts, what encoding/json reads
// into a struct equals Token.Claims, and the audited claim equals what
// Decode reads.
func FuzzTokenDecode(f *testing.F) {
	key := mustKey(f, "k1", HS256, testSecret)
	var events []Event // the fuzz function runs serially
	keep := SinkFunc(func(_ context.Context, e Event) error { events = append(events, e); return nil })
	v, err := NewVerifier(WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(keep), WithAuditClaims("tenant"), InsecureAllowMissingExpiry())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"sub":"a","tenant":"t"}`, `{"sub":"a","SUB":"b"}`, `{"Tenant":"x"}`, `{"tenant":"a","tenant":"b"}`,
		`{"iss":"i","aud":["a","b"],"jti":"j","exp":1798000000}`, `{"ſub":"x"}`, `{"x":{"y":1,"Y":2}}`,
		`{"sub":"\u0041"}`, `{"tenant":{"a":[1,2]}}`,
	} {
		f.Add(s)
	}
	header := b64.EncodeToString([]byte(hdrK1))
	f.Fuzz(func(t *testing.T, payload string) {
		input := header + "." + b64.EncodeToString([]byte(payload))
		sig, err := key.sign([]byte(input))
		if err != nil {
			t.Fatal(err)
		}
		events = events[:0]
		tok, err := v.Verify(context.Background(), input+"."+b64.EncodeToString(sig))
		if err != nil {
			return
		}
		var view registeredView
		if err := tok.Decode(&view); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return // a private claim of another type than the struct's field: the reader's own affair
			}
			t.Fatalf("Verify accepted %q, Decode refuses it: %v", payload, err)
		}
		c := tok.Claims
		if view.Issuer != c.Issuer || view.Subject != c.Subject || view.ID != c.ID {
			t.Fatalf("%q: Decode read %+v, Claims are %+v", payload, view, c)
		}
		if len(view.Audience)+len(c.Audience) > 0 && !reflect.DeepEqual([]string(view.Audience), c.Audience) {
			t.Fatalf("%q: Decode read aud %q, Claims have %q", payload, view.Audience, c.Audience)
		}
		if (view.Expires == nil) != c.ExpiresAt.IsZero() || (view.Expires != nil && int64(*view.Expires) != c.ExpiresAt.Unix()) {
			t.Fatalf("%q: Decode read exp %v, Claims have %v", payload, view.Expires, c.ExpiresAt)
		}
		var audited string
		for _, a := range events[0].Claims {
			if a.Key == "tenant" {
				audited = a.Value.String()
			}
		}
		var tenant map[string]json.RawMessage
		_ = json.Unmarshal(tok.payload, &tenant)
		if rawTenant, ok := tenant["tenant"]; ok {
			if auditValue(rawTenant) != audited {
				t.Fatalf("%q: the trail audited tenant %q, Decode reads %s", payload, audited, rawTenant)
			}
		} else if audited != "" || view.Tenant != "" {
			t.Fatalf("%q: tenant audited as %q and decoded as %q, but no member is named tenant", payload, audited, view.Tenant)
		}
	})
}

// TestDetailIsBounded sends claim names and values of kilobytes, signed
// and not, and requires the event's detail and strings to stay bounded.
func TestDetailIsBounded(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	rec := &captureSink{}
	v, _ := NewVerifier(WithKeys(key), WithAudit(rec), WithClock(fixedClock(testNow)))
	long := strings.Repeat("n", 6000)
	for _, raw := range []string{
		forge(t, key, hdrK1, `{"`+long+`":"x","`+long+`":"y"}`),
		forge(t, key, hdrK1, `{"sub":"`+long+`","`+long+`":[}`),
		b64.EncodeToString([]byte(`{"alg":"HS256","kid":"`+long+`"}`)) + "." + b64.EncodeToString([]byte(`{"`+long+`":1}`)) + ".",
	} {
		_, err := v.Verify(context.Background(), raw)
		noteError(err)
		e := rec.only(t)
		if len(e.Detail) > maxDetailLen+len("…") || len(e.KeyID) > maxUnverifiedLen+len("…") || len(e.Subject) > maxUnverifiedLen+len("…") {
			t.Errorf("event with a %d-byte detail, a %d-byte kid, a %d-byte subject", len(e.Detail), len(e.KeyID), len(e.Subject))
		}
	}
}
