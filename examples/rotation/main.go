// Command rotation shows keys rotated without downtime: an issuer serves
// its JWKS over TLS on 127.0.0.1, a verifier follows it, and the signing
// key is rotated several times while tokens are issued and verified. The
// audit trail, a chained log of JSON lines, goes to rotation.log and holds
// issue, verify, key_rotate and jwks_fetch events.
//
//	go run ./examples/rotation
//	go run ./cmd/jwtaudit summary rotation.log
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
)

func main() {
	logPath := flag.String("log", "rotation.log", "file the chained audit trail is appended to")
	rotations := flag.Int("rotations", 4, "how many times to rotate the signing key")
	flag.Parse()
	if *rotations < 2 {
		fmt.Fprintln(os.Stderr, "rotation: -rotations must be at least 2, for the first key to be gone by the end")
		os.Exit(2)
	}
	if err := run(os.Stdout, *logPath, *rotations); err != nil {
		fmt.Fprintln(os.Stderr, "rotation:", err)
		os.Exit(1)
	}
}

// newKey makes a fresh ES256 key; its kid is its RFC 7638 thumbprint.
func newKey() (*jwtaudit.Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return jwtaudit.NewKey("", jwtaudit.ES256, priv)
}

func run(out io.Writer, logPath string, rotations int) error {
	ctx := context.Background()
	store, err := auditlog.Open(logPath, auditlog.Options{})
	if err != nil {
		return err
	}
	defer store.Close()

	// The issuer's side: a key set, published as a JWKS.
	first, err := newKey()
	if err != nil {
		return err
	}
	keys, err := jwtaudit.NewKeySet(first, jwtaudit.WithAudit(store))
	if err != nil {
		return err
	}
	server := httptest.NewTLSServer(keys.JWKSHandler(time.Second))
	defer server.Close()
	issuer, err := jwtaudit.NewIssuer(jwtaudit.WithKeySet(keys), jwtaudit.WithIssuer("https://auth.example"), jwtaudit.WithAudit(store))
	if err != nil {
		return err
	}

	// The verifier's side: it knows only the JWKS URL.
	remote, err := jwtaudit.NewRemoteKeySet(ctx, server.URL+"/.well-known/jwks.json", jwtaudit.RemoteKeySetOptions{
		HTTPClient:       server.Client(), // trusts the test server's certificate
		MinRefresh:       time.Second,
		RefreshRateLimit: 100 * time.Millisecond,
	}, jwtaudit.WithAudit(store))
	if err != nil {
		return err
	}
	defer remote.Close()
	verifier, err := jwtaudit.NewVerifier(jwtaudit.WithKeySource(remote), jwtaudit.WithIssuer("https://auth.example"), jwtaudit.WithAudit(store))
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "JWKS served at %s; first key %s\n", server.URL, short(first.ID()))
	var oldest string // a token of the first key, checked after that key is gone
	for round := 1; round <= rotations; round++ {
		next, err := newKey()
		if err != nil {
			return err
		}
		// Publish before signing: the verifier learns the key on its first
		// token (an unknown kid refreshes the JWKS, rate limited).
		if err := keys.Publish(ctx, next); err != nil {
			return err
		}
		time.Sleep(120 * time.Millisecond) // past the refresh rate limit
		if err := keys.Rotate(ctx, 300*time.Millisecond); err != nil {
			return err
		}
		verified := 0
		for i := range 5 {
			raw, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: fmt.Sprintf("user-%d", i)})
			if err != nil {
				return err
			}
			if oldest == "" {
				oldest = raw
			}
			if _, err := verifier.Verify(ctx, raw); err != nil {
				return fmt.Errorf("round %d: a fresh token was refused: %w", round, err)
			}
			verified++
		}
		fmt.Fprintf(out, "round %d: rotated to %s, %d tokens issued and verified; keys %s\n", round, short(next.ID()), verified, describe(keys))
		time.Sleep(350 * time.Millisecond) // the retiring key's time passes
	}

	_, err = verifier.Verify(ctx, oldest)
	switch {
	case errors.Is(err, jwtaudit.ErrUnknownKey):
		fmt.Fprintln(out, "a token of the first key, long retired, is refused: unknown key")
	default:
		return fmt.Errorf("a token of a retired key: %v", err)
	}

	// Let the verifier see the final JWKS, then close the trail and count.
	_ = remote.Refresh(ctx)
	if err := store.Close(); err != nil {
		return err
	}
	counts, err := countOps(logPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "audit trail in %s: %s\n", logPath, counts)
	fmt.Fprintf(out, "check it: go run ./cmd/jwtaudit verify %s\n", logPath)
	return nil
}

// describe lists a key set as short kid:status pairs.
func describe(ks *jwtaudit.KeySet) string {
	var parts []string
	for _, k := range ks.Keys() {
		parts = append(parts, short(k.ID)+":"+k.Status.String())
	}
	return fmt.Sprint(parts)
}

func short(kid string) string { return kid[:8] }

// countOps counts the records of a log by operation.
func countOps(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec struct {
			Op string `json:"op"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return "", err
		}
		counts[rec.Op]++
	}
	var ops []string
	for op := range counts {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	s := ""
	for _, op := range ops {
		s += fmt.Sprintf("%s=%d ", op, counts[op])
	}
	return s, sc.Err()
}
