package jwtaudit

import (
	"context"
	"errors"
)

// FanOutPolicy says how many of a fan-out's sinks must record an event.
type FanOutPolicy uint8

// The policies.
const (
	// AllSinks: the event counts as recorded only if every sink recorded
	// it; one failure is an error (and, failing closed, refuses the
	// operation).
	AllSinks FanOutPolicy = iota

	// AnySink: one sink recording the event is enough, as with HashiCorp
	// Vault's audit devices; only when every sink fails is it an error.
	AnySink
)

// FanOutSink hands every event to several sinks, in order, each its own
// copy of the event.
//
// For several slog handlers under the AllSinks policy, a single
// NewSlogSink(slog.NewMultiHandler(h1, h2)) does the same; FanOutSink is
// for sinks that are not slog handlers, and for the AnySink policy, which
// slog does not offer.
type FanOutSink struct {
	policy FanOutPolicy
	sinks  []AuditSink
}

// NewFanOutSink returns a sink that records to each of sinks under policy.
// It panics on a nil sink, as a configuration error.
func NewFanOutSink(policy FanOutPolicy, sinks ...AuditSink) *FanOutSink {
	for _, s := range sinks {
		if s == nil {
			panic("jwtaudit: NewFanOutSink: nil sink")
		}
	}
	return &FanOutSink{policy: policy, sinks: append([]AuditSink(nil), sinks...)}
}

// Record hands e to every sink, even after one has failed, and returns the
// failures joined, or nil when the policy is met. Every sink but the last
// gets a clone of e, so that no sink sees what another changed.
func (f *FanOutSink) Record(ctx context.Context, e Event) error {
	var errs []error
	for i, s := range f.sinks {
		own := e
		if i < len(f.sinks)-1 {
			own = e.Clone()
		}
		if err := s.Record(ctx, own); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 || (f.policy == AnySink && len(errs) < len(f.sinks)) {
		return nil
	}
	return errors.Join(errs...)
}
