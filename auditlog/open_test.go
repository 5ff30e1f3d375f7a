package auditlog

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jwtaudit/jwtaudit"
)

// TestOneWriter checks that a second Open of a log fails while the first
// Sink is open, from this process and from another, and succeeds after.
func TestOneWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	first, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "another Sink") {
		t.Errorf("second Open in the same process = %v, want a refusal", err)
	}
	if os.Getenv("JWTAUDIT_OPEN_LOG") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOpenFromAnotherProcess$")
		cmd.Env = append(os.Environ(), "JWTAUDIT_OPEN_LOG="+path)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "refused: ") {
			t.Errorf("Open from another process: %v\n%s", err, out)
		}
	}
	if err := first.Record(context.Background(), event(0)); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
	if _, err := Verify([]string{path}, VerifyOptions{}); err != nil {
		t.Error(err)
	}
}

// TestOpenFromAnotherProcess is run by TestOneWriter in a child process.
func TestOpenFromAnotherProcess(t *testing.T) {
	path := os.Getenv("JWTAUDIT_OPEN_LOG")
	if path == "" {
		t.Skip("run by TestOneWriter")
	}
	s, err := Open(path, Options{})
	if err == nil {
		s.Close()
		t.Fatal("a second process opened the log")
	}
	os.Stdout.WriteString("refused: " + err.Error() + "\n")
}

// TestSymlinkRefused checks that a symbolic link at the log's path is
// neither followed nor its target created.
func TestSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere", "target.log")
	path := filepath.Join(dir, "token.log")
	if err := os.Symlink(target, path); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Open through a symlink = %v", err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}

// syncFailingFile writes, but every fsync fails, as on a disk that drops
// its cache.
type syncFailingFile struct{ *os.File }

func (syncFailingFile) Sync() error { return syscall.EIO }

// TestFailedSyncLeavesNoRecord checks that under SyncEveryRecord an
// operation refused because its record's fsync failed has no record.
func TestFailedSyncLeavesNoRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	writeLog(t, path, Options{}, 2)
	defer func(orig func(string, os.FileMode) (file, error)) { openFile = orig }(openFile)
	openFile = func(p string, mode os.FileMode) (file, error) {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, mode)
		return syncFailingFile{f}, err
	}
	s, err := Open(path, Options{Durability: SyncEveryRecord})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, []byte("0123456789abcdef0123456789abcdef"))
	good, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	valid, _ := good.Issue(context.Background(), jwtaudit.Claims{Subject: "a"})
	v, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithAudit(s))
	if tok, err := v.Verify(context.Background(), valid); !errors.Is(err, jwtaudit.ErrAudit) || tok != nil {
		t.Errorf("Verify with a failing fsync = %v, %v", tok, err)
	}
	s.Close()
	rep, err := Verify([]string{path}, VerifyOptions{})
	if err != nil || rep.Records != 2 {
		t.Errorf("after the refused Verify the log has %d records (%v), want the 2 before it", rep.Records, err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), jwtaudit.FingerprintOf(valid).String()) {
		t.Error("the log records the verification of a token the caller refused")
	}
}

// TestChainKeyIsNamed checks that every record names its chain key: Open
// with another key refuses the log, Verify with another key says "wrong
// key" rather than "edited", and a short key is refused.
func TestChainKeyIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	writeLog(t, path, Options{ChainKey: testChainKey}, 3)
	other := []byte("another chain key, also 32 bytes")
	for _, opts := range []Options{{ChainKey: other}, {}} {
		if _, err := Open(path, opts); err == nil || !strings.Contains(err.Error(), "is chained with the key hmac-sha256:") {
			t.Errorf("Open with another key = %v", err)
		}
	}
	for _, key := range [][]byte{other, nil} {
		_, err := Verify([]string{path}, VerifyOptions{ChainKey: key})
		var ce *ChainError
		if !errors.As(err, &ce) || !strings.Contains(ce.Problem, "wrong key") || strings.Contains(ce.Problem, "edited") {
			t.Errorf("Verify with another key = %v", err)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "new.log"), Options{ChainKey: []byte("short key")}); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("a 9-byte chain key: %v", err)
	}
	if _, err := Verify([]string{path}, VerifyOptions{ChainKey: []byte("short key")}); err == nil {
		t.Error("Verify took a 9-byte chain key")
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), string(testChainKey)) {
		t.Error("the log shows the chain key")
	}
}

// TestRecordsCutFromTheStart removes the first records of an unrotated log:
// the chain then starts after record 1 with no retention record to account
// for it, which Verify reports, with a saved head too.
func TestRecordsCutFromTheStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	head := writeLog(t, path, Options{ChainKey: testChainKey}, 6)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(path, []byte(strings.Join(lines[2:], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Verify([]string{path}, VerifyOptions{ChainKey: testChainKey, Head: &head})
	var ce *ChainError
	if !errors.As(err, &ce) || !strings.Contains(ce.Problem, "records 1 to 2 are missing") {
		t.Errorf("Verify of a log cut from the start = %v", err)
	}
}
