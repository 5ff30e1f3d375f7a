// Package readme finds the code blocks of the project's README.md, so that
// tests can hold what the README shows to what runs.
package readme

import (
	"bytes"
	"fmt"
	"strings"
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
