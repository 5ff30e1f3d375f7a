// Package fleettest writes the audit logs of a small, varied fleet, for
// the tests of the jwtaudit command and of its report in a browser.
package fleettest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

// Write writes the logs of two instances over three hours:
// tokens issued and verified, rejections of several reasons (one claiming
// an HTML subject), key rotations, a failed JWKS fetch, a revocation, a
// replay and tokens verified again from a verified-token cache. It returns
// the files.
func Write(t testing.TB) []string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	var tick atomic.Int64
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return base.Add(time.Duration(tick.Add(1)) * 20 * time.Second) }
	for n, instance := range []string{"api-1", "api-2"} {
		store, err := auditlog.Open(filepath.Join(dir, instance+".log"), auditlog.Options{Instance: instance, MaxSize: 16 << 10})
		if err != nil {
			t.Fatal(err)
		}
		key := func(kid string, seed byte) *jwtaudit.Key {
			k, _ := jwtaudit.NewKey(kid, jwtaudit.EdDSA, ed25519.NewKeyFromSeed(append(make([]byte, 31), seed)))
			return k
		}
		ks, _ := jwtaudit.NewKeySet(key("k1", 1), jwtaudit.WithAudit(store), jwtaudit.WithClock(clock))
		revocations := jwtaudit.NewMemoryRevocations(jwtaudit.MemoryStoreOptions{Clock: clock})
		shared := jwtaudit.Options(jwtaudit.WithKeySet(ks), jwtaudit.WithIssuer("https://auth.example"), jwtaudit.WithAudit(store), jwtaudit.WithClock(clock))
		is, _ := jwtaudit.NewIssuer(shared)
		v, _ := jwtaudit.NewVerifier(shared, jwtaudit.WithRevocation(revocations, jwtaudit.RevocationPolicy{}))
		cached, _ := jwtaudit.NewVerifier(shared, jwtaudit.WithVerifiedCache(64, 1<<20))
		once, _ := jwtaudit.NewVerifier(shared, jwtaudit.WithReplayGuard(jwtaudit.NewMemoryReplay(jwtaudit.MemoryStoreOptions{Clock: clock})))
		revoker, _ := jwtaudit.NewRevoker(revocations, jwtaudit.RevokerOptions{}, jwtaudit.WithAudit(store), jwtaudit.WithClock(clock))
		forger, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key("k1", 9)), jwtaudit.WithIssuer("https://evil.example"))
		for i := range 120 + 40*n {
			raw, err := is.Issue(ctx, jwtaudit.Claims{Subject: fmt.Sprintf("user-%d", i%7)})
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := v.Verify(ctx, raw)
			switch i % 10 {
			case 1:
				v.Verify(ctx, tokentest.TamperSignature(raw))
			case 2:
				bad, _ := forger.Issue(ctx, jwtaudit.Claims{Subject: "<script>alert(1)</script>"})
				v.Verify(ctx, bad)
			case 3:
				once.Verify(ctx, raw)
				once.Verify(ctx, raw) // replayed
			case 4:
				revoker.RevokeToken(ctx, tok)
				v.Verify(ctx, raw) // revoked
			case 5, 6:
				cached.Verify(ctx, raw)
				cached.Verify(ctx, raw) // from the cache
			}
			if i%50 == 49 {
				ks.Publish(ctx, key(fmt.Sprintf("k%d", i), byte(i)))
				ks.Rotate(ctx, time.Hour)
				store.Record(ctx, jwtaudit.Event{Time: clock(), Op: jwtaudit.OpJWKSFetch, Outcome: jwtaudit.OutcomeError,
					Reason: jwtaudit.ReasonKeyFetch, Detail: "fetching https://idp.example/jwks.json: timeout"})
			}
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.log*"))
	return files
}
