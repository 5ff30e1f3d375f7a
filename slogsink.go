package jwtaudit

import (
	"context"
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

// Record writes e as one log record. An event below the handler's level is
// skipped, which is not an error.
func (s *SlogSink) Record(ctx context.Context, e Event) error {
	level := e.Level()
	if !s.handler.Enabled(ctx, level) {
		return nil
	}
	r := slog.NewRecord(e.Time, level, e.Message(), 0)
	r.AddAttrs(e.LogValue().Group()...)
	return s.handler.Handle(ctx, r)
}
