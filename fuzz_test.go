package jwtaudit

import (
	"context"
	"fmt"
	"testing"
)

// FuzzVerify feeds arbitrary input to Verify. It must never panic, never
// accept a token it did not sign, and always record exactly one event. The
// seed corpus (valid tokens, attacks, junk) runs in every `go test`; run
// `go test -fuzz=FuzzVerify` to search further.
//
// "Did not sign" is decided independently of the verifier: the issuer
// remembers every token it issued, and an accepted input must be one of
// them, byte for byte.
func FuzzVerify(f *testing.F) {
	key := mustKey(f, "k1", HS256, testSecret)
	issued := map[string]bool{}
	rec := &countingSink{}
	is, v := pair(f, []Option{WithKeys(key), WithClock(fixedClock(testNow))}, nil, []VerifierOption{WithAudit(rec)})
	for i := 0; i < 4; i++ {
		raw, err := is.Issue(context.Background(), Claims{Subject: fmt.Sprintf("user-%d", i), ID: fmt.Sprintf("seed-%d", i)})
		if err != nil {
			f.Fatal(err)
		}
		issued[raw] = true
		f.Add(raw)
		h, p, s := splitToken(raw)
		f.Add(h + "." + p + "." + s + "=")
		f.Add(h + "." + p + ".")
		f.Add(h + "." + p)
	}
	for _, seed := range []string{
		"", ".", "..", "...", "a.b.c", "eyJ.eyJ.", rfc7515A1Token,
		unsigned(`{"alg":"none"}`, `{"sub":"a"}`),
		forge(f, key, `{"alg":"HS256","kid":"k1","crit":["x"]}`, `{"sub":"a"}`),
		forge(f, key, hdrK1, `{"sub":"a","exp":"1798000000"}`),
		forge(f, key, hdrK1, `{"aud":[[[[[[[[]]]]]]]],"exp":1798000000}`),
		forge(f, key, hdrK1, "{\"sub\":\"\\ud800\",\"exp\":1798000000}"),
	} {
		f.Add(seed)
	}
	for raw := range issued {
		trackToken(raw)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		before := rec.n.Load()
		tok, err := v.Verify(context.Background(), raw)
		if got := rec.n.Load() - before; got != 1 {
			// Calls run one at a time within a fuzz worker.
			t.Fatalf("Verify recorded %d events, want 1", got)
		}
		if err == nil {
			if tok == nil {
				t.Fatal("nil token without an error")
			}
			if !issued[raw] {
				t.Fatalf("accepted a token it did not issue: %q", raw)
			}
		} else if tok != nil {
			t.Fatal("token returned with an error")
		}
	})
}
