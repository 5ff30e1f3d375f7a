package leaktest

import (
	"testing"
	"time"
)

// failures records what VerifyNone reports, instead of failing the test.
type failures struct {
	testing.TB
	n int
}

func (f *failures) Helper()               {}
func (f *failures) Errorf(string, ...any) { f.n++ }

func TestVerifyNone(t *testing.T) {
	stop := make(chan struct{})
	go func() { <-stop }() // blocked on a channel, as a leaked worker is
	f := &failures{TB: t}
	VerifyNone(f)
	if f.n != 1 {
		t.Error("a goroutine left running was not reported")
	}
	close(stop)
	go func() { time.Sleep(50 * time.Millisecond) }() // ends within the grace period
	f = &failures{TB: t}
	if VerifyNone(f); f.n != 0 {
		t.Error("goroutines that end within the grace period were reported")
	}
}
