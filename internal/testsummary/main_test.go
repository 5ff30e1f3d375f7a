package main

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	const pkg = `"Package":"github.com/jwtaudit/jwtaudit/redisrevoke"`
	for _, tc := range []struct {
		name   string
		stream string
		code   int
		want   []string
	}{
		{"passes and a skip", `{"Action":"start",` + pkg + `}
{"Action":"run",` + pkg + `,"Test":"TestA"}
{"Action":"output",` + pkg + `,"Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass",` + pkg + `,"Test":"TestA"}
{"Action":"output",` + pkg + `,"Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output",` + pkg + `,"Test":"TestB","Output":"    store_test.go:12: redis-server is not installed\n"}
{"Action":"output",` + pkg + `,"Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip",` + pkg + `,"Test":"TestB"}
{"Action":"output",` + pkg + `,"Output":"PASS\n"}
{"Action":"output",` + pkg + `,"Output":"ok  \tgithub.com/jwtaudit/jwtaudit/redisrevoke\t0.1s\n"}
{"Action":"pass",` + pkg + `}
`, 0, []string{"ok  \tgithub.com/jwtaudit/jwtaudit/redisrevoke", "SKIP TestB (redisrevoke): redis-server is not installed", "tests: 1 passed, 0 failed, 1 skipped"}},
		{"a failure shows its output", `{"Action":"start",` + pkg + `}
{"Action":"output",` + pkg + `,"Test":"TestC","Output":"    x_test.go:3: want 2\n"}
{"Action":"fail",` + pkg + `,"Test":"TestC"}
{"Action":"fail",` + pkg + `}
`, 1, []string{"x_test.go:3: want 2", "tests: 0 passed, 1 failed, 0 skipped"}},
		{"a build failure", `{"Action":"build-output","ImportPath":"x","Output":"x.go:1: syntax error\n"}
{"Action":"build-fail","ImportPath":"x"}
{"Action":"start",` + pkg + `}
{"Action":"fail",` + pkg + `}
`, 1, []string{"x.go:1: syntax error"}},
		{"a package that never finished", `{"Action":"start",` + pkg + `}
`, 1, []string{"never finished"}},
		{"nothing tested", "go: no packages to test\n", 1, []string{"go: no packages to test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if code := run(strings.NewReader(tc.stream), &out); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the summary lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "PASS\n") {
				t.Errorf("the summary shows the PASS of -v:\n%s", out.String())
			}
		})
	}
}
