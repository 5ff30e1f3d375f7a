package jwtaudit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/leaktest"
)

// gateSink records events, blocking each Record until the gate opens.
type gateSink struct {
	gate chan struct{}
	mu   sync.Mutex
	got  []Event
	ctxs []context.Context
	err  error
}

func newGateSink(open bool) *gateSink {
	g := &gateSink{gate: make(chan struct{})}
	if open {
		close(g.gate)
	}
	return g
}

func (g *gateSink) Record(ctx context.Context, e Event) error {
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got = append(g.got, e)
	g.ctxs = append(g.ctxs, ctx)
	return g.err
}

func (g *gateSink) events() []Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Event(nil), g.got...)
}

func numbered(i int) Event {
	return Event{Op: OpVerify, Outcome: OutcomeSuccess, ID: string(rune('a' + i%26)), Duration: time.Duration(i)}
}

func TestAsyncWritesEverythingInOrder(t *testing.T) {
	defer leaktest.VerifyNone(t)
	next := newGateSink(true)
	a := NewAsyncSink(next, AsyncOptions{QueueSize: 8})
	for i := range 1000 {
		if err := a.Record(context.Background(), numbered(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := next.events()
	if len(got) != 1000 {
		t.Fatalf("%d events written, want 1000", len(got))
	}
	for i, e := range got {
		if e.Duration != time.Duration(i) {
			t.Fatalf("event %d is %d: out of order", i, e.Duration)
		}
	}
	if s := a.Stats(); s != (AsyncStats{Enqueued: 1000, Written: 1000}) {
		t.Errorf("stats = %+v", s)
	}
}

func TestAsyncBlocksWhenFull(t *testing.T) {
	defer leaktest.VerifyNone(t)
	next := newGateSink(false)
	a := NewAsyncSink(next, AsyncOptions{QueueSize: 1})
	// One event is taken by the writer (blocked at the gate), one fills
	// the queue; the third must wait.
	for i := range 2 {
		if err := a.Record(context.Background(), numbered(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return len(a.queue) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Record(ctx, numbered(2)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Record on a full queue = %v, want the context's error", err)
	}
	close(next.gate)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Enqueued != 2 || s.Written != 2 || s.Dropped != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestAsyncDropsAndReportsTheCount(t *testing.T) {
	defer leaktest.VerifyNone(t)
	next := newGateSink(false)
	a := NewAsyncSink(next, AsyncOptions{QueueSize: 2, DropWhenFull: true})
	for i := range 10 {
		if err := a.Record(context.Background(), numbered(i)); err != nil {
			t.Fatal(err)
		}
	}
	s := a.Stats()
	if s.Dropped < 7 || s.Enqueued+s.Dropped != 10 {
		t.Fatalf("stats = %+v", s)
	}
	close(next.gate)
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := next.events()
	var reports []Event
	for _, e := range got {
		if e.Op == OpAuditDropped {
			reports = append(reports, e)
		}
	}
	if len(reports) != 1 || len(reports[0].Attrs) != 1 || reports[0].Attrs[0].Value.Uint64() != s.Dropped {
		t.Fatalf("drop reports %+v, want one with count %d", reports, s.Dropped)
	}
	if reports[0].Level() <= 0 || reports[0].Reason != ReasonAudit {
		t.Errorf("drop report = %+v", reports[0])
	}
	if len(got) != int(s.Enqueued)+1 {
		t.Errorf("%d events written, want %d and the report", len(got), s.Enqueued)
	}
}

type ctxKey struct{}

func TestAsyncKeepsEventsOfCancelledCallers(t *testing.T) {
	defer leaktest.VerifyNone(t)
	next := newGateSink(false)
	a := NewAsyncSink(next, AsyncOptions{})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "req-9"))
	if err := a.Record(ctx, numbered(0)); err != nil {
		t.Fatal(err)
	}
	cancel()
	close(next.gate)
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(next.events()) != 1 {
		t.Fatalf("the event of a cancelled caller was lost")
	}
	wctx := next.ctxs[0]
	if wctx.Err() != nil || wctx.Value(ctxKey{}) != "req-9" {
		t.Errorf("writer context: err %v, value %v", wctx.Err(), wctx.Value(ctxKey{}))
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAsyncAfterClose(t *testing.T) {
	defer leaktest.VerifyNone(t)
	a := NewAsyncSink(newGateSink(true), AsyncOptions{})
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Record(context.Background(), numbered(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close = %v", err)
	}
	if err := a.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v", err)
	}
	if err := a.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	// Fail closed: an Issue whose event the closed sink refuses issues nothing.
	key := mustKey(t, "k1", HS256, testSecret)
	is, _ := NewIssuer(WithKeys(key), WithAudit(a))
	if raw, err := is.Issue(context.Background(), Claims{Subject: "a"}); !errors.Is(err, ErrAudit) || raw != "" {
		t.Errorf("Issue through a closed sink = %v", err)
	}
}

func TestAsyncCountsFailures(t *testing.T) {
	defer leaktest.VerifyNone(t)
	next := newGateSink(true)
	next.err = errors.New("disk full")
	var mu sync.Mutex
	var seen []error
	a := NewAsyncSink(next, AsyncOptions{OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, err)
	}})
	for i := range 3 {
		_ = a.Record(context.Background(), numbered(i))
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Failed != 3 || s.Written != 0 || len(seen) != 3 {
		t.Errorf("stats %+v, %d errors reported", s, len(seen))
	}
}

func TestAsyncCloseTimesOutButDrains(t *testing.T) {
	defer leaktest.VerifyNone(t)
	next := newGateSink(false)
	a := NewAsyncSink(next, AsyncOptions{})
	_ = a.Record(context.Background(), numbered(0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a stuck sink = %v", err)
	}
	close(next.gate)
	<-a.done // the writer finishes by itself
	if len(next.events()) != 1 {
		t.Errorf("the queued event was lost")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFanOut(t *testing.T) {
	ok := SinkFunc(func(context.Context, Event) error { return nil })
	bad := SinkFunc(func(context.Context, Event) error { return errors.New("down") })
	for _, tc := range []struct {
		name   string
		policy FanOutPolicy
		sinks  []AuditSink
		fails  bool
	}{
		{"all, all succeed", AllSinks, []AuditSink{ok, ok}, false},
		{"all, one fails", AllSinks, []AuditSink{ok, bad}, true},
		{"any, one succeeds", AnySink, []AuditSink{bad, ok}, false},
		{"any, all fail", AnySink, []AuditSink{bad, bad}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			counted := make([]AuditSink, len(tc.sinks))
			for i, s := range tc.sinks {
				counted[i] = SinkFunc(func(ctx context.Context, e Event) error { calls++; return s.Record(ctx, e) })
			}
			err := NewFanOutSink(tc.policy, counted...).Record(context.Background(), Event{})
			if (err != nil) != tc.fails {
				t.Errorf("err = %v, want failure %v", err, tc.fails)
			}
			if calls != len(tc.sinks) {
				t.Errorf("%d sinks called, want all %d", calls, len(tc.sinks))
			}
		})
	}
}
