// Package allocs lets a test that counts allocations know whether its count
// means anything in this build.
//
// Under the race detector sync.Pool drops a quarter of what is put back, on
// purpose, and the detector's own bookkeeping allocates, so a count taken
// there says nothing about the code. Tests that hold a path to a number of
// allocations skip under -race; CI runs them once without it.
package allocs

import "testing"

// SkipIfUncountable skips t when this test binary was built with -race.
func SkipIfUncountable(t testing.TB) {
	t.Helper()
	if raceDetector {
		t.Skip("allocation counts mean nothing under -race (sync.Pool drops entries on purpose); run without -race")
	}
}
