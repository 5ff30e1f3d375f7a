package jwtaudit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/jwtaudit/jwtaudit"
)

// exampleHandler writes JSON lines without the time, so that the output
// is the same on every run.
func exampleHandler() slog.Handler {
	return slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
}

// Record the subject and the token id as salted hashes, and a private
// claim named for the trail; `jwtaudit hash` computes the same hash to
// search the trail.
func ExampleWithRedaction() {
	redactor, _ := jwtaudit.NewRedactor([]byte("a salt of 32 bytes or more, kept secret"))
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock),
		jwtaudit.WithAudit(jwtaudit.NewSlogSink(exampleHandler())),
		jwtaudit.WithRedaction(redactor), jwtaudit.WithAuditClaims("email"))

	_, _ = issuer.Issue(context.Background(), jwtaudit.Claims{
		Subject: "42", ID: "session-1",
		Private: map[string]any{"email": "ada@example.com", "role": "admin"},
	})
	fmt.Println(redactor.Hash("42"))
	// Output:
	// {"level":"INFO","msg":"token issued","op":"issue","outcome":"success","alg":"HS256","kid":"2026-11","sub":"hmac-sha256:80af84d8e130d70799cc326cfe429586c5f6163c6979ede675a0dda4ac2d0978","jti":"hmac-sha256:00306eeb2b71ae73c37098ccaa3ab83ff0370b6cd85a558f9435800c608ee0c9","exp":"2026-11-27T11:00:00Z","fingerprint":"Ukp5UeZaREu1yIyPD-uWEg","verified":true,"claims":{"email":"hmac-sha256:74e16d42bdf8cee44923a80ecc22dc33a13c33a98f4c329ada8d4abe947efaf1"}}
	// hmac-sha256:80af84d8e130d70799cc326cfe429586c5f6163c6979ede675a0dda4ac2d0978
}

// Keep serving when the audit trail fails, and raise the alarm instead.
// Without WithAuditFailOpen the same failure refuses the token.
func ExampleWithAuditFailOpen() {
	broken := jwtaudit.SinkFunc(func(context.Context, jwtaudit.Event) error { return errors.New("disk full") })
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)

	closed, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithAudit(broken))
	_, err := closed.Issue(context.Background(), jwtaudit.Claims{Subject: "42"})
	fmt.Println("fail closed:", jwtaudit.ReasonOf(err))

	open, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithAudit(broken),
		jwtaudit.WithAuditFailOpen(func(_ context.Context, e jwtaudit.Event, err error) {
			fmt.Println("ALARM:", e.Op, "not recorded:", err)
		}))
	raw, err := open.Issue(context.Background(), jwtaudit.Claims{Subject: "42"})
	fmt.Println("fail open: token issued:", raw != "", err)
	// Output:
	// fail closed: audit
	// ALARM: issue not recorded: disk full
	// fail open: token issued: true <nil>
}

// Take audit writes off the request's path; Close drains the queue.
func ExampleNewAsyncSink() {
	async := jwtaudit.NewAsyncSink(jwtaudit.NewSlogSink(exampleHandler()), jwtaudit.AsyncOptions{QueueSize: 1024})
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
	issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithClock(exampleClock), jwtaudit.WithAudit(async))
	_, _ = issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42", ID: "session-1"})

	if err := async.Close(context.Background()); err != nil { // at shutdown
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", async.Stats())
	// Output:
	// {"level":"INFO","msg":"token issued","op":"issue","outcome":"success","alg":"HS256","kid":"2026-11","sub":"42","jti":"session-1","exp":"2026-11-27T11:00:00Z","fingerprint":"4HDzn2c4htiCNHFkz8PVVQ","verified":true}
	// {Enqueued:1 Written:1 Dropped:0 Failed:0 Pending:0}
}

// Record to two sinks; with AnySink one success is enough, as with Vault's
// audit devices.
func ExampleNewFanOutSink() {
	down := jwtaudit.SinkFunc(func(context.Context, jwtaudit.Event) error { return errors.New("collector unreachable") })
	up := jwtaudit.SinkFunc(func(_ context.Context, e jwtaudit.Event) error {
		fmt.Println("recorded:", e.Message())
		return nil
	})
	for _, policy := range []jwtaudit.FanOutPolicy{jwtaudit.AllSinks, jwtaudit.AnySink} {
		key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, exampleSecret)
		issuer, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithAudit(jwtaudit.NewFanOutSink(policy, down, up)))
		_, err := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: "42"})
		fmt.Println("refused:", errors.Is(err, jwtaudit.ErrAudit))
	}
	// Output:
	// recorded: token issued
	// refused: true
	// recorded: token issued
	// refused: false
}
