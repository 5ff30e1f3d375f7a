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

	// SubjectGeneration is "sgen", a claim of this package's own: the
	// generation of the subject's tokens when the token was issued, that
	// is the cut-off of the subject's last "log out everywhere" then in
	// force, in Unix microseconds (see [Revocation]). An Issuer with
	// [WithSubjectGenerations] stamps it when the subject has such a
	// revocation; 0 means absent. Issue refuses a value set by its caller.
	SubjectGeneration int64

	// Confirmation is "cnf" (RFC 7800): the key the token is bound to.
	// A token bound to a key is accepted only with a proof that its sender
	// holds that key ([Verifier.VerifyDPoP]); [Verifier.Verify] refuses it.
	Confirmation Confirmation

	// boundOtherwise is set by the decoder when "cnf" holds a confirmation
	// method other than "jkt" (an mTLS certificate's "x5t#S256", a "jwk"):
	// a binding this package cannot check, so the token is refused.
	boundOtherwise bool

	// Private holds the private claims to issue. Each value is encoded with
	// encoding/json. A name that is a registered claim, or that differs from
	// a registered claim or from another private claim only in case ("SUB",
	// "Tenant" beside "tenant"), is refused: encoding/json matches names
	// without regard to case, so such a token would read differently to
	// different readers. A verified [Token] leaves Private nil: read private
	// claims with [Token.Decode] into a struct of your own.
	Private map[string]any
}

// Confirmation is the "cnf" claim of RFC 7800, as far as this package
// checks it.
type Confirmation struct {
	// KeyThumbprint is "jkt" (RFC 9449 §6.1): the RFC 7638 SHA-256
	// thumbprint, base64url without padding, of the client's DPoP public
	// key. Set it in the Claims given to [Issuer.Issue] to issue a
	// DPoP-bound token ([DPoPProof].KeyThumbprint gives it for a client's
	// proof); "" issues a bearer token.
	KeyThumbprint string
}

// bound reports whether the claims bind the token to a key.
func (c *Claims) bound() bool { return c.Confirmation.KeyThumbprint != "" || c.boundOtherwise }

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

	payload  []byte    // the decoded JSON claims set, for Decode
	audience [1]string // holds Claims.Audience when it has one value
}

// Decode unmarshals the token's whole claims set, registered and private
// claims alike, into v with encoding/json. Use it to read private claims into
// a struct of your own.
//
// It reads what Claims and the audit event read: Verify refuses a claims
// set in which a member name appears twice, or differs only in case from
// another member or from a registered or watched claim name, which are the
// cases where encoding/json, matching names without regard to case, would
// pick a value the verifier did not check.
func (t *Token) Decode(v any) error {
	return json.Unmarshal(t.payload, v)
}

// wholeSeconds drops the fraction of a second, in UTC: NumericDate has
// whole seconds.
func wholeSeconds(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

// rfc3339 formats a claim's time for an error message.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
