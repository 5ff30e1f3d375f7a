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

// FanOut hands every event to several sinks, in order.
//
// For several slog handlers under the AllSinks policy, a single
// NewSlogSink(slog.NewMultiHandler(h1, h2)) does the same; FanOut is for
// sinks that are not slog handlers, and for the AnySink policy, which
// slog does not offer.
type FanOut struct {
	policy FanOutPolicy
	sinks  []AuditSink
}

// NewFanOut returns a sink that records to each of sinks under policy.
// It panics on a nil sink, as a configuration error.
func NewFanOut(policy FanOutPolicy, sinks ...AuditSink) *FanOut {
	for _, s := range sinks {
		if s == nil {
			panic("jwtaudit: NewFanOut: nil sink")
		}
	}
	return &FanOut{policy: policy, sinks: append([]AuditSink(nil), sinks...)}
}

// Record hands e to every sink, even after one has failed, and returns the
// failures joined, or nil when the policy is met.
func (f *FanOut) Record(ctx context.Context, e Event) error {
	var errs []error
	for _, s := range f.sinks {
		if err := s.Record(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 || (f.policy == AnySink && len(errs) < len(f.sinks)) {
		return nil
	}
	return errors.Join(errs...)
}
