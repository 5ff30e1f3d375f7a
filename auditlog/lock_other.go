//go:build !unix

package auditlog

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// openNoFollow is 0 where the system has no O_NOFOLLOW; Open still refuses
// a symbolic link it finds at the path.
const openNoFollow = 0

// open logs of this process, by absolute path.
var locked = struct {
	sync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

// lockLog takes the log's writer lock. Without flock, only a second Open
// in this process is refused; keep one process per log.
func lockLog(path string, mode os.FileMode) (*writerLock, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	locked.Lock()
	defer locked.Unlock()
	if locked.paths[abs] {
		return nil, fmt.Errorf("auditlog: %s is open for writing by another Sink in this process: a log has one writer", path)
	}
	f, err := os.OpenFile(lockName(path), os.O_RDWR|os.O_CREATE, mode)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	locked.paths[abs] = true
	return &writerLock{f: f, release: func() {
		locked.Lock()
		delete(locked.paths, abs)
		locked.Unlock()
	}}, nil
}
