// Package otelmetrics counts jwtaudit's audit events as OpenTelemetry
// metrics: a [jwtaudit.AuditSink] on the OpenTelemetry metric API
// (go.opentelemetry.io/otel/metric), for dashboards and alerts beside the
// trail. Put it next to the file sink with [jwtaudit.NewFanOutSink]; any
// MeterProvider (the SDK's, with a Prometheus or OTLP exporter) takes its
// measurements.
//
// The instruments, each with the attributes named:
//
//	jwtaudit.tokens          counter     issued and verified tokens: op, outcome, reason; cached on a verify
//	jwtaudit.duration        histogram   seconds an Issue or Verify took: op, outcome
//	jwtaudit.key_changes     counter     KeySet changes: op, outcome, reason
//	jwtaudit.jwks_fetches    counter     RemoteKeySet fetches: op, outcome, reason
//	jwtaudit.revocations     counter     Revoker calls: op, outcome, reason
//	jwtaudit.store_states    counter     state changes of a shared revocation store: state, cause
//	jwtaudit.audit_dropped   counter     events an AsyncSink dropped
//
// reason is absent on a success; cached is true for a Verify answered from
// the verified-token cache; state is current, stale or incomplete, and
// cause (silent_link, link_lost, load_failed, full, or none) why a store
// is not current: alert on any increase with state other than current. Only these bounded enumerations become
// attributes: never a subject, a key id or anything else from a token,
// which would make a series per user and put identifiers in the metrics.
//
// Recording an event allocates nothing: every attribute set is made once,
// when the sink is.
package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jwtaudit/jwtaudit"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Sink records audit events as metrics. It is safe for concurrent use.
// Record never fails: a metric that cannot be taken must not refuse the
// operation it describes.
type Sink struct {
	tokens, keyChanges, jwksFetches, revocations, storeStates, dropped metric.Int64Counter
	duration                                                           metric.Float64Histogram

	counted   [numOps][numOutcomes][numReasons]addOptions // op, outcome, reason
	cacheHits [numOutcomes][numReasons]addOptions         // a Verify answered from the cache
	timed     [numOps][numOutcomes][]metric.RecordOption
	states    [numStates][numCauses]addOptions // a store's state change: state, cause
}

// addOptions holds one attribute set as the options Add takes, made once:
// passing a slice that exists already is what keeps Record from allocating.
type addOptions []metric.AddOption

// The enumerations' sizes: every value up to the last one this version of
// jwtaudit names, and one more for the values it does not (written as
// "unknown", as the event's own String methods do).
const (
	numOps      = int(jwtaudit.OpRevoke) + 2
	numOutcomes = int(jwtaudit.OutcomeError) + 2
	numReasons  = 64
	numStates   = int(jwtaudit.StoreIncomplete) + 2
	numCauses   = int(jwtaudit.StoreFull) + 2
)

// durationBuckets are the histogram's bounds in seconds: from 10 µs (an
// HMAC Verify takes a few) to a second (a JWKS fetch behind a slow
// network is not in it).
var durationBuckets = []float64{
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
}

// NewSink makes the instruments on a meter of mp named after this
// package, and every attribute set they record with.
func NewSink(mp metric.MeterProvider) (*Sink, error) {
	if mp == nil {
		return nil, errors.New("otelmetrics: NewSink: nil MeterProvider")
	}
	m := mp.Meter("github.com/jwtaudit/jwtaudit/otelmetrics")
	s := &Sink{}
	var errs []error
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{event}"))
		errs = append(errs, err)
		return c
	}
	s.tokens = counter("jwtaudit.tokens", "Tokens issued and verified, by outcome and reason.")
	s.keyChanges = counter("jwtaudit.key_changes", "Key set changes: a key published, rotated in or removed.")
	s.jwksFetches = counter("jwtaudit.jwks_fetches", "JWKS fetches of remote key sets.")
	s.revocations = counter("jwtaudit.revocations", "Revocations of a token or of a subject's tokens.")
	s.storeStates = counter("jwtaudit.store_states", "State changes of a revocation store shared among instances, by state and cause.")
	s.dropped = counter("jwtaudit.audit_dropped", "Audit events an asynchronous sink dropped.")
	var err error
	s.duration, err = m.Float64Histogram("jwtaudit.duration",
		metric.WithDescription("Time an Issue or Verify took."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err = errors.Join(append(errs, err)...); err != nil {
		return nil, fmt.Errorf("otelmetrics: %w", err)
	}

	for op := range numOps {
		for outcome := range numOutcomes {
			names := []attribute.KeyValue{
				attribute.String("op", jwtaudit.Op(op).String()),
				attribute.String("outcome", jwtaudit.Outcome(outcome).String()),
			}
			s.timed[op][outcome] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(names...))}
			for reason := range numReasons {
				r := jwtaudit.Reason(reason)
				if jwtaudit.Op(op) != jwtaudit.OpVerify {
					s.counted[op][outcome][reason] = withReason(names, r)
					continue
				}
				s.counted[op][outcome][reason] = withReason(names, r, attribute.Bool("cached", false))
				s.cacheHits[outcome][reason] = withReason(names, r, attribute.Bool("cached", true))
			}
		}
	}
	for state := range numStates {
		for cause := range numCauses {
			s.states[state][cause] = addOptions{metric.WithAttributeSet(attribute.NewSet(
				attribute.String("state", jwtaudit.StoreState(state).String()),
				attribute.String("cause", jwtaudit.StoreCause(cause).String())))}
		}
	}
	return s, nil
}

