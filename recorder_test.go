package jwtaudit

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEveryProducerRecordsThroughOneRecorder gives the issuer, the
// verifier, a key set and a remote key set the same audit options, and
// checks that every event of every one of them got what the recorder adds:
// the context attributes, redaction, and the sink's failure policy.
func TestEveryProducerRecordsThroughOneRecorder(t *testing.T) {
	ctx := context.WithValue(context.Background(), requestIDKey{}, "req-9")
	redactor, err := NewRedactor([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &captureSink{}
	audit := Options(
		WithAudit(rec),
		WithClock(fixedClock(testNow)),
		WithRedaction(redactor),
		WithContextAttrs(func(ctx context.Context) []slog.Attr {
			id, _ := ctx.Value(requestIDKey{}).(string)
			return []slog.Attr{slog.String("request_id", id)}
		}),
	)
	perProducer := []KeySetOption{WithAudit(rec), WithClock(fixedClock(testNow)), WithRedaction(redactor), WithContextAttrs(func(ctx context.Context) []slog.Attr {
		id, _ := ctx.Value(requestIDKey{}).(string)
		return []slog.Attr{slog.String("request_id", id)}
	})}

	ks, err := NewKeySet(edKey(t, "k0", 0), perProducer...)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Publish(ctx, edKey(t, "k1", 1)); err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t, ks)
	remoteOpts := make([]RemoteKeySetOption, len(perProducer))
	for i, o := range perProducer {
		remoteOpts[i] = o.(RemoteKeySetOption)
	}
	remote, err := NewRemoteKeySet(ctx, srv.URL, RemoteKeySetOptions{HTTPClient: srv.Client()}, remoteOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if err := remote.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	is, err := NewIssuer(audit, WithKeySet(ks))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(audit, WithKeySource(remote))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := is.Issue(ctx, Claims{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}

	ops := map[Op]int{}
	for _, e := range rec.take() {
		ops[e.Op]++
		if !slices.ContainsFunc(e.Attrs, func(a slog.Attr) bool { return a.Key == "request_id" && a.Value.String() == "req-9" }) {
			t.Errorf("%s event without the context attribute: %v", e.Op, e.Attrs)
		}
		if e.Subject != "" && !strings.HasPrefix(e.Subject, redactedPrefix) {
			t.Errorf("%s event with the subject in clear: %q", e.Op, e.Subject)
		}
	}
	for _, op := range []Op{OpKeyRotate, OpJWKSFetch, OpIssue, OpVerify} {
		if ops[op] == 0 {
			t.Errorf("no %s event; got %v", op, ops)
		}
	}
}

// TestRemoteKeySetFollowsTheFailurePolicy checks that a jwks_fetch event
// that cannot be recorded is treated as every other event: failing closed,
// the fetched keys are not installed and Refresh says why; failing open,
// they are installed and the report function hears of it.
func TestRemoteKeySetFollowsTheFailurePolicy(t *testing.T) {
	ctx := context.Background()
	ks, err := NewKeySet(edKey(t, "k0", 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t, ks)
	broken := &captureSink{err: errors.New("disk full")}
	is, _ := NewIssuer(WithKeySet(ks))
	raw, err := is.Issue(ctx, Claims{Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)

	t.Run("fail closed", func(t *testing.T) {
		remote, err := NewRemoteKeySet(ctx, srv.URL, RemoteKeySetOptions{HTTPClient: srv.Client(), RefreshRateLimit: time.Hour}, WithAudit(broken))
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		if err := remote.Refresh(ctx); !errors.Is(err, ErrAudit) {
			t.Errorf("Refresh = %v, want ErrAudit", err)
		}
		v, _ := NewVerifier(WithKeySource(remote))
		if _, err := v.Verify(ctx, raw); ReasonOf(err) != ReasonUnknownKey {
			t.Errorf("Verify = %v, want unknown_key: keys whose fetch is not on the record are not used", err)
		}
	})
	t.Run("fail open", func(t *testing.T) {
		var reported []Event
		remote, err := NewRemoteKeySet(ctx, srv.URL, RemoteKeySetOptions{HTTPClient: srv.Client(), RefreshRateLimit: time.Hour},
			WithAudit(broken), WithAuditFailOpen(func(_ context.Context, e Event, _ error) { reported = append(reported, e) }))
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		if err := remote.Refresh(ctx); err != nil {
			t.Errorf("Refresh = %v, want nil when failing open", err)
		}
		v, _ := NewVerifier(WithKeySource(remote))
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Errorf("Verify = %v", err)
		}
		if len(reported) == 0 || reported[0].Op != OpJWKSFetch {
			t.Errorf("reported %v, want the jwks_fetch events", reported)
		}
	})
	t.Run("a failed fetch is ErrKeyFetch", func(t *testing.T) {
		srv.mode.Store("garbage")
		defer srv.mode.Store("")
		remote, err := NewRemoteKeySet(ctx, srv.URL, RemoteKeySetOptions{HTTPClient: srv.Client(), RefreshRateLimit: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		if err := remote.Refresh(ctx); !errors.Is(err, ErrKeyFetch) {
			t.Errorf("Refresh = %v, want ErrKeyFetch", err)
		}
	})
}

// mutatingSink changes every slice of the events it receives, as a sink
// that keeps and edits events may.
type mutatingSink struct{ kept []Event }

func (m *mutatingSink) Record(_ context.Context, e Event) error {
	for i := range e.Audience {
		e.Audience[i] = "changed by the sink"
	}
	for i := range e.Claims {
		e.Claims[i].Value = slog.StringValue("changed by the sink")
	}
	for i := range e.Attrs {
		e.Attrs[i].Value = slog.StringValue("changed by the sink")
	}
	m.kept = append(m.kept, e)
	return nil
}

// TestSinksMayKeepAndChangeEvents checks that what a sink does to the
// events it is given touches neither the configuration nor the token.
func TestSinksMayKeepAndChangeEvents(t *testing.T) {
	ctx := context.Background()
	key := mustKey(t, "k1", HS256, testSecret)
	attrs := []slog.Attr{slog.String("service", "api")}
	sink := &mutatingSink{}
	is, v := pair(t, []Option{
		WithKeys(key), WithAudience("api"), WithAudit(sink), WithAuditClaims("tenant"),
		WithClock(fixedClock(testNow)),
		WithContextAttrs(func(context.Context) []slog.Attr { return attrs }),
	}, nil, nil)
	for range 2 {
		raw, err := is.Issue(ctx, Claims{Subject: "a", Private: map[string]any{"tenant": "t1"}})
		if err != nil {
			t.Fatal(err)
		}
		trackToken(raw)
		tok, err := v.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tok.Claims.Audience, []string{"api"}) {
			t.Errorf("the token's audience is %q after the sink ran", tok.Claims.Audience)
		}
	}
	if got := attrs[0].Value.String(); got != "api" {
		t.Errorf("the context attributes' slice was changed: %q", got)
	}
	if got := is.cfg.audience; !reflect.DeepEqual(got, []string{"api"}) {
		t.Errorf("the issuer's audience is %q after the sink ran", got)
	}
	if got := v.cfg.audience; !reflect.DeepEqual(got, []string{"api"}) {
		t.Errorf("the verifier's audience is %q after the sink ran", got)
	}
	if len(sink.kept) != 4 {
		t.Fatalf("%d events, want 4", len(sink.kept))
	}
}

// TestFanOutGivesEachSinkItsOwnEvent checks that one sink's changes do not
// reach the next.
func TestFanOutGivesEachSinkItsOwnEvent(t *testing.T) {
	first, second := &mutatingSink{}, &captureSink{}
	fan := NewFanOutSink(AllSinks, first, second)
	if err := fan.Record(context.Background(), Event{Op: OpVerify, Audience: []string{"api"}}); err != nil {
		t.Fatal(err)
	}
	if got := second.only(t).Audience; !reflect.DeepEqual(got, []string{"api"}) {
		t.Errorf("the second sink got %q", got)
	}
}

type panickingSource struct{}

func (panickingSource) LookupKey(context.Context, string) (*Key, error) { panic("key source bug") }

type panickingClaim struct{}

func (panickingClaim) MarshalJSON() ([]byte, error) { panic("marshaler bug") }

// TestPanicsEndWithOneEvent checks that a panic in any code of the
// caller's that Issue and Verify reach ends the call with an error and
// exactly one event, instead of crashing the process.
func TestPanicsEndWithOneEvent(t *testing.T) {
	ctx := context.Background()
	key := mustKey(t, "k1", HS256, testSecret)
	good, err := NewIssuer(WithKeys(key), WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := good.Issue(ctx, Claims{Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	panicAttrs := WithContextAttrs(func(context.Context) []slog.Attr { panic("attrs bug") })
	for _, tc := range []struct {
		name   string
		run    func(rec *captureSink) error
		reason Reason
	}{
		{"key source", func(rec *captureSink) error {
			v, _ := NewVerifier(WithKeySource(panickingSource{}), WithAudit(rec), WithClock(fixedClock(testNow)))
			_, err := v.Verify(ctx, raw)
			return err
		}, ReasonInternal},
		{"validator", func(rec *captureSink) error {
			v, _ := NewVerifier(WithKeys(key), WithAudit(rec), WithClock(fixedClock(testNow)),
				WithValidator(func(context.Context, *Token) error { panic("validator bug") }))
			_, err := v.Verify(ctx, raw)
			return err
		}, ReasonInternal},
		{"context attributes on verify", func(rec *captureSink) error {
			v, _ := NewVerifier(WithKeys(key), WithAudit(rec), WithClock(fixedClock(testNow)), panicAttrs)
			_, err := v.Verify(ctx, raw)
			return err
		}, ReasonInternal},
		{"context attributes on issue", func(rec *captureSink) error {
			is, _ := NewIssuer(WithKeys(key), WithAudit(rec), panicAttrs)
			_, err := is.Issue(ctx, Claims{Subject: "a"})
			return err
		}, ReasonInternal},
		{"a claim's MarshalJSON", func(rec *captureSink) error {
			is, _ := NewIssuer(WithKeys(key), WithAudit(rec))
			_, err := is.Issue(ctx, Claims{Subject: "a", Private: map[string]any{"x": panickingClaim{}}})
			return err
		}, ReasonInternal},
		{"context attributes on a key set change", func(rec *captureSink) error {
			ks, _ := NewKeySet(edKey(t, "k0", 0), WithAudit(rec), panicAttrs)
			return ks.Publish(ctx, edKey(t, "k1", 1))
		}, ReasonInternal},
		{"the sink", func(rec *captureSink) error {
			rec.panics = true
			v, _ := NewVerifier(WithKeys(key), WithAudit(rec), WithClock(fixedClock(testNow)))
			_, err := v.Verify(ctx, raw)
			return err
		}, ReasonAudit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &captureSink{}
			err := tc.run(rec)
			if ReasonOf(err) != tc.reason {
				t.Fatalf("err = %v, want reason %s", err, tc.reason)
			}
			e := rec.only(t)
			if tc.reason == ReasonAudit {
				return // the sink's own copy, kept before it panicked
			}
			if e.Outcome != OutcomeError || e.Reason != ReasonInternal || (e.Op == OpVerify && e.Verified) || (e.Op == OpIssue && !e.Fingerprint.IsZero()) {
				t.Errorf("event %+v, want outcome error, reason internal, no verified claims, no fingerprint of a token not issued", e)
			}
			noteError(err)
		})
	}
}

// TestReservedNames checks the names a context attribute may not take, in
// any case encoding/json folds.
func TestReservedNames(t *testing.T) {
	for key, want := range map[string]bool{
		"seq": true, "SEQ": true, "Prev": true, "ſub": true, "\u212aid": true, "claims": true,
		"sequence": false, "request_id": false, "": false, "ſubject": false,
	} {
		if got := reservedName(key); got != want {
			t.Errorf("reservedName(%q) = %v, want %v", key, got, want)
		}
	}
}
