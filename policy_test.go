package jwtaudit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestFailOpenAndFailClosed(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	good, _ := NewIssuer(WithKeys(key), WithClock(fixedClock(testNow)))
	valid, _ := good.Issue(context.Background(), Claims{Subject: "a"})
	trackToken(valid)
	broken := &captureSink{err: errors.New("disk full")}

	var reported []error
	failOpen := WithAuditFailOpen(func(_ context.Context, e Event, err error) {
		if e.Op == 0 {
			t.Errorf("report got an empty event")
		}
		reported = append(reported, err)
	})
	for _, tc := range []struct {
		name       string
		opts       []Option
		issueErr   error
		verifyErr  error
		reportsLen int
	}{
		{name: "fail closed by default", issueErr: ErrAudit, verifyErr: ErrAudit},
		{name: "fail open", opts: []Option{failOpen}, reportsLen: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reported = nil
			shared := append([]Option{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(broken)}, tc.opts...)
			is, v := pair(t, shared, nil, nil)
			raw, err := is.Issue(context.Background(), Claims{Subject: "a"})
			noteError(err)
			if !errors.Is(err, tc.issueErr) || (tc.issueErr == nil) != (raw != "") {
				t.Errorf("Issue issued %v, err %v; want error %v", raw != "", err, tc.issueErr)
			}
			trackToken(raw)
			tok, err := v.Verify(context.Background(), valid)
			noteError(err)
			if !errors.Is(err, tc.verifyErr) || (tc.verifyErr == nil) != (tok != nil) {
				t.Errorf("Verify = %v, %v; want error %v", tok, err, tc.verifyErr)
			}
			if len(reported) != tc.reportsLen {
				t.Errorf("%d failures reported, want %d", len(reported), tc.reportsLen)
			}
			broken.take()
		})
	}
}

func TestAuditClaims(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	rec := &captureSink{}
	is, v := pair(t, []Option{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(rec), WithAuditClaims("tenant", "roles", "absent")},
		nil, []VerifierOption{WithRequiredClaims("tenant")})
	raw, err := is.Issue(context.Background(), Claims{Subject: "a", Private: map[string]any{
		"tenant": "acme", "roles": []string{"admin", "ops"}, "secret_note": "not for the log",
	}})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	for _, e := range rec.take() {
		var got []string
		for _, a := range e.Claims {
			got = append(got, a.Key+"="+a.Value.String())
		}
		if want := `tenant=acme roles=["admin","ops"]`; strings.Join(got, " ") != want {
			t.Errorf("%s event claims %q, want %q", e.Op, strings.Join(got, " "), want)
		}
	}
	if _, err := NewIssuer(WithKeys(key), WithAuditClaims("sub")); err == nil {
		t.Errorf("WithAuditClaims accepted a registered claim")
	}
}

func TestRedaction(t *testing.T) {
	salt := bytes.Repeat([]byte("s"), 32)
	r, err := NewRedactor(salt)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	sink := NewSlogSink(slog.NewJSONHandler(&buf, nil))
	key := mustKey(t, "k1", HS256, testSecret)
	is, v := pair(t, []Option{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(sink), WithRedaction(r), WithAuditClaims("email")},
		nil, []VerifierOption{WithSubject("someone-else")})
	raw, err := is.Issue(context.Background(), Claims{Subject: "alice@example.com", ID: "session-alice", Private: map[string]any{"email": "alice@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	_, err = v.Verify(context.Background(), raw) // refused: ErrSubject, whose message must not leak either
	if !errors.Is(err, ErrSubject) {
		t.Fatalf("err = %v", err)
	}
	out := buf.String()
	for _, clear := range []string{"alice", "session-alice"} {
		if strings.Contains(out, clear) {
			t.Errorf("%q written in clear:\n%s", clear, out)
		}
	}
	for _, hashed := range []string{r.Hash("alice@example.com"), r.Hash("session-alice")} {
		if n := strings.Count(out, hashed); n < 2 {
			t.Errorf("hash %s found %d times, want it in both events", hashed, n)
		}
	}
	if _, err := NewRedactor(salt[:31]); err == nil {
		t.Errorf("a 31-byte salt was accepted")
	}
	other, _ := NewRedactor(bytes.Repeat([]byte("t"), 32))
	if h := r.Hash("x"); h == other.Hash("x") || !strings.HasPrefix(h, "hmac-sha256:") || len(h) != len("hmac-sha256:")+64 {
		t.Errorf("Hash(x) = %q", h)
	}
}
