package otelmetrics

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/allocs"
	"github.com/jwtaudit/jwtaudit/internal/tokentest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func newTestSink(t testing.TB) (*Sink, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	s, err := NewSink(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	return s, reader
}

// collected is what a reader collected: each counter's points by their
// attributes ("op=verify,outcome=success,…"), and the histogram's counts.
type collected struct {
	sums       map[string]map[string]int64
	histograms map[string]map[string]uint64
}

func collect(t *testing.T, reader *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	c := collected{sums: map[string]map[string]int64{}, histograms: map[string]map[string]uint64{}}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				c.sums[m.Name] = map[string]int64{}
				for _, p := range data.DataPoints {
					c.sums[m.Name][key(t, p.Attributes)] += p.Value
				}
			case metricdata.Histogram[float64]:
				c.histograms[m.Name] = map[string]uint64{}
				for _, p := range data.DataPoints {
					c.histograms[m.Name][key(t, p.Attributes)] += p.Count
				}
			}
		}
	}
	return c
}

// key writes a point's attributes as "k=v,…" in order, and checks that
// they are only the bounded ones the package documents.
func key(t *testing.T, set attribute.Set) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		if !slices.Contains([]string{"op", "outcome", "reason", "cached", "state", "cause"}, string(kv.Key)) {
			t.Errorf("attribute %q: only op, outcome, reason, cached, state and cause may label a point", kv.Key)
		}
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(parts, ",")
}

