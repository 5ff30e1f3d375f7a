// Package eventtest keeps the audit events a test's verifier records.
package eventtest

import (
	"context"
	"sync"

	"github.com/jwtaudit/jwtaudit"
)

// Recorder is an audit sink that keeps every event until Take.
type Recorder struct {
	mu   sync.Mutex
	list []jwtaudit.Event
}

// Record implements jwtaudit.AuditSink.
func (r *Recorder) Record(_ context.Context, ev jwtaudit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, ev)
	return nil
}

// Take returns the events recorded since the last Take.
func (r *Recorder) Take() []jwtaudit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.list
	r.list = nil
	return out
}

// Attr returns the value of an event's attribute, or "".
func Attr(ev jwtaudit.Event, key string) string {
	for _, a := range ev.Attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}
