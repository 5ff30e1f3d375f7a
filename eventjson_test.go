package jwtaudit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/allocs"
	"github.com/jwtaudit/jwtaudit/internal/jsonx"
	"github.com/jwtaudit/jwtaudit/internal/timetext"
)

// slogLine is what slog's JSON handler with default options writes for e
// through a SlogSink, the lead attributes first: what AppendJSON must
// write.
func slogLine(tb testing.TB, e Event, lead ...slog.Attr) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if len(lead) == 0 {
		if err := NewSlogSink(slog.NewJSONHandler(&buf, nil)).Record(context.Background(), e); err != nil {
			tb.Fatal(err)
		}
		return buf.Bytes()
	}
	r := slog.NewRecord(e.Time, e.Level(), e.Message(), 0)
	r.AddAttrs(lead...)
	r.AddAttrs(e.LogValue().Group()...)
	if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), r); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// checkSameAsSlog fails unless AppendJSON writes slog's line for e, and,
// when direct is set, writes it itself rather than through slog.
func checkSameAsSlog(tb testing.TB, e Event, direct bool, lead ...slog.Attr) {
	tb.Helper()
	want := slogLine(tb, e, lead...)
	got := e.AppendJSON([]byte("prefix:"), lead...)
	if !bytes.HasPrefix(got, []byte("prefix:")) {
		tb.Fatalf("AppendJSON did not append: %q", got)
	}
	if got = got[len("prefix:"):]; !bytes.Equal(got, want) {
		tb.Fatalf("AppendJSON wrote\n%s\nslog writes\n%s", got, want)
	}
	checkCachedTimes(tb, e, want, lead)
	if isDirect := timetext.Plain(e.Time) && timetext.Plain(e.ExpiresAt) && plainAttrs(lead, 0) && plainAttrs(e.Claims, 0) && plainAttrs(e.Attrs, 0); isDirect != direct {
		tb.Fatalf("written directly: %v, want %v", isDirect, direct)
	}
}

// fullEvent sets every field of an event.
func fullEvent() Event {
	return Event{Time: testNow.Add(123456789), Op: OpVerify, Outcome: OutcomeRejected, Reason: ReasonExpired,
		Detail: "jwtaudit: token expired", Algorithm: HS256, KeyID: "k1", Issuer: "https://auth.example",
		Subject: "user-42", Audience: []string{"api", "web"}, ID: "jti-1", ExpiresAt: testNow,
		Fingerprint: FingerprintOf("x"), Duration: 1500 * time.Nanosecond, Verified: false,
		Claims: []slog.Attr{slog.String("tenant", "acme"), slog.Int("level", 3)},
		Attrs:  []slog.Attr{slog.String("request_id", "r-1"), slog.Group("http", slog.String("method", "GET"), slog.Int("status", 401))}}
}

