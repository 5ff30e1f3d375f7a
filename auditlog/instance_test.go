package auditlog

import (
	"context"
	"errors"
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

// TestFleetAgainstWhatItShouldBe verifies a fleet of three instances
// against what it should be: the instances expected and a saved head of
// each. A fleet with one log left out, or with one log cut back from 5
// records to 2 (whose chain alone still holds), fails, naming the
// instance; without expectations both would pass, as they always did.
func TestFleetAgainstWhatItShouldBe(t *testing.T) {
	dir := t.TempDir()
	names := []string{"api-1", "api-2", "worker-a"}
	heads := map[string]Head{}
	files := map[string]string{}
	for i, name := range names {
		files[name] = filepath.Join(dir, name+".log")
		heads[name] = writeLog(t, files[name], Options{Instance: name}, 5+i)
	}
	all := []string{files["api-1"], files["api-2"], files["worker-a"]}
	verdicts := func(paths []string, opts VerifyOptions) map[string]error {
		t.Helper()
		reports, err := VerifyInstances(paths, opts)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]error{}
		for _, r := range reports {
			out[r.Instance] = r.Err
		}
		return out
	}
	expect := VerifyOptions{Instances: names}
	withHeads := VerifyOptions{Heads: heads}
	for _, opts := range []VerifyOptions{{}, expect, withHeads} {
		for name, err := range verdicts(all, opts) {
			if err != nil {
				t.Errorf("the whole fleet, %+v: %s: %v", opts, name, err)
			}
		}
	}

	// One log left out.
	missing := verdicts([]string{files["api-1"], files["worker-a"]}, expect)
	var fe *FleetError
	if !errors.As(missing["api-2"], &fe) || missing["api-1"] != nil || missing["worker-a"] != nil {
		t.Errorf("api-2 left out: %v", missing)
	}
	if v := verdicts([]string{files["api-1"], files["worker-a"]}, VerifyOptions{}); len(v) != 2 {
		t.Errorf("without expectations: %v", v)
	}

	// One log rolled back: api-1 cut from 5 records to 2.
	ls := lines(t, files["api-1"])
	writeLines(t, files["api-1"], ls[:2])
	if v := verdicts(all, VerifyOptions{}); v["api-1"] != nil {
		t.Fatalf("the cut log should still be a chain: %v", v["api-1"])
	}
	rolled := verdicts(all, withHeads)
	if !isChainError(rolled["api-1"], "records were cut from the end") || rolled["api-2"] != nil || rolled["worker-a"] != nil {
		t.Errorf("api-1 rolled back: %v", rolled)
	}

	// A log of an instance the fleet does not have.
	stranger := filepath.Join(dir, "stranger.log")
	writeLog(t, stranger, Options{Instance: "stranger"}, 1)
	if v := verdicts([]string{files["api-2"], files["worker-a"], stranger}, VerifyOptions{Instances: []string{"api-2", "worker-a"}}); !errors.As(v["stranger"], &fe) {
		t.Errorf("an unexpected instance: %v", v)
	}
	if _, err := VerifyInstances(all, VerifyOptions{Instances: []string{"bad id"}}); err == nil {
		t.Error("an expected instance with a bad id was accepted")
	}
}
