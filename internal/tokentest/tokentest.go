// Package tokentest holds what the tests of several packages do to tokens.
package tokentest

// TamperSignature returns raw with one character of its signature changed,
// always to a different one. The character is not the last, whose low bits
// base64 may leave unused, so the decoded signature always differs: a test
// that cuts a token's end and appends fixed characters instead is flaky,
// since now and then the signature already ends in them.
func TamperSignature(raw string) string {
	i := len(raw) - 5
	c := byte('A')
	if raw[i] == 'A' {
		c = 'B'
	}
	return raw[:i] + string(c) + raw[i+1:]
}
