package jwtaudit

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

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
