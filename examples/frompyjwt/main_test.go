package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/auditlog"
	"github.com/jwtaudit/jwtaudit/internal/readme"
)

// TestMain runs the program itself when the test binary is started again
// by TestRecipeRuns.
func TestMain(m *testing.M) {
	if os.Getenv("JWTAUDIT_RUN_FROMPYJWT") == "1" {
		os.Args = os.Args[:1]
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRecipeRuns runs the program in a directory of its own: the new
// token, the old service's token and the expired one get the old service's
// answers, and the trail says which verification used the legacy key and
// carries user_id.
func TestRecipeRuns(t *testing.T) {
	dir, out := readme.Rerun(t, "JWTAUDIT_RUN_FROMPYJWT")
	if want := "new token: user 42\nold token: user 42\nexpired:  Token expired\n"; string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	path := filepath.Join(dir, "token.log")
	if rep, err := auditlog.Verify([]string{path}, auditlog.VerifyOptions{}); err != nil || rep.Records != 5 {
		t.Fatalf("token.log: %+v, %v", rep, err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var legacyUses []string
	for _, l := range lines {
		if strings.Contains(l, `"legacy_key":true`) && strings.Contains(l, `"outcome":"success"`) {
			legacyUses = append(legacyUses, l)
		}
	}
	if len(legacyUses) != 1 || !strings.Contains(legacyUses[0], `"claims":{"user_id":"42"}`) {
		t.Errorf("successful legacy uses in the trail: %q", legacyUses)
	}
}

// TestREADMEShowsThisProgram holds the README's recipe to this file.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme.HoldsFile(t, "../../README.md", "## Coming from PyJWT", "main.go")
}
