// Package leaktest checks that a test leaves no goroutine running: a small
// stand-in for go.uber.org/goleak, which would otherwise be a requirement
// of the jwtaudit module itself, and so a line of every user's go.mod
// graph.
package leaktest

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// VerifyNone fails t if goroutines other than the calling one and those of
// the testing package and the runtime are still running after a grace
// period of two seconds, in which they may end: call it at the end of a
// test, with defer or t.Cleanup.
func VerifyNone(t testing.TB) {
	t.Helper()
	var leaked []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if leaked = others(); len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(leaked) > 0 {
		t.Errorf("%d goroutines are still running:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
}

// others returns the stacks of the goroutines that neither are the caller
// nor belong to the testing package or the runtime.
func others() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, stack := range strings.Split(string(buf), "\n\n") {
		if i > 0 && !ignored(stack) { // the first is the caller's
			out = append(out, stack)
		}
	}
	return out
}

// ignored reports whether a goroutine belongs to the testing package or
// the runtime, by the function it is in: its top frame, the first line
// below its header (the runtime's own frames are left out of stacks).
func ignored(stack string) bool {
	_, frames, _ := strings.Cut(stack, "\n")
	for _, prefix := range []string{"testing.", "runtime.", "os/signal."} {
		if strings.HasPrefix(frames, prefix) {
			return true
		}
	}
	return false
}
