package jwtaudit

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/dpoptest"
)

// dpopFixture is an issuer and a DPoP-checking verifier on one clock and
// one capture sink, and a client with a key.
type dpopFixture struct {
	is     *Issuer
	v      *Verifier
	d      *DPoP
	rec    *captureSink
	clock  *movableClock
	client *dpoptest.Client
}

const dpopURL = "https://api.example/orders"

func newDPoPFixture(t *testing.T, alg string, opts DPoPOptions) *dpopFixture {
	t.Helper()
	f := &dpopFixture{rec: &captureSink{}, clock: newMovableClock(testNow)}
	opts.Clock = f.clock.Now
	var err error
	if f.d, err = NewDPoP(opts); err != nil {
		t.Fatal(err)
	}
	shared := Options(WithKeys(mustKey(t, "k1", HS256, testSecret)), WithAudit(f.rec), WithClock(f.clock.Now))
	if f.is, err = NewIssuer(shared); err != nil {
		t.Fatal(err)
	}
	if f.v, err = NewVerifier(shared, WithDPoP(f.d)); err != nil {
		t.Fatal(err)
	}
	if f.client, err = dpoptest.NewClient(alg); err != nil {
		t.Fatal(err)
	}
	return f
}

// token issues a token bound to jkt ("" for a bearer token).
func (f *dpopFixture) token(t *testing.T, jkt string) string {
	t.Helper()
	raw, err := f.is.Issue(context.Background(), Claims{Subject: "alice", Confirmation: Confirmation{KeyThumbprint: jkt}})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	f.rec.take()
	return raw
}

// verify verifies a DPoP request and returns its reason and its one event.
func (f *dpopFixture) verify(t *testing.T, token string, req DPoPRequest) (Reason, Event) {
	t.Helper()
	for _, p := range req.Proofs {
		trackToken(p)
	}
	_, err := f.v.VerifyDPoP(context.Background(), token, req)
	noteError(err)
	return ReasonOf(err), f.rec.only(t)
}

func get(proofs ...string) DPoPRequest {
	return DPoPRequest{Proofs: proofs, Method: "GET", URL: dpopURL}
}

// TestDPoPChecks holds each check of RFC 9449 §4.3 to a proof that
// violates it: every one is refused with its reason, in one event that
// names the proof's key when the proof could be read.
func TestDPoPChecks(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) { testDPoPChecks(t, alg) })
	}
}

