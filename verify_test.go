package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

// verifyCase is one row of TestVerifyReasons.
type verifyCase struct {
	name    string
	opts    []VerifierOption
	token   func(t *testing.T, is *Issuer, key *Key) string
	sinkErr error
	reason  Reason
	kid     string    // expected event kid; "-" for none
	alg     Algorithm // expected event alg; "-" for none
}

func issueWith(c Claims) func(t *testing.T, is *Issuer, key *Key) string {
	return func(t *testing.T, is *Issuer, key *Key) string {
		t.Helper()
		raw, err := is.Issue(context.Background(), c)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		return raw
	}
}

func forged(header, payload string) func(t *testing.T, is *Issuer, key *Key) string {
	return func(t *testing.T, _ *Issuer, key *Key) string { return forge(t, key, header, payload) }
}

func literal(s string) func(t *testing.T, is *Issuer, key *Key) string {
	return func(*testing.T, *Issuer, *Key) string { return s }
}

const (
	hdrK1   = `{"alg":"HS256","kid":"k1","typ":"JWT"}`
	future  = 1798000000 // 2026-12-23, after testNow
	past    = 1790000000 // 2026-09-21, before testNow
	nowUnix = 1795773600 // testNow
)

func verifyCases() []verifyCase {
	sub := Claims{Subject: "user-42"}
	return []verifyCase{
		{name: "valid", token: issueWith(sub), reason: ReasonNone},
		{name: "no token", token: literal(""), reason: ReasonNoToken, kid: "-", alg: "-"},
		{name: "too large", token: literal(strings.Repeat("a", defaultMaxTokenSize+1)), reason: ReasonTooLarge, kid: "-", alg: "-"},
		{name: "malformed", token: literal("not.a-token"), reason: ReasonMalformed, kid: "-", alg: "-"},
		{name: "algorithm none", token: forged(`{"alg":"none","kid":"k1"}`, `{"sub":"a","exp":1798000000}`), reason: ReasonAlgorithm, kid: "k1", alg: "none"},
		{name: "unknown key", token: forged(`{"alg":"HS256","kid":"nope"}`, `{"sub":"a","exp":1798000000}`), reason: ReasonUnknownKey, kid: "nope", alg: HS256},
		{name: "signature", token: func(t *testing.T, is *Issuer, key *Key) string {
			return tokentest.TamperSignature(issueWith(sub)(t, is, key))
		}, reason: ReasonSignature},
		{name: "type", opts: []VerifierOption{WithType("at+jwt")}, token: issueWith(sub), reason: ReasonType},
		{name: "expired", token: forged(hdrK1, fmt.Sprintf(`{"sub":"a","exp":%d}`, past)), reason: ReasonExpired},
		{name: "not yet valid", token: forged(hdrK1, fmt.Sprintf(`{"sub":"a","exp":%d,"nbf":%d}`, future, future-10)), reason: ReasonNotYetValid},
		{name: "issued in future", token: forged(hdrK1, fmt.Sprintf(`{"sub":"a","exp":%d,"iat":%d}`, future, nowUnix+60)), reason: ReasonIssuedInFuture},
		{name: "issuer", opts: []VerifierOption{WithIssuer("https://auth.example")}, token: forged(hdrK1, fmt.Sprintf(`{"iss":"https://evil.example","sub":"a","exp":%d}`, future)), reason: ReasonIssuer},
		{name: "audience", opts: []VerifierOption{WithAudience("api")}, token: issueWith(Claims{Subject: "a", Audience: []string{"billing"}}), reason: ReasonAudience},
		{name: "audience unexpected", token: issueWith(Claims{Subject: "a", Audience: []string{"api"}}), reason: ReasonAudience},
		{name: "subject", opts: []VerifierOption{WithSubject("bob")}, token: issueWith(sub), reason: ReasonSubject},
		{name: "missing exp", token: forged(hdrK1, `{"sub":"a"}`), reason: ReasonMissingClaim},
		{name: "signed claims not valid", token: forged(hdrK1, `{"sub":"a","exp":"tomorrow"}`), reason: ReasonInvalidClaims},
		{name: "missing private", opts: []VerifierOption{WithRequiredClaims("tenant")}, token: issueWith(sub), reason: ReasonMissingClaim},
		{name: "too old", opts: []VerifierOption{WithMaxAge(time.Minute)}, token: forged(hdrK1, fmt.Sprintf(`{"sub":"a","exp":%d,"iat":%d}`, future, nowUnix-120)), reason: ReasonTooOld},
		{name: "revoked", opts: []VerifierOption{WithValidator(func(context.Context, *Token) error {
			return fmt.Errorf("jti on the deny list: %w", ErrRevoked)
		})}, token: issueWith(sub), reason: ReasonRevoked},
		{name: "rejected by validator", opts: []VerifierOption{WithValidator(func(context.Context, *Token) error {
			return errors.New("account locked")
		})}, token: issueWith(sub), reason: ReasonRejected},
		{name: "validator panics", opts: []VerifierOption{WithValidator(func(context.Context, *Token) error {
			panic("boom")
		})}, token: issueWith(sub), reason: ReasonInternal},
		{name: "audit sink fails", token: issueWith(sub), sinkErr: errors.New("disk full"), reason: ReasonAudit},
		{name: "revoked in the store", opts: []VerifierOption{WithRevocation(revokedSubject("user-42"), RevocationPolicy{})}, token: issueWith(sub), reason: ReasonRevoked},
		{name: "revocation store unavailable", opts: []VerifierOption{WithRevocation(brokenStore{}, RevocationPolicy{})}, token: issueWith(sub), reason: ReasonStoreUnavailable},
		{name: "replayed", opts: []VerifierOption{WithReplayGuard(usedUp{})}, token: issueWith(sub), reason: ReasonReplayed},
		{name: "bound to a key, presented as bearer", token: issueWith(Claims{Subject: "a", Confirmation: Confirmation{KeyThumbprint: strings.Repeat("A", 43)}}), reason: ReasonDPoPBinding},
	}
}

