// Package urlredact shows URLs without what may be a secret in them, for
// the audit trail and error messages.
package urlredact

import (
	"net/url"
	"slices"
	"strings"
)

// URL shows u without what may be a secret: userinfo becomes
// "REDACTED@", every query value "REDACTED", and the fragment goes.
// Scheme, host, path and query names stay, so that the URL can still be
// recognised.
func URL(u *url.URL) string {
	shown := *u
	if shown.User != nil {
		shown.User = url.User("REDACTED")
	}
	if shown.RawQuery != "" {
		shown.RawQuery = Query(shown.Query())
	}
	shown.Fragment, shown.RawFragment = "", ""
	return shown.String()
}

// Query encodes q's names with every value replaced, in name order.
func Query(q url.Values) string {
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
