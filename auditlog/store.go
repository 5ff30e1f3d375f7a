// Package auditlog is jwtaudit's file sink: an audit trail of JSON lines
// that proves it has not been edited.
//
// A [Sink] is a [jwtaudit.AuditSink] that writes each event as one line
// of JSON, to a file it opens itself: byte for byte the line
// [log/slog.JSONHandler] writes for the event with the chain members first
// (encoded by [jwtaudit.Event.AppendJSON], without allocating). Every line
// carries a sequence number ("seq"), the hash of the previous line's exact
// bytes ("prev": SHA-256, or HMAC-SHA256 under a chain key, so that someone
// without the key cannot rebuild the chain after an edit), the name of the
// key that chained it ("chain": "sha256", or an id derived from the key,
// never the key) and the store's instance ("instance", so that a fleet's
// logs can be verified together: [VerifyInstances]). Signed [Checkpoints]
// can sign the chain as it grows. The chain runs on across size-based
// rotation and across restarts; when retention deletes the oldest rotated
// file, a "retention" record says which records went. [Verify] checks a
// log, rotated files and all, and names the first line that does not fit:
// edited, inserted, deleted, reordered, torn, cut from the start, or
// chained with another key; with a [Head] kept elsewhere it also detects a
// log cut short at the end.
//
// A log has one writer at a time, a record is never longer than what Open
// and Verify read back (1 MiB), and a refused operation never has a
// record.
//
//	{"time":"…","level":"INFO","msg":"token verified","seq":42,"prev":"9f86d0…","chain":"sha256","instance":"api-1","op":"verify",…}
package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jwtaudit/jwtaudit"
)

// Durability says when written records are forced to stable storage.
type Durability uint8

// The durability settings.
const (
	// SyncInterval syncs the file every Options.SyncEvery (default one
	// second) when something was written: a crash loses at most that
	// much. The default.
	SyncInterval Durability = iota

	// SyncEveryRecord syncs after each record: nothing acknowledged is
	// lost, at the cost of a disk flush per Issue and Verify.
	SyncEveryRecord

	// SyncNever leaves it to the operating system.
	SyncNever
)

// Options configures a Sink. The zero value rotates never, syncs every
// second and chains with plain SHA-256.
type Options struct {
	// MaxSize rotates the file before a record would make it larger than
	// this many bytes: PATH becomes PATH.1, PATH.1 becomes PATH.2, and so
	// on. 0 never rotates.
	MaxSize int64

	// MaxFiles is how many rotated files are kept; older ones are deleted,
	// each after a "retention" record that names the records it held, so
	// that a chain which no longer starts at record 1 still verifies. 0
	// keeps them all.
	MaxFiles int

	// Durability and SyncEvery: see Durability.
	Durability Durability
	SyncEvery  time.Duration

	// ChainKey, when set, chains records with HMAC-SHA256 under this key
	// instead of SHA-256: 32 bytes or more (`jwtaudit keygen` makes one).
	// Keep it apart from the log; [Verify] needs it. A log is opened with
	// the key it was written with: Open refuses another.
	ChainKey []byte

	// FileMode is the permission of files the store creates (default
	// 0600: the trail names users).
	FileMode os.FileMode

	// Checkpoints, when set, makes the store sign its chain every so many
	// records (see Checkpoints).
	Checkpoints *Checkpoints

	// Instance names this store in every record ("instance"), so that the
	// logs of a fleet's instances, copied into one place, can be verified
	// together, each chain on its own ([VerifyInstances]): letters, digits
	// and .-_: only. A new log without one gets the host's name and a
	// random suffix; a log that exists goes on with the instance its last
	// record names, and Open refuses another. A log begun before
	// instances were recorded goes on without one.
	Instance string
}

// Recovery describes what Open removed from the end of a log it reopened:
// a torn last line, a record whose writing was cut short by a crash; or
// the records of a write that failed, and was refused, where the store
// could not cut them off at the time (see Sink.Record) and recorded
// where the log ended before them. The bytes are removed from the file,
// and the store's first new record is a "recover" record that states
// their length and hash.
type Recovery struct {
	TornBytes int    // length of the incomplete line
	TornHash  string // hex SHA-256 of its bytes
	AfterSeq  uint64 // the last complete record before them

	// RefusedBytes and RefusedHash, when RefusedBytes is not 0, are the
	// length and hex SHA-256 of the refused records removed (a torn line
	// among them).
	RefusedBytes int
	RefusedHash  string
}

