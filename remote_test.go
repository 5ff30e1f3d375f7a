package jwtaudit

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/leaktest"
)

// jwksServer serves a KeySet's JWKS over TLS on 127.0.0.1, counts the
// requests, and can be told to misbehave.
type jwksServer struct {
	*httptest.Server
	ks       *KeySet
	requests atomic.Int64
	mode     atomic.Value // "", "500", "garbage", "huge", "hang", or a JSON body to serve
	release  chan struct{}
}

func newJWKSServer(t *testing.T, ks *KeySet) *jwksServer {
	s := &jwksServer{ks: ks, release: make(chan struct{})}
	s.mode.Store("")
	good := ks.JWKSHandler(time.Minute)
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		switch mode := s.mode.Load().(string); mode {
		case "":
			good.ServeHTTP(w, r)
		case "500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "garbage":
			w.Write([]byte("<html>not a key set</html>"))
		case "huge":
			w.Write([]byte(`{"keys":[` + strings.Repeat(" ", 10<<20) + `]}`))
		case "hang":
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
		default:
			w.Write([]byte(mode))
		}
	}))
	t.Cleanup(func() {
		close(s.release)
		s.Close()
	})
	return s
}

// remoteFixture is an issuer whose keys a JWKS server publishes, and a
// verifier that follows that server.
type remoteFixture struct {
	ks       *KeySet
	srv      *jwksServer
	remote   *RemoteKeySet
	issuer   *Issuer
	verifier *Verifier
	rec      *captureSink
}

