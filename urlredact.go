package jwtaudit

import (
	"net/url"
	"slices"
	"strings"
)

// redactURL shows u without what may be a secret: userinfo becomes
// "REDACTED@", every query value "REDACTED", and the fragment goes.
// Scheme, host, path and query names stay, so that the URL can still be
// recognised.
func redactURL(u *url.URL) string {
	shown := *u
	if shown.User != nil {
		shown.User = url.User("REDACTED")
	}
	if shown.RawQuery != "" {
		shown.RawQuery = redactQuery(shown.Query())
	}
	shown.Fragment, shown.RawFragment = "", ""
	return shown.String()
}

// redactQuery encodes q's names with every value replaced, in name order.
func redactQuery(q url.Values) string {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(name))
		b.WriteString("=REDACTED")
	}
	return b.String()
}

// scrubbedError is an error whose message was cleaned of secrets, over a
// cause that errors.Is and errors.As can still inspect.
type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.cause }
