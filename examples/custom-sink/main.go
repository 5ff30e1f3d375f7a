// Command custom-sink shows how to extend jwtaudit's audit trail with a sink
// of your own: a counter of outcomes per reason, the kind of thing a
// service exports as metrics, recorded beside the chained file sink.
//
//	go run ./examples/custom-sink     # trail appended to ./custom-sink.log
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
)

// reasonCounter is an AuditSink that counts events by operation, outcome
// and reason. Record is called from every goroutine that issues or
// verifies, so it locks.
type reasonCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *reasonCounter) Record(_ context.Context, e jwtaudit.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[fmt.Sprintf("%-6s %-8s %s", e.Op, e.Outcome, e.Reason)]++
	return nil
}

// print writes the counts, sorted.
func (c *reasonCounter) print(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-36s %d\n", k, c.counts[k])
	}
}

func main() {
	logPath := flag.String("log", "custom-sink.log", "file the chained audit trail is appended to")
	flag.Parse()
	if err := run(os.Stdout, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "custom-sink:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, logPath string) error {
	store, err := auditlog.Open(logPath, auditlog.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	counter := &reasonCounter{counts: map[string]int{}}

	// Both sinks must record each event: the counter can never show a
	// decision the trail does not have.
	audit := jwtaudit.NewFanOutSink(jwtaudit.AllSinks, store, counter)

	secret := []byte("custom-sink example secret, 32+ bytes long")
	key, err := jwtaudit.NewKey("example", jwtaudit.HS256, secret)
	if err != nil {
		return err
	}
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(audit), jwtaudit.WithIssuer("https://auth.example"))
	issuer, err := jwtaudit.NewIssuer(shared)
	if err != nil {
		return err
	}
	verifier, err := jwtaudit.NewVerifier(shared, jwtaudit.WithAudience("api"))
	if err != nil {
		return err
	}

	ctx := context.Background()
	now := time.Now()
	for i := range 20 {
		claims := jwtaudit.Claims{Subject: fmt.Sprintf("user-%d", i%4), Audience: []string{"api"}}
		switch i % 5 {
		case 3: // a token for another service
			claims.Audience = []string{"billing"}
		case 4: // a token that has expired
			claims.IssuedAt, claims.ExpiresAt = now.Add(-2*time.Hour), now.Add(-time.Hour)
		}
		raw, err := issuer.Issue(ctx, claims)
		if err != nil {
			return err
		}
		if i%5 == 2 { // tampered in transit
			raw = tamper(raw)
		}
		_, _ = verifier.Verify(ctx, raw)
	}

	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "audit trail appended to %s; the counting sink saw:\n", logPath)
	counter.print(out)
	return nil
}

// tamper changes one character of a token's signature, as an attacker
// would: never to the same character, and not the last one, whose low bits
// base64 may leave unused.
func tamper(raw string) string {
	i := len(raw) - 5
	c := "A"
	if raw[i] == 'A' {
		c = "B"
	}
	return raw[:i] + c + raw[i+1:]
}
