package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
)

// rotatedName is the name of the n-th rotated file: PATH.n.
func rotatedName(path string, n int) string { return path + "." + strconv.Itoa(n) }

// lockName is the file the writer lock is taken on: hidden beside the log
// (DIR/.NAME.lock), so that a glob of the log's files (NAME*) leaves it out.
func lockName(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

// rotate closes the current file, shifts the rotated ones up by one
// (deleting those beyond MaxFiles) and starts an empty file. The new
// file's first record continues the chain. A file that retention is about
// to delete is first accounted for by a retention record, written to the
// current file before anything is deleted: a chain that starts after
// record 1 then verifies, and only then. The caller holds s.mu, and no
// group is being written.
func (s *Sink) rotate() error {
	if s.opts.MaxFiles > 0 {
		wrote, err := s.recordRetention(rotatedName(s.path, s.opts.MaxFiles))
		if err != nil {
			return err
		}
		if wrote && s.opts.Checkpoints != nil {
			// A retention record counts for Verify only once a
			// checkpoint signs it: sign it now, before anything is
			// deleted.
			if err := s.writeCheckpoint(); err != nil {
				return err
			}
		}
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("auditlog: syncing %s before rotating: %w", s.path, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("auditlog: closing %s before rotating: %w", s.path, err)
	}
	last := s.opts.MaxFiles
	if last == 0 { // keep all: find the highest existing one
		for last = 1; exists(rotatedName(s.path, last)); last++ {
		}
	} else if err := os.Remove(rotatedName(s.path, last)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("auditlog: %w", err)
	}
	for n := last - 1; n >= 1; n-- {
		if err := os.Rename(rotatedName(s.path, n), rotatedName(s.path, n+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("auditlog: %w", err)
		}
	}
	if err := os.Rename(s.path, rotatedName(s.path, 1)); err != nil {
		return fmt.Errorf("auditlog: %w", err)
	}
	f, err := openFile(s.path, s.opts.FileMode)
	if err != nil {
		s.broken = err
		return fmt.Errorf("auditlog: %w", err)
	}
	s.f, s.size, s.dirty = f, 0, false
	return nil
}

// recordRetention writes the retention record for the rotated file at
// path, which rotation is about to delete: the records up to its last are
// gone, and the last of them hashed to what the next file's first record
// names as its prev. Nothing is written when there is no such file; wrote
// says whether a record was.
func (s *Sink) recordRetention(path string) (wrote bool, err error) {
	t, err := readTail(path)
	if err != nil || t.lastLine == nil {
		return false, err // no file to delete, or one that cannot be read: rotation says so
	}
	last, err := parseChain(t.lastLine)
	if err != nil {
		return false, fmt.Errorf("auditlog: %s: last record: %w", path, err)
	}
	// Written past the size limit rather than through commit, which
	// would rotate again to make room for it.
	return true, s.await(s.queue(ownRecord(slog.LevelInfo, "audit log retention",
		slog.String("op", opRetention),
		slog.String("detail", fmt.Sprintf("records 1 to %d are removed with the oldest rotated file (MaxFiles %d)", last.Seq, s.opts.MaxFiles)),
		slog.Uint64("removed_through", last.Seq),
		slog.String("removed_head", s.hasher.sum(t.lastLine)),
	)))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tail is the end of a log file as Open needs it.
type tail struct {
	lastLine []byte // the last complete line, without its newline; nil if none
	torn     []byte // bytes after the last newline: an incomplete record
	complete int64  // size of the file up to and including the last newline
}

// maxRecord is the longest record, newline included, that the sink
// writes, that Open reads back (how far from the end readTail looks for the
// last complete line) and that Verify reads: one limit for all three, so
// that the sink never writes a record the others cannot read. An event of
// package jwtaudit is bounded far below it.
const maxRecord = 1 << 20

// readTail reads the end of a log: its last complete line and any torn
// bytes after it. A missing file is an empty tail.
func readTail(path string) (tail, error) {
	var t tail
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, fmt.Errorf("auditlog: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return t, fmt.Errorf("auditlog: %w", err)
	}
	return readTailOf(f, info.Size())
}

// readTailOf is readTail of the first size bytes of an open file.
func readTailOf(f *os.File, size int64) (tail, error) {
	var t tail
	path := f.Name()
	start := max(0, size-2*maxRecord)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return t, fmt.Errorf("auditlog: reading %s: %w", path, err)
	}
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		if start > 0 {
			return t, fmt.Errorf("auditlog: %s: no complete record in its last %d bytes", path, len(buf))
		}
		t.torn = nonEmpty(buf)
		return t, nil
	}
	t.complete = start + int64(end) + 1
	t.torn = nonEmpty(buf[end+1:])
	begin := bytes.LastIndexByte(buf[:end], '\n') + 1
	if begin == 0 && start > 0 {
		return t, fmt.Errorf("auditlog: %s: last record longer than %d bytes", path, maxRecord)
	}
	t.lastLine = buf[begin:end]
	return t, nil
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
