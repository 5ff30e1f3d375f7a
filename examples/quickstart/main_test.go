package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/auditlog"
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

// TestQuickStartRuns runs the program in a directory of its own and checks
// what it prints and what it writes to token.log: five decisions, in a
// chain that verifies.
func TestQuickStartRuns(t *testing.T) {
	dir, out := readme.Rerun(t, "JWTAUDIT_RUN_QUICKSTART")
	if want := "verified: user-42\nToken expired\nInvalid token: signature\n"; string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	path := filepath.Join(dir, "token.log")
	rep, err := auditlog.Verify([]string{path}, auditlog.VerifyOptions{})
	if err != nil || rep.Records != 5 {
		t.Fatalf("token.log: %+v, %v; want 5 records in a chain", rep, err)
	}
	data, _ := os.ReadFile(path)
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec struct{ Msg, Reason string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, strings.TrimSpace(rec.Msg+" "+rec.Reason))
	}
	if want := "token issued|token verified|token issued|token rejected expired|token rejected signature"; strings.Join(msgs, "|") != want {
		t.Errorf("the trail: %q, want %q", msgs, want)
	}
}

// TestREADMEShowsThisProgram holds the README's quick start to this file:
// the Go block under "## Quick start" is this program, byte for byte, so
// the README's code compiles and runs.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme.HoldsFile(t, "../../README.md", "## Quick start", "main.go")
}
