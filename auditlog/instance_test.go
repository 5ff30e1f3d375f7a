package auditlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFleetVerifiesEachInstance runs three instances (three stores,
// writes interleaved, rotation), verifies their logs together, then
// tampers with one instance's file and sees that instance alone fail.
func TestFleetVerifiesEachInstance(t *testing.T) {
	dir := t.TempDir()
	names := []string{"api-1", "api-2", "worker-a"}
	stores := make([]*Sink, len(names))
	for i, name := range names {
		s, err := Open(filepath.Join(dir, name+".log"), Options{Instance: name, MaxSize: 4 << 10, ChainKey: testChainKey})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	for n := range 90 {
		if err := stores[n%3].Record(context.Background(), event(n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range stores {
		s.Close()
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.log*"))
	if len(files) <= 3 {
		t.Fatalf("no rotation: %v", files)
	}

	reports, err := VerifyInstances(files, VerifyOptions{ChainKey: testChainKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 3 {
		t.Fatalf("%d instances found, want 3", len(reports))
	}
	for i, r := range reports {
		if r.Instance != names[i] || r.Err != nil || r.Report.Records != 30 || r.Report.Instance != names[i] {
			t.Errorf("instance %d: %+v", i, r)
		}
	}

	// Tamper with a rotated file of api-2.
	victim := filepath.Join(dir, "api-2.log.1")
	data, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"sub":"user-`, `"sub":"mallory-`, 1)
	os.WriteFile(victim, []byte(edited), 0o600)
	reports, _ = VerifyInstances(files, VerifyOptions{ChainKey: testChainKey})
	for _, r := range reports {
		if failed := r.Err != nil; failed != (r.Instance == "api-2") {
			t.Errorf("after tampering with api-2: instance %s: %v", r.Instance, r.Err)
		}
	}

	// Open refuses to go on with another instance's log, and bad ids.
	if _, err := Open(filepath.Join(dir, "api-1.log"), Options{Instance: "api-9", ChainKey: testChainKey}); err == nil {
		t.Error("opened api-1's log as api-9")
	}
	for _, bad := range []string{"has space", `quote"`, strings.Repeat("x", 200)} {
		if _, err := Open(filepath.Join(dir, "new.log"), Options{Instance: bad}); err == nil {
			t.Errorf("instance id %q accepted", bad)
		}
	}
	// One chain may not switch instances.
	a, _ := os.ReadFile(filepath.Join(dir, "api-1.log"))
	b, _ := os.ReadFile(filepath.Join(dir, "worker-a.log"))
	mixed := filepath.Join(t.TempDir(), "mixed.log")
	os.WriteFile(mixed, append(a, b...), 0o600)
	if _, err := Verify([]string{mixed}, VerifyOptions{ChainKey: testChainKey}); err == nil || !strings.Contains(fmt.Sprint(err), "instance") {
		t.Errorf("two instances in one chain: %v", err)
	}
}