func TestAppendJSONIsSlogsLine(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	type point struct{ X, Y int }
	cases := []struct {
		name   string
		event  func(*Event)
		lead   []slog.Attr
		direct bool
	}{
		{"every field", func(*Event) {}, nil, true},
		{"the least an event has", func(e *Event) { *e = Event{Op: OpIssue, Outcome: OutcomeSuccess} }, nil, true},
		{"success", func(e *Event) { e.Outcome, e.Reason, e.Detail, e.Verified = OutcomeSuccess, ReasonNone, "", true }, nil, true},
		{"cache hit", func(e *Event) {
			e.Outcome, e.Reason, e.Detail, e.Verified, e.Cached = OutcomeSuccess, ReasonNone, "", true, true
		}, nil, true},
		{"every op and outcome", func(e *Event) { e.Op, e.Outcome = OpRevoke, OutcomeError }, nil, true},
		{"unknown op and outcome", func(e *Event) { e.Op, e.Outcome = 99, 77 }, nil, true},
		{"chain members first", func(*Event) {}, []slog.Attr{slog.Uint64("seq", 7), slog.String("prev", "abc"), slog.String("chain", "sha256")}, true},
		{"escapes", func(e *Event) {
			e.Detail = "quote\" back\\ nl\n cr\r tab\t bs\b ff\f nul\x00 del\x7f <&> \u2028\u2029 \xff é 😀"
			e.Subject, e.Audience = e.Detail, []string{e.Detail, "\b\f"}
			e.Attrs = []slog.Attr{slog.String(e.Detail, e.Detail)}
		}, nil, true},
		{"times in other zones and with nanoseconds", func(e *Event) {
			e.Time, e.ExpiresAt = testNow.In(berlin).Add(1), testNow.Add(-time.Millisecond).In(berlin)
			e.Attrs = []slog.Attr{slog.Time("at", time.Date(2030, 1, 2, 3, 4, 5, 600, berlin))}
		}, nil, true},
		{"monotonic clock reading", func(e *Event) { e.Time = time.Now() }, nil, true},
		{"integers, booleans, durations", func(e *Event) {
			e.Attrs = []slog.Attr{slog.Int64("min", math.MinInt64), slog.Uint64("max", math.MaxUint64), slog.Bool("f", false), slog.Duration("d", -time.Hour)}
		}, nil, true},
		{"nested groups", func(e *Event) {
			e.Attrs = []slog.Attr{slog.Group("a", slog.Group("b", slog.Group("c", slog.Int("d", 1))), slog.String("e", "f"))}
		}, nil, true},
		{"zero time", func(e *Event) { e.Time = time.Time{} }, nil, true},
		// Left to slog:
		{"year past 9999", func(e *Event) { e.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, nil, false},
		{"negative year in an attribute", func(e *Event) { e.Attrs = []slog.Attr{slog.Time("t", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))} }, nil, false},
		{"float", func(e *Event) { e.Attrs = []slog.Attr{slog.Float64("f", 1e21), slog.Float64("g", 0.1)} }, nil, false},
		{"float NaN", func(e *Event) { e.Claims = []slog.Attr{slog.Float64("nan", math.NaN())} }, nil, false},
		{"struct", func(e *Event) {
			e.Attrs = []slog.Attr{slog.Any("p", point{1, 2}), slog.Any("m", map[string]any{"<": "&"})}
		}, nil, false},
		{"error", func(e *Event) { e.Attrs = []slog.Attr{slog.Any("err", errors.New("boom <"))} }, nil, false},
		{"nil any", func(e *Event) { e.Attrs = []slog.Attr{slog.Any("nil", nil)} }, nil, false},
		{"LogValuer", func(e *Event) { e.Attrs = []slog.Attr{slog.Any("ev", Event{Op: OpIssue})} }, nil, false},
		{"empty key", func(e *Event) { e.Attrs = []slog.Attr{slog.String("", "v"), {}} }, nil, false},
		{"inline group", func(e *Event) { e.Attrs = []slog.Attr{slog.Group("", slog.Int("x", 1))} }, nil, false},
		{"empty group", func(e *Event) { e.Attrs = []slog.Attr{slog.Group("g"), slog.Int("after", 1)} }, nil, false},
		{"group of empty attributes", func(e *Event) {
			e.Claims = []slog.Attr{slog.Group("g", slog.Attr{}), slog.Int("after", 1)}
		}, nil, false},
		{"float in the lead", func(*Event) {}, []slog.Attr{slog.Float64("f", 2.5)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := fullEvent()
			c.event(&e)
			checkSameAsSlog(t, e, c.direct, c.lead...)
		})
	}
}

func TestAppendJSONAllocatesNothing(t *testing.T) {
	allocs.SkipIfUncountable(t)
	e := fullEvent()
	buf := make([]byte, 0, 4096)
	lead := []slog.Attr{slog.Uint64("seq", 7), slog.String("prev", "abc")}
	if n := testing.AllocsPerRun(100, func() { buf = e.AppendJSON(buf[:0], lead...) }); n != 0 {
		t.Fatalf("AppendJSON allocates %v times per event, want 0", n)
	}
	sink := NewJSONSink(io.Discard)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = sink.Record(ctx, e) }); n != 0 {
		t.Fatalf("JSONSink.Record allocates %v times per event, want 0", n)
	}
}

