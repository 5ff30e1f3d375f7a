package jwtaudit

import (
	"context"
	"fmt"
	"log/slog"
)

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
