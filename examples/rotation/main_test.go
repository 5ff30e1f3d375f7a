package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/auditlog"
)

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotation.log")
	var out strings.Builder
	if err := run(&out, path, 3); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"round 3: rotated", "5 tokens issued and verified", "is refused: unknown key", "issue=15", "verify=16", "key_rotate=6", "jwks_fetch="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := auditlog.Verify([]string{path}, auditlog.VerifyOptions{}); err != nil {
		t.Errorf("the trail does not verify: %v", err)
	}
}