func newRemoteFixture(t *testing.T, opts RemoteKeySetOptions) *remoteFixture {
	t.Helper()
	f := &remoteFixture{rec: &captureSink{}}
	var err error
	f.ks, err = NewKeySet(mustKey(t, "", ES256, loadPrivate(t, "p256.pem")))
	if err != nil {
		t.Fatal(err)
	}
	f.srv = newJWKSServer(t, f.ks)
	opts.HTTPClient = f.srv.Client()
	f.remote, err = NewRemoteKeySet(context.Background(), f.srv.URL+"/jwks.json", opts, WithAudit(f.rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.remote.Close() })
	f.issuer, _ = NewIssuer(WithKeySet(f.ks))
	f.verifier, err = NewVerifier(WithKeySource(f.remote))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *remoteFixture) issue(t *testing.T) string {
	t.Helper()
	raw, err := f.issuer.Issue(context.Background(), Claims{Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	return raw
}

func (f *remoteFixture) fetchEvents() []Event {
	var out []Event
	for _, e := range f.rec.take() {
		if e.Op == OpJWKSFetch {
			out = append(out, e)
		}
	}
	return out
}

// fetchServed serves body as the JWKS, refreshes, and returns the
// attributes of the one fetch event, as text.
func (f *remoteFixture) fetchServed(t *testing.T, body string) string {
	t.Helper()
	f.srv.mode.Store(body)
	f.rec.take()
	if err := f.remote.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := f.fetchEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	return fmt.Sprint(evs[0].Attrs)
}

func TestRemoteKeySetVerifiesEveryKeyType(t *testing.T) {
	// Registered first, so it runs last: after the server and the key set
	// are closed.
	t.Cleanup(func() { leaktest.VerifyNone(t) })
	f := newRemoteFixture(t, RemoteKeySetOptions{})
	ctx := context.Background()
	signers := []*Key{
		mustKey(t, "rsa", RS256, loadPrivate(t, "rsa2048.pem")),
		mustKey(t, "pss", PS512, loadPrivate(t, "rsa2048-other.pem")),
		mustKey(t, "p384", ES384, loadPrivate(t, "p384.pem")),
		mustKey(t, "p521", ES512, loadPrivate(t, "p521.pem")),
		mustKey(t, "ed", EdDSA, testEd25519),
	}
	for _, k := range signers {
		if err := f.ks.Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.remote.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier.Verify(ctx, f.issue(t)); err != nil {
		t.Errorf("token of the active ES256 key: %v", err)
	}
	for _, k := range signers {
		is, _ := NewIssuer(WithKeys(k))
		raw, _ := is.Issue(ctx, Claims{Subject: "a"})
		trackToken(raw)
		if _, err := f.verifier.Verify(ctx, raw); err != nil {
			t.Errorf("%s token through the remote JWKS: %v", k.Algorithm(), err)
		}
	}
	evs := f.fetchEvents()
	if len(evs) != 2 || evs[1].Outcome != OutcomeSuccess || !strings.Contains(fmt.Sprint(evs[1].Attrs), "added=[ed p384 p521 pss rsa]") {
		t.Errorf("fetch events = %+v", evs)
	}
	f.remote.Close()
}

func TestRemoteKeySetUnknownKidStorm(t *testing.T) {
	// The interval is long next to a storm, even under -race on a busy
	// machine, so that "within one interval" holds for the whole storm.
	const interval = 2 * time.Second
	created := time.Now()
	f := newRemoteFixture(t, RemoteKeySetOptions{RefreshRateLimit: interval})
	ctx := context.Background()
	key := mustKey(t, "attacker-made", HS256, testSecret) // only to sign junk tokens
	storm := func() {
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Go(func() {
				var b [9]byte
				rand.Read(b[:])
				kid := base64.RawURLEncoding.EncodeToString(b[:])
				raw := forge(t, key, `{"alg":"ES256","kid":"`+kid+`"}`, fmt.Sprintf(`{"sub":"%d","exp":1798000000}`, i))
				if _, err := f.verifier.Verify(ctx, raw); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("random kid: %v", err)
				}
			})
		}
		wg.Wait()
	}
	before := f.srv.requests.Load()
	storm() // right after the first fetch: within the rate limit
	if n := f.srv.requests.Load() - before; n != 0 {
		t.Errorf("1000 unknown kids within the rate limit made %d fetches, want 0", n)
	}
	time.Sleep(time.Until(created.Add(interval + 100*time.Millisecond)))
	before = f.srv.requests.Load()
	storm()
	if n := f.srv.requests.Load() - before; n != 1 {
		t.Errorf("1000 unknown kids after the rate limit made %d fetches, want exactly 1", n)
	}
}

func TestRemoteKeySetPicksUpANewKeyOnFirstUse(t *testing.T) {
	const interval = time.Second
	created := time.Now()
	f := newRemoteFixture(t, RemoteKeySetOptions{RefreshRateLimit: interval})
	ctx := context.Background()
	fresh := mustKey(t, "fresh", EdDSA, testEd25519)
	if err := f.ks.Publish(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	is, _ := NewIssuer(WithKeys(fresh))
	raw, _ := is.Issue(ctx, Claims{Subject: "a"})
	trackToken(raw)

	// Within the rate limit of the first fetch, the new kid is unknown and
	// nothing is fetched; after it, the first use fetches it.
	before := f.srv.requests.Load()
	if _, err := f.verifier.Verify(ctx, raw); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("within the rate limit: %v", err)
	}
	time.Sleep(time.Until(created.Add(interval + 100*time.Millisecond)))
	if _, err := f.verifier.Verify(ctx, raw); err != nil {
		t.Errorf("first use after the rate limit: %v", err)
	}
	if n := f.srv.requests.Load() - before; n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// TestRemoteKeySetFailures makes the JWKS server fail in every way: the
// verifier keeps its last good keys, returns within its timeout, and
// records each failure.
func TestRemoteKeySetFailures(t *testing.T) {
	for _, mode := range []string{"500", "garbage", "huge", "hang"} {
		t.Run(mode, func(t *testing.T) {
			f := newRemoteFixture(t, RemoteKeySetOptions{Timeout: 300 * time.Millisecond, RefreshRateLimit: time.Millisecond})
			ctx := context.Background()
			good := f.issue(t)
			f.rec.take()
			f.srv.mode.Store(mode)

			start := time.Now()
			unknown := forge(t, mustKey(t, "x", HS256, testSecret), `{"alg":"ES256","kid":"rotated-in"}`, `{"sub":"a","exp":1798000000}`)
			time.Sleep(2 * time.Millisecond)
			if _, err := f.verifier.Verify(ctx, unknown); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("unknown kid while the server fails: %v", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Verify took %s with a %s server", took, mode)
			}
			if _, err := f.verifier.Verify(ctx, good); err != nil {
				t.Errorf("the last good keys were lost: %v", err)
			}
			evs := f.fetchEvents()
			if len(evs) == 0 {
				t.Fatal("the failed fetch was not recorded")
			}
			e := evs[0]
			if e.Outcome != OutcomeError || e.Reason != ReasonKeyFetch || e.Level() != 8 || !strings.Contains(fmt.Sprint(e.Attrs), "keys_kept=1") {
				t.Errorf("failure event = %+v", e)
			}
			noteError(errors.New(e.Detail))
		})
	}
}

func TestRemoteKeySetSkipsKeysThatDoNotFit(t *testing.T) {
	f := newRemoteFixture(t, RemoteKeySetOptions{})
	ctx := context.Background()
	good, err := publicJWK(mustKey(t, "good", EdDSA, testEd25519))
	if err != nil {
		t.Fatal(err)
	}
	weakN := base64.RawURLEncoding.EncodeToString(loadPrivate(t, "rsa1024.pem").Public().(*rsa.PublicKey).N.Bytes())
	identity := base64.RawURLEncoding.EncodeToString(ed25519Encoding(1, 0))
	for _, tc := range []struct {
		key, want string
	}{
		{`{"kty":"RSA","kid":"weak","n":"` + weakN + `","e":"AQAB"}`, "weak: "},
		{`{"kty":"EC","crv":"secp256k1","kid":"curve","x":"AAAA","y":"AAAA"}`, "curve: "},
		{`{"kty":"oct","kid":"secret","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}`, "secret: a symmetric key"},
		{`{"kty":"OKP","crv":"Ed25519","kid":"enc","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, `enc: use "enc"`},
		{`{"kty":"OKP","crv":"Ed25519","kid":"ops","key_ops":["encrypt"],"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, `ops: key_ops does not allow "verify"`},
		{`{"kty":"OKP","crv":"Ed25519","kid":"odd-alg","alg":"ES256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "odd-alg: "},
		{`{"kty":"OKP","crv":"Ed25519","kid":"unsupported","alg":"RSA-OAEP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, `unsupported: algorithm "RSA-OAEP"`},
		{`{"kty":"OKP","crv":"Ed25519","kid":"identity","x":"` + identity + `"}`, "identity: key \"identity\" (EdDSA): Ed25519 public key has small order"},
		{string(good), "good: a second key"},
	} {
		attrs := f.fetchServed(t, `{"keys":[`+string(good)+`,`+tc.key+`]}`)
		for _, want := range []string{"keys=1", "skipped=1", tc.want} {
			if !strings.Contains(attrs, want) {
				t.Errorf("fetch event lacks %q: %s", want, attrs)
			}
		}
	}
	is, _ := NewIssuer(WithKeys(mustKey(t, "good", EdDSA, testEd25519)))
	raw, _ := is.Issue(ctx, Claims{Subject: "a"})
	trackToken(raw)
	if _, err := f.verifier.Verify(ctx, raw); err != nil {
		t.Errorf("the good key: %v", err)
	}
}

// TestRemoteKeySetNamesChangedKeys serves new material, then a new
// algorithm, under a kid the key set already knows: the fetch event lists
// the kid as changed (neither added nor removed), and a kid served again
// unchanged is listed nowhere.
func TestRemoteKeySetNamesChangedKeys(t *testing.T) {
	f := newRemoteFixture(t, RemoteKeySetOptions{})
	jwkOf := func(kid string, alg Algorithm, material any) string {
		b, err := publicJWK(mustKey(t, kid, alg, material))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	steady := jwkOf("steady", EdDSA, testEd25519)
	for _, tc := range []struct {
		name, served string
		want         []string // in the fetch event's attributes
		unwanted     []string
	}{
		{"first", jwkOf("k", ES256, loadPrivate(t, "p256.pem")), []string{"added=[k steady]"}, []string{"changed="}},
		{"same again", jwkOf("k", ES256, loadPrivate(t, "p256.pem")), nil, []string{"added=", "changed=", "removed="}},
		{"new material", jwkOf("k", ES256, ecdsaFromScalar(t, elliptic.P256(), 7)), []string{"changed=[k]"}, []string{"added=", "removed="}},
		{"new algorithm", jwkOf("k", PS256, loadPrivate(t, "rsa2048.pem")), []string{"changed=[k]"}, []string{"added=", "removed="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs := f.fetchServed(t, `{"keys":[`+tc.served+`,`+steady+`]}`)
			for _, want := range tc.want {
				if !strings.Contains(attrs, want) {
					t.Errorf("the fetch event lacks %q: %s", want, attrs)
				}
			}
			for _, unwanted := range tc.unwanted {
				if strings.Contains(attrs, unwanted) {
					t.Errorf("the fetch event has %q: %s", unwanted, attrs)
				}
			}
		})
	}
}

// TestRemoteKeySetFlood serves 1 MiB of junk keys: only the first 100 are
// examined, and the fetch is recorded as counts and a few reasons, in a
// small event.
func TestRemoteKeySetFlood(t *testing.T) {
	f := newRemoteFixture(t, RemoteKeySetOptions{})
	body := `{"keys":[` + strings.Repeat(`{},`, (1<<20-20)/3) + `{}]}`
	f.srv.mode.Store(body)
	f.rec.take()
	start := time.Now()
	if err := f.remote.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	evs := f.fetchEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	var line bytes.Buffer
	if err := NewSlogSink(slog.NewJSONHandler(&line, nil)).Record(context.Background(), evs[0]); err != nil {
		t.Fatal(err)
	}
	attrs := fmt.Sprint(evs[0].Attrs)
	if !strings.Contains(attrs, fmt.Sprintf("skipped=%d", maxRemoteKeys)) || !strings.Contains(attrs, "not_examined=") {
		t.Errorf("event attributes: %.500s", attrs)
	}
	if line.Len() > 4<<10 {
		t.Errorf("the event is %d bytes", line.Len())
	}
	// The work is bounded by what is examined (the counts above), not
	// measured here: a timed assertion would fail on a loaded machine.
	t.Logf("1 MiB of junk keys: %v, an event of %d bytes", took, line.Len())
}

// TestRemoteKeySetHidesURLSecrets gives the set a URL with a password and
// a query value, and looks for them in everything it writes or returns.
func TestRemoteKeySetHidesURLSecrets(t *testing.T) {
	ks, _ := NewKeySet(mustKey(t, "", EdDSA, testEd25519))
	srv := newJWKSServer(t, ks)
	rec := &captureSink{}
	ctx := context.Background()
	secretURL := strings.Replace(srv.URL, "https://", "https://svc:hunter2pass@", 1) + "/jwks.json?api_key=s3cr3tvalue&v=2"
	remote, err := NewRemoteKeySet(ctx, secretURL, RemoteKeySetOptions{HTTPClient: srv.Client(), RefreshRateLimit: time.Hour}, WithAudit(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	srv.mode.Store("500")
	refreshErr := remote.Refresh(ctx)
	srv.Close() // now the request itself fails, with net/http's error naming the URL
	closedErr := remote.Refresh(ctx)
	var written bytes.Buffer
	sink := NewSlogSink(slog.NewJSONHandler(&written, nil))
	for _, e := range rec.take() {
		_ = sink.Record(ctx, e)
	}
	_, httpErr := NewRemoteKeySet(ctx, strings.Replace(secretURL, "https", "http", 1), RemoteKeySetOptions{})
	for _, text := range []string{written.String(), fmt.Sprint(refreshErr), fmt.Sprint(closedErr), fmt.Sprint(httpErr)} {
		for _, secret := range []string{"hunter2pass", "s3cr3tvalue", "svc:"} {
			if strings.Contains(text, secret) {
				t.Errorf("%q shows %q", text, secret)
			}
		}
	}
	if !strings.Contains(written.String(), "api_key=REDACTED") || !errors.Is(refreshErr, ErrKeyFetch) || !errors.Is(closedErr, ErrKeyFetch) {
		t.Errorf("events %s\nerrors %v / %v", written.String(), refreshErr, closedErr)
	}
}

func TestRemoteKeySetRefusesPlainHTTP(t *testing.T) {
	t.Cleanup(func() { leaktest.VerifyNone(t) })
	ks, _ := NewKeySet(mustKey(t, "", EdDSA, testEd25519))
	srv := httptest.NewServer(ks.JWKSHandler(time.Minute))
	t.Cleanup(srv.Close)
	if _, err := NewRemoteKeySet(context.Background(), srv.URL, RemoteKeySetOptions{}); err == nil || !strings.Contains(err.Error(), "not an https URL") {
		t.Errorf("http URL accepted: %v", err)
	}
	r, err := NewRemoteKeySet(context.Background(), srv.URL, RemoteKeySetOptions{InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LookupKey(context.Background(), ks.Active().ID()); err != nil {
		t.Errorf("with InsecureAllowHTTP: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
}

// TestRemoteKeySetWaitersKeepTheirDeadlines checks that a Verify whose
// unknown kid starts a refresh waits no longer than its own context, even
// while the fetch hangs, and that a closed set refuses unknown kids at
// once.
func TestRemoteKeySetWaitersKeepTheirDeadlines(t *testing.T) {
	f := newRemoteFixture(t, RemoteKeySetOptions{Timeout: 5 * time.Second, RefreshRateLimit: time.Millisecond})
	f.srv.mode.Store("hang")
	other := mustKey(t, "unknown-kid", ES256, loadPrivate(t, "p256.pem"))
	is, _ := NewIssuer(WithKeys(other))
	raw, _ := is.Issue(context.Background(), Claims{Subject: "a"})
	trackToken(raw)
	time.Sleep(5 * time.Millisecond) // past the rate limit
	for i := range 2 {               // the caller that starts the refresh, then one that joins it
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		_, err := f.verifier.Verify(ctx, raw)
		took := time.Since(start)
		cancel()
		if ReasonOf(err) != ReasonUnknownKey || took > 2*time.Second { // the fetch hangs for 5 s
			t.Errorf("caller %d: %v after %v; want unknown_key within its 100 ms deadline", i, err, took)
		}
	}
	if err := f.remote.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := f.verifier.Verify(context.Background(), raw)
	if took := time.Since(start); ReasonOf(err) != ReasonUnknownKey || took > time.Second { // a fetch would take 5 s
		t.Errorf("after Close: %v after %v; want unknown_key at once", err, took)
	}
}