// Sink is the file sink. It is safe for concurrent use within a process;
// one process writes a log, since two stores appending to the same file
// would interleave two chains.
//
// Concurrent records share write calls (see [Sink.Record]): under load one
// write(2), and under SyncEveryRecord one fsync, carries the records of
// every caller that arrived while the previous one was being made.
type Sink struct {
	path     string
	opts     Options
	hasher   chainHasher // used under mu
	instance string      // written in every record; "" in a log begun without
	lock     *writerLock // the writer lock, held until Close

	mu       sync.Mutex
	f        file
	size     int64 // bytes in the file
	dirty    bool  // written since the last sync
	broken   error // set when a failed write could not be undone
	closing  bool  // Close has begun: records are refused
	closed   bool  // the file is closed
	recovery *Recovery

	// The group commit (see commit.go).
	tip       link         // the chain's last record chained: written or being written
	written   link         // the last record in the file
	queuedSeq uint64       // the place of the last record queued
	queued    int64        // bytes queued or being written, not yet in size
	open      *group       // records queued behind the group being written
	spares    []*group     // finished groups, kept for their buffers
	flushing  bool         // a group is being written, outside mu
	arriving  atomic.Int32 // Record calls between their start and their queueing: worth waiting for
	drained   sync.Cond    // on mu: broadcast when a group's write ends, for drain

	// Checkpoints (see checkpoint.go): the place of the last record a
	// checkpoint counted (the checkpoint record itself), and when; resumed
	// while the next checkpoint is the first after records written
	// without any (see resumeCadence).
	checkpointed   uint64
	checkpointTime time.Time
	resumed        bool
	unpublished    [][]byte // checkpoints written, not yet handed to Publish

	stopSync chan struct{}
	synced   sync.WaitGroup
}

// file is what the store needs of an *os.File; tests give it a failing one.
type file interface {
	io.Writer
	Sync() error
	Close() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
}

// openFile opens the log for appending; a variable so that tests can make
// writes fail.
var openFile = func(path string, mode os.FileMode) (file, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|openNoFollow, mode)
}

const defaultSyncEvery = time.Second

// Open opens (or creates) the log at path and resumes its chain from the
// last complete record: of the file itself, or of PATH.1 when the file is
// empty. A torn last line is cut off and reported by [Sink.Recovered] and
// by a "recover" record. A file that is not a chained log is refused.
//
// A log has one writer: Open takes an advisory lock on DIR/.NAME.lock
// (flock, on Unix systems), and a second Open of the same log, from this process
// or another, fails until the first Sink is closed. A symbolic link at
// path is refused rather than followed: whoever could plant one could send
// the trail, and the files rotation creates beside it, anywhere the
// service may write.
func Open(path string, opts Options) (s *Sink, err error) {
	if opts.MaxSize < 0 || opts.MaxFiles < 0 || opts.SyncEvery < 0 {
		return nil, errors.New("auditlog: negative MaxSize, MaxFiles or SyncEvery")
	}
	if opts.SyncEvery == 0 {
		opts.SyncEvery = defaultSyncEvery
	}
	if opts.FileMode == 0 {
		opts.FileMode = 0o600
	}
	if opts.Instance != "" {
		if err := CheckInstance(opts.Instance); err != nil {
			return nil, err
		}
	}
	if opts.Checkpoints != nil {
		c := *opts.Checkpoints // the defaults go in the store's copy
		if err := c.check(); err != nil {
			return nil, err
		}
		opts.Checkpoints = &c
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("auditlog: %s is a symbolic link; give the path of the log itself", path)
	}
	lock, err := lockLog(path, opts.FileMode)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	hasher, err := newChainHasher(opts.ChainKey)
	if err != nil {
		return nil, err
	}
	s = &Sink{path: path, opts: opts, hasher: hasher, lock: lock}
	s.drained.L = &s.mu
	s.spares = make([]*group, 0, maxSpareGroups)
	if err := s.removeRefused(); err != nil {
		return nil, err
	}

	tail, err := readTail(path)
	if err != nil {
		return nil, err
	}
	if tail.lastLine == nil {
		// No complete record yet, as just after a rotation: the chain
		// goes on from the rotated file.
		if prev, err := readTail(rotatedName(path, 1)); err != nil {
			return nil, err
		} else if prev.lastLine != nil {
			tail.lastLine = prev.lastLine
		}
	}
	if tail.lastLine != nil {
		last, err := parseChain(tail.lastLine)
		if err != nil {
			return nil, fmt.Errorf("auditlog: %s: last record: %w", path, err)
		}
		if last.Chain != s.hasher.id {
			return nil, fmt.Errorf("auditlog: %s is chained with the key %s, and Options.ChainKey is %s: open it with the key it was written with, or start a new log", path, last.Chain, s.hasher.id)
		}
		if opts.Instance != "" && last.Instance != opts.Instance {
			return nil, fmt.Errorf("auditlog: %s is the log of instance %q, and Options.Instance is %q: open it as the instance that wrote it, or start a new log", path, last.Instance, opts.Instance)
		}
		s.instance = last.Instance
		s.tip.seq = last.Seq
		s.hasher.digest(tail.lastLine, &s.tip.hash)
		s.written, s.queuedSeq = s.tip, s.tip.seq
	} else if s.instance = opts.Instance; s.instance == "" {
		s.instance = newInstance()
	}
	s.checkpointed, s.checkpointTime = s.queuedSeq, time.Now()
	if opts.Checkpoints != nil && s.queuedSeq > 0 {
		if err := s.resumeCadence(); err != nil {
			return nil, err
		}
	}

	if s.f, err = openFile(path, opts.FileMode); err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	s.size = tail.complete
	if tail.torn != nil || s.recovery != nil {
		if err := s.recover(tail); err != nil {
			s.f.Close()
			return nil, err
		}
	}
	if opts.Durability == SyncInterval {
		s.stopSync = make(chan struct{})
		s.synced.Add(1)
		go s.syncLoop()
	}
	return s, nil
}

