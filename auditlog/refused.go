package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// When a group's write fails part-way, the store cuts the file back to its
// size before the group (see flush): the group's records were refused, and
// a refused operation has no record. When that cut fails too, complete
// lines of the refused records may be left in the file, where, after a
// restart, they would read as part of the trail. The store then writes
// what the file should end with into the lock file beside the log (a
// refusedMark), and the next Open cuts the file back to it before it
// resumes the chain, or refuses to open the log.

// writerLock is the log's writer lock: its file, DIR/.NAME.lock, held open
// until the Sink closes. Besides the lock, the file keeps a refusedMark
// while one is due.
type writerLock struct {
	f       *os.File
	release func() // undoes what lockLog did besides opening f, or nil
}

// Close releases the lock.
func (l *writerLock) Close() error {
	if l.release != nil {
		l.release()
	}
	return l.f.Close()
}

// refusedMark is where the log ended before a write that failed and could
// not be taken back: its size, and its last record's place and hash.
type refusedMark struct {
	Size int64  `json:"refused_after_size"`
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// markRefused keeps the mark in the lock file, synced.
func (l *writerLock) markRefused(m refusedMark) error {
	data, _ := json.Marshal(m) // a struct of numbers and a hex string
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(append(data, '\n'), 0); err != nil {
		return err
	}
	return l.f.Sync()
}

// refused returns the mark the lock file keeps, or nil.
func (l *writerLock) refused() (*refusedMark, error) {
	data, err := io.ReadAll(io.NewSectionReader(l.f, 0, 1<<10))
	if err != nil || len(data) == 0 {
		return nil, err
	}
	var m refusedMark
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("the lock file %s holds %d bytes that are not a record of refused writes: %w", l.f.Name(), len(data), err)
	}
	return &m, nil
}

// clearRefused empties the lock file, once the mark is dealt with.
func (l *writerLock) clearRefused() error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	return l.f.Sync()
}

// cutRefused cuts the log at path back to where m says it ended before
// the refused write, once it has checked that the record there is the one
// m names, and returns the length and SHA-256 of what it cut. A log that
// does not fit m (shorter, or another record there) is refused: it is not
// the log whose writes failed.
func cutRefused(path string, m refusedMark, hasher chainHasher) (n int, sum string, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|openNoFollow, 0)
	if err != nil {
		return 0, "", fmt.Errorf("auditlog: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, "", fmt.Errorf("auditlog: %w", err)
	}
	if info.Size() < m.Size {
		return 0, "", fmt.Errorf("auditlog: %s is %d bytes, and its writer recorded that it ended at byte %d before a write that failed: it is not that log", path, info.Size(), m.Size)
	}
	if m.Size > 0 {
		t, err := readTailOf(f, m.Size)
		if err != nil {
			return 0, "", err
		}
		last, err := parseChain(t.lastLine)
		if t.lastLine == nil || err != nil || t.torn != nil || last.Seq != m.Seq || hasher.sum(t.lastLine) != m.Hash {
			return 0, "", fmt.Errorf("auditlog: %s does not end, at byte %d, with record %d as its writer recorded before a write that failed: it is not that log", path, m.Size, m.Seq)
		}
	}
	cut := make([]byte, info.Size()-m.Size)
	if _, err := f.ReadAt(cut, m.Size); err != nil && !errors.Is(err, io.EOF) {
		return 0, "", fmt.Errorf("auditlog: %w", err)
	}
	if err := f.Truncate(m.Size); err != nil {
		return 0, "", fmt.Errorf("auditlog: %s holds records of a write that failed and was refused, which cannot be removed: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, "", fmt.Errorf("auditlog: %w", err)
	}
	h := sha256.Sum256(cut)
	return len(cut), hex.EncodeToString(h[:]), nil
}