func testDPoPChecks(t *testing.T, alg string) {
	f := newDPoPFixture(t, alg, DPoPOptions{})
	other, err := dpoptest.NewClient(alg)
	if err != nil {
		t.Fatal(err)
	}
	tok := f.token(t, f.client.Thumbprint)
	now := testNow
	proof := func(changes ...func(*dpoptest.Proof)) string {
		return f.client.Proof("GET", dpopURL, tok, now, changes...)
	}
	set := func(where, name string, value any) func(*dpoptest.Proof) {
		return func(p *dpoptest.Proof) {
			m := p.Claims
			if where == "header" {
				m = p.Header
			}
			if value == nil {
				delete(m, name)
			} else {
				m[name] = value
			}
		}
	}
	unsigned := func(header, payload string) string {
		return b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload)) + "."
	}
	header := `{"typ":"dpop+jwt","alg":"` + alg + `","jwk":` + jsonOf(t, f.client.JWK) + `}`
	payload := `{"jti":"x1","htm":"GET","htu":"` + dpopURL + `","iat":` + itoa(now.Unix()) + `,"ath":"` + dpoptest.ATH(tok) + `"}`
	for _, tc := range []struct {
		check  string // RFC 9449 §4.3's words, in short
		req    DPoPRequest
		token  string
		reason Reason
		named  bool // the event names the proof's key
	}{
		{"1: no DPoP header", get(), tok, ReasonDPoPProof, false},
		{"1: more than one DPoP header", get(proof(), proof()), tok, ReasonDPoPProof, false},
		{"2: not a JWT", get("not.a-proof"), tok, ReasonDPoPProof, false},
		{"2: JSON serialization", get(`{"payload":"e30","signatures":[]}`), tok, ReasonDPoPProof, false},
		{"2: a member twice", get(f.client.SignRaw([]byte(header), []byte(strings.Replace(payload, `"jti":"x1"`, `"jti":"x1","JTI":"x2"`, 1)))), tok, ReasonDPoPProof, false},
		{"3: no jti", get(proof(set("claims", "jti", nil))), tok, ReasonDPoPProof, false},
		{"3: no htm", get(proof(set("claims", "htm", nil))), tok, ReasonDPoPProof, false},
		{"3: no htu", get(proof(set("claims", "htu", nil))), tok, ReasonDPoPProof, false},
		{"3: no iat", get(proof(set("claims", "iat", nil))), tok, ReasonDPoPProof, false},
		{"3: iat a string", get(proof(set("claims", "iat", "2026-11-27T10:00:00Z"))), tok, ReasonDPoPProof, false},
		{"4: typ JWT", get(proof(set("header", "typ", "JWT"))), tok, ReasonDPoPProof, false},
		{"4: no typ", get(proof(set("header", "typ", nil))), tok, ReasonDPoPProof, false},
		{"5: alg none", get(unsigned(strings.Replace(header, alg, "none", 1), payload)), tok, ReasonDPoPProof, false},
		{"5: alg HS256", get(proof(set("header", "alg", "HS256"))), tok, ReasonDPoPProof, false},
		{"5: alg of another key type", get(proof(set("header", "alg", map[string]string{"ES256": "EdDSA", "EdDSA": "ES256"}[alg]))), tok, ReasonDPoPProof, false},
		{"6: no jwk", get(proof(set("header", "jwk", nil))), tok, ReasonDPoPProof, false},
		{"6: signature by another key", get(proof(set("header", "jwk", other.JWK))), tok, ReasonDPoPProof, false},
		{"6: signature tampered", get(tamperLast(proof())), tok, ReasonDPoPProof, false},
		{"7: private key in jwk", get(proof(set("header", "jwk", f.client.PrivateJWK()))), tok, ReasonDPoPProof, false},
		{"8: htm POST for a GET", get(proof(set("claims", "htm", "POST"))), tok, ReasonDPoPProof, true},
		{"8: htm in lower case", get(proof(set("claims", "htm", "get"))), tok, ReasonDPoPProof, true},
		{"9: htu of another path", get(proof(set("claims", "htu", "https://api.example/admin"))), tok, ReasonDPoPProof, true},
		{"9: htu of another host", get(proof(set("claims", "htu", "https://evil.example/orders"))), tok, ReasonDPoPProof, true},
		{"9: htu over http", get(proof(set("claims", "htu", "http://api.example/orders"))), tok, ReasonDPoPProof, true},
		{"9: htu relative", get(proof(set("claims", "htu", "/orders"))), tok, ReasonDPoPProof, true},
		{"11: iat 6 minutes old", get(proof(set("claims", "iat", now.Add(-6*time.Minute).Unix()))), tok, ReasonDPoPProof, true},
		{"11: iat 2 minutes ahead", get(proof(set("claims", "iat", now.Add(2*time.Minute).Unix()))), tok, ReasonDPoPProof, true},
		{"12: no ath", get(proof(set("claims", "ath", nil))), tok, ReasonDPoPProof, true},
		{"12: ath of another token", get(proof(set("claims", "ath", dpoptest.ATH(tok+"x")))), tok, ReasonDPoPProof, true},
		{"12: token bound to another key", get(other.Proof("GET", dpopURL, tok, now)), tok, ReasonDPoPBinding, true},
	} {
		t.Run(tc.check, func(t *testing.T) {
			reason, e := f.verify(t, tc.token, tc.req)
			if reason != tc.reason || e.Reason != tc.reason || e.Verified {
				t.Errorf("reason %v, event %v verified=%v; want %v", reason, e.Reason, e.Verified, tc.reason)
			}
			jkt, named := attr(e, "dpop_jkt")
			if named != tc.named || (named && jkt != f.client.Thumbprint && jkt != other.Thumbprint) {
				t.Errorf("dpop_jkt %q (%v), want named=%v", jkt, named, tc.named)
			}
		})
	}

	t.Run("accepted: the query and fragment are not compared, nor case and default port", func(t *testing.T) {
		for _, u := range []string{dpopURL, "HTTPS://API.example:443/orders", "https://api.example/%6Frders"} {
			req := DPoPRequest{Method: "GET", URL: dpopURL + "?page=2#top", Proofs: []string{f.client.Proof("GET", u, tok, now)}}
			if reason, e := f.verify(t, tok, req); reason != ReasonNone || !e.Verified {
				t.Errorf("htu %s: %v", u, reason)
			} else if jkt, _ := attr(e, "dpop_jkt"); jkt != f.client.Thumbprint {
				t.Errorf("dpop_jkt %q, want %q", jkt, f.client.Thumbprint)
			}
		}
	})
	if alg == "EdDSA" {
		t.Run("accepted: alg Ed25519, RFC 9864's name of EdDSA over Ed25519", func(t *testing.T) {
			if reason, _ := f.verify(t, tok, get(proof(set("header", "alg", "Ed25519")))); reason != ReasonNone {
				t.Errorf("Ed25519: %v", reason)
			}
		})
	}
	t.Run("10 and 11: a proof is used once", func(t *testing.T) {
		p := proof()
		if reason, _ := f.verify(t, tok, get(p)); reason != ReasonNone {
			t.Fatalf("first use: %v", reason)
		}
		if reason, e := f.verify(t, tok, get(p)); reason != ReasonDPoPReplayed || e.Reason != ReasonDPoPReplayed {
			t.Fatalf("second use: %v", reason)
		}
	})
}

