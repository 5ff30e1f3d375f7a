package jwtaudit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

type requestIDKey struct{}

// TestSlogSinkJSON checks the JSON line each outcome produces, field by field.
func TestSlogSinkJSON(t *testing.T) {
	var buf bytes.Buffer
	sink := NewSlogSink(slog.NewJSONHandler(&buf, nil))
	key := mustKey(t, "k1", HS256, testSecret)
	clock := fixedClock(testNow)
	attrs := WithContextAttrs(func(ctx context.Context) []slog.Attr {
		id, _ := ctx.Value(requestIDKey{}).(string)
		return []slog.Attr{slog.String("request_id", id)}
	})
	is, v := pair(t, []Option{WithKeys(key), WithClock(clock), WithAudit(sink), attrs}, nil, nil)
	ctx := context.WithValue(context.Background(), requestIDKey{}, "req-7")

	raw, err := is.Issue(ctx, Claims{Subject: "user-42", ID: "jti-1"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ctx, tokentest.TamperSignature(raw))
	noteError(err)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	fp := FingerprintOf(raw).String()
	want := []map[string]any{
		{"level": "INFO", "msg": "token issued", "op": "issue", "outcome": "success", "alg": "HS256", "kid": "k1", "sub": "user-42", "jti": "jti-1", "fingerprint": fp, "verified": true, "request_id": "req-7", "exp": "2026-11-27T11:00:00Z", "time": "2026-11-27T10:00:00Z"},
		{"level": "INFO", "msg": "token verified", "op": "verify", "outcome": "success", "sub": "user-42", "fingerprint": fp, "verified": true, "request_id": "req-7"},
		{"level": "WARN", "msg": "token rejected", "op": "verify", "outcome": "rejected", "reason": "signature", "sub": "user-42", "verified": false, "detail": `jwtaudit: invalid signature: signature does not verify with key "k1"`},
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		for k, w := range want[i] {
			if got[k] != w {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[k], w)
			}
		}
		if _, ok := got["duration"]; ok {
			t.Errorf("line %d: a fixed clock measured a duration", i)
		}
	}
	if strings.Contains(lines[2], fp) {
		t.Errorf("the tampered token has the fingerprint of the genuine one")
	}
}

// failingWriter fails every write, like a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func TestSlogSinkWriteErrorFailsClosed(t *testing.T) {
	sink := NewSlogSink(slog.NewJSONHandler(failingWriter{}, nil))
	key := mustKey(t, "k1", HS256, testSecret)
	good, err := NewIssuer(WithKeys(key), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := good.Issue(context.Background(), Claims{Subject: "a"})
	trackToken(raw)

	is, v := pair(t, []Option{WithKeys(key), WithClock(fixedClock(testNow)), WithAudit(sink)}, nil, nil)
	tokStr, err := is.Issue(context.Background(), Claims{Subject: "a"})
	noteError(err)
	if !errors.Is(err, ErrAudit) || tokStr != "" {
		t.Errorf("Issue with a failing log = %q, %v; want no token and ErrAudit", tokStr, err)
	}
	tok, err := v.Verify(context.Background(), raw)
	noteError(err)
	if !errors.Is(err, ErrAudit) || tok != nil {
		t.Errorf("Verify of a valid token with a failing log = %v, %v; want ErrAudit", tok, err)
	}
	if !strings.Contains(err.Error(), "no space left") {
		t.Errorf("the sink's error is not in %q", err)
	}
}

