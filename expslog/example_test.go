package expslog_test

import (
	"context"
	"os"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/expslog"
	"golang.org/x/exp/slog"
)

// Send the audit trail to a golang.org/x/exp/slog handler.
func ExampleNewSink() {
	handler := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // a fixed output for the example
			}
			return a
		},
	})
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, []byte("example secret: at least 32 bytes for HS256"))
	issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithAudit(expslog.NewSink(handler)),
		jwtaudit.WithClock(func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }))
	_, _ = issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42", ID: "session-1"})
	// Output:
	// {"level":"INFO","msg":"token issued","op":"issue","outcome":"success","alg":"HS256","kid":"2026-11","sub":"42","jti":"session-1","exp":"2026-11-27T11:00:00Z","fingerprint":"4HDzn2c4htiCNHFkz8PVVQ","verified":true}
}
