package auditlog_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
)

// Keep the audit trail in a chained, rotating file; verify it; notice an
// edit.
func Example() {
	dir, _ := os.MkdirTemp("", "auditlog-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "token.log")

	store, err := auditlog.Open(path, auditlog.Options{
		MaxSize:  1 << 20, // rotate at 1 MiB
		ChainKey: []byte("a chain key, kept away from the log"),
	})
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	key, _ := jwtaudit.NewKey("2026-11", jwtaudit.HS256, []byte("example secret: at least 32 bytes for HS256"))
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(store),
		jwtaudit.WithClock(func() time.Time { return now }))
	issuer, _ := jwtaudit.NewIssuer(shared)
	verifier, _ := jwtaudit.NewVerifier(shared)
	for _, user := range []string{"ada", "grace", "edsger"} {
		raw, _ := issuer.Issue(context.Background(), jwtaudit.Claims{Subject: user})
		_, _ = verifier.Verify(context.Background(), raw)
	}
	head := store.Head() // keep it elsewhere: it reveals a log cut short
	store.Close()

	rep, err := auditlog.Verify([]string{path}, auditlog.VerifyOptions{ChainKey: []byte("a chain key, kept away from the log"), Head: &head})
	fmt.Println("records:", rep.Records, "error:", err)

	// Someone rewrites who got the second token.
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `"sub":"grace"`, `"sub":"mallory"`, 1)), 0o600)
	_, err = auditlog.Verify([]string{path}, auditlog.VerifyOptions{ChainKey: []byte("a chain key, kept away from the log"), Head: &head})
	var chainErr *auditlog.ChainError
	if errors.As(err, &chainErr) {
		fmt.Printf("line %d: %s\n", chainErr.Line, chainErr.Problem[:strings.Index(chainErr.Problem, ":")])
	}
	// Output:
	// records: 6 error: <nil>
	// line 3: record 3 was edited
}
