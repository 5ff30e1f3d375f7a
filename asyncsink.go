package jwtaudit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// AsyncSink records events on a goroutine of its own, behind a bounded
// queue, so that Issue and Verify do not wait for the disk. Create it with
// [NewAsyncSink] and Close it when the service stops.
//
// What it trades: once Record has accepted an event, a failure to write it
// can no longer refuse the operation (the trail cannot fail closed for
// it); such failures are counted and handed to [AsyncOptions.OnError].
// What it keeps: an accepted event is written even if the caller's context
// is cancelled; Flush and Close wait for the queue to drain; after Close,
// Record returns an error instead of losing the event.
type AsyncSink struct {
	next    AuditSink
	rec     recorder // records the counts of dropped events into next
	queue   chan asyncItem
	opts    AsyncOptions
	mu      sync.Mutex // guards closed; Record holds it only to join senders
	closed  bool
	senders sync.WaitGroup // Record calls that may still send on queue
	done    chan struct{}  // closed when the writer goroutine has ended

	enqueued, written, dropped, failed atomic.Uint64
	unreported                         atomic.Uint64 // drops not yet written as an event
}

// AsyncOptions configures an [AsyncSink]. The zero value is a queue of
// 4096 events that blocks when full.
type AsyncOptions struct {
	// QueueSize is how many events may wait to be written (default 4096).
	QueueSize int

	// DropWhenFull makes Record drop an event when the queue is full,
	// instead of waiting for room (the default, which loses nothing).
	// Dropped events are counted, and the count is itself written as an
	// event with Op OpAuditDropped as soon as the writer has room again.
	DropWhenFull bool

	// OnError, if set, is called on the writer goroutine with each error
	// the wrapped sink returns.
	OnError func(error)
}

// AsyncStats are an AsyncSink's counters, for metrics. All but Pending
// count since the sink was created.
type AsyncStats struct {
	Enqueued uint64 // events accepted by Record
	Written  uint64 // events the wrapped sink recorded
	Dropped  uint64 // events dropped because the queue was full
	Failed   uint64 // events the wrapped sink refused
	Pending  int    // events waiting in the queue now
}

// asyncItem is an event to write, or a flush barrier when flushed is set.
type asyncItem struct {
	ctx     context.Context
	event   Event
	flushed chan struct{}
}

const defaultQueueSize = 4096

// NewAsyncSink starts the writer goroutine and returns the sink. Close
// stops it.
func NewAsyncSink(next AuditSink, opts AsyncOptions) *AsyncSink {
	if next == nil {
		panic("jwtaudit: NewAsyncSink: nil sink")
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = defaultQueueSize
	}
	audit := defaultAuditConfig()
	audit.sink = next
	a := &AsyncSink{
		next:  next,
		rec:   newRecorder(audit),
		queue: make(chan asyncItem, opts.QueueSize),
		opts:  opts,
		done:  make(chan struct{}),
	}
	go a.run()
	return a
}

// Record queues e. It returns once the event is queued, which is at once
// unless the queue is full: then it waits for room (or, with DropWhenFull,
// drops the event and returns nil). It returns the context's error if ctx
// ends while it waits, and ErrClosed after Close: in both cases the event
// was not queued.
func (a *AsyncSink) Record(ctx context.Context, e Event) error {
	if !a.join() {
		return ErrClosed
	}
	defer a.senders.Done()
	// Cancelling the caller's context must not lose a queued event: the
	// writer gets the context's values without its cancellation.
	item := asyncItem{ctx: context.WithoutCancel(ctx), event: e}
	select {
	case a.queue <- item:
		a.enqueued.Add(1)
		return nil
	default:
	}
	if a.opts.DropWhenFull {
		a.dropped.Add(1)
		a.unreported.Add(1)
		return nil
	}
	select {
	case a.queue <- item:
		a.enqueued.Add(1)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jwtaudit: audit queue full: %w", ctx.Err())
	}
}

// join registers a sender, unless the sink is closed.
func (a *AsyncSink) join() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.senders.Add(1)
	return true
}

// Flush waits until every event queued before it was called has been
// handed to the wrapped sink, or ctx ends.
func (a *AsyncSink) Flush(ctx context.Context) error {
	if !a.join() {
		return ErrClosed
	}
	flushed := make(chan struct{})
	select {
	case a.queue <- asyncItem{flushed: flushed}:
		a.senders.Done()
	case <-ctx.Done():
		a.senders.Done()
		return ctx.Err()
	}
	select {
	case <-flushed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events, waits until every queued event has been
// handed to the wrapped sink and the writer goroutine has ended, and
// returns. If ctx ends first it returns ctx's error; the writer then goes on
// until the queue is empty and ends by itself, so nothing queued is lost.
// Close does not close the wrapped sink.
func (a *AsyncSink) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	a.closed = true
	a.mu.Unlock()
	go func() {
		// Senders blocked on a full queue get room as the writer drains,
		// so this ends; only then is it safe to close the queue.
		a.senders.Wait()
		close(a.queue)
	}()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jwtaudit: closing the audit sink: %w", ctx.Err())
	}
}

// Stats returns the sink's counters.
func (a *AsyncSink) Stats() AsyncStats {
	return AsyncStats{
		Enqueued: a.enqueued.Load(),
		Written:  a.written.Load(),
		Dropped:  a.dropped.Load(),
		Failed:   a.failed.Load(),
		Pending:  len(a.queue),
	}
}

// run is the writer goroutine.
func (a *AsyncSink) run() {
	defer close(a.done)
	for item := range a.queue {
		if item.flushed != nil {
			close(item.flushed)
			continue
		}
		a.write(item.ctx, item.event)
		if n := a.unreported.Swap(0); n > 0 {
			a.reportDropped(n)
		}
	}
}

func (a *AsyncSink) write(ctx context.Context, e Event) {
	if err := a.next.Record(ctx, e); err != nil {
		a.failed.Add(1)
		if a.opts.OnError != nil {
			a.opts.OnError(err)
		}
		return
	}
	a.written.Add(1)
}

// reportDropped records that n events were lost to a full queue, as an
// event of its own, through the recorder like every other event.
func (a *AsyncSink) reportDropped(n uint64) {
	ev := a.rec.begin(OpAuditDropped)
	ev.Attrs = []slog.Attr{slog.Uint64("dropped", n)}
	dropped := fail(ReasonAudit, "%d audit events dropped: the queue was full", n)
	if err := a.rec.finish(context.Background(), &ev, dropped, nil); err != nil {
		a.failed.Add(1)
		if a.opts.OnError != nil {
			a.opts.OnError(err)
		}
		return
	}
	a.written.Add(1)
}
