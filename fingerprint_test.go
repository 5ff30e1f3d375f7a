package jwtaudit

import (
	"context"
	"crypto/elliptic"
	"math/big"
	"testing"
)

// highS returns the other valid spelling of an ECDSA token: (r, n−s).
func highS(tb testing.TB, raw string, curve elliptic.Curve) string {
	tb.Helper()
	h, p, s := splitToken(raw)
	sig, err := b64.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	size := len(sig) / 2
	n := curve.Params().N
	other := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[size:]))
	other.FillBytes(sig[size:])
	out := h + "." + p + "." + b64.EncodeToString(sig)
	trackToken(out)
	return out
}

// TestEverySpellingHasOneFingerprint checks that the two valid spellings
// of an ECDSA token, (r, s) and (r, n−s), both verify and carry the
// fingerprint of the token's issue event.
func TestEverySpellingHasOneFingerprint(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		alg   Algorithm
		curve elliptic.Curve
	}{{ES256, elliptic.P256()}, {ES384, elliptic.P384()}, {ES512, elliptic.P521()}} {
		t.Run(string(tc.alg), func(t *testing.T) {
			rec := &captureSink{}
			key := mustKey(t, "ec", tc.alg, materialFor(t, tc.alg))
			is, v := pair(t, []Option{WithKeys(key), WithAudit(rec), WithClock(fixedClock(testNow))}, nil, nil)
			for range 4 { // both s halves come up among a few signatures
				raw, err := is.Issue(ctx, Claims{Subject: "a"})
				if err != nil {
					t.Fatal(err)
				}
				trackToken(raw)
				issued := rec.only(t).Fingerprint
				other := highS(t, raw, tc.curve)
				if other == raw {
					t.Fatal("the other spelling is the same token")
				}
				for _, spelling := range []string{raw, other} {
					tok, err := v.Verify(ctx, spelling)
					if err != nil {
						t.Fatalf("a valid spelling was refused: %v", err)
					}
					if e := rec.only(t); e.Fingerprint != issued || tok.Fingerprint != issued || FingerprintOf(spelling) != issued {
						t.Errorf("fingerprints differ: issued %s, verify event %s, token %s, FingerprintOf %s",
							issued, e.Fingerprint, tok.Fingerprint, FingerprintOf(spelling))
					}
				}
			}
		})
	}
}