// withReason is the attribute set of names, the reason unless it is none,
// and more.
func withReason(names []attribute.KeyValue, r jwtaudit.Reason, more ...attribute.KeyValue) addOptions {
	kvs := append([]attribute.KeyValue(nil), names...)
	if r != jwtaudit.ReasonNone {
		kvs = append(kvs, attribute.String("reason", r.String()))
	}
	kvs = append(kvs, more...)
	return addOptions{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

// Record counts e on the instrument of its op.
func (s *Sink) Record(ctx context.Context, e jwtaudit.Event) error {
	op, outcome, reason := index(int(e.Op), numOps), index(int(e.Outcome), numOutcomes), index(int(e.Reason), numReasons)
	attrs := s.counted[op][outcome][reason]
	switch e.Op {
	case jwtaudit.OpIssue, jwtaudit.OpVerify:
		if e.Cached {
			attrs = s.cacheHits[outcome][reason]
		}
		s.tokens.Add(ctx, 1, attrs...)
		s.duration.Record(ctx, e.Duration.Seconds(), s.timed[op][outcome]...)
	case jwtaudit.OpKeyRotate:
		s.keyChanges.Add(ctx, 1, attrs...)
	case jwtaudit.OpJWKSFetch:
		s.jwksFetches.Add(ctx, 1, attrs...)
	case jwtaudit.OpRevoke:
		s.revocations.Add(ctx, 1, attrs...)
	case jwtaudit.OpStoreState:
		state, cause := storeState(e.Attrs)
		s.storeStates.Add(ctx, 1, s.states[state][cause]...)
	case jwtaudit.OpAuditDropped:
		s.dropped.Add(ctx, droppedCount(e.Attrs))
	}
	return nil
}

// index maps an enumeration's value to its slot: the values past the last
// one known share the last slot, written "unknown".
func index(v, n int) int {
	if v < 0 || v >= n-1 {
		return n - 1
	}
	return v
}

// storeState reads the state and cause a store_state event names, as
// the slots of their enumerations.
func storeState(attrs []slog.Attr) (state, cause int) {
	state, cause = numStates-1, numCauses-1
	for _, a := range attrs {
		switch a.Key {
		case "state":
			state = slot(a.Value.String(), numStates, func(i int) string { return jwtaudit.StoreState(i).String() })
		case "cause":
			cause = slot(a.Value.String(), numCauses, func(i int) string { return jwtaudit.StoreCause(i).String() })
		}
	}
	return state, cause
}

// slot finds the value whose name is name among the n-1 an enumeration
// names, or the last slot, "unknown".
func slot(name string, n int, nameOf func(int) string) int {
	for i := range n - 1 {
		if nameOf(i) == name {
			return i
		}
	}
	return n - 1
}

// droppedCount reads the count an AsyncSink puts in its report.
func droppedCount(attrs []slog.Attr) int64 {
	for _, a := range attrs {
		if a.Key == "dropped" && a.Value.Kind() == slog.KindUint64 {
			return int64(min(a.Value.Uint64(), 1<<62))
		}
	}
	return 1
}

var _ jwtaudit.AuditSink = (*Sink)(nil)
