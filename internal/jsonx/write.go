package jsonx

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes a JSON string holds as they are: printable
// ASCII other than the quote and the backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString writes s as a JSON string, escaped exactly as log/slog's
// JSON handler escapes a string value or a key, so that the audit encoder
// writes slog's bytes: control characters other than \n, \r and \t as
// \u00XX, U+2028 and U+2029 escaped, and invalid UTF-8 replaced by U+FFFD
// (as encoding/json does, so that the strict reader accepts every token
// this package issues).
func AppendString(buf []byte, s string) []byte { return appendQuoted(buf, s, false) }

// AppendMarshaledString writes s as encoding/json writes a string with
// HTML escaping off (as slog writes a value it marshals, such as a slice):
// like appendJSONString, except that \b and \f take their short forms.
func AppendMarshaledString(buf []byte, s string) []byte { return appendQuoted(buf, s, true) }

func appendQuoted(buf []byte, s string, shortBF bool) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		// Runs of plain ASCII, all of a typical claim, are copied whole.
		for i < len(s) && plainASCII[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case shortBF && c == '\b':
				buf = append(buf, '\\', 'b')
			case shortBF && c == '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript before ES2019:
			// slog and encoding/json escape them, and so does this.
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// Plain reports whether s is not empty and is written as it is, without
// anything escaped: names the event encoder writes without looking.
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainASCII[s[i]] {
			return false
		}
	}
	return s != ""
}