func TestSinkCountsEveryKindOfEvent(t *testing.T) {
	ctx := context.Background()
	s, reader := newTestSink(t)
	key := func(kid string, seed byte) *jwtaudit.Key {
		k, err := jwtaudit.NewKey(kid, jwtaudit.EdDSA, ed25519.NewKeyFromSeed(append(make([]byte, 31), seed)))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ks, err := jwtaudit.NewKeySet(key("k1", 1), jwtaudit.WithAudit(s))
	if err != nil {
		t.Fatal(err)
	}
	shared := jwtaudit.Options(jwtaudit.WithKeySet(ks), jwtaudit.WithAudit(s))
	is, _ := jwtaudit.NewIssuer(shared)
	store := jwtaudit.NewMemoryRevocations(jwtaudit.MemoryStoreOptions{})
	v, err := jwtaudit.NewVerifier(shared, jwtaudit.WithVerifiedCache(10, 1<<20), jwtaudit.WithRevocation(store, jwtaudit.RevocationPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	revoker, _ := jwtaudit.NewRevoker(store, jwtaudit.RevokerOptions{}, jwtaudit.WithAudit(s))

	raw, _ := is.Issue(ctx, jwtaudit.Claims{Subject: "alice"})
	is.Issue(ctx, jwtaudit.Claims{})              // refused: no subject
	tok, _ := v.Verify(ctx, raw)                  // verified in full
	v.Verify(ctx, raw)                            // from the cache
	v.Verify(ctx, tokentest.TamperSignature(raw)) // a bad signature
	ks.Publish(ctx, key("k2", 2))                 // key change
	ks.Rotate(ctx, time.Hour)                     // key change
	revoker.RevokeToken(ctx, tok)                 // revocation
	v.Verify(ctx, raw)                            // revoked, from the cache
	s.Record(ctx, jwtaudit.Event{Op: jwtaudit.OpJWKSFetch, Outcome: jwtaudit.OutcomeError, Reason: jwtaudit.ReasonKeyFetch})
	s.Record(ctx, jwtaudit.Event{Op: jwtaudit.OpAuditDropped, Outcome: jwtaudit.OutcomeError, Attrs: []slog.Attr{slog.Uint64("dropped", 7)}})
	states, _ := jwtaudit.NewStoreEvents("redisrevoke", jwtaudit.WithAudit(s))
	states.Record(ctx, jwtaudit.StoreChange{State: jwtaudit.StoreStale, Cause: jwtaudit.StoreSilentLink, Detail: "nothing heard"})
	states.Record(ctx, jwtaudit.StoreChange{State: jwtaudit.StoreIncomplete, Cause: jwtaudit.StoreFull, Detail: "full"})
	states.Record(ctx, jwtaudit.StoreChange{State: jwtaudit.StoreCurrent})
	states.Record(ctx, jwtaudit.StoreChange{State: jwtaudit.StoreStale, Cause: jwtaudit.StoreSilentLink, Detail: "again"})

	got := collect(t, reader)
	want := map[string]map[string]int64{
		"jwtaudit.tokens": {
			"op=issue,outcome=success":                                 1,
			"op=issue,outcome=rejected,reason=invalid_claims":          1,
			"cached=false,op=verify,outcome=success":                   1,
			"cached=true,op=verify,outcome=success":                    1,
			"cached=false,op=verify,outcome=rejected,reason=signature": 1,
			"cached=true,op=verify,outcome=rejected,reason=revoked":    1,
		},
		"jwtaudit.key_changes":   {"op=key_rotate,outcome=success": 2},
		"jwtaudit.revocations":   {"op=revoke,outcome=success": 1},
		"jwtaudit.jwks_fetches":  {"op=jwks_fetch,outcome=error,reason=key_fetch": 1},
		"jwtaudit.audit_dropped": {"": 7},
		"jwtaudit.store_states": {
			"cause=silent_link,state=stale": 2,
			"cause=full,state=incomplete":   1,
			"cause=none,state=current":      1,
		},
	}
	for name, points := range want {
		for attrs, n := range points {
			if got.sums[name][attrs] != n {
				t.Errorf("%s{%s} = %d, want %d (all: %v)", name, attrs, got.sums[name][attrs], n, got.sums[name])
			}
		}
		if len(got.sums[name]) != len(points) {
			t.Errorf("%s has points %v, want %v", name, got.sums[name], points)
		}
	}
	durations := got.histograms["jwtaudit.duration"]
	if durations["op=issue,outcome=success"] != 1 || durations["op=verify,outcome=success"] != 2 || durations["op=verify,outcome=rejected"] != 2 {
		t.Errorf("duration counts %v", durations)
	}
}

// TestSinkRecordAllocatesNothing holds Record to no allocation per event,
// on the SDK's own instruments.
func TestSinkRecordAllocatesNothing(t *testing.T) {
	allocs.SkipIfUncountable(t)
	s, _ := newTestSink(t)
	ctx := context.Background()
	events := []jwtaudit.Event{
		{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess, Duration: 3 * time.Microsecond, Subject: "alice"},
		{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess, Cached: true, Duration: 600 * time.Nanosecond},
		{Op: jwtaudit.OpIssue, Outcome: jwtaudit.OutcomeRejected, Reason: jwtaudit.ReasonInvalidClaims},
		{Op: jwtaudit.OpRevoke, Outcome: jwtaudit.OutcomeSuccess},
		{Op: jwtaudit.OpStoreState, Outcome: jwtaudit.OutcomeError, Attrs: []slog.Attr{slog.String("state", "stale"), slog.String("cause", "silent_link")}},
		{Op: 200, Outcome: 99, Reason: 250}, // values this version does not know
	}
	for _, e := range events {
		s.Record(ctx, e) // the SDK makes each series on its first point
		if n := testing.AllocsPerRun(1000, func() { s.Record(ctx, e) }); n != 0 {
			t.Errorf("Record(%s %s) allocates %.1f times", e.Op, e.Outcome, n)
		}
	}
}

func TestNewSinkRefusesNil(t *testing.T) {
	if _, err := NewSink(nil); err == nil {
		t.Error("NewSink(nil) succeeded")
	}
}

func BenchmarkRecord(b *testing.B) {
	s, _ := newTestSink(b)
	ctx := context.Background()
	e := jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess, Duration: 3 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		s.Record(ctx, e)
	}
}