func TestJSONSinkWritesOneLinePerEventAndReportsFailure(t *testing.T) {
	var buf bytes.Buffer
	sink := NewJSONSink(&buf)
	e := fullEvent()
	for range 2 {
		if err := sink.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	want := slogLine(t, e)
	if got := buf.String(); got != string(want)+string(want) {
		t.Fatalf("got %q, want the slog line twice", got)
	}
	var line map[string]any
	if err := json.Unmarshal(want, &line); err != nil {
		t.Fatal(err)
	}
	if err := NewJSONSink(failingWriter{}).Record(context.Background(), e); err == nil {
		t.Fatal("a failed write was not reported")
	}
}

// sharedTimes carries second caches from one check to the next, as a
// pooled line buffer does from one event to the next.
var sharedTimes timeTexts

// checkCachedTimes checks that writing e through second caches (as the
// JSONSink does) gives want: through caches left by earlier events, then
// through caches that already hold e's seconds.
func checkCachedTimes(tb testing.TB, e Event, want []byte, lead []slog.Attr) {
	tb.Helper()
	for _, pass := range []string{"after other events", "again"} {
		if got := e.appendJSON(nil, lead, &sharedTimes); !bytes.Equal(got, want) {
			tb.Fatalf("with cached seconds (%s), the encoder wrote\n%s\nslog writes\n%s", pass, got, want)
		}
	}
}

// TestCachedSeconds writes events whose times share or change their
// second, fraction and zone, through one set of second caches.
func TestCachedSeconds(t *testing.T) {
	base := time.Date(2026, 12, 2, 11, 30, 15, 0, time.UTC)
	plus7 := time.FixedZone("", 7*3600)
	for _, at := range []time.Time{
		base, base.Add(1), base.Add(123456789), base.Add(999999999), base.Add(time.Second),
		base.Add(time.Second).In(plus7), base.Add(time.Second + 5).In(plus7), base.In(time.FixedZone("", -90*60)),
		base.Add(time.Second), base.Local(), time.Date(9999, 12, 31, 23, 59, 59, 1, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		e := Event{Time: at, Op: OpVerify, Outcome: OutcomeSuccess, ExpiresAt: at.Add(time.Hour), Verified: true}
		want := slogLine(t, e)
		checkCachedTimes(t, e, want, nil)
	}
}

// TestJSONSinkWritesSlogsBytesInAnyZone writes events whose times are in
// zones at any distance from UTC, as time.FixedZone allows: offsets of 100
// hours and more (whose text is longer than "+07:00"), and offsets of
// centuries, which move the year out of slog's four digits in the time's
// own zone while the instant stays inside them. JSONSink's line must be
// slog's line, byte for byte, with and without the cached seconds.
func TestJSONSinkWritesSlogsBytesInAnyZone(t *testing.T) {
	const hour, year = 3600, 365 * 86400
	for _, tc := range []struct {
		name   string
		offset int
		direct bool
	}{
		{"+99:59", 99*hour + 59*60, true},
		{"+100:00", 100 * hour, true},
		{"-100:30", -100*hour - 30*60, true},
		{"+168:00", 168 * hour, true},
		{"+9999:59", 9999*hour + 59*60, true},
		{"+10000:00", 10000 * hour, true},
		{"8000 years ahead", 8000 * year, false},
		{"3000 years behind", -3000 * year, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zone := time.FixedZone("far", tc.offset)
			e := fullEvent()
			e.Time, e.ExpiresAt = testNow.In(zone).Add(123), testNow.Add(time.Hour).In(zone)
			e.Attrs = []slog.Attr{slog.Time("at", testNow.In(zone))}
			checkSameAsSlog(t, e, tc.direct)
			var buf bytes.Buffer
			if err := NewJSONSink(&buf).Record(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if want := slogLine(t, e); !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("JSONSink wrote\n%s\nslog writes\n%s", buf.Bytes(), want)
			}
		})
	}
}

// FuzzAppendJSON holds the direct encoder to slog's JSON handler on events
// built from arbitrary strings, numbers and times.
func FuzzAppendJSON(f *testing.F) {
	f.Add("detail", "kid", "sub", "key", int64(1), uint64(2), int64(1700000000), int64(5), uint16(0xffff))
	f.Add("\"\\\n\r\t\b\f\x00\x7f", "<&>", "\u2028\u2029", "\xff\xfe", int64(-1), uint64(0), int64(-62135596800), int64(999999999), uint16(0x5555))
	f.Add("é😀", "", "", "", int64(math.MinInt64), uint64(math.MaxUint64), int64(253402300800), int64(0), uint16(0))
	f.Fuzz(func(t *testing.T, s1, s2, s3, key string, n int64, u uint64, unix, nsec int64, shape uint16) {
		// Any offset up to about 2,000 years either way: far zones have
		// longer text, and can move the year out of four digits.
		zone := time.FixedZone("Z", int(n%(1<<36)))
		at := time.Unix(unix, nsec).In(zone)
		e := Event{Time: at, Op: Op(shape % 8), Outcome: Outcome(shape >> 3 % 4), Reason: Reason(shape >> 5 % 24),
			Detail: s1, Algorithm: Algorithm(s2), KeyID: s2, Issuer: s3, Subject: s1, ID: s3,
			Duration: time.Duration(n), Verified: shape&0x100 != 0, Cached: shape&0x8000 != 0}
		if shape&0x200 != 0 {
			e.Audience = []string{s1, s2, s3}
			e.ExpiresAt = at.Add(time.Duration(u))
		}
		if shape&0x400 != 0 {
			e.Fingerprint = FingerprintOf(s1)
		}
		if shape&0x800 != 0 {
			e.Claims = []slog.Attr{slog.String(key, s2), slog.Int64(s3, n), slog.Uint64(s1, u)}
		}
		if shape&0x1000 != 0 {
			e.Attrs = []slog.Attr{slog.Bool(key, shape&1 != 0), slog.Duration(s2, time.Duration(u)),
				slog.Group(s3, slog.Time(key, at.Add(time.Duration(n))), slog.String(s1, key))}
		}
		if shape&0x2000 != 0 {
			e.Attrs = append(e.Attrs, slog.Float64(key, float64(n)/3))
		}
		var lead []slog.Attr
		if shape&0x4000 != 0 {
			lead = []slog.Attr{slog.Uint64("seq", u), slog.String("prev", s3)}
		}
		want := slogLine(t, e, lead...)
		if got := e.AppendJSON(nil, lead...); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON wrote\n%q\nslog writes\n%q", got, want)
		}
		checkCachedTimes(t, e, want, lead)
	})
}

