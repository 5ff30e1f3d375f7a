package jwtaudit

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testNow is the fixed time of the tests: every token is issued and
// verified at this instant unless a test says otherwise.
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// testSecret is a 64-byte HMAC secret, long enough for HS512.
var testSecret = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")

// loadPrivate reads a PKCS#8 private key from testdata.
func loadPrivate(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	key, err := readPrivate(name)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func readPrivate(name string) (crypto.Signer, error) {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", name)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return key.(crypto.Signer), nil
}

// testEd25519 is an Ed25519 key from a fixed seed.
var testEd25519 = ed25519.NewKeyFromSeed([]byte("jwtaudit test seed, 32 bytes ok!"))

// materialFor returns the private material of the test key for alg.
func materialFor(tb testing.TB, alg Algorithm) any {
	tb.Helper()
	switch alg {
	case HS256, HS384, HS512:
		return testSecret
	case RS256, RS384, RS512, PS256, PS384, PS512:
		return loadPrivate(tb, "rsa2048.pem")
	case ES256:
		return loadPrivate(tb, "p256.pem")
	case ES384:
		return loadPrivate(tb, "p384.pem")
	case ES512:
		return loadPrivate(tb, "p521.pem")
	case EdDSA:
		return testEd25519
	}
	tb.Fatalf("no test material for %s", alg)
	return nil
}

// mustKey builds a key or fails the test.
func mustKey(tb testing.TB, kid string, alg Algorithm, material any) *Key {
	tb.Helper()
	k, err := NewKey(kid, alg, material)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// captureSink is an AuditSink that keeps every event, for assertions.
type captureSink struct {
	mu     sync.Mutex
	events []Event
	err    error // returned by Record when set
	panics bool  // Record panics after keeping the event
}

func (r *captureSink) Record(_ context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	noteEvent(e)
	if r.panics {
		panic("sink bug")
	}
	return r.err
}

// take returns the events recorded so far and forgets them.
func (r *captureSink) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// only returns the single event recorded since the last take, failing the
// test if there is not exactly one.
func (r *captureSink) only(tb testing.TB) Event {
	tb.Helper()
	ev := r.take()
	if len(ev) != 1 {
		tb.Fatalf("recorded %d events, want exactly 1: %+v", len(ev), ev)
	}
	return ev[0]
}

// pair builds an issuer and a verifier from the same shared options, plus
// side-specific ones.
func pair(tb testing.TB, shared []Option, iopts []IssuerOption, vopts []VerifierOption) (*Issuer, *Verifier) {
	tb.Helper()
	both := Options(shared...)
	is, err := NewIssuer(append([]IssuerOption{both}, iopts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := NewVerifier(append([]VerifierOption{both}, vopts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return is, v
}

// forge builds a compact token with any header and payload, signed by key
// over exactly those bytes: the way to test what the issuer never produces.
func forge(tb testing.TB, key *Key, header, payload string) string {
	tb.Helper()
	return signSegments(tb, key, b64.EncodeToString([]byte(header)), b64.EncodeToString([]byte(payload)))
}

// signSegments signs two already encoded segments as they are, however
// they are encoded.
func signSegments(tb testing.TB, key *Key, header, payload string) string {
	tb.Helper()
	input := header + "." + payload
	sig, err := key.sign([]byte(input))
	if err != nil {
		tb.Fatal(err)
	}
	raw := input + "." + b64.EncodeToString(sig)
	trackToken(raw)
	return raw
}

// countingSink counts events, for tests that make too many to keep.
type countingSink struct{ n atomic.Int64 }

func (c *countingSink) Record(context.Context, Event) error {
	c.n.Add(1)
	return nil
}

func ed25519FromSeed(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }
