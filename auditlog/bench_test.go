package auditlog

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"golang.org/x/mod/sumdb/note"
)

// BenchmarkVerifyWithSink measures what recording the event adds to an
// HS256 Verify, sink by sink: compare each line with "discard".
func BenchmarkVerifyWithSink(b *testing.B) {
	for _, tc := range []struct {
		name string
		sink func(b *testing.B) jwtaudit.AuditSink
	}{
		{"discard", func(*testing.B) jwtaudit.AuditSink { return jwtaudit.DiscardSink }},
		{"slogJSON", func(*testing.B) jwtaudit.AuditSink {
			return jwtaudit.NewSlogSink(slog.NewJSONHandler(io.Discard, nil))
		}},
		{"file", func(b *testing.B) jwtaudit.AuditSink { return benchSink(b, SyncNever) }},
		{"async-file", func(b *testing.B) jwtaudit.AuditSink {
			a := jwtaudit.NewAsyncSink(benchSink(b, SyncNever), jwtaudit.AsyncOptions{})
			b.Cleanup(func() { a.Close(context.Background()) })
			return a
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, []byte("0123456789abcdef0123456789abcdef"))
			shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(tc.sink(b)))
			is, _ := jwtaudit.NewIssuer(shared)
			v, _ := jwtaudit.NewVerifier(shared)
			raw, err := is.Issue(context.Background(), jwtaudit.Claims{Subject: "user-42"})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoreRecord measures the file sink's sustained rate under each
// durability setting, in events per second, from one goroutine.
func BenchmarkStoreRecord(b *testing.B) { benchmarkStore(b, 0) }

// BenchmarkStoreRecordParallel measures it with eight goroutines recording
// at once, as the handlers of a busy service do: concurrent records share
// write calls.
func BenchmarkStoreRecordParallel(b *testing.B) { benchmarkStore(b, 8) }

// BenchmarkStoreRecordCheckpointed measures the cost of signed
// checkpoints: one writer, SyncNever, with none and with one (an Ed25519
// signature, after a drain) every 1000 records.
func BenchmarkStoreRecordCheckpointed(b *testing.B) {
	skey, _, err := note.GenerateKey(rand.Reader, "bench")
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	for _, tc := range []struct {
		name string
		cp   *Checkpoints
	}{
		{"none", nil},
		{"every-1000", &Checkpoints{Signer: signer, Origin: "bench", Every: 1000}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "bench.log"), Options{Durability: SyncNever, ChainKey: testChainKey, Checkpoints: tc.cp})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			e, ctx := benchEvent(), context.Background()
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := s.Record(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// benchmarkStore records from one goroutine (writers 0) or from writers
// at once, under each durability setting.
func benchmarkStore(b *testing.B, writers int) {
	for _, tc := range []struct {
		name string
		d    Durability
	}{
		{"never", SyncNever},
		{"interval", SyncInterval},
		{"every-record", SyncEveryRecord},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := benchSink(b, tc.d)
			e := benchEvent()
			ctx := context.Background()
			b.ReportAllocs()
			start := time.Now()
			if writers == 0 {
				for b.Loop() {
					if err := s.Record(ctx, e); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				procs := runtime.GOMAXPROCS(0)
				b.SetParallelism((writers + procs - 1) / procs)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := s.Record(ctx, e); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// benchEvent is a typical verify event, as a store records it.
func benchEvent() jwtaudit.Event {
	e := event(1)
	e.Fingerprint = jwtaudit.FingerprintOf("token")
	e.ID, e.ExpiresAt, e.Duration = "JTI4C2PV3RZ7NE5LQ2JX3FW6A4", e.Time.Add(time.Hour), 2500
	return e
}

func benchSink(b *testing.B, d Durability) *Sink {
	s, err := Open(filepath.Join(b.TempDir(), "bench.log"), Options{Durability: d, ChainKey: testChainKey})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