// TestJSONSinkIsLentTheAudience checks that lending the token's audience
// to a JSONSink, rather than copying it, never lets the event's clipping
// reach the token: a long audience is clipped in the line and whole in
// the token.
func TestJSONSinkIsLentTheAudience(t *testing.T) {
	long := strings.Repeat("a", 2*maxEventString)
	var out bytes.Buffer
	_, v := pair(t, []Option{WithKeys(mustKey(t, "k1", HS256, testSecret)), WithAudience(long, "api"), WithAudit(NewJSONSink(&out))}, nil, nil)
	signer, _ := NewIssuer(WithKeys(mustKey(t, "k1", HS256, testSecret)), WithAudience(long, "api"))
	raw, err := signer.Issue(context.Background(), Claims{Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	trackToken(raw)
	tok, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.Audience[0] != long {
		t.Errorf("the token's audience was clipped to %d bytes", len(tok.Claims.Audience[0]))
	}
	if strings.Contains(out.String(), long) || !strings.Contains(out.String(), long[:maxEventString-len("…")]) {
		t.Errorf("the line does not hold the clipped audience: %.200s…", out.String())
	}
}

// TestEventNamesNeedNoEscaping holds the names the encoder writes without
// escaping (every op, outcome, reason and message, known or not) to plain
// ASCII.
func TestEventNamesNeedNoEscaping(t *testing.T) {
	plain := jsonx.Plain
	for i := range 256 {
		for _, name := range []string{Op(i).String(), Outcome(i).String(), Reason(i).String()} {
			if !plain(name) {
				t.Errorf("name %q needs escaping", name)
			}
		}
		for j := range 256 {
			if m := (Event{Op: Op(i), Outcome: Outcome(j)}).Message(); !plain(m) {
				t.Errorf("message %q needs escaping", m)
			}
		}
	}
}

// TestAuditedVerifyAllocatesNoMore holds a Verify audited to a JSONSink to
// the allocations of an unaudited one: its event costs none.
func TestAuditedVerifyAllocatesNoMore(t *testing.T) {
	allocs.SkipIfUncountable(t)
	ctx := context.Background()
	count := func(sink AuditSink) float64 {
		key := mustKey(t, "k1", HS256, testSecret)
		is, v := pair(t, []Option{WithKeys(key), WithAudit(sink), WithIssuer("https://auth.example"), WithAudience("api")}, nil, nil)
		raw, err := is.Issue(ctx, Claims{Subject: "user-42"})
		if err != nil {
			t.Fatal(err)
		}
		trackToken(raw)
		return testing.AllocsPerRun(200, func() {
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatal(err)
			}
		})
	}
	audited, unaudited := count(NewJSONSink(io.Discard)), count(DiscardSink)
	if audited != unaudited || audited > 8 {
		t.Errorf("an audited Verify allocates %v times, an unaudited one %v", audited, unaudited)
	}
}
