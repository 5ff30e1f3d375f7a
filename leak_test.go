package jwtaudit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// transcript collects everything the package writes during the test suite:
// every audit event, rendered by a slog JSON handler, and every error
// message the tests see. TestMain scans it at the end for tokens, secrets
// and private keys, none of which may ever appear.
var transcript = struct {
	sync.Mutex
	buf    bytes.Buffer
	tokens []string
}{}

var transcriptLog = slog.New(slog.NewJSONHandler(&lockedWriter{}, nil))

type lockedWriter struct{}

func (lockedWriter) Write(p []byte) (int, error) {
	transcript.Lock()
	defer transcript.Unlock()
	return transcript.buf.Write(p)
}

// noteEvent writes an event to the transcript as the slog sink would.
func noteEvent(e Event) {
	_ = NewSlogSink(transcriptLog.Handler()).Record(context.Background(), e)
}

// noteError writes an error message to the transcript.
func noteError(err error) {
	if err != nil {
		fmt.Fprintln(lockedWriter{}, err.Error())
	}
}

// trackToken registers a token that must never show up in the transcript.
func trackToken(raw string) {
	transcript.Lock()
	defer transcript.Unlock()
	transcript.tokens = append(transcript.tokens, raw)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && !fuzzWorker() {
		transcript.Lock()
		text, tokens := transcript.buf.String(), transcript.tokens
		transcript.Unlock()
		if text == "" && filtered() {
			os.Exit(code) // a filtered run may write nothing, and there is nothing to scan
		}
		if leaks := scanForLeaks(text, tokens); len(leaks) > 0 {
			for _, l := range leaks {
				fmt.Fprintln(os.Stderr, "LEAK:", l)
			}
			code = 1
		}
	}
	os.Exit(code)
}

// fuzzWorker reports whether this process is a worker of go test -fuzz,
// which runs the target for as long as the search lasts: its transcript
// would grow with every input, and scanning it when the worker is told to
// stop could outlast the time the coordinator gives it. The seed corpus,
// run as ordinary tests, is scanned.
func fuzzWorker() bool {
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
}

// filtered reports whether the run was narrowed with -run, -skip or -fuzz.
func filtered() bool {
	for _, name := range []string{"test.run", "test.skip", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}

// compactShape matches two dot-joined base64url runs: a token or a token's
// signing input, whatever its origin.
var compactShape = regexp.MustCompile(`[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`)

// scanForLeaks returns a description of each token, token part or secret
// found in text.
func scanForLeaks(text string, tokens []string) []string {
	if len(text) == 0 {
		return []string{"the transcript is empty: the scan would prove nothing"}
	}
	var leaks []string
	check := func(what, needle string) {
		if len(needle) >= 8 && strings.Contains(text, needle) {
			leaks = append(leaks, what)
		}
	}
	for _, raw := range tokens {
		check("a token", raw)
		for i, seg := range strings.Split(raw, ".") {
			if len(seg) >= 16 {
				check(fmt.Sprintf("segment %d of a token", i), seg)
			}
		}
	}
	if m := compactShape.FindString(text); m != "" {
		leaks = append(leaks, "something shaped like a token: "+m[:16]+"…")
	}
	for what, secret := range secretMaterial() {
		check(what+" (raw)", string(secret))
		check(what+" (hex)", hex.EncodeToString(secret))
		check(what+" (base64url)", base64.RawURLEncoding.EncodeToString(secret))
		check(what+" (base64)", base64.StdEncoding.EncodeToString(secret))
	}
	return leaks
}

// secretMaterial returns every secret the tests use: the HMAC secret, and
// the private parts of the test keys in the encodings a leak would take.
func secretMaterial() map[string][]byte {
	out := map[string][]byte{
		"HMAC secret":  testSecret,
		"Ed25519 seed": testEd25519.Seed(),
	}
	for _, name := range []string{"rsa2048.pem", "rsa2048-other.pem", "p256.pem", "p384.pem", "p521.pem"} {
		key, err := readPrivate(name)
		if err != nil {
			panic(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		out[name+" DER"] = der[len(der)/2 : len(der)/2+32]
		switch k := key.(type) {
		case *rsa.PrivateKey:
			out[name+" D"] = k.D.Bytes()
			out[name+" D decimal"] = []byte(k.D.String())
			out[name+" prime"] = k.Primes[0].Bytes()
		case *ecdsa.PrivateKey:
			d, _ := k.Bytes()
			out[name+" D"] = d
		}
	}
	return out
}

// TestScanForLeaks proves that the suite-wide scan would catch a leak.
func TestScanForLeaks(t *testing.T) {
	key := mustKey(t, "k1", HS256, testSecret)
	raw := forge(t, key, hdrK1, `{"sub":"a"}`)
	parts := strings.Split(raw, ".")
	rsaKey := loadPrivate(t, "rsa2048.pem").(*rsa.PrivateKey)
	for _, tc := range []struct {
		name string
		text string
		leak bool
	}{
		{"clean", `{"msg":"token rejected","reason":"signature","kid":"k1"}`, false},
		{"whole token", "bad token " + raw, true},
		{"signature segment", "sig=" + parts[2], true},
		{"signing input", "input=" + parts[0] + "." + parts[1], true},
		{"secret", "secret=" + string(testSecret), true},
		{"secret in hex", hex.EncodeToString(testSecret), true},
		{"RSA private exponent", rsaKey.D.String(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(scanForLeaks(tc.text, []string{raw})) > 0; got != tc.leak {
				t.Errorf("leak found = %v, want %v", got, tc.leak)
			}
		})
	}
}
