package main

import (
	"strconv"
	"unicode"
)

// shown makes a value from a log safe to print on a terminal. A value made
// only of printable characters is printed as it is; any other is printed
// quoted, with every character that is not graphic escaped: newlines and
// tabs, ESC and the rest of C0 and C1, bidirectional and other format
// controls, and invalid UTF-8. So no value can add a line or a column,
// move the cursor, retitle the terminal or reorder what is around it.
func shown(s string) string {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsGraphic(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}
