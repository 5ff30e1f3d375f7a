package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/internal/readme"
)

// TestREADMECommandsRun runs the README's block of jwtaudit commands as
// written, with bash, in a directory of its own: `go run ./cmd/jwtaudit`
// and `go run ./examples/basic` stand for binaries built once here, and the
// trail the block starts from is the one `go run ./examples/basic` writes.
func TestREADMECommandsRun(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the README's commands with")
	}
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block, err := readme.Block(text, "### Verify, summarize, search", "sh")
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	bin := map[string]string{
		"go run ./cmd/jwtaudit":   filepath.Join(dir, "bin", "jwtaudit"),
		"go run ./examples/basic": filepath.Join(dir, "bin", "basic"),
	}
	// One go build for both, without the race detector: the README's test
	// command runs go vet first, which leaves the packages compiled that
	// way in the build cache, so this costs two links.
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "bin")+string(filepath.Separator), "../../cmd/jwtaudit", "../../examples/basic").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script := "set -euo pipefail\n" + "go run ./examples/basic > /dev/null\n" + string(block)
	for command, path := range bin {
		script = strings.ReplaceAll(script, command, path)
	}
	cmd := exec.Command(bash, "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JWTAUDIT_CHAIN_KEY=", "JWTAUDIT_SECRET=", "JWTAUDIT_REDACTION_SALT=")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands failed: %v\n%s", err, out)
	}
	for _, want := range []string{"ok: 5 records", "the saved head, record 5, is in the log unchanged", "hmac-sha256:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "chain.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("chain.key has mode %v, want 0600", info.Mode().Perm())
	}
}

// TestKeygen checks that keygen writes a usable key, and never over an
// existing file.
func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "salt")
	if code, _, stderr := cli("keygen", path); code != exitOK {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(bytes.TrimSpace(first)) != 64 {
		t.Errorf("key file holds %q, want 64 hex digits", first)
	}
	if code, _, stderr := cli("keygen", path); code != exitUsage || !strings.Contains(stderr, "never overwritten") {
		t.Errorf("second keygen: %d %s", code, stderr)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, first) {
		t.Error("the key file changed")
	}
	if code, out, stderr := cli("hash", "--salt-file", path, "alice"); code != exitOK || !strings.HasPrefix(out, "hmac-sha256:") {
		t.Errorf("hash with the new salt: %d %s %s", code, out, stderr)
	}
}
