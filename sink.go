package jwtaudit

import "context"

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
