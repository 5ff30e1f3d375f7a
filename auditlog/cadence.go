package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// resumeCadence finds, when Open resumes a log with checkpoints, the last
// checkpoint written to it, so that the store's cadence runs on from
// there: Verify holds every run of records between two checkpoints to the
// cadence, across restarts too. When none is found within the cadence (the
// log was written without checkpoints, or with a slower cadence), the
// store's first checkpoint says "resumed". The caller holds no lock; the
// store is not yet in use.
func (s *Sink) resumeCadence() error {
	every := s.opts.Checkpoints.Every
	var seen uint64
	for n := 0; ; n++ {
		path := s.path
		if n > 0 {
			path = rotatedName(s.path, n)
		}
		var found *chainRecord
		exists, err := linesBackward(path, func(line []byte) bool {
			seen++
			if bytes.Contains(line, checkpointMember) {
				if rec, err := parseChain(line); err == nil && rec.Checkpoint {
					found = &rec
					return false
				}
			}
			return seen <= every
		})
		switch {
		case err != nil:
			return fmt.Errorf("auditlog: looking for the last checkpoint of %s: %w", s.path, err)
		case found != nil:
			s.checkpointed = found.Seq
			if cn, err := readCheckpointNote(found.SignedCheckpoint, nil); err == nil && !cn.time.IsZero() {
				s.checkpointTime = cn.time
			}
			return nil
		case !exists || seen > every:
			s.resumed = true
			return nil
		}
	}
}

// checkpointMember is how a checkpoint record's op member is written: a
// line without it is no checkpoint, and is not parsed.
var checkpointMember = []byte(`"op":"` + opCheckpoint + `"`)

// linesBackward calls fn with each complete line of the file at path, the
// last first, without its newline, until fn returns false or the file's
// start. Bytes after the last newline (a torn record) are skipped. It
// reports whether the file exists.
func linesBackward(path string, fn func(line []byte) bool) (exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return true, err
	}
	buf := make([]byte, 64<<10)
	var pending []byte // the end of the line being gathered: the bytes after this block, up to its newline
	newline := false   // a newline was found: bytes before it end a complete line
	for end := info.Size(); end > 0; {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil && err != io.EOF {
			return true, err
		}
		end = start
		for {
			i := bytes.LastIndexByte(chunk, '\n')
			if i < 0 {
				pending = append(slices.Clone(chunk), pending...)
				break
			}
			if newline && !fn(append(slices.Clone(chunk[i+1:]), pending...)) {
				return true, nil
			}
			newline, pending, chunk = true, pending[:0], chunk[:i]
		}
		if len(pending) > maxRecord {
			return true, fmt.Errorf("%s: a line longer than %d bytes", path, maxRecord)
		}
	}
	if newline && len(pending) > 0 {
		fn(pending)
	}
	return true, nil
}
