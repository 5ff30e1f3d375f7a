// Command testsummary reads `go test -json` on its standard input and
// writes what `go test` writes without -json (a line per package, and the
// output of what failed), then every test that skipped, each with the
// reason it gave, and a closing count: skips are visible without -v. It
// exits 1 when a package failed, did not build, or never finished.
//
//	go test -race -json github.com/jwtaudit/jwtaudit/... | go run ./internal/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is a test that skipped, and why.
type skip struct{ pkg, test, why string }

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}

func run(in io.Reader, out io.Writer) int {
	var (
		outputs        = map[string][]string{} // per package and test, until it ends
		skips          []skip
		passed, failed int
		started, ended = map[string]bool{}, map[string]bool{}
		packagesFailed bool
	)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event: go test's own words (a pattern that matches
			// nothing, say). Pass them on.
			fmt.Fprintln(out, sc.Text())
			continue
		}
		key := e.Package + " " + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Action == "build-fail":
			packagesFailed = true
		case e.Test == "" && e.Action == "start":
			started[e.Package] = true
		case e.Test == "" && e.Action == "output":
			// The package's own lines: "ok  pkg 1.2s", "FAIL pkg", "?  pkg
			// [no test files]", and output outside any test; but the
			// "PASS" that go test writes only with -v.
			if e.Output != "PASS\n" {
				fmt.Fprint(out, e.Output)
			}
		case e.Test == "":
			if e.Action == "pass" || e.Action == "fail" || e.Action == "skip" {
				ended[e.Package] = true
			}
			if e.Action == "fail" {
				packagesFailed = true
			}
		case e.Action == "output":
			outputs[key] = append(outputs[key], e.Output)
		case e.Action == "pass":
			passed++
			delete(outputs, key)
		case e.Action == "fail":
			failed++
			fmt.Fprint(out, strings.Join(outputs[key], ""))
			delete(outputs, key)
		case e.Action == "skip":
			skips = append(skips, skip{e.Package, e.Test, reason(outputs[key])})
			delete(outputs, key)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testsummary:", err)
		return 1
	}
	if len(skips) > 0 {
		fmt.Fprintf(out, "%d tests skipped, each saying why:\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(out, "  SKIP %s (%s): %s\n", s.test, shortName(s.pkg), s.why)
		}
	}
	for pkg := range started {
		if !ended[pkg] {
			fmt.Fprintf(out, "FAIL %s: its tests never finished\n", pkg)
			packagesFailed = true
		}
	}
	fmt.Fprintf(out, "tests: %d passed, %d failed, %d skipped\n", passed, failed, len(skips))
	if packagesFailed || failed > 0 || len(started) == 0 {
		return 1
	}
	return 0
}

// shortName is a package's path within this repository.
func shortName(pkg string) string {
	if pkg == "github.com/jwtaudit/jwtaudit" {
		return "jwtaudit"
	}
	return strings.TrimPrefix(pkg, "github.com/jwtaudit/jwtaudit/")
}

// reason is what a skipped test said: its last line of output other than
// the lines `go test` writes itself (=== RUN, --- SKIP).
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		// "file_test.go:12: why" → "why"
		if _, why, ok := strings.Cut(l, ": "); ok && strings.Contains(l[:strings.Index(l, ": ")], ".go:") {
			return why
		}
		return l
	}
	return "(no reason given)"
}
