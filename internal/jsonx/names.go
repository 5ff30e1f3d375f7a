package jsonx

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/jwtaudit/jwtaudit/internal/textclip"
)

// MemberNames collects the member names of one JSON object as they are
// read and refuses a name that repeats an earlier one, exactly or up to
// case. encoding/json matches member names without regard to case (as
// bytes.EqualFold does) and keeps the last of duplicates, so an object with
// such a pair reads one way here and another way in Token.Decode.
//
// The first names are kept in an array and compared one by one, which
// costs no allocation for the objects a token has; past that, the names
// go into a map keyed by their case-folded form.
type MemberNames struct {
	short  [16]memberName
	n      int
	folded map[string]struct{}
}

type memberName struct {
	name []byte
	key  uint64 // FoldKey(name), or 0
}

func (m *MemberNames) Add(name []byte) error {
	if m.folded != nil {
		return m.addFolded(name)
	}
	key := FoldKey(name)
	for _, prev := range m.short[:m.n] {
		if key != 0 && prev.key != 0 {
			if key != prev.key {
				continue
			}
		} else if !bytes.EqualFold(prev.name, name) {
			continue
		}
		return duplicateMember(prev.name, name)
	}
	if m.n < len(m.short) {
		m.short[m.n] = memberName{name, key}
		m.n++
		return nil
	}
	m.folded = make(map[string]struct{}, 4*len(m.short))
	for _, prev := range m.short {
		m.folded[string(appendFolded(nil, prev.name))] = struct{}{}
	}
	return m.addFolded(name)
}

func (m *MemberNames) addFolded(name []byte) error {
	var buf [32]byte
	folded := appendFolded(buf[:0], name)
	if _, dup := m.folded[string(folded)]; dup {
		return fmt.Errorf("member %q repeats an earlier name, up to case", textclip.To(string(name), textclip.MaxUnverified))
	}
	m.folded[string(folded)] = struct{}{}
	return nil
}

func duplicateMember(prev, name []byte) error {
	if bytes.Equal(prev, name) {
		return fmt.Errorf("duplicate member %q", textclip.To(string(name), textclip.MaxUnverified))
	}
	return fmt.Errorf("members %q and %q differ only in case", textclip.To(string(prev), textclip.MaxUnverified), textclip.To(string(name), textclip.MaxUnverified))
}

// FoldKey packs a short ASCII name, upper-cased, with its length in the top
// byte, so that two such names are equal up to case exactly when their
// keys are equal. It returns 0 for names it cannot pack (empty, longer than
// 7 bytes, or not ASCII: "ſ" and the Kelvin sign fold into ASCII letters),
// which are compared with bytes.EqualFold instead.
func FoldKey(name []byte) uint64 {
	if len(name) == 0 || len(name) > 7 {
		return 0
	}
	key := uint64(len(name)) << 56
	for i, c := range name {
		if c >= utf8.RuneSelf {
			return 0
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		key |= uint64(c) << (8 * i)
	}
	return key
}

// SameUpToCase reports whether two names would be taken for one by
// encoding/json.
func SameUpToCase(a, b []byte) bool {
	if ka, kb := FoldKey(a), FoldKey(b); ka != 0 && kb != 0 {
		return ka == kb
	}
	return bytes.EqualFold(a, b)
}

// appendFolded appends the case-folded form of name, as encoding/json
// computes it: two names have the same folded form exactly when
// bytes.EqualFold reports them equal.
func appendFolded(out, name []byte) []byte {
	for i := 0; i < len(name); {
		if c := name[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune of r's case-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}