// TestSlogSinkLevels checks each outcome's level, and that a handler set
// above an event's level makes Record fail instead of dropping the event:
// an Issue through a Warn-level handler is refused, not silently
// unrecorded.
func TestSlogSinkLevels(t *testing.T) {
	var buf bytes.Buffer
	sink := NewSlogSink(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, tc := range []struct {
		outcome Outcome
		level   slog.Level
		written bool
	}{
		{OutcomeSuccess, slog.LevelInfo, false},
		{OutcomeRejected, slog.LevelWarn, true},
		{OutcomeError, slog.LevelError, true},
	} {
		buf.Reset()
		e := Event{Time: testNow, Op: OpVerify, Outcome: tc.outcome}
		if e.Level() != tc.level {
			t.Errorf("%s: level %s, want %s", tc.outcome, e.Level(), tc.level)
		}
		err := sink.Record(context.Background(), e)
		if got := buf.Len() > 0; got != tc.written || (err == nil) != tc.written {
			t.Errorf("%s at level Warn: written %v, err %v; want written %v and an error otherwise", tc.outcome, got, err, tc.written)
		}
	}
	key := mustKey(t, "k1", HS256, testSecret)
	is, err := NewIssuer(WithKeys(key), WithAudit(sink))
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := is.Issue(context.Background(), Claims{Subject: "a"}); !errors.Is(err, ErrAudit) || raw != "" {
		t.Errorf("Issue through a Warn-level handler = %q, %v; want ErrAudit", raw, err)
	}
}

func TestSinkFuncAndDiscard(t *testing.T) {
	var got []Op
	sink := SinkFunc(func(_ context.Context, e Event) error {
		got = append(got, e.Op)
		return nil
	})
	key := mustKey(t, "k1", HS256, testSecret)
	is, v := pair(t, []Option{WithKeys(key), WithAudit(sink)}, nil, nil)
	raw, _ := is.Issue(context.Background(), Claims{Subject: "a"})
	trackToken(raw)
	_, _ = v.Verify(context.Background(), raw)
	if len(got) != 2 || got[0] != OpIssue || got[1] != OpVerify {
		t.Errorf("SinkFunc saw %v", got)
	}
	if err := DiscardSink.Record(context.Background(), Event{}); err != nil {
		t.Errorf("DiscardSink failed: %v", err)
	}
}

// TestOneEventPerCallConcurrently issues and verifies from many goroutines,
// valid and invalid tokens mixed, and counts events against calls.
func TestOneEventPerCallConcurrently(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	sink := NewSlogSink(slog.NewJSONHandler(syncWriter{&mu, &buf}, nil))
	key := mustKey(t, "k1", ES256, loadPrivate(t, "p256.pem"))
	is, v := pair(t, []Option{WithKeys(key), WithAudit(sink)}, nil, nil)

	const goroutines, calls = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				raw, err := is.Issue(context.Background(), Claims{Subject: "user"})
				if err != nil {
					t.Error(err)
					return
				}
				if (g+i)%3 == 0 {
					raw = tokentest.TamperSignature(raw)
				}
				_, _ = v.Verify(context.Background(), raw)
			}
		})
	}
	wg.Wait()
	lines := strings.Count(buf.String(), "\n")
	if want := goroutines * calls * 2; lines != want {
		t.Errorf("%d events for %d calls", lines, want)
	}
	if rejected := strings.Count(buf.String(), `"outcome":"rejected"`); rejected == 0 {
		t.Errorf("no rejection recorded")
	}
}

type syncWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestUnverifiedClaimsAreClipped(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	rec := &captureSink{}
	v, err := NewVerifier(WithKeys(key), WithAudit(rec), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 2000)
	other := mustKey(t, "k1", HS256, bytes.Repeat([]byte("y"), 32))
	raw := forge(t, other, hdrK1, `{"sub":"`+long+`","aud":["`+long+`"],"exp":1798000000}`)
	_, err = v.Verify(context.Background(), raw)
	noteError(err)
	ev := rec.only(t)
	if !errors.Is(err, ErrSignature) || ev.Verified {
		t.Fatalf("err %v, verified %v", err, ev.Verified)
	}
	if len(ev.Subject) > maxUnverifiedLen+len("…") || !strings.HasPrefix(ev.Subject, "xxx") {
		t.Errorf("subject of %d bytes in the event", len(ev.Subject))
	}
	if len(ev.Audience) != 1 || len(ev.Audience[0]) > maxUnverifiedLen+len("…") {
		t.Errorf("audience not clipped: %d values", len(ev.Audience))
	}
}

func TestEventStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{OpIssue.String(), "issue"}, {OpVerify.String(), "verify"}, {Op(0).String(), "unknown"},
		{OutcomeSuccess.String(), "success"}, {OutcomeRejected.String(), "rejected"}, {OutcomeError.String(), "error"},
		{Event{Op: OpIssue, Outcome: OutcomeError}.Message(), "issue failed"},
		{Event{Op: OpVerify, Outcome: OutcomeError}.Message(), "verify failed"},
		{Event{Op: OpIssue, Outcome: OutcomeRejected}.Message(), "issue refused"},
		{Reason(200).String(), "reason(200)"},
		{Fingerprint{}.String(), "AAAAAAAAAAAAAAAAAAAAAA"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	b, _ := json.Marshal(struct {
		R Reason
		F Fingerprint
	}{ReasonNotYetValid, FingerprintOf("x")})
	if want := `{"R":"not_yet_valid","F":"` + FingerprintOf("x").String() + `"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	if d := (Event{Duration: time.Millisecond}).LogValue().Group(); d[len(d)-1].Key != "verified" {
		t.Errorf("verified is not the last field before the caller's: %v", d)
	}
}

// TestSlogMultiHandlerFailsLikeAllSinks documents the standard library's
// way to write to several handlers under the all-must-succeed policy: a
// failing handler makes Record fail.
func TestSlogMultiHandlerFailsLikeAllSinks(t *testing.T) {
	var buf bytes.Buffer
	sink := NewSlogSink(slog.NewMultiHandler(slog.NewJSONHandler(&buf, nil), slog.NewJSONHandler(failingWriter{}, nil)))
	err := sink.Record(context.Background(), Event{Op: OpVerify, Outcome: OutcomeSuccess})
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("Record = %v, want the failing handler's error", err)
	}
	if buf.Len() == 0 {
		t.Errorf("the working handler got nothing")
	}
}
