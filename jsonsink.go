package jwtaudit

import (
	"context"
	"io"
	"sync"
)

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
