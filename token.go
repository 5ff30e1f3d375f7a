package jwtaudit

import (
	"encoding/json"
	"time"
)

// Claims are the registered claims of RFC 7519 §4.1, typed, plus private
// claims for issuing.
//
// Times are whole seconds on the wire (NumericDate); a zero time.Time means
// the claim is absent. Audience holds one or more values; a single value is
// written as a JSON string, several as an array, and both forms are read.
type Claims struct {
	Issuer    string    // "iss"
	Subject   string    // "sub"
	Audience  []string  // "aud"
	ExpiresAt time.Time // "exp"
	NotBefore time.Time // "nbf"
	IssuedAt  time.Time // "iat"
	ID        string    // "jti"

	// Private holds the private claims to issue. Each value is encoded with
	// encoding/json; a name that is a registered claim is refused rather
	// than allowed to overwrite it. A verified [Token] leaves Private nil:
	// read private claims with [Token.Decode] into a struct of your own.
	Private map[string]any
}

// registeredClaims are the claim names that Claims types; a private claim
// may not use one of them.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

func isRegisteredClaim(name string) bool {
	for _, r := range registeredClaims {
		if r == name {
			return true
		}
	}
	return false
}

// Header is the protected JOSE header of a token, as far as this package
// reads it. Headers that could point the verifier at another key ("jwk",
// "jku", "x5u", "x5c") are ignored: keys come only from the configuration.
type Header struct {
	Algorithm   Algorithm // "alg"
	KeyID       string    // "kid"
	Type        string    // "typ"
	ContentType string    // "cty"
}

// Token is a verified token, returned by [Verifier.Verify] only when every
// check passed. It is never returned for a rejected token.
type Token struct {
	Header Header
	Claims Claims

	// Fingerprint identifies the token in the audit trail without
	// revealing it: the same value as the Fingerprint of the token's issue
	// and verify events.
	Fingerprint Fingerprint

	payload []byte // the decoded JSON claims set, for Decode
}

// Decode unmarshals the token's whole claims set, registered and private
// claims alike, into v with encoding/json. Use it to read private claims into
// a struct of your own.
func (t *Token) Decode(v any) error {
	return json.Unmarshal(t.payload, v)
}
