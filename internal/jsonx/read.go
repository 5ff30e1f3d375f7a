// Package jsonx reads and writes the small JSON objects of tokens and
// events: a strict, allocation-light reader of RFC 8259 JSON, the
// member-name checks that keep two readers from disagreeing about an
// object, and a writer of JSON strings as log/slog writes them.
package jsonx

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// Reader is a strict, allocation-light reader of RFC 8259 JSON, for the
// two small objects of a token, its header and its claims set. It exists
// because the claims decoder is the verifier's hot spot, and because
// encoding/json is lenient where a verifier must not be: it accepts invalid
// UTF-8 and lone surrogates, and keeps the last of duplicate members. This
// reader rejects invalid UTF-8, lone surrogates, control characters and bad
// number syntax, and hands member names to its caller to match exactly;
// every object it skips must have unique member names (see MemberNames).
// What the JWT rules add (numeric dates, "aud" as a string or an array) is
// in the claims codec.
type Reader struct {
	Data []byte // the JSON text
	Pos  int    // the place of the next byte to read
}

// maxDepth bounds nesting in skipped values so that a deep "[[[[…" cannot
// exhaust the stack; claims have no reason to nest deeper.
const maxDepth = 32

var errSyntax = errors.New("invalid JSON")

func (r *Reader) skipSpace() {
	for r.Pos < len(r.Data) {
		switch r.Data[r.Pos] {
		case ' ', '\t', '\n', '\r':
			r.Pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (r *Reader) Peek() byte {
	r.skipSpace()
	if r.Pos < len(r.Data) {
		return r.Data[r.Pos]
	}
	return 0
}

func (r *Reader) expect(c byte) error {
	if r.Peek() != c {
		return errSyntax
	}
	r.Pos++
	return nil
}

// finish checks that nothing but white space follows the top-level value.
func (r *Reader) Finish() error {
	r.skipSpace()
	if r.Pos != len(r.Data) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// beginObject consumes the opening brace of an object.
func (r *Reader) BeginObject() error {
	if r.Peek() != '{' {
		return errors.New("not a JSON object")
	}
	r.Pos++
	return nil
}

// nextMember advances to the next member of the current object and returns
// its name, consuming the colon after it; more is false after the closing
// brace. first tells whether no member has been read yet.
func (r *Reader) NextMember(first bool) (name []byte, more bool, err error) {
	c := r.Peek()
	if c == '}' {
		r.Pos++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, errSyntax
		}
		r.Pos++
	}
	if r.Peek() != '"' {
		return nil, false, errSyntax
	}
	if name, err = r.StringBytes(); err != nil {
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
func (r *Reader) StringBytes() ([]byte, error) {
	if r.Peek() != '"' {
		return nil, errors.New("not a JSON string")
	}
	r.Pos++
	start := r.Pos
	// Fast path: printable ASCII without escapes needs no copy. One table
	// lookup a byte, as the writer's plainASCII is used.
	i := r.Pos
	for i < len(r.Data) && plainASCII[r.Data[i]] {
		i++
	}
	if i < len(r.Data) && r.Data[i] == '"' {
		r.Pos = i + 1
		return r.Data[start:i], nil
	}
	r.Pos = i
	return r.stringSlow(start)
}

// stringSlow finishes a string that has escapes or non-ASCII bytes, starting
// again from its first byte.
func (r *Reader) stringSlow(start int) ([]byte, error) {
	out := make([]byte, 0, r.Pos-start+16)
	out = append(out, r.Data[start:r.Pos]...)
	for r.Pos < len(r.Data) {
		c := r.Data[r.Pos]
		switch {
		case c == '"':
			r.Pos++
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
			r.Pos++
		default:
			ru, size := utf8.DecodeRune(r.Data[r.Pos:])
			if ru == utf8.RuneError && size <= 1 {
				return nil, errors.New("invalid UTF-8 in JSON string")
			}
			out = append(out, r.Data[r.Pos:r.Pos+size]...)
			r.Pos += size
		}
	}
	return nil, errSyntax
}

// escape decodes the escape sequence at r.Pos (a backslash) onto out.
func (r *Reader) escape(out []byte) ([]byte, error) {
	if r.Pos+1 >= len(r.Data) {
		return nil, errSyntax
	}
	c := r.Data[r.Pos+1]
	r.Pos += 2
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
			return nil, errSyntax
		}
		if utf16.IsSurrogate(ru) {
			// A high surrogate must be followed by an escaped low one;
			// anything else is a lone surrogate, which is not text.
			if r.Pos+1 >= len(r.Data) || r.Data[r.Pos] != '\\' || r.Data[r.Pos+1] != 'u' {
				return nil, errors.New("lone surrogate in JSON string")
			}
			r.Pos += 2
			lo, ok := r.hex4()
			if !ok {
				return nil, errSyntax
			}
			if ru = utf16.DecodeRune(ru, lo); ru == utf8.RuneError {
				return nil, errors.New("lone surrogate in JSON string")
			}
		}
		return utf8.AppendRune(out, ru), nil
	default:
		return nil, errSyntax
	}
}

// hex4 reads the four hex digits of a \u escape.
func (r *Reader) hex4() (rune, bool) {
	if r.Pos+4 > len(r.Data) {
		return 0, false
	}
	var v rune
	for _, c := range r.Data[r.Pos : r.Pos+4] {
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
	r.Pos += 4
	return v, true
}

// string reads a JSON string into a Go string.
func (r *Reader) String() (string, error) {
	b, err := r.StringBytes()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// knownString reads a JSON string, returning the element of known it equals
// when there is one, so that expected values cost no allocation.
func (r *Reader) KnownString(known []string) (string, error) {
	b, err := r.StringBytes()
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
func (r *Reader) Number() ([]byte, error) {
	r.skipSpace()
	d, start := r.Data, r.Pos
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
			return nil, errSyntax
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
			return nil, errSyntax
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	r.Pos = i
	return d[start:i], nil
}

// skip validates and skips one value of any type.
func (r *Reader) Skip(depth int) error {
	if depth > maxDepth {
		return errors.New("JSON nested too deeply")
	}
	switch c := r.Peek(); {
	case c == '"':
		_, err := r.StringBytes()
		return err
	case c == '{':
		r.Pos++
		var names MemberNames
		for first := true; ; first = false {
			name, more, err := r.NextMember(first)
			if err != nil || !more {
				return err
			}
			if err := names.Add(name); err != nil {
				return err
			}
			if err := r.Skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		return r.Array(func() error { return r.Skip(depth + 1) })
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	default:
		_, err := r.Number()
		return err
	}
}

// array reads an array, calling element once for each element with the
// reader positioned at it.
func (r *Reader) Array(element func() error) error {
	if err := r.expect('['); err != nil {
		return err
	}
	if r.Peek() == ']' {
		r.Pos++
		return nil
	}
	for {
		if err := element(); err != nil {
			return err
		}
		switch r.Peek() {
		case ',':
			r.Pos++
		case ']':
			r.Pos++
			return nil
		default:
			return errSyntax
		}
	}
}

func (r *Reader) literal(word string) error {
	if len(r.Data)-r.Pos < len(word) || string(r.Data[r.Pos:r.Pos+len(word)]) != word {
		return errSyntax
	}
	r.Pos += len(word)
	return nil
}
