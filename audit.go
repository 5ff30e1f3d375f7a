package jwtaudit

// This file is the audit vocabulary: the sink every event goes to, the
// small sinks (discard, a function, slog, JSON lines), and the options
// that say where events go and how they are recorded. The Event itself is
// in event.go; the recorder that is the one way from a producer to a sink,
// in recorder.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// AuditSink records audit events. The package's producers of events, the
// [Issuer], the [Verifier], a [KeySet] and a [RemoteKeySet], each hand their
// events to the sink configured with [WithAudit], exactly once per
// operation, before the operation returns to its caller.
//
// Record is called concurrently from every goroutine that issues or
// verifies, and must be safe for that. The context is the caller's. An error
// means the event was not recorded: the operation is then refused with
// [ErrAudit] (fail closed, unless [WithAuditFailOpen] says otherwise), so a
// sink must not return an error for an event it did keep. The event is the
// sink's own: it may keep it, or change it, without touching the
// configuration or the token of the operation it records.
//
// The sinks of this package are [SlogSink], [AsyncSink], [FanOutSink],
// [SinkFunc] and [DiscardSink]; the auditlog and expslog sub-packages add a
// hash-chained file sink and one for golang.org/x/exp/slog handlers.
type AuditSink interface {
	Record(ctx context.Context, e Event) error
}

// SinkFunc adapts a function to [AuditSink].
type SinkFunc func(ctx context.Context, e Event) error

// Record calls f(ctx, e).
func (f SinkFunc) Record(ctx context.Context, e Event) error { return f(ctx, e) }

// DiscardSink is the sink used when none is configured: it drops every
// event and never fails.
var DiscardSink AuditSink = discardSink{}

type discardSink struct{}

// Record drops e.
func (discardSink) Record(context.Context, Event) error { return nil }

// SlogSink writes events to a [slog.Handler], one record per event, with
// the record's time set to the event's and its level from [Event.Level].
//
// It calls the handler's Handle itself rather than going through a
// *slog.Logger, because a Logger drops the error that Handle returns: with
// the handler, a failed write is an error from Record, and the operation is
// refused instead of going unrecorded.
type SlogSink struct {
	handler slog.Handler
}

// NewSlogSink returns a sink that writes to h. Like [slog.New], it panics
// if h is nil.
func NewSlogSink(h slog.Handler) *SlogSink {
	if h == nil {
		panic("jwtaudit: NewSlogSink: nil slog.Handler")
	}
	return &SlogSink{handler: h}
}

// Record writes e as one log record. A handler that is not enabled for the
// event's level (a handler set to Warn, say, for a success at Info) would
// drop it silently: that is an error, so the operation fails closed
// instead of going off the record. Give the audit trail a handler of its
// own, enabled for Info and above.
func (s *SlogSink) Record(ctx context.Context, e Event) error {
	level := e.Level()
	if !s.handler.Enabled(ctx, level) {
		return fmt.Errorf("jwtaudit: the slog handler is not enabled for %s records, so it would drop this event", level)
	}
	r := slog.NewRecord(e.Time, level, e.Message(), 0)
	r.AddAttrs(e.LogValue().Group()...)
	return s.handler.Handle(ctx, r)
}

// JSONSink writes each event to an io.Writer as one line of JSON: the
// bytes that a [SlogSink] over slog.NewJSONHandler(w, nil) writes, made
// without going through slog (see [Event.AppendJSON]), so that recording an
// event allocates nothing. Use it where the JSON handler's default options
// are what you would pass; a SlogSink takes any other handler.
//
// Each event is one Write call, made under a mutex: lines from concurrent
// operations never interleave. A failed Write is Record's error.
type JSONSink struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONSink returns a sink that writes to w. It panics if w is nil.
func NewJSONSink(w io.Writer) *JSONSink {
	if w == nil {
		panic("jwtaudit: NewJSONSink: nil io.Writer")
	}
	return &JSONSink{w: w}
}

// lineBuffer holds an encoded line between the encoding, done outside the
// sink's lock so that concurrent operations encode in parallel, and the
// write; and the text of the last seconds it wrote.
type lineBuffer struct {
	line  []byte
	times timeTexts
}

var lineBuffers = sync.Pool{New: func() any { return &lineBuffer{line: make([]byte, 0, 1024)} }}

// maxPooledLine is the largest buffer put back in the pool, so that one
// outsized event does not keep its memory for good.
const maxPooledLine = 64 << 10

