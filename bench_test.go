package jwtaudit

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// benchAlgorithms are the algorithms the hot-path benchmarks cover.
var benchAlgorithms = []Algorithm{HS256, ES256, EdDSA, RS256}

// benchSinks are the audit set-ups: the production one (JSON lines through
// slog, here to io.Discard) and none, to show what auditing costs.
func benchSinks() []struct {
	name string
	sink AuditSink
} {
	return []struct {
		name string
		sink AuditSink
	}{
		{"slogJSON", NewSlogSink(slog.NewJSONHandler(io.Discard, nil))},
		{"discard", DiscardAudit},
	}
}

func benchPair(b *testing.B, alg Algorithm, sink AuditSink) (*Issuer, *Verifier) {
	key := mustKey(b, "bench-key", alg, materialFor(b, alg))
	return pair(b, []Option{WithKeys(key), WithAudit(sink), WithIssuer("https://auth.example"), WithAudience("api")}, nil, nil)
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

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range benchAlgorithms {
		for _, s := range benchSinks() {
			b.Run(string(alg)+"/"+s.name, func(b *testing.B) {
				is, v := benchPair(b, alg, s.sink)
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
	forged := tamper(raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, forged); err == nil {
			b.Fatal("forged token accepted")
		}
	}
}

// BenchmarkSlogSinkRecord measures one audit Record through the slog JSON
// handler.
func BenchmarkSlogSinkRecord(b *testing.B) {
	sink := NewSlogSink(slog.NewJSONHandler(io.Discard, nil))
	e := Event{Time: testNow, Op: OpVerify, Outcome: OutcomeSuccess, Algorithm: HS256, KeyID: "k1",
		Issuer: "https://auth.example", Subject: "user-42", Audience: []string{"api"}, ID: "JTI", ExpiresAt: testNow,
		Fingerprint: FingerprintOf("x"), Duration: 1500, Verified: true}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := sink.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}