// removeRefused cuts off the records of a failed write that the store
// writing them could not take back (see refused.go), if the lock file
// says there are such, before anything reads the log's end; the recover
// record says so once the file is open.
func (s *Sink) removeRefused() error {
	mark, err := s.lock.refused()
	if err != nil || mark == nil {
		return err
	}
	n, sum, err := cutRefused(s.path, *mark, s.hasher)
	if err != nil {
		return err
	}
	s.recovery = &Recovery{RefusedBytes: n, RefusedHash: sum, AfterSeq: mark.Seq}
	if err := s.lock.clearRefused(); err != nil {
		return fmt.Errorf("auditlog: clearing the record of refused writes in %s: %w", s.lock.f.Name(), err)
	}
	return nil
}

// recover cuts a torn last line off the file, and records that it did, or
// that removeRefused cut refused records off.
func (s *Sink) recover(tail tail) error {
	what, bytesName, hashName := "an incomplete last record, cut short by a crash, was removed", "torn_bytes", "torn_sha256"
	if s.recovery != nil {
		what, bytesName, hashName = "the records of a write that failed, and was refused, were removed: the store could not remove them when the write failed", "refused_bytes", "refused_sha256"
	} else {
		if err := s.f.Truncate(tail.complete); err != nil {
			return fmt.Errorf("auditlog: cutting the torn last line of %s: %w", s.path, err)
		}
		plain, _ := newChainHasher(nil)
		s.recovery = &Recovery{TornBytes: len(tail.torn), TornHash: plain.sum(tail.torn), AfterSeq: s.tip.seq}
	}
	r := s.recovery
	return s.commit(ownRecord(slog.LevelWarn, "audit log recovered",
		slog.String("op", "recover"),
		slog.String("detail", what),
		slog.Int(bytesName, r.TornBytes+r.RefusedBytes),
		slog.String(hashName, r.TornHash+r.RefusedHash),
	), false)
}

// Recovered returns what Open cut off the end of the log, or nil.
func (s *Sink) Recovered() *Recovery { return s.recovery }

