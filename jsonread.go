package jwtaudit

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader is a strict, allocation-light reader of RFC 8259 JSON, for the
// two small objects of a token, its header and its claims set. It exists
// because the claims decoder is the verifier's hot spot, and because
// encoding/json is lenient where a verifier must not be: it accepts invalid
// UTF-8 and lone surrogates, and keeps the last of duplicate members. This
// reader rejects invalid UTF-8, lone surrogates, control characters and bad
// number syntax, and hands member names to its caller to match exactly;
// every object it skips must have unique member names (see memberNames).
// What the JWT rules add (numeric dates, "aud" as a string or an array) is
// in the claims codec.
type jsonReader struct {
	data []byte
	pos  int
}

// maxJSONDepth bounds nesting in skipped values so that a deep "[[[[…" cannot
// exhaust the stack; claims have no reason to nest deeper.
const maxJSONDepth = 32

var errJSONSyntax = errors.New("invalid JSON")

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.skipSpace()
	if r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

func (r *jsonReader) expect(c byte) error {
	if r.peek() != c {
		return errJSONSyntax
	}
	r.pos++
	return nil
}

// finish checks that nothing but white space follows the top-level value.
func (r *jsonReader) finish() error {
	r.skipSpace()
	if r.pos != len(r.data) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// beginObject consumes the opening brace of an object.
func (r *jsonReader) beginObject() error {
	if r.peek() != '{' {
		return errors.New("not a JSON object")
	}
	r.pos++
	return nil
}

// nextMember advances to the next member of the current object and returns
// its name, consuming the colon after it; more is false after the closing
// brace. first tells whether no member has been read yet.
func (r *jsonReader) nextMember(first bool) (name []byte, more bool, err error) {
	c := r.peek()
	if c == '}' {
		r.pos++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, errJSONSyntax
		}
		r.pos++
	}
	if r.peek() != '"' {
		return nil, false, errJSONSyntax
	}
	if name, err = r.stringBytes(); err != nil {
		return nil, false, err
	}
	if err = r.expect(':'); err != nil {
		return nil, false, err
	}
	return name, true, nil
}

// stringBytes reads a JSON string and returns its unescaped bytes. The result
// aliases the input when the string has no escapes, so it must be copied
// before the input is reused.
func (r *jsonReader) stringBytes() ([]byte, error) {
	if r.peek() != '"' {
		return nil, errors.New("not a JSON string")
	}
	r.pos++
	start := r.pos
	// Fast path: printable ASCII without escapes needs no copy. One table
	// lookup a byte, as the writer's plainASCII is used.
	i := r.pos
	for i < len(r.data) && plainASCII[r.data[i]] {
		i++
	}
	if i < len(r.data) && r.data[i] == '"' {
		r.pos = i + 1
		return r.data[start:i], nil
	}
	r.pos = i
	return r.stringSlow(start)
}

// stringSlow finishes a string that has escapes or non-ASCII bytes, starting
// again from its first byte.
func (r *jsonReader) stringSlow(start int) ([]byte, error) {
	out := make([]byte, 0, r.pos-start+16)
	out = append(out, r.data[start:r.pos]...)
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		switch {
		case c == '"':
			r.pos++
			return out, nil
		case c < 0x20:
			return nil, errors.New("control character in JSON string")
		case c == '\\':
			var err error
			if out, err = r.escape(out); err != nil {
				return nil, err
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			r.pos++
		default:
			ru, size := utf8.DecodeRune(r.data[r.pos:])
			if ru == utf8.RuneError && size <= 1 {
				return nil, errors.New("invalid UTF-8 in JSON string")
			}
			out = append(out, r.data[r.pos:r.pos+size]...)
			r.pos += size
		}
	}
	return nil, errJSONSyntax
}

// escape decodes the escape sequence at r.pos (a backslash) onto out.
func (r *jsonReader) escape(out []byte) ([]byte, error) {
	if r.pos+1 >= len(r.data) {
		return nil, errJSONSyntax
	}
	c := r.data[r.pos+1]
	r.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(out, c), nil
	case 'b':
		return append(out, '\b'), nil
	case 'f':
		return append(out, '\f'), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'u':
		ru, ok := r.hex4()
		if !ok {
			return nil, errJSONSyntax
		}
		if utf16.IsSurrogate(ru) {
			// A high surrogate must be followed by an escaped low one;
			// anything else is a lone surrogate, which is not text.
			if r.pos+1 >= len(r.data) || r.data[r.pos] != '\\' || r.data[r.pos+1] != 'u' {
				return nil, errors.New("lone surrogate in JSON string")
			}
			r.pos += 2
			lo, ok := r.hex4()
			if !ok {
				return nil, errJSONSyntax
			}
			if ru = utf16.DecodeRune(ru, lo); ru == utf8.RuneError {
				return nil, errors.New("lone surrogate in JSON string")
			}
		}
		return utf8.AppendRune(out, ru), nil
	default:
		return nil, errJSONSyntax
	}
}

// hex4 reads the four hex digits of a \u escape.
func (r *jsonReader) hex4() (rune, bool) {
	if r.pos+4 > len(r.data) {
		return 0, false
	}
	var v rune
	for _, c := range r.data[r.pos : r.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	r.pos += 4
	return v, true
}

// string reads a JSON string into a Go string.
func (r *jsonReader) string() (string, error) {
	b, err := r.stringBytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// knownString reads a JSON string, returning the element of known it equals
// when there is one, so that expected values cost no allocation.
func (r *jsonReader) knownString(known []string) (string, error) {
	b, err := r.stringBytes()
	if err != nil {
		return "", err
	}
	for _, k := range known {
		if string(b) == k {
			return k, nil
		}
	}
	return string(b), nil
}

// number reads a JSON number and returns its literal text, checked against
// the grammar of RFC 8259 §6.
func (r *jsonReader) number() ([]byte, error) {
	r.skipSpace()
	d, start := r.data, r.pos
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		return nil, errors.New("not a JSON number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, errJSONSyntax
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, errJSONSyntax
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	r.pos = i
	return d[start:i], nil
}

// skip validates and skips one value of any type.
func (r *jsonReader) skip(depth int) error {
	if depth > maxJSONDepth {
		return errors.New("JSON nested too deeply")
	}
	switch c := r.peek(); {
	case c == '"':
		_, err := r.stringBytes()
		return err
	case c == '{':
		r.pos++
		var names memberNames
		for first := true; ; first = false {
			name, more, err := r.nextMember(first)
			if err != nil || !more {
				return err
			}
			if err := names.add(name); err != nil {
				return err
			}
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		return r.array(func() error { return r.skip(depth + 1) })
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	default:
		_, err := r.number()
		return err
	}
}

// array reads an array, calling element once for each element with the
// reader positioned at it.
func (r *jsonReader) array(element func() error) error {
	if err := r.expect('['); err != nil {
		return err
	}
	if r.peek() == ']' {
		r.pos++
		return nil
	}
	for {
		if err := element(); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (r *jsonReader) literal(word string) error {
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		return errJSONSyntax
	}
	r.pos += len(word)
	return nil
}
