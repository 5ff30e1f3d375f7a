package jwtaudit

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/internal/readme"
)

// TestReadmeNamesTheReservedNames holds the README's table of event fields
// to reservedNames: every field the table lists is reserved, and every
// reserved name is either a field of the table or named in its row on
// context attributes, so that a new field cannot be added to events
// without telling users which of their attribute names it takes.
func TestReadmeNamesTheReservedNames(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section, err := readme.Section(text, "## Audit events")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	code := regexp.MustCompile("`([a-z_]+)`")
	for _, line := range strings.Split(string(section), "\n") {
		first, rest, ok := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		if !ok || !strings.HasPrefix(line, "| ") {
			continue
		}
		if strings.HasPrefix(first, "`") {
			for _, m := range code.FindAllStringSubmatch(first, -1) {
				named[m[1]] = true
				if !reservedNames[m[1]] {
					t.Errorf("the README lists the event field %q, which is not reserved", m[1])
				}
			}
		}
		if first == "your attributes" {
			_, list, _ := strings.Cut(rest, "one named like a field above")
			list, _, _ = strings.Cut(list, "is written as")
			for _, m := range code.FindAllStringSubmatch(list, -1) {
				named[m[1]] = true
			}
		}
	}
	for name := range reservedNames {
		if !named[name] {
			t.Errorf("the reserved name %q is neither a field of the README's event table nor in its list of reserved names", name)
		}
	}
}