// Record writes e as one line of the chain: the line [jwtaudit.Event.AppendJSON]
// writes (the bytes of log/slog.JSONHandler) with the chain members after
// "msg". The line is in the file when Record returns nil (and synced, under
// SyncEveryRecord). An error means the line is not in the log: a partly
// written line, or under SyncEveryRecord a line whose fsync failed, is
// taken back, so that failing closed is safe: a refused operation never
// has a record.
//
// The event is encoded outside the store's lock, so concurrent calls encode
// in parallel; each then adds its line to the group being gathered and
// either writes that group itself or waits for the write that carries it.
// One caller's failed write refuses every record of its group, and those
// queued behind it, which are chained on it.
func (s *Sink) Record(_ context.Context, e jwtaudit.Event) error {
	// The recorder of package jwtaudit renames such attributes already;
	// an event built by hand must not break the chain either.
	e.Attrs = withoutChainNames(e.Attrs)
	s.arriving.Add(1)
	bp := bodies.Get().(*[]byte)
	body := e.AppendJSON((*bp)[:0])
	err := s.commit(body, true)
	if cap(body) <= maxPooledBody {
		*bp = body
		bodies.Put(bp)
	}
	return err
}

// bodies hold encoded events between their encoding, outside the lock, and
// their place in a group.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBody is the largest buffer put back in the pool, so that one
// outsized event does not keep its memory for good.
const maxPooledBody = 64 << 10

// ownRecord formats one of the store's own records (recover, retention)
// through slog, without its chain members, as Record has an event's.
func ownRecord(level slog.Level, msg string, attrs ...slog.Attr) []byte {
	var buf bytes.Buffer
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	_ = slog.NewJSONHandler(&buf, nil).Handle(context.Background(), r) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// chainNames are the names the log record and the chain are written
// under, and "op", which says which records are the store's own
// (checkpoint, retention): an attribute of one of these names would be a
// second member of the name, and Verify reads the last.
var chainNames = [...]string{"time", "level", "msg", "seq", "prev", "chain", "instance", "op"}

// withoutChainNames returns attrs with every attribute that could be read
// as a chain member renamed "ctx_"+name: one named like one, in any case,
// and one with an empty name whose value slog would inline at the top
// level (a group, or a LogValuer that may resolve to one). The slice is
// copied only when something is renamed.
func withoutChainNames(attrs []slog.Attr) []slog.Attr {
	for i := range attrs {
		if !mustRename(attrs[i]) {
			continue
		}
		out := slices.Clone(attrs)
		for j := i; j < len(out); j++ {
			if mustRename(out[j]) {
				out[j].Key = "ctx_" + out[j].Key
			}
		}
		return out
	}
	return attrs
}

func mustRename(a slog.Attr) bool {
	if a.Key == "" {
		k := a.Value.Kind()
		return k == slog.KindGroup || k == slog.KindLogValuer
	}
	return chainName(a.Key)
}

// chainName reports whether an attribute's name, in any case, is one of
// chainNames, as encoding/json would match them. Every record checks each
// of its attributes, so an ASCII name, as real ones are, costs one
// lower-casing (no copy for a lower-case name) and a few comparisons; only
// a name with other letters, which may fold into ASCII, goes through
// strings.EqualFold.
func chainName(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return slices.ContainsFunc(chainNames[:], func(name string) bool { return strings.EqualFold(key, name) })
		}
	}
	return slices.Contains(chainNames[:], strings.ToLower(key))
}

// Head returns the position of the last record written, to be kept
// somewhere else.
func (s *Sink) Head() Head {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written.head()
}

// Sync forces what was written to stable storage.
func (s *Sink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked()
}

func (s *Sink) syncLocked() error {
	if s.closed || !s.dirty {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("auditlog: syncing %s: %w", s.path, err)
	}
	s.dirty = false
	return nil
}

func (s *Sink) syncLoop() {
	defer s.synced.Done()
	t := time.NewTicker(s.opts.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = s.Sync() // a failing disk shows up as failing writes
		case <-s.stopSync:
			return
		}
	}
}

// Close writes what is queued, syncs and closes the file. Record returns
// [jwtaudit.ErrClosed] once Close has begun.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return jwtaudit.ErrClosed
	}
	s.closing = true
	s.drain()
	var err error
	if s.broken == nil && s.opts.Checkpoints != nil && s.queuedSeq > s.checkpointed {
		// The records since the last checkpoint get one of their own: a
		// closed log ends with a checkpoint.
		err = s.writeCheckpoint()
	}
	published := s.takeUnpublished()
	if serr := s.syncLocked(); err == nil {
		err = serr
	}
	s.closed = true
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if cerr := s.lock.Close(); err == nil {
		err = cerr
	}
	s.mu.Unlock()
	if s.stopSync != nil {
		close(s.stopSync)
		s.synced.Wait()
	}
	s.publish(published)
	return err
}

var _ jwtaudit.AuditSink = (*Sink)(nil)
