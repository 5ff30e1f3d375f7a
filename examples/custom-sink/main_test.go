package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/auditlog"
)

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custom-sink.log")
	var out strings.Builder
	if err := run(&out, path); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"issue  success  none                 20",
		"verify rejected audience             4",
		"verify rejected expired              4",
		"verify rejected signature            4",
		"verify success  none                 8",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	rep, err := auditlog.Verify([]string{path}, auditlog.VerifyOptions{})
	if err != nil || rep.Records != 40 {
		t.Errorf("the trail: %+v, %v", rep, err)
	}
}
