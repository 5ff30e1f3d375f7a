// Package readme finds the code blocks of the project's README.md, so that
// tests can hold what the README shows to what runs.
package readme

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Section returns the text under the heading line (such as
// "## Audit events") in readme, up to the next heading of the same level.
func Section(readme []byte, heading string) ([]byte, error) {
	_, section, ok := bytes.Cut(readme, []byte("\n"+heading+"\n"))
	if !ok {
		return nil, fmt.Errorf("README.md has no %q heading", heading)
	}
	level, _, _ := strings.Cut(heading, " ")
	section, _, _ = bytes.Cut(section, []byte("\n"+level+" "))
	return section, nil
}

// Block returns the first fenced code block in language lang ("go", "sh")
// in the section under the heading line (such as "## Quick start").
func Block(readme []byte, heading, lang string) ([]byte, error) {
	section, err := Section(readme, heading)
	if err != nil {
		return nil, err
	}
	_, block, ok := bytes.Cut(section, []byte("```"+lang+"\n"))
	if !ok {
		return nil, fmt.Errorf("no %s block after %q", lang, heading)
	}
	block, _, ok = bytes.Cut(block, []byte("```\n"))
	if !ok {
		return nil, fmt.Errorf("the %s block after %q does not end", lang, heading)
	}
	return block, nil
}

// HoldsFile fails t unless the first Go block under heading in the README
// at readmePath is the file at path, byte for byte: a program the README
// shows is one that compiles and runs.
func HoldsFile(t testing.TB, readmePath, heading, path string) {
	t.Helper()
	text, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, err := Block(text, heading, "go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(block, program) {
		t.Errorf("the README's block under %q differs from %s; copy the file into the README", heading, path)
	}
}

// Rerun starts the test binary again, in a new directory, with env set to
// 1 in its environment, for a TestMain that runs the program's main when
// it sees env; it returns the directory and what main printed.
func Rerun(t *testing.T, env string) (dir string, out []byte) {
	t.Helper()
	dir = t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return dir, out
}
