package expslog

import (
	"bytes"
	"context"
	"errors"
	stdslog "log/slog"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"golang.org/x/exp/slog"
)

// TestSameOutputAsTheStandardLibrary writes the same events through the
// standard library's JSON handler and through x/exp/slog's: the lines must
// be identical.
func TestSameOutputAsTheStandardLibrary(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	events := []jwtaudit.Event{
		{Time: now, Op: jwtaudit.OpIssue, Outcome: jwtaudit.OutcomeSuccess, Algorithm: jwtaudit.ES256, KeyID: "k1",
			Issuer: "https://auth.example", Subject: "42", Audience: []string{"api", "admin"}, ID: "jti-1",
			ExpiresAt: now.Add(time.Hour), Fingerprint: jwtaudit.FingerprintOf("token"), Duration: 1500 * time.Nanosecond, Verified: true,
			Claims: []stdslog.Attr{stdslog.String("tenant", "acme")},
			Attrs:  []stdslog.Attr{stdslog.Int("attempt", 2), stdslog.Float64("score", 0.5), stdslog.Group("client", stdslog.String("ip", "127.0.0.1"))}},
		{Time: now, Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeRejected, Reason: jwtaudit.ReasonExpired, Detail: "jwtaudit: token expired"},
		{Time: now, Op: jwtaudit.OpAuditDropped, Outcome: jwtaudit.OutcomeError, Reason: jwtaudit.ReasonAudit, Attrs: []stdslog.Attr{stdslog.Uint64("dropped", 7)}},
	}
	var std, exp bytes.Buffer
	stdSink := jwtaudit.NewSlogSink(stdslog.NewJSONHandler(&std, nil))
	expSink := NewSink(slog.NewJSONHandler(&exp, nil))
	for _, e := range events {
		if err := stdSink.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if err := expSink.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if std.String() != exp.String() {
		t.Errorf("outputs differ:\nlog/slog:\n%s\nx/exp/slog:\n%s", std.String(), exp.String())
	}
	if std.Len() == 0 {
		t.Error("nothing written")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorIsReturned(t *testing.T) {
	sink := NewSink(slog.NewJSONHandler(failingWriter{}, nil))
	err := sink.Record(context.Background(), jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess})
	if err == nil {
		t.Fatal("a failed write was not reported")
	}
	quiet := NewSink(slog.NewJSONHandler(failingWriter{}, &slog.HandlerOptions{Level: slog.LevelError}))
	if err := quiet.Record(context.Background(), jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess}); err == nil {
		t.Error("an event below the handler's level was dropped without an error")
	}
}
