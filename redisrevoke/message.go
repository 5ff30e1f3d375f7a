package redisrevoke

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

// parseMessage reads a revocation as revokeScript publishes it (and
// returns it): "t" or "s", the issuer, id and subject as LEN:BYTES each,
// then " CUTOFF UNTIL" (Unix microseconds and milliseconds).
func parseMessage(msg string) (jwtaudit.Revocation, error) {
	bad := errors.New("redisrevoke: a revocation message of another form")
	if msg == "" || (msg[0] != 't' && msg[0] != 's') {
		return jwtaudit.Revocation{}, bad
	}
	token := msg[0] == 't'
	var fields [3]string
	rest, ok := readFields(msg[1:], fields[:])
	cutoff, until, ok2 := strings.Cut(strings.TrimPrefix(rest, " "), " ")
	us, err1 := strconv.ParseInt(cutoff, 10, 64)
	ms, err2 := strconv.ParseInt(until, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || (token != (fields[1] != "")) {
		return jwtaudit.Revocation{}, bad
	}
	return jwtaudit.Revocation{
		Issuer: fields[0], ID: fields[1], Subject: fields[2],
		IssuedBefore: time.UnixMicro(us), Until: time.UnixMilli(ms),
	}, nil
}

// readFields reads len(into) names written as LEN:BYTES from the start of
// s, and returns what follows them.
func readFields(s string, into []string) (rest string, ok bool) {
	for i := range into {
		n, after, found := strings.Cut(s, ":")
		size, err := strconv.Atoi(n)
		if !found || err != nil || size < 0 || size > len(after) {
			return "", false
		}
		into[i], s = after[:size], after[size:]
	}
	return s, true
}

// parseTokenMember reads a token's revocation from its bucket's member:
// "<until> <len>:<issuer><len>:<id><subject>".
func parseTokenMember(m string) (jwtaudit.Revocation, bool) {
	until, rest, ok := strings.Cut(m, " ")
	ms, err := strconv.ParseInt(until, 10, 64)
	var names [2]string
	if rest, ok2 := readFields(rest, names[:]); ok && ok2 && err == nil && names[1] != "" {
		return jwtaudit.Revocation{Issuer: names[0], ID: names[1], Subject: rest, Until: time.UnixMilli(ms)}, true
	}
	return jwtaudit.Revocation{}, false
}

// parseSubjectField reads a subject's revocation from its field of the
// subjects' hash, "<len>:<issuer> <subject>", and its value, "<cut-off>
// <until>".
func parseSubjectField(field, value string) (jwtaudit.Revocation, bool) {
	var issuer [1]string
	rest, ok := readFields(field, issuer[:])
	subject, spaced := strings.CutPrefix(rest, " ")
	cutoff, until, ok2 := strings.Cut(value, " ")
	us, err1 := strconv.ParseInt(cutoff, 10, 64)
	ms, err2 := strconv.ParseInt(until, 10, 64)
	if !ok || !spaced || !ok2 || err1 != nil || err2 != nil || us <= 0 {
		return jwtaudit.Revocation{}, false
	}
	return jwtaudit.Revocation{Issuer: issuer[0], Subject: subject, IssuedBefore: time.UnixMicro(us), Until: time.UnixMilli(ms)}, true
}

// keyName builds a key: PREFIX KIND:<len>:<issuer> <name>. A space cannot
// start an issuer URL, and the length keeps any two apart anyway.
func keyName(prefix, kind, issuer, name string) string {
	return prefix + kind + ":" + strconv.Itoa(len(issuer)) + ":" + issuer + " " + name
}
