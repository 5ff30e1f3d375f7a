package auditlog

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCrashChild is the process TestCrashRecovery kills: it writes records
// until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("AUDITLOG_CRASH_PATH")
	if path == "" {
		t.Skip("the child process of TestCrashRecovery")
	}
	s, err := Open(path, Options{ChainKey: testChainKey, Durability: SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		e := event(i)
		e.Detail = strings.Repeat("x", 4000) // long lines widen the window for a torn write
		if err := s.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCrashRecovery kills a writing process with SIGKILL, then checks that
// the log verifies up to its last complete record and that reopening it
// resumes the chain.
func TestCrashRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), "AUDITLOG_CRASH_PATH="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if info, err := os.Stat(path); err == nil && info.Size() > 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child wrote less than 1 MiB in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to finish a line
		t.Fatal(err)
	}
	_ = cmd.Wait()

	rep, err := Verify([]string{path}, VerifyOptions{ChainKey: testChainKey})
	var ce *ChainError
	switch {
	case err == nil:
		t.Logf("killed between two records: %d records verify", rep.Records)
	case errors.As(err, &ce) && strings.Contains(ce.Problem, "torn"):
		t.Logf("killed mid-record: line %d is torn", ce.Line)
	default:
		t.Fatalf("the log of a killed writer does not verify: %v", err)
	}

	s, err := Open(path, Options{ChainKey: testChainKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(context.Background(), event(0)); err != nil {
		t.Fatal(err)
	}
	head := s.Head()
	s.Close()
	rep, err = Verify([]string{path}, VerifyOptions{ChainKey: testChainKey, Head: &head})
	if err != nil || rep.Records < 100 {
		t.Fatalf("after reopening: %+v, %v", rep, err)
	}
}
