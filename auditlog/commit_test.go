package auditlog

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

// TestLinesAreSlogs checks that a stored line is, byte for byte, what
// slog.JSONHandler writes for the event with the chain members first, as
// the store wrote them before it encoded events itself.
func TestLinesAreSlogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	s, err := Open(path, Options{ChainKey: testChainKey})
	if err != nil {
		t.Fatal(err)
	}
	events := []jwtaudit.Event{event(1), benchEvent(), {
		Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeRejected, Reason: jwtaudit.ReasonSignature,
		Subject: "\u2028<script>\"\\", Audience: []string{"a", "b\x7f"},
		Attrs: []slog.Attr{slog.Float64("load", 0.5), slog.String("SEQ", "forged"), slog.Group("", slog.Int("prev", 1))},
	}}
	for _, e := range events {
		if err := s.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	for i, line := range lines(t, path) {
		rec, err := parseChain([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		e := events[i]
		e.Attrs = withoutChainNames(e.Attrs)
		var buf bytes.Buffer
		r := slog.NewRecord(e.Time, e.Level(), e.Message(), 0)
		r.AddAttrs(slog.Uint64("seq", rec.Seq), slog.String("prev", rec.Prev), slog.String("chain", rec.Chain), slog.String("instance", rec.Instance))
		r.AddAttrs(e.LogValue().Group()...)
		if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if got, want := line+"\n", buf.String(); got != want {
			t.Errorf("line %d is\n%q\nslog writes\n%q", i+1, got, want)
		}
	}
	if rep, err := Verify([]string{path}, VerifyOptions{ChainKey: testChainKey}); err != nil || rep.Records != 3 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// gatedFile holds each Write until the test lets it through, and fails
// the ones it is told to fail after writing half.
type gatedFile struct {
	*os.File
	entered chan struct{} // a Write has begun
	gate    chan struct{} // lets one Write through
	fail    atomic.Bool
	writes  atomic.Int32
}

func (f *gatedFile) Write(p []byte) (int, error) {
	f.entered <- struct{}{}
	<-f.gate
	f.writes.Add(1)
	if f.fail.Load() {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

// openGated opens a store whose file is a gatedFile.
func openGated(t *testing.T, path string) (*Sink, *gatedFile) {
	t.Helper()
	gf := &gatedFile{entered: make(chan struct{}), gate: make(chan struct{})}
	orig := openFile
	t.Cleanup(func() { openFile = orig })
	openFile = func(p string, mode os.FileMode) (file, error) {
		f, err := orig(p, mode)
		if err != nil {
			return nil, err
		}
		gf.File = f.(*os.File)
		return gf, nil
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, gf
}

// queuedBehind waits until n records wait in the group behind the one
// being written.
func queuedBehind(t *testing.T, s *Sink, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		queued := s.open != nil && s.open.waiters == n
		s.mu.Unlock()
		if queued {
			return
		}
	}
	t.Fatalf("%d records never queued", n)
}

// recordAll records events 1 to n, each from its own goroutine, and
// returns their errors once all are back.
func recordAll(s *Sink, first, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Record(context.Background(), event(first+i)) })
	}
	wg.Wait()
	return errs
}

// TestGroupCommit checks that records arriving during a write go in the
// next one, together, and are in the file when Record returns.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	s, gf := openGated(t, path)
	defer s.Close()

	first := make(chan error)
	go func() { first <- s.Record(context.Background(), event(0)) }()
	<-gf.entered // the first record's write is under way
	behind := make(chan []error)
	go func() { behind <- recordAll(s, 1, 5) }()
	queuedBehind(t, s, 5)
	gf.gate <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-gf.entered // the five go in one write
	gf.gate <- struct{}{}
	for _, err := range <-behind {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := gf.writes.Load(); got != 2 {
		t.Errorf("6 records took %d writes, want 2", got)
	}
	if n := len(lines(t, path)); n != 6 {
		t.Errorf("the file has %d lines when every Record has returned, want 6", n)
	}
	if h := s.Head(); h.Seq != 6 {
		t.Errorf("Head = %+v, want seq 6", h)
	}
	if rep, err := Verify([]string{path}, VerifyOptions{}); err != nil || rep.Records != 6 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// TestFailedGroupRefusesItsRecordsAndThoseBehind checks that when a
// group's write fails, its records and those queued behind it (chained on
// it) are all refused and absent, and the store goes on.
func TestFailedGroupRefusesItsRecordsAndThoseBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	writeLog(t, path, Options{}, 2)
	s, gf := openGated(t, path)
	defer s.Close()

	first := make(chan error)
	go func() { first <- s.Record(context.Background(), event(10)) }()
	<-gf.entered
	behind := make(chan []error)
	go func() { behind <- recordAll(s, 11, 3) }()
	queuedBehind(t, s, 3)
	gf.fail.Store(true)
	gf.gate <- struct{}{}
	if err := <-first; !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("the failed write's record: %v", err)
	}
	for i, err := range <-behind {
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("record %d queued behind the failed write: %v", i, err)
		}
	}
	if got := gf.writes.Load(); got != 1 {
		t.Errorf("%d writes; the records behind the failed one must not be written", got)
	}
	if h := s.Head(); h.Seq != 2 {
		t.Errorf("Head after the failure = %+v, want seq 2", h)
	}
	s.mu.Lock()
	if s.queued != 0 || s.queuedSeq != 2 || s.open != nil {
		t.Errorf("after the failure %d bytes and records to seq %d are counted as queued, want none", s.queued, s.queuedSeq)
	}
	s.mu.Unlock()

	gf.fail.Store(false)
	done := make(chan error)
	go func() { done <- s.Record(context.Background(), event(20)) }()
	<-gf.entered
	gf.gate <- struct{}{}
	if err := <-done; err != nil {
		t.Fatalf("a record after the failure: %v", err)
	}
	rep, err := Verify([]string{path}, VerifyOptions{})
	if err != nil || rep.Records != 3 {
		t.Errorf("Verify = %+v, %v; want the 2 records before and the 1 after", rep, err)
	}
	data, _ := os.ReadFile(path)
	for _, refused := range []string{"user-10", "user-11", "user-12", "user-13"} {
		if bytes.Contains(data, []byte(refused)) {
			t.Errorf("the log holds the refused record of %s", refused)
		}
	}
}

// TestConcurrentRecordsFormOneChain records from many goroutines, with
// rotation, and checks that every accepted record is in one valid chain.
func TestConcurrentRecordsFormOneChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	opts := Options{MaxSize: 16 << 10, MaxFiles: 3, ChainKey: testChainKey, Durability: SyncNever}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 8, 300
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := s.Record(context.Background(), event(g*each+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	head := s.Head()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := []string{path + ".3", path + ".2", path + ".1", path}
	rep, err := Verify(files, VerifyOptions{ChainKey: testChainKey, Head: &head})
	if err != nil {
		t.Fatalf("Verify: %v (%+v)", err, rep)
	}
	if head.Seq < goroutines*each {
		t.Errorf("head seq %d, want at least %d (retention records come on top)", head.Seq, goroutines*each)
	}
}
