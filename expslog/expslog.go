// Package expslog writes jwtaudit's audit events to a handler of
// golang.org/x/exp/slog, the copy of log/slog that predates Go 1.21, for
// services that have not moved to the standard library yet.
//
// It is a package of its own so that jwtaudit itself never imports x/exp:
// only services that use this adapter pull it in.
package expslog

import (
	"context"
	"fmt"
	stdslog "log/slog"

	"github.com/jwtaudit/jwtaudit"
	"golang.org/x/exp/slog"
)

// Sink is a [jwtaudit.AuditSink] that writes each event as one record to an
// x/exp/slog handler, with the same attributes the standard library's
// handlers get from [jwtaudit.SlogSink]. Like SlogSink it calls the
// handler's Handle itself, so that a failed write is an error.
type Sink struct {
	handler slog.Handler
}

// NewSink returns a sink writing to h. It panics if h is nil.
func NewSink(h slog.Handler) *Sink {
	if h == nil {
		panic("expslog: NewSink: nil handler")
	}
	return &Sink{handler: h}
}

// Record writes e. A handler that is not enabled for the event's level
// would drop it: that is an error, as with [jwtaudit.SlogSink], so the
// operation fails closed instead of going off the record.
func (s *Sink) Record(ctx context.Context, e jwtaudit.Event) error {
	level := slog.Level(e.Level())
	if !s.handler.Enabled(ctx, level) {
		return fmt.Errorf("expslog: the slog handler is not enabled for %s records, so it would drop this event", level)
	}
	r := slog.NewRecord(e.Time, level, e.Message(), 0)
	for _, a := range e.LogValue().Group() {
		r.AddAttrs(convert(a))
	}
	return s.handler.Handle(ctx, r)
}

// convert turns a log/slog attribute into its x/exp/slog twin, kind by
// kind, so that handlers see typed values and not opaque ones.
func convert(a stdslog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case stdslog.KindString:
		return slog.String(a.Key, v.String())
	case stdslog.KindInt64:
		return slog.Int64(a.Key, v.Int64())
	case stdslog.KindUint64:
		return slog.Uint64(a.Key, v.Uint64())
	case stdslog.KindFloat64:
		return slog.Float64(a.Key, v.Float64())
	case stdslog.KindBool:
		return slog.Bool(a.Key, v.Bool())
	case stdslog.KindDuration:
		return slog.Duration(a.Key, v.Duration())
	case stdslog.KindTime:
		return slog.Time(a.Key, v.Time())
	case stdslog.KindGroup:
		group := v.Group()
		attrs := make([]slog.Attr, len(group))
		for i, g := range group {
			attrs[i] = convert(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(attrs...)}
	default:
		return slog.Any(a.Key, v.Any())
	}
}

var _ jwtaudit.AuditSink = (*Sink)(nil)