// Record writes e as one line.
func (s *JSONSink) Record(_ context.Context, e Event) error {
	lb := lineBuffers.Get().(*lineBuffer)
	line := e.appendJSON(lb.line[:0], nil, &lb.times)
	s.mu.Lock()
	_, err := s.w.Write(line)
	s.mu.Unlock()
	if cap(line) <= maxPooledLine {
		lb.line = line
		lineBuffers.Put(lb)
	}
	return err
}

var _ AuditSink = (*JSONSink)(nil)

// AuditOption configures how a producer of events records them: where
// events go ([WithAudit]), the clock ([WithClock]), what is added
// ([WithContextAttrs]) or hidden ([WithRedaction]), and what happens when a
// sink fails ([WithAuditFailOpen]). The same values serve every producer:
// [NewIssuer], [NewVerifier], [NewKeySet] and [NewRemoteKeySet].
type AuditOption interface {
	Option
	KeySetOption
	RemoteKeySetOption
	RevokerOption
}

// auditConfig is what the audit options set. Every producer holds one and
// records through the recorder made of it.
type auditConfig struct {
	sink         AuditSink
	clock        func() time.Time
	setClock     bool // WithClock was given: durations come from clock too
	contextAttrs func(context.Context) []slog.Attr
	redactor     *Redactor                           // hashes identifying values in events
	failOpen     func(context.Context, Event, error) // nil: fail closed
}

func defaultAuditConfig() auditConfig {
	return auditConfig{sink: DiscardSink, clock: time.Now}
}

type auditOption func(*auditConfig) error

func (o auditOption) applyIssuer(c *issuerConfig) error             { return o(&c.audit) }
func (o auditOption) applyVerifier(c *verifierConfig) error         { return o(&c.audit) }
func (o auditOption) applyKeySet(c *keySetConfig) error             { return o(&c.audit) }
func (o auditOption) applyRemoteKeySet(c *remoteKeySetConfig) error { return o(&c.audit) }
func (o auditOption) applyRevoker(c *revokerConfig) error           { return o(&c.audit) }

var _ AuditOption = auditOption(nil)

// WithAudit sets the sink that records every event (default
// [DiscardSink]).
func WithAudit(sink AuditSink) AuditOption {
	return auditOption(func(c *auditConfig) error {
		if sink == nil {
			return errors.New("jwtaudit: WithAudit: nil sink")
		}
		c.sink = sink
		return nil
	})
}

// WithClock sets the source of the current time (default time.Now), for
// tests and examples. Token times, a key set's retire times, event times
// and durations all use it.
func WithClock(now func() time.Time) AuditOption {
	return auditOption(func(c *auditConfig) error {
		if now == nil {
			return errors.New("jwtaudit: WithClock: nil clock")
		}
		c.clock, c.setClock = now, true
		return nil
	})
}

// WithContextAttrs adds attributes taken from the call's context, such as a
// request id or a client address, to every event, after the event's own
// [Event.Attrs]. fn is called once per event, on the caller's goroutine; the
// slice it returns is copied. A panic in fn is recovered: the operation then
// fails with [ErrInternal], and its event says so.
func WithContextAttrs(fn func(context.Context) []slog.Attr) AuditOption {
	return auditOption(func(c *auditConfig) error {
		if fn == nil {
			return errors.New("jwtaudit: WithContextAttrs: nil function")
		}
		c.contextAttrs = fn
		return nil
	})
}

// WithRedaction writes the subject, the "jti" and the claims copied by
// [WithAuditClaims] into events as their salted hashes (see [Redactor]).
// Error details never quote a subject, an id or a private claim, so with
// redaction on, none of them is written in clear text by this package;
// the text of errors returned by your own validators is yours to keep clean.
func WithRedaction(r *Redactor) AuditOption {
	return auditOption(func(c *auditConfig) error {
		if r == nil {
			return errors.New("jwtaudit: WithRedaction: nil redactor")
		}
		c.redactor = r
		return nil
	})
}

// WithAuditFailOpen makes an operation go ahead when the sink fails to
// record its event, and hands the event and the sink's error to report
// instead (which must not block for long). Without it the trail fails
// closed: Issue and Verify return [ErrAudit] and no token, a key set change
// is not made, a fetched JWKS is not installed. Fail open keeps a service
// available when its audit storage is not, at the price of decisions that
// are not on the record; report is where to raise the alarm. If report
// panics, the alarm was not raised and the operation fails closed.
func WithAuditFailOpen(report func(ctx context.Context, e Event, err error)) AuditOption {
	return auditOption(func(c *auditConfig) error {
		if report == nil {
			return errors.New("jwtaudit: WithAuditFailOpen: nil report function")
		}
		c.failOpen = report
		return nil
	})
}
