package jwtaudit

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jws"
)

// ignoredHeaders are the header members this verifier never reads: they
// could only point at another key, and the key comes from the
// configuration alone. jwx decodes them, and refuses a token whose value
// for one of them it cannot decode; this verifier accepts such a token.
// That is one way the two disagree on what to accept, and it is safe: the
// values are never used. The other: white space around the header's JSON
// object, which RFC 8259 allows and this verifier reads as JSON does; jwx
// refuses it (it checks the signature over a header of its own making).
var ignoredHeaders = []string{"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"}

// TestDifferentialDisagreements lists every kind of token this verifier
// accepts and jws.Verify refuses, each with why that is acceptable, and
// checks that the list is still true.
func TestDifferentialDisagreements(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	v, _ := NewVerifier(WithKeys(key), WithClock(fixedClock(testNow)), InsecureAllowMissingExpiry())
	for _, tc := range []struct{ header, why string }{
		{`{"alg":"HS256","jwk":"garbage"}`, "jwk is never read: the key is the configured one"},
		{`{"alg":"HS256","jwk":{}}`, "jwk is never read"},
		{`{"alg":"HS256","jku":5}`, "jku is never fetched"},
		{`{"alg":"HS256","x5u":1}`, "x5u is never fetched"},
		{`{"alg":"HS256","x5c":["!!"]}`, "x5c is never parsed"},
		{`{"alg":"HS256","x5t":1}`, "x5t is never read"},
		{`{"alg":"HS256","x5t#S256":1}`, "x5t#S256 is never read"},
		{` {"alg":"HS256"}`, "white space before the header's object is JSON's"},
		{"{\"alg\":\"HS256\"}\n", "white space after it too"},
	} {
		raw := forge(t, key, tc.header, `{"sub":"a"}`)
		_, ours := v.Verify(context.Background(), raw)
		_, theirs := jws.Verify([]byte(raw), jws.WithKey(mustJWA(t, HS256), key.public))
		if ours != nil || theirs == nil {
			t.Errorf("%s: ours %v, jws.Verify %v; the listed disagreement (%s) no longer holds: update the list and the README", tc.header, ours, theirs, tc.why)
		}
	}
}

// FuzzDifferentialJWS signs arbitrary header and payload JSON with the
// verifier's key and compares the verifier with jws.Verify: whatever the
// verifier accepts, jws.Verify must accept too, but for the disagreements
// TestDifferentialDisagreements lists.
func FuzzDifferentialJWS(f *testing.F) {
	key := mustKey(f, "k1", HS256, testSecret)
	v, err := NewVerifier(WithKeys(key), WithClock(fixedClock(testNow)), InsecureAllowMissingExpiry())
	if err != nil {
		f.Fatal(err)
	}
	alg := mustJWA(f, HS256)
	for _, seed := range [][2]string{
		{`{"alg":"HS256","kid":"k1","typ":"JWT"}`, `{"sub":"a","exp":1798000000}`},
		{`{"alg":"HS256"}`, `{}`},
		{`{ "alg" : "HS256" , "x" : [1, {"y": null}] }`, ` {"aud":["a","b"]} `},
		{`{"alg":"HS256","x5c":["AA"]}`, `{"sub":"\u00e9"}`},
		{`{"alg":"HS256","crit":["exp"]}`, `{"sub":"a"}`},
		{`{"alg":"HS256","b64":false}`, `{"sub":"a"}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, header, payload string) {
		input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
		sig, err := key.sign([]byte(input))
		if err != nil {
			t.Fatal(err)
		}
		raw := input + "." + b64.EncodeToString(sig)
		if _, ours := v.Verify(context.Background(), raw); ours != nil {
			return
		}
		_, theirs := jws.Verify([]byte(raw), jws.WithKey(alg, key.public))
		if theirs == nil {
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal([]byte(header), &members); err != nil {
			t.Fatalf("accepted a header encoding/json cannot read (%v), which jws.Verify refuses (%v): %q", err, theirs, header)
		}
		for _, name := range ignoredHeaders {
			if _, ok := members[name]; ok {
				return // a listed disagreement
			}
		}
		if strings.TrimSpace(header) != header {
			return // a listed disagreement: white space around the object
		}
		t.Fatalf("accepted what jws.Verify refuses (%v): header %q payload %q", theirs, header, payload)
	})
}