func tamperLast(proof string) string {
	i := strings.LastIndexByte(proof, '.') + 3
	c := byte('A')
	if proof[i] == 'A' {
		c = 'B'
	}
	return proof[:i] + string(c) + proof[i+1:]
}

// TestDPoPBinding holds the token's side: a bound token is refused as a
// bearer token (RFC 9449 §7.1), and an unbound one, or one bound by a
// method this package cannot check, with a proof.
func TestDPoPBinding(t *testing.T) {
	f := newDPoPFixture(t, "ES256", DPoPOptions{})
	ctx := context.Background()
	bound, unbound := f.token(t, f.client.Thumbprint), f.token(t, "")

	_, err := f.v.Verify(ctx, bound)
	if !errors.Is(err, ErrDPoPBinding) {
		t.Errorf("bound token as bearer: %v", err)
	}
	if e := f.rec.only(t); e.Reason != ReasonDPoPBinding || e.Subject != "alice" {
		t.Errorf("event %+v", e)
	}
	if _, err := f.v.Verify(ctx, unbound); err != nil {
		t.Errorf("unbound token as bearer: %v", err)
	}
	f.rec.take()
	if reason, _ := f.verify(t, unbound, get(f.client.Proof("GET", dpopURL, unbound, testNow))); reason != ReasonDPoPBinding {
		t.Errorf("unbound token with a proof: %v", reason)
	}
	if reason, e := f.verify(t, bound, get(f.client.Proof("GET", dpopURL, bound, testNow))); reason != ReasonNone || !e.Verified {
		t.Errorf("bound token with its proof: %v", reason)
	}

	// A token bound by an mTLS certificate: neither a bearer token nor a
	// DPoP one here.
	key := mustKey(t, "k1", HS256, testSecret)
	mtls := forge(t, key, `{"alg":"HS256","kid":"k1"}`,
		`{"sub":"alice","exp":`+itoa(testNow.Add(time.Hour).Unix())+`,"cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}`)
	if _, err := f.v.Verify(ctx, mtls); !errors.Is(err, ErrDPoPBinding) {
		t.Errorf("mTLS-bound token as bearer: %v", err)
	}
	f.rec.take()
	if reason, _ := f.verify(t, mtls, get(f.client.Proof("GET", dpopURL, mtls, testNow))); reason != ReasonDPoPBinding {
		t.Errorf("mTLS-bound token with a proof: %v", reason)
	}
	for _, cnf := range []string{`"jkt"`, `{}`, `{"jkt":"short"}`, `{"jkt":1}`, `{"jkt":"` + f.client.Thumbprint + `","JKT":"x"}`} {
		raw := forge(t, key, `{"alg":"HS256","kid":"k1"}`, `{"sub":"alice","exp":`+itoa(testNow.Add(time.Hour).Unix())+`,"cnf":`+cnf+`}`)
		if _, err := f.v.Verify(ctx, raw); !errors.Is(err, ErrInvalidClaims) {
			t.Errorf("cnf %s: %v, want invalid claims", cnf, err)
		}
		f.rec.take()
	}
}

