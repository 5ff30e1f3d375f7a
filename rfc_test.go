package jwtaudit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The example of RFC 7515 Appendix A.1: an HS256 JWS whose header has no
// "kid" and contains "\r\n", with exp 1300819380 (2011-03-22T18:43:00Z).
const (
	rfc7515A1Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfc7515A1Key = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
)

func TestRFC7515AppendixA1(t *testing.T) {
	key := mustKey(t, "rfc7515", HS256, mustB64(t, rfc7515A1Key))
	exp := time.Unix(1300819380, 0)
	for _, tc := range []struct {
		name   string
		clock  func() time.Time
		reason Reason
	}{
		{"before exp", fixedClock(exp.Add(-time.Minute)), ReasonNone},
		{"at exp", fixedClock(exp), ReasonExpired},
		{"real clock", time.Now, ReasonExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &captureSink{}
			v, err := NewVerifier(WithKeys(key), WithClock(tc.clock), WithAudit(rec))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := v.Verify(context.Background(), rfc7515A1Token)
			noteError(err)
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("ReasonOf(%v) = %s, want %s", err, got, tc.reason)
			}
			ev := rec.only(t)
			if ev.Issuer != "joe" || !ev.ExpiresAt.Equal(exp) || ev.KeyID != "rfc7515" {
				t.Errorf("event = %+v", ev)
			}
			if tc.reason == ReasonExpired {
				if !errors.Is(err, ErrExpired) || tok != nil {
					t.Errorf("err %v, token %v", err, tok)
				}
				return
			}
			var private struct {
				IsRoot bool `json:"http://example.com/is_root"`
			}
			if err := tok.Decode(&private); err != nil || !private.IsRoot {
				t.Errorf("Decode: %+v, %v", private, err)
			}
			if tok.Claims.Issuer != "joe" || tok.Header.Type != "JWT" || tok.Header.Algorithm != HS256 {
				t.Errorf("token = %+v", tok)
			}
		})
	}
}
