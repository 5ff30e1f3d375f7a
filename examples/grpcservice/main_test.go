package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun runs the example offline and holds what it prints and what the
// trail records: one event per call, with the call's method.
func TestRun(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "grpc.log")
	var out strings.Builder
	if err := run(&out, logPath); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Check as alice     → SERVING",
		"Check as no token  → Unauthenticated: authentication required",
		"Watch as bob       → SERVING",
		"Watch as alice     → PermissionDenied: insufficient scope",
	}
	for _, line := range want {
		if !strings.Contains(out.String(), line) {
			t.Errorf("the output lacks %q:\n%s", line, out.String())
		}
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	trail := string(data)
	if n := strings.Count(trail, `"op":"verify"`); n != 4 {
		t.Errorf("%d verify events for 4 calls", n)
	}
	for _, s := range []string{`"grpc_method":"/grpc.health.v1.Health/Check"`, `"grpc_method":"/grpc.health.v1.Health/Watch"`, `"reason":"no_token"`, `"reason":"rejected"`} {
		if !strings.Contains(trail, s) {
			t.Errorf("the trail lacks %s", s)
		}
	}
}