// TestDPoPIssue holds the issuer's side: Confirmation.KeyThumbprint
// becomes "cnf":{"jkt":…}, the event names the key, and a value that is
// not a thumbprint is refused.
func TestDPoPIssue(t *testing.T) {
	f := newDPoPFixture(t, "EdDSA", DPoPOptions{})
	ctx := context.Background()
	raw, err := f.is.Issue(ctx, Claims{Subject: "alice", Confirmation: Confirmation{KeyThumbprint: f.client.Thumbprint}})
	if err != nil {
		t.Fatal(err)
	}
	if jkt, _ := attr(f.rec.only(t), "dpop_jkt"); jkt != f.client.Thumbprint {
		t.Errorf("issue event's dpop_jkt %q", jkt)
	}
	parts, _ := splitCompact(raw)
	if want := `"cnf":{"jkt":"` + f.client.Thumbprint + `"}`; !strings.Contains(string(parts.payload), want) {
		t.Errorf("payload %s lacks %s", parts.payload, want)
	}
	tok, err := f.v.VerifyDPoP(ctx, raw, get(f.client.Proof("GET", dpopURL, raw, testNow)))
	if err != nil || tok.Claims.Confirmation.KeyThumbprint != f.client.Thumbprint {
		t.Fatalf("%v %+v", err, tok)
	}
	f.rec.take()
	for _, bad := range []string{"x", f.client.Thumbprint + "A", strings.Repeat("=", 43)} {
		if _, err := f.is.Issue(ctx, Claims{Subject: "alice", Confirmation: Confirmation{KeyThumbprint: bad}}); !errors.Is(err, ErrInvalidClaims) {
			t.Errorf("thumbprint %q: %v", bad, err)
		}
		f.rec.take()
	}
}

// TestDPoPCheck holds a token endpoint's check: every check but ath, and
// the single use.
func TestDPoPCheck(t *testing.T) {
	f := newDPoPFixture(t, "ES256", DPoPOptions{})
	ctx := context.Background()
	login := DPoPRequest{Method: "POST", URL: "https://auth.example/login"}
	login.Proofs = []string{f.client.Proof("POST", login.URL, "", testNow)}
	p, err := f.d.Check(ctx, login)
	if err != nil || p.KeyThumbprint != f.client.Thumbprint || p.Algorithm != ES256 {
		t.Fatalf("%v %+v", err, p)
	}
	if _, err := f.d.Check(ctx, login); !errors.Is(err, ErrDPoPReplayed) {
		t.Errorf("second use: %v", err)
	}
	login.Proofs = []string{f.client.Proof("GET", login.URL, "", testNow)}
	if _, err := f.d.Check(ctx, login); !errors.Is(err, ErrDPoPProof) {
		t.Errorf("wrong method: %v", err)
	}
}