// revokedSubject is a store in which every token of sub is revoked.
func revokedSubject(sub string) RevocationStore {
	m := NewMemoryRevocations(MemoryStoreOptions{Clock: fixedClock(testNow)})
	_ = m.Revoke(context.Background(), Revocation{Subject: sub, IssuedBefore: testNow.Add(time.Hour), Until: testNow.Add(2 * time.Hour)})
	return m
}

// brokenStore cannot answer, like a shared store out of reach.
type brokenStore struct{}

func (brokenStore) Revoke(context.Context, Revocation) error { return errors.New("connection refused") }
func (brokenStore) Revoked(context.Context, *Claims) (bool, error) {
	return false, errors.New("connection refused")
}
func (brokenStore) FirstUse(context.Context, string, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

// usedUp has seen every token before.
type usedUp struct{}

func (usedUp) FirstUse(context.Context, string, string, time.Time) (bool, error) { return false, nil }

// issueOnlyReasons are the reasons only Issue can produce; TestIssueReasons
// reaches them.
var issueOnlyReasons = []Reason{ReasonSigning}

// eventOnlyReasons are reasons no call returns: they mark events of their
// own (TestRemoteKeySetFailures reaches them).
var eventOnlyReasons = []Reason{ReasonKeyFetch}

// proofReasons are reasons only VerifyDPoP and DPoP.Check produce;
// TestDPoPChecks and TestDPoPNonces reach them.
var proofReasons = []Reason{ReasonDPoPProof, ReasonDPoPReplayed, ReasonDPoPNonce}

func TestVerifyReasons(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	is, err := NewIssuer(WithKeys(key), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	reached := map[Reason]bool{}
	for _, tc := range verifyCases() {
		t.Run(tc.name, func(t *testing.T) {
			rec := &captureSink{err: tc.sinkErr}
			opts := append([]VerifierOption{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(rec)}, tc.opts...)
			v, err := NewVerifier(opts...)
			if err != nil {
				t.Fatal(err)
			}
			raw := tc.token(t, is, key)

			tok, err := v.Verify(context.Background(), raw)
			noteError(err)
			ev := rec.only(t)
			reached[ReasonOf(err)] = true

			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("ReasonOf(%v) = %s, want %s", err, got, tc.reason)
			}
			if tc.reason == ReasonNone {
				if tok == nil || ev.Outcome != OutcomeSuccess || !ev.Verified {
					t.Errorf("valid token: tok %v, event %+v", tok, ev)
				}
				return
			}
			if tok != nil {
				t.Errorf("a rejected token was returned: %+v", tok)
			}
			if !errors.Is(err, sentinels[tc.reason]) {
				t.Errorf("errors.Is(%v, %v) = false", err, sentinels[tc.reason])
			}
			wrapped := fmt.Errorf("handler: %w", err)
			if !errors.Is(wrapped, sentinels[tc.reason]) || ReasonOf(wrapped) != tc.reason {
				t.Errorf("reason lost through wrapping: %v", wrapped)
			}
			if !strings.HasPrefix(err.Error(), "jwtaudit: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}

			wantReason := tc.reason
			if tc.sinkErr != nil {
				wantReason = ReasonNone // the event was built before the sink failed
			}
			if ev.Op != OpVerify || ev.Verified != (wantReason == ReasonNone) {
				t.Errorf("event op %s verified %v", ev.Op, ev.Verified)
			}
			if ev.Reason != wantReason || ev.Outcome != outcomeOf(wantReason) {
				t.Errorf("event reason %s outcome %s, want %s %s", ev.Reason, ev.Outcome, wantReason, outcomeOf(wantReason))
			}
			wantKid, wantAlg := "k1", HS256
			if tc.kid != "" {
				wantKid = strings.TrimPrefix(tc.kid, "-")
			}
			if tc.alg != "" {
				wantAlg = Algorithm(strings.TrimPrefix(string(tc.alg), "-"))
			}
			if ev.KeyID != wantKid || ev.Algorithm != wantAlg {
				t.Errorf("event kid %q alg %q, want %q %q", ev.KeyID, ev.Algorithm, wantKid, wantAlg)
			}
			wantFP := FingerprintOf(raw)
			if tc.reason == ReasonTooLarge || tc.reason == ReasonNoToken {
				wantFP = Fingerprint{} // no token, or oversize input, is not hashed
			}
			if ev.Fingerprint != wantFP {
				t.Errorf("event fingerprint %s, want %s", ev.Fingerprint, wantFP)
			}
			if tc.sinkErr == nil && ev.Detail != err.Error() {
				t.Errorf("event detail %q, want the error %q", ev.Detail, err.Error())
			}
		})
	}

	for _, r := range slices.Concat(issueOnlyReasons, eventOnlyReasons, proofReasons) {
		reached[r] = true
	}
	for r := ReasonNone; r < reasonCount; r++ {
		if !reached[r] {
			t.Errorf("no case reaches reason %s", r)
		}
	}
}

func TestReasonStrings(t *testing.T) {
	seen := map[string]bool{}
	for r := ReasonNone; r < reasonCount; r++ {
		s := r.String()
		if s == "" || strings.ToLower(s) != s || strings.ContainsAny(s, " -") || seen[s] {
			t.Errorf("reason %d prints %q: want a unique snake_case word", r, s)
		}
		seen[s] = true
		if r != ReasonNone && (sentinels[r] == nil || ReasonOf(sentinels[r]) != r) {
			t.Errorf("reason %s has no sentinel that maps back to it", s)
		}
	}
	if got := ReasonOf(errors.New("foreign")); got != ReasonInternal {
		t.Errorf("ReasonOf(foreign error) = %s, want internal", got)
	}
	if got := ReasonOf(nil); got != ReasonNone {
		t.Errorf("ReasonOf(nil) = %s", got)
	}
}
