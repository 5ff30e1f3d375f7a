package redisrevoke

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/faultproxy"
	"github.com/jwtaudit/jwtaudit/internal/redistest"
	"github.com/redis/go-redis/v9"
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
	store, err := New(ctx, redisClient(b, srv), Options{})
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

// BenchmarkReload measures what a reconnect costs an instance: the first
// load of a set of revocations by New, through a proxy that adds 1 ms of
// round trip, as between machines; the revocations expire over an hour
// (revoked at all times) or in one minute (a mass revocation). It reports the seconds one load takes
// and the heap the copy holds per revocation. The default StaleAfter, 5
// seconds, is the budget: an instance is stale until its load ends.
//
//	go test -run '^$' -bench Reload -benchtime 3x ./redisrevoke
func BenchmarkReload(b *testing.B) {
	for _, tc := range []struct {
		name   string
		n      int
		spread time.Duration
	}{{"100000-over-an-hour", 100_000, time.Hour}, {"1000000-over-an-hour", 1_000_000, time.Hour}, {"1000000-in-one-minute", 1_000_000, 0}} {
		n := tc.n
		b.Run(tc.name, func(b *testing.B) {
			srv := redistest.Start(b)
			fill(b, redisClient(b, srv), n, tc.spread)
			proxy, err := faultproxy.Start(srv.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer proxy.Close()
			proxy.SetLatency(500 * time.Microsecond)
			client := redis.NewClient(&redis.Options{Addr: proxy.Addr()})
			defer client.Close()
			ctx := context.Background()
			var heap uint64
			b.ReportAllocs()
			for b.Loop() {
				before := heapInUse()
				s, err := New(ctx, client, Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if s.Len() != n {
					b.Fatalf("loaded %d of %d", s.Len(), n)
				}
				heap = heapInUse() - before
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
			b.ReportMetric(float64(heap)/float64(n), "B/revocation")
		})
	}
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
