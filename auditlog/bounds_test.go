package auditlog

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit"
)

// reopenAndVerify checks that a log still opens and verifies, with n
// records.
func reopenAndVerify(t *testing.T, path string, opts Options, n uint64) {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open after the test: %v", err)
	}
	s.Close()
	rep, err := Verify([]string{path}, VerifyOptions{ChainKey: opts.ChainKey})
	if err != nil || rep.Records != n {
		t.Fatalf("Verify after the test: %d records, %v; want %d", rep.Records, err, n)
	}
}

// TestNoInputMakesAnUnreadableRecord feeds outsized values from every side
// (an issued subject, an unsigned token with a huge claim name and issuer,
// context attributes named like the chain's fields, an event built by hand
// with a huge attribute) and requires a log that reopens and verifies.
func TestNoInputMakesAnUnreadableRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	opts := Options{ChainKey: testChainKey}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, []byte("0123456789abcdef0123456789abcdef"))
	attrs := jwtaudit.WithContextAttrs(func(context.Context) []slog.Attr {
		return []slog.Attr{slog.Int("seq", 1), slog.String("Seq", "x"), slog.String("prev", "y"), slog.String("big", strings.Repeat("b", 3<<20))}
	})
	huge := strings.Repeat("s", 2<<20)
	is, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key), jwtaudit.WithAudit(s), attrs)
	if _, err := is.Issue(ctx, jwtaudit.Claims{Subject: huge}); err != nil {
		t.Fatalf("Issue with a 2 MiB subject: %v", err)
	}
	v, _ := jwtaudit.NewVerifier(jwtaudit.WithTrustedIssuers(jwtaudit.TrustedIssuer{Issuer: "https://a.example", Keys: []*jwtaudit.Key{key}}),
		jwtaudit.WithMaxTokenSize(8<<20), jwtaudit.WithAudit(s), attrs)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	unsigned := enc(`{"alg":"HS256","kid":"k1"}`) + "." + enc(fmt.Sprintf(`{"iss":%q,%q:1}`, huge, strings.Repeat("n", 6000))) + "."
	_, err = v.Verify(ctx, unsigned)
	if !errors.Is(err, jwtaudit.ErrIssuer) {
		t.Fatalf("the unsigned token: %v", err)
	}
	if len(err.Error()) > 2048 {
		t.Errorf("the error is %d bytes", len(err.Error()))
	}
	bad := jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess, Attrs: []slog.Attr{slog.String("big", strings.Repeat("x", 2<<20))}}
	if err := s.Record(ctx, bad); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("an outsized record by hand: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	reopenAndVerify(t, path, opts, 2)
}

func TestChainNames(t *testing.T) {
	for key, want := range map[string]bool{"seq": true, "SEQ": true, "Prev": true, "ſeq": true, "chain": true, "op": true, "Op": true, "operation": false, "sequence": false} {
		if got := chainName(key); got != want {
			t.Errorf("chainName(%q) = %v, want %v", key, got, want)
		}
	}
}
