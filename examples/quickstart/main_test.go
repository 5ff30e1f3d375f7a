package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/internal/readme"
)

// TestMain runs the program itself when the test binary is started again
// by TestQuickStartRuns.
func TestMain(m *testing.M) {
	if os.Getenv("JWTAUDIT_RUN_QUICKSTART") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestQuickStartRuns runs the program and checks what it prints: two audit
// lines, then the verified subject.
func TestQuickStartRuns(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JWTAUDIT_RUN_QUICKSTART=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || lines[2] != "verified: user-42" {
		t.Fatalf("output:\n%s", out)
	}
	for i, msg := range []string{"token issued", "token verified"} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil || rec["msg"] != msg || rec["sub"] != "user-42" {
			t.Errorf("line %d = %s (%v), want a %q record", i+1, lines[i], err, msg)
		}
	}
}

// TestREADMEShowsThisProgram holds the README's quick start to this file:
// the Go block under "## Quick start" is this program, byte for byte, so
// the README's code compiles and runs.
func TestREADMEShowsThisProgram(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	block, err := readme.Block(text, "## Quick start", "go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(block, program) {
		t.Errorf("the README's quick start differs from examples/quickstart/main.go; copy the file into the README")
	}
}