// TestDPoPNonces holds the server nonces of RFC 9449 §8: a proof without
// one, or with one too old or made with another key, is refused with
// ErrDPoPNonce; the nonce handed out is accepted, by every instance that
// shares the key.
func TestDPoPNonces(t *testing.T) {
	key := []byte(strings.Repeat("n", 32))
	nonces, err := NewDPoPNonces(key, 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	f := newDPoPFixture(t, "ES256", DPoPOptions{Nonces: nonces})
	tok := f.token(t, f.client.Thumbprint)
	withNonce := func(n string) func(*dpoptest.Proof) {
		return func(p *dpoptest.Proof) { p.Claims["nonce"] = n }
	}
	verify := func(changes ...func(*dpoptest.Proof)) Reason {
		r, _ := f.verify(t, tok, get(f.client.Proof("GET", dpopURL, tok, f.clock.Now(), changes...)))
		return r
	}
	if r := verify(); r != ReasonDPoPNonce {
		t.Errorf("no nonce: %v", r)
	}
	nonce, ok := f.d.Nonce()
	if !ok {
		t.Fatal("no nonce handed out")
	}
	if r := verify(withNonce(nonce)); r != ReasonNone {
		t.Errorf("the nonce handed out: %v", r)
	}
	otherKey, _ := NewDPoPNonces([]byte(strings.Repeat("m", 32)), 4*time.Minute)
	if r := verify(withNonce(otherKey.nonceAt(f.clock.Now()))); r != ReasonDPoPNonce {
		t.Errorf("another key's nonce: %v", r)
	}
	if r := verify(withNonce(nonce[:len(nonce)-1] + "A")); r != ReasonDPoPNonce {
		t.Errorf("a forged nonce: %v", r)
	}
	f.clock.Add(3 * time.Minute)
	if r := verify(withNonce(nonce)); r != ReasonNone {
		t.Errorf("a nonce 3 minutes old: %v", r)
	}
	if next, _ := f.d.Nonce(); next == nonce {
		t.Error("the nonce handed out did not change in 3 minutes")
	}
	f.clock.Add(2 * time.Minute)
	if r := verify(withNonce(nonce)); r != ReasonDPoPNonce {
		t.Errorf("a nonce 5 minutes old: %v", r)
	}
	if _, err := NewDPoPNonces(key[:31], 0); err == nil {
		t.Error("a 31-byte key accepted")
	}
}

// TestDPoPOptions holds NewDPoP's refusals and defaults.
func TestDPoPOptions(t *testing.T) {
	for _, algs := range [][]Algorithm{{HS256}, {"none"}, {"ES257"}} {
		if _, err := NewDPoP(DPoPOptions{Algorithms: algs}); err == nil {
			t.Errorf("%v accepted", algs)
		}
	}
	d, err := NewDPoP(DPoPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Algorithms(); len(got) != 11 || got[0] != RS256 || got[9] != EdDSA || got[10] != "Ed25519" {
		t.Errorf("default algorithms %v", got)
	}
	only, _ := NewDPoP(DPoPOptions{Algorithms: []Algorithm{EdDSA}, Clock: fixedClock(testNow)})
	v, err := NewVerifier(WithKeys(mustKey(t, "k1", HS256, testSecret)), WithDPoP(only), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	is, _ := NewIssuer(WithKeys(mustKey(t, "k1", HS256, testSecret)), WithClock(fixedClock(testNow)))
	c, _ := dpoptest.NewClient("ES256")
	raw, _ := is.Issue(context.Background(), Claims{Subject: "a", Confirmation: Confirmation{KeyThumbprint: c.Thumbprint}})
	if _, err := v.VerifyDPoP(context.Background(), raw, get(c.Proof("GET", dpopURL, raw, testNow))); !errors.Is(err, ErrDPoPProof) {
		t.Errorf("ES256 proof with EdDSA alone allowed: %v", err)
	}
	plain, _ := NewVerifier(WithKeys(mustKey(t, "k1", HS256, testSecret)), WithClock(fixedClock(testNow)))
	if _, err := plain.VerifyDPoP(context.Background(), raw, get(c.Proof("GET", dpopURL, raw, testNow))); !errors.Is(err, ErrInternal) {
		t.Errorf("VerifyDPoP without WithDPoP: %v", err)
	}
}

func TestHTUNormalization(t *testing.T) {
	for in, want := range map[string]string{
		"https://API.Example/a":          "https://api.example/a",
		"https://api.example:443/a?x#y":  "https://api.example/a",
		"http://api.example:80":          "http://api.example/",
		"https://api.example:8443/a":     "https://api.example:8443/a",
		"https://api.example/%7euser%2f": "https://api.example/~user%2F",
	} {
		if got, ok := htuOf(in); !ok || got != want {
			t.Errorf("htuOf(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"/a", "ftp://x/a", "https:///a", "https://user@api.example/a", "mailto:a@b", "://x"} {
		if got, ok := htuOf(in); ok {
			t.Errorf("htuOf(%q) = %q, accepted", in, got)
		}
	}
}

// attr returns the value of an event's attribute.
func attr(e Event, key string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value.String(), true
		}
	}
	return "", false
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestProofKeyCache holds the cache of proof keys: the same JWK bytes
// give the same key without a parse, another alg is another entry, a
// JWK the parser refuses is never kept, and the cache never holds more
// than maxProofKeys.
func TestProofKeyCache(t *testing.T) {
	var c proofKeys
	client, _ := dpoptest.NewClient("ES256")
	raw := []byte(jsonOf(t, client.JWK))
	k1, err := c.key(raw, ES256)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := c.key(raw, ES256); k2 != k1 || k1.id != client.Thumbprint {
		t.Errorf("a second lookup made another key, or the id %q is not the thumbprint", k1.id)
	}
	if _, err := c.key(raw, ES384); err == nil {
		t.Error("a P-256 JWK accepted for ES384 after a hit for ES256")
	}
	if _, err := c.key([]byte(`{"kty":"EC"}`), ES256); err == nil || len(c.keys) != 1 {
		t.Errorf("a broken JWK: %v, %d kept", err, len(c.keys))
	}
	for i := range maxProofKeys + 10 {
		other, _ := dpoptest.NewClient("EdDSA")
		if _, err := c.key([]byte(jsonOf(t, other.JWK)), EdDSA); err != nil {
			t.Fatal(i, err)
		}
		if len(c.keys) > maxProofKeys {
			t.Fatalf("%d keys kept", len(c.keys))
		}
	}
}

// TestDPoPThroughTheVerifiedCache: a token answered from the verified-token
// cache is held to its binding and its proof all the same.
func TestDPoPThroughTheVerifiedCache(t *testing.T) {
	rec := &captureSink{}
	d, _ := NewDPoP(DPoPOptions{Clock: fixedClock(testNow)})
	key := mustKey(t, "k1", HS256, testSecret)
	shared := Options(WithKeys(key), WithAudit(rec), WithClock(fixedClock(testNow)))
	is, _ := NewIssuer(shared)
	v, err := NewVerifier(shared, WithDPoP(d), WithVerifiedCache(100, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	client, _ := dpoptest.NewClient("ES256")
	ctx := context.Background()
	raw, _ := is.Issue(ctx, Claims{Subject: "alice", Confirmation: Confirmation{KeyThumbprint: client.Thumbprint}})
	trackToken(raw)
	rec.take()
	used := client.Proof("GET", dpopURL, raw, testNow)
	for i, tc := range []struct {
		proof  string
		reason Reason
	}{
		{used, ReasonNone},
		{client.Proof("GET", dpopURL, raw, testNow), ReasonNone},
		{used, ReasonDPoPReplayed},
		{client.Proof("POST", dpopURL, raw, testNow), ReasonDPoPProof},
	} {
		_, err := v.VerifyDPoP(ctx, raw, get(tc.proof))
		e := rec.only(t)
		if ReasonOf(err) != tc.reason || (i > 0 && !e.Cached) {
			t.Errorf("request %d: %v, cached %v; want %v from the cache", i, err, e.Cached, tc.reason)
		}
	}
	if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrDPoPBinding) || !rec.only(t).Cached {
		t.Errorf("the cached bound token as a bearer token: %v", err)
	}
}
