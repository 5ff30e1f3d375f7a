package redisrevoke

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/redistest"
)

// BenchmarkVerifyWithRedisRevocation shows that the Redis-backed check
// costs Verify no round trip: HS256 Verify with no revocation check, with
// the in-memory store, and with the Redis store holding 10,000 revocations.
func BenchmarkVerifyWithRedisRevocation(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	is, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	raw, _ := is.Issue(ctx, jwtaudit.Claims{Subject: "a"})
	store, err := New(ctx, srv.Client(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	for i := range 10_000 {
		if err := store.Revoke(ctx, jwtaudit.Revocation{ID: "r" + strconv.Itoa(i), Until: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		store jwtaudit.RevocationStore
	}{{"none", nil}, {"memory", jwtaudit.NewMemoryRevocations(jwtaudit.MemoryStoreOptions{})}, {"redis", store}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := []jwtaudit.VerifierOption{jwtaudit.WithKeys(key)}
			if tc.store != nil {
				opts = append(opts, jwtaudit.WithRevocation(tc.store, jwtaudit.RevocationPolicy{}))
			}
			v, _ := jwtaudit.NewVerifier(opts...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
