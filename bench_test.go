package jwtaudit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/tokentest"
)

// benchAlgorithms are the algorithms the hot-path benchmarks cover.
var benchAlgorithms = []Algorithm{HS256, ES256, EdDSA, RS256}

// benchSinks are the audit set-ups, all to io.Discard: JSON lines written
// directly, the same lines through slog's JSON handler, and none, to show
// what auditing costs.
func benchSinks() []struct {
	name string
	sink AuditSink
} {
	return []struct {
		name string
		sink AuditSink
	}{
		{"json", NewJSONSink(io.Discard)},
		{"slogJSON", NewSlogSink(slog.NewJSONHandler(io.Discard, nil))},
		{"discard", DiscardSink},
	}
}

func benchPair(b *testing.B, alg Algorithm, sink AuditSink, vopts ...VerifierOption) (*Issuer, *Verifier) {
	key := mustKey(b, "bench-key", alg, materialFor(b, alg))
	return pair(b, []Option{WithKeys(key), WithAudit(sink), WithIssuer("https://auth.example"), WithAudience("api")}, nil, vopts)
}

var benchClaims = Claims{Subject: "user-42", Private: nil}

func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	for _, alg := range benchAlgorithms {
		for _, s := range benchSinks() {
			b.Run(string(alg)+"/"+s.name, func(b *testing.B) {
				is, _ := benchPair(b, alg, s.sink)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := is.Issue(ctx, benchClaims); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkVerify(b *testing.B) { benchmarkVerify(b) }

// BenchmarkVerifyCached verifies one token again and again through the
// verified-token cache.
func BenchmarkVerifyCached(b *testing.B) { benchmarkVerify(b, WithVerifiedCache(1000, 1<<20)) }

func benchmarkVerify(b *testing.B, vopts ...VerifierOption) {
	ctx := context.Background()
	for _, alg := range benchAlgorithms {
		for _, s := range benchSinks() {
			b.Run(string(alg)+"/"+s.name, func(b *testing.B) {
				is, v := benchPair(b, alg, s.sink, vopts...)
				raw, err := is.Issue(ctx, benchClaims)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(ctx, raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerifyRejected measures the cost of refusing a forged token,
// which an attacker controls the rate of.
func BenchmarkVerifyRejected(b *testing.B) {
	ctx := context.Background()
	is, v := benchPair(b, HS256, NewSlogSink(slog.NewJSONHandler(io.Discard, nil)))
	raw, err := is.Issue(ctx, benchClaims)
	if err != nil {
		b.Fatal(err)
	}
	forged := tokentest.TamperSignature(raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, forged); err == nil {
			b.Fatal("forged token accepted")
		}
	}
}

// BenchmarkSinkRecord measures one audit Record of a typical verify
// event, as a JSON line written directly and through slog's JSON handler.
func BenchmarkSinkRecord(b *testing.B) {
	e := Event{Time: testNow, Op: OpVerify, Outcome: OutcomeSuccess, Algorithm: HS256, KeyID: "k1",
		Issuer: "https://auth.example", Subject: "user-42", Audience: []string{"api"}, ID: "JTI", ExpiresAt: testNow,
		Fingerprint: FingerprintOf("x"), Duration: 1500, Verified: true}
	ctx := context.Background()
	for _, bs := range benchSinks()[:2] {
		b.Run(bs.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bs.sink.Record(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// keySources returns one EdDSA key and the three places a verifier can
// take it from: fixed, a KeySet, and a RemoteKeySet following the set's
// JWKS over TLS on 127.0.0.1.
func keySources(b *testing.B) (*Key, *KeySet, *RemoteKeySet) {
	key := mustKey(b, "", EdDSA, testEd25519)
	ks, err := NewKeySet(key)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewTLSServer(ks.JWKSHandler(time.Hour))
	b.Cleanup(srv.Close)
	remote, err := NewRemoteKeySet(context.Background(), srv.URL, RemoteKeySetOptions{HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { remote.Close() })
	return key, ks, remote
}

// BenchmarkVerifyKeySource compares where the verifier's keys come from:
// after warm-up, a rotating KeySet and a RemoteKeySet following a JWKS
// should cost what fixed keys do.
func BenchmarkVerifyKeySource(b *testing.B) {
	ctx := context.Background()
	key, ks, remote := keySources(b)
	is, _ := NewIssuer(WithKeys(key))
	raw, err := is.Issue(ctx, Claims{Subject: "user-42"})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  VerifierOption
	}{
		{"static", WithKeys(key)},
		{"keyset", WithKeySet(ks)},
		{"remote", WithKeySource(remote)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v, err := NewVerifier(tc.opt)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := v.Verify(ctx, raw); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeyLookup isolates the key lookup of each source.
func BenchmarkKeyLookup(b *testing.B) {
	ctx := context.Background()
	key, ks, remote := keySources(b)
	kid := []byte(key.ID())
	for _, tc := range []struct {
		name string
		f    keyFinder
	}{
		{"static", newStaticKeys([]*Key{key})},
		{"keyset", ks},
		{"remote", remote},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.f.findKey(ctx, kid, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRevocation measures the in-memory revocation check on the
// request's path: Verify HS256 without a store, with an empty one, and with
// a store of 100,000 revoked tokens.
func BenchmarkVerifyRevocation(b *testing.B) {
	ctx := context.Background()
	key := mustKey(b, "bench-key", HS256, testSecret)
	is, err := NewIssuer(WithKeys(key))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := is.Issue(ctx, benchClaims)
	if err != nil {
		b.Fatal(err)
	}
	full := NewMemoryRevocations(MemoryStoreOptions{})
	for i := range 100_000 {
		if err := full.Revoke(ctx, Revocation{ID: fmt.Sprintf("revoked-%d", i), Until: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		opts []VerifierOption
	}{
		{"none", nil},
		{"memory-empty", []VerifierOption{WithRevocation(NewMemoryRevocations(MemoryStoreOptions{}), RevocationPolicy{})}},
		{"memory-100k", []VerifierOption{WithRevocation(full, RevocationPolicy{})}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v, err := NewVerifier(append([]VerifierOption{WithKeys(key)}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRevocationMemory measures the heap one token revocation takes
// in a MemoryRevocations (the store of one instance, and each instance's
// copy of a shared store): a million revocations of one issuer, with
// 26-character ids as Issue makes them and 10,000 subjects, added one by
// one, and loaded with SizeHint as a reloading copy is. It reports bytes
// per revocation after a collection, live and in the heap's spans; the
// time is not the point.
//
//	go test -run '^$' -bench RevocationMemory -benchtime 1x .
func BenchmarkRevocationMemory(b *testing.B) {
	const n = 1_000_000
	for _, tc := range []struct {
		name string
		hint int
	}{{"one-by-one", 0}, {"size-hint", n}} {
		b.Run(tc.name, func(b *testing.B) {
			var live, inUse float64
			for b.Loop() {
				before := heapNow()
				m := NewMemoryRevocations(MemoryStoreOptions{SizeHint: tc.hint})
				until := time.Now().Add(time.Hour)
				for i := range n {
					r := Revocation{Issuer: "https://auth.example.com", ID: newTokenID(), Subject: "user-" + strconv.Itoa(i%10_000), Until: until}
					if err := m.Revoke(context.Background(), r); err != nil {
						b.Fatal(err)
					}
				}
				after := heapNow()
				live, inUse = float64(after.HeapAlloc-before.HeapAlloc)/n, float64(after.HeapInuse-before.HeapInuse)/n
				runtime.KeepAlive(m)
			}
			b.ReportMetric(live, "live-B/revocation")
			b.ReportMetric(inUse, "heap-B/revocation")
		})
	}
}

// heapNow reads the heap's statistics after a collection: HeapAlloc is
// what is live, HeapInuse the spans that hold it, gaps included.
func heapNow() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
