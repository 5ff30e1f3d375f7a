//go:build unix

package auditlog

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openNoFollow makes opening a log refuse a symbolic link at its path.
const openNoFollow = syscall.O_NOFOLLOW

// lockLog takes the log's writer lock: an advisory lock (flock) on
// lockName(path), held until the Sink closes. flock locks belong to an open
// file, so a second Open in this process is refused as one in another
// process is; the kernel drops the lock when a process dies.
func lockLog(path string, mode os.FileMode) (*writerLock, error) {
	f, err := os.OpenFile(lockName(path), os.O_RDWR|os.O_CREATE|openNoFollow, mode)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("auditlog: %s is open for writing by another Sink, in this process or another: a log has one writer", path)
		}
		return nil, fmt.Errorf("auditlog: locking %s: %w", path, err)
	}
	return &writerLock{f: f}, nil
}
