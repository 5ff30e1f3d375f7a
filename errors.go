package jwtaudit

import (
	"errors"
	"fmt"
)

// Reason names why an operation failed. Every error returned by [Issuer.Issue]
// and [Verifier.Verify] has exactly one Reason, obtained with [ReasonOf], and
// every audit [Event] carries it. A Reason prints as a stable snake_case word
// that is safe to store, index and alert on.
type Reason uint8

// The reasons, one per sentinel error. ReasonNone marks a success.
const (
	ReasonNone             Reason = iota // success: no failure
	ReasonTooLarge                       // ErrTooLarge
	ReasonMalformed                      // ErrMalformed
	ReasonAlgorithm                      // ErrAlgorithm
	ReasonUnknownKey                     // ErrUnknownKey
	ReasonSignature                      // ErrSignature
	ReasonType                           // ErrType
	ReasonExpired                        // ErrExpired
	ReasonNotYetValid                    // ErrNotYetValid
	ReasonIssuedInFuture                 // ErrIssuedInFuture
	ReasonIssuer                         // ErrIssuer
	ReasonAudience                       // ErrAudience
	ReasonSubject                        // ErrSubject
	ReasonMissingClaim                   // ErrMissingClaim
	ReasonTooOld                         // ErrTooOld
	ReasonRevoked                        // ErrRevoked
	ReasonRejected                       // ErrRejected
	ReasonInvalidClaims                  // ErrInvalidClaims
	ReasonSigning                        // ErrSigning
	ReasonAudit                          // ErrAudit
	ReasonInternal                       // ErrInternal
	ReasonKeyFetch                       // ErrKeyFetch
	ReasonReplayed                       // ErrReplayed
	ReasonStoreUnavailable               // ErrStoreUnavailable
	ReasonNoToken                        // ErrNoToken
	ReasonDPoPProof                      // ErrDPoPProof
	ReasonDPoPBinding                    // ErrDPoPBinding
	ReasonDPoPReplayed                   // ErrDPoPReplayed
	ReasonDPoPNonce                      // ErrDPoPNonce

	reasonCount // keep last: the number of reasons
)

var reasonNames = [reasonCount]string{
	ReasonNone:             "none",
	ReasonTooLarge:         "too_large",
	ReasonMalformed:        "malformed",
	ReasonAlgorithm:        "algorithm",
	ReasonUnknownKey:       "unknown_key",
	ReasonSignature:        "signature",
	ReasonType:             "type",
	ReasonExpired:          "expired",
	ReasonNotYetValid:      "not_yet_valid",
	ReasonIssuedInFuture:   "issued_in_future",
	ReasonIssuer:           "issuer",
	ReasonAudience:         "audience",
	ReasonSubject:          "subject",
	ReasonMissingClaim:     "missing_claim",
	ReasonTooOld:           "too_old",
	ReasonRevoked:          "revoked",
	ReasonRejected:         "rejected",
	ReasonInvalidClaims:    "invalid_claims",
	ReasonSigning:          "signing",
	ReasonAudit:            "audit",
	ReasonInternal:         "internal",
	ReasonKeyFetch:         "key_fetch",
	ReasonReplayed:         "replayed",
	ReasonStoreUnavailable: "store_unavailable",
	ReasonNoToken:          "no_token",
	ReasonDPoPProof:        "dpop_proof",
	ReasonDPoPBinding:      "dpop_binding",
	ReasonDPoPReplayed:     "dpop_replay",
	ReasonDPoPNonce:        "dpop_nonce",
}

// String returns the stable snake_case name of r, such as "expired".
func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// MarshalText encodes r as its snake_case name, so that a Reason written by
// encoding/json or a logger is the same word String returns.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// The sentinel errors. Test for them with [errors.Is]; the errors returned by
// this package wrap them with details (never the token or a key).
var (
	// ErrNoToken: Verify was given no token at all, as for a request that
	// carries no credentials (the httpauth middleware verifies "" then, so
	// that such a request has its event too).
	ErrNoToken = newSentinel(ReasonNoToken, "no token")

	// ErrTooLarge: the token is longer than the verifier's size limit
	// (8 KiB unless [WithMaxTokenSize] says otherwise). Checked first, before
	// any decoding, so that oversized input costs nothing.
	ErrTooLarge = newSentinel(ReasonTooLarge, "token too large")

	// ErrMalformed: the input is not a compact JWS of three strict base64url
	// segments with a strict JSON object as header. A JWE, the JSON
	// serialization, padding, the standard base64 alphabet, line breaks, an
	// empty header, and a "crit" or "b64" header all end here. It is decided
	// before the signature is checked: garbage on the wire. A payload that
	// is not a valid claims set is [ErrInvalidClaims], decided after.
	ErrMalformed = newSentinel(ReasonMalformed, "malformed token")

	// ErrAlgorithm: the header's "alg" is missing, "none", not allowed, or not
	// the algorithm of the key that the "kid" selects. The verifier never
	// takes the algorithm from the header.
	ErrAlgorithm = newSentinel(ReasonAlgorithm, "algorithm not accepted")

	// ErrUnknownKey: no configured key has the token's "kid"; or the token
	// has none, and the verifier's keys are not exactly one (a KeySet
	// refuses a token without "kid" however few keys it holds, since a
	// rotating set always has a choice to make; WithKeys and a
	// RemoteKeySet accept one when they hold a single key, or a single
	// legacy key).
	ErrUnknownKey = newSentinel(ReasonUnknownKey, "unknown key")

	// ErrSignature: the signature does not verify with the selected key.
	ErrSignature = newSentinel(ReasonSignature, "invalid signature")

	// ErrType: the header's "typ" is not the one configured with [WithType].
	ErrType = newSentinel(ReasonType, "wrong token type")

	// ErrExpired: the current time is at or after "exp" plus the leeway.
	// It is the one rejection that a client can cure by getting a new token.
	ErrExpired = newSentinel(ReasonExpired, "token expired")

	// ErrNotYetValid: the current time is before "nbf" minus the leeway.
	ErrNotYetValid = newSentinel(ReasonNotYetValid, "token not yet valid")

	// ErrIssuedInFuture: "iat" is later than the current time plus the leeway.
	ErrIssuedInFuture = newSentinel(ReasonIssuedInFuture, "token issued in the future")

	// ErrIssuer: "iss" is not the issuer configured with [WithIssuer]; with
	// [WithTrustedIssuers], the unverified "iss" names no trusted issuer
	// (checked before the signature, since it picks the keys), or the
	// verified one is not the issuer whose keys checked it.
	ErrIssuer = newSentinel(ReasonIssuer, "issuer not accepted")

	// ErrAudience: none of the token's "aud" values is an expected audience,
	// or the token names an audience and the verifier expects none
	// (RFC 7519 §4.1.3).
	ErrAudience = newSentinel(ReasonAudience, "audience not accepted")

	// ErrSubject: "sub" is not the subject required by [WithSubject].
	ErrSubject = newSentinel(ReasonSubject, "subject not accepted")

	// ErrMissingClaim: a required claim is absent: "exp" by default, "iat"
	// when [WithMaxAge] is set, and any named by [WithRequiredClaims].
	ErrMissingClaim = newSentinel(ReasonMissingClaim, "required claim missing")

	// ErrTooOld: "iat" is further in the past than [WithMaxAge] allows,
	// although "exp" has not passed.
	ErrTooOld = newSentinel(ReasonTooOld, "token too old")

	// ErrRevoked: the token has been revoked: by its "jti", or with every
	// token of its subject issued before a time, in the store given to
	// [WithRevocation]. A validator may return it too (possibly wrapped).
	ErrRevoked = newSentinel(ReasonRevoked, "token revoked")

	// ErrReplayed: a one-time token ([WithReplayGuard]) was verified
	// before; only its first verification succeeds.
	ErrReplayed = newSentinel(ReasonReplayed, "token already used")

	// ErrStoreUnavailable: the revocation or replay store could not say
	// whether the token may pass (a shared store out of reach for longer
	// than it tolerates), so it is refused: the verifier fails closed
	// unless its [RevocationPolicy] says otherwise. From a [Revoker], the
	// revocation could not be stored.
	ErrStoreUnavailable = newSentinel(ReasonStoreUnavailable, "revocation store unavailable")

	// ErrRejected: a validator added with [WithValidator] refused the token
	// with an error that carries no reason of its own. The validator's error
	// is wrapped and can be inspected with errors.Is and errors.As.
	ErrRejected = newSentinel(ReasonRejected, "token rejected by validator")

	// ErrInvalidClaims: claims that whoever holds the signing key should
	// never have produced. From Issue: the claims it was given (an empty
	// subject, "exp" not after "iat", "nbf" after "exp", a private claim
	// named like a registered one or like another up to case, or one that
	// cannot be encoded). From Verify: a token whose signature verifies but
	// whose payload is not a valid claims set (not a JSON object, a claim of
	// the wrong type, a member name twice or twice up to case, an empty
	// payload), which points at the issuer rather than at the sender.
	ErrInvalidClaims = newSentinel(ReasonInvalidClaims, "invalid claims")

	// ErrSigning: the signing key failed to produce a signature (for
	// instance a crypto.Signer backed by a KMS that returned an error).
	ErrSigning = newSentinel(ReasonSigning, "signing failed")

	// ErrAudit: the audit sink could not record the event. The operation is
	// refused (fail closed): Issue returns no token and Verify no token, even
	// for one that was valid, so that nothing happens off the record.
	ErrAudit = newSentinel(ReasonAudit, "audit failed")

	// ErrInternal: code of the caller's that Issue, Verify or a key set
	// reached panicked (a validator, a [KeySource], a crypto.Signer, a
	// private claim's MarshalJSON, the [WithContextAttrs] function), or a
	// caller's function returned an error that carries no reason of this
	// package where one was needed. The panic is recovered, the operation
	// fails and its event, with outcome error, is recorded.
	ErrInternal = newSentinel(ReasonInternal, "internal error")

	// ErrKeyFetch: a RemoteKeySet could not fetch or read its JWKS. It is
	// the reason of the failed fetch's jwks_fetch event, and what
	// [RemoteKeySet.Refresh] returns; Verify itself reports a key it could
	// not find as ErrUnknownKey.
	ErrKeyFetch = newSentinel(ReasonKeyFetch, "key fetch failed")

	// ErrDPoPProof: [Verifier.VerifyDPoP] was given no DPoP proof, more
	// than one, or one that fails a check of RFC 9449 §4.3: its form, "typ",
	// "alg", public "jwk", signature, "htm", "htu", "iat" or "ath". The
	// access token itself verified.
	ErrDPoPProof = newSentinel(ReasonDPoPProof, "invalid DPoP proof")

	// ErrDPoPBinding: the token and the way it was presented disagree: a
	// token bound to a key ("cnf", RFC 7800) given to [Verifier.Verify] as a
	// bearer token (RFC 9449 §7.1), a token bound to another key than the
	// proof's, a token bound by a method this package cannot check, or an
	// unbound token presented with a DPoP proof.
	ErrDPoPBinding = newSentinel(ReasonDPoPBinding, "token not bound to the proof's key")

	// ErrDPoPReplayed: the DPoP proof's "jti" was seen before: a proof is
	// good for one request.
	ErrDPoPReplayed = newSentinel(ReasonDPoPReplayed, "DPoP proof already used")

	// ErrDPoPNonce: the verifier hands out server nonces
	// ([DPoPOptions].Nonces) and the proof carries none, or one it no longer
	// accepts. The client retries with the nonce of the answer's DPoP-Nonce
	// header (RFC 9449 §8).
	ErrDPoPNonce = newSentinel(ReasonDPoPNonce, "DPoP proof needs a fresh server nonce")
)

// ErrClosed is returned by an [AsyncSink]'s Record, Flush and Close once it
// has been closed: the event was not recorded.
var ErrClosed = errors.New("jwtaudit: audit sink closed")

// sentinels maps each Reason to its sentinel error.
var sentinels [reasonCount]*sentinel

// sentinel is the type of the exported Err… values. It is unexported so that
// the set of reasons stays closed.
type sentinel struct {
	reason Reason
	text   string
}

func newSentinel(r Reason, text string) error {
	s := &sentinel{reason: r, text: text}
	sentinels[r] = s
	return s
}

// Error returns "jwtaudit: " and the reason's text.
func (s *sentinel) Error() string { return "jwtaudit: " + s.text }

// failure is the error returned for a refused operation: a reason, a detail
// that says what was wrong (never containing the token or key material), and
// an optional cause. errors.Is(f, ErrX) holds when f's reason is X's.
type failure struct {
	reason Reason
	detail string
	cause  error
}

// Error returns the sentinel's text, the detail and the cause.
func (f *failure) Error() string {
	msg := sentinels[f.reason].Error()
	if f.detail != "" {
		msg += ": " + f.detail
	}
	if f.cause != nil {
		msg += ": " + f.cause.Error()
	}
	return msg
}

// Is reports whether target is the sentinel of f's reason.
func (f *failure) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.reason == f.reason
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (f *failure) Unwrap() error { return f.cause }

// fail builds a failure with a formatted detail. Callers pass claim values
// and header fields, never the token itself or key material.
func fail(r Reason, format string, args ...any) error {
	return &failure{reason: r, detail: fmt.Sprintf(format, args...)}
}

// failWrap builds a failure that wraps cause.
func failWrap(r Reason, cause error, detail string) error {
	return &failure{reason: r, detail: detail, cause: cause}
}

// ReasonOf returns the Reason of an error returned by this package:
// ReasonNone for nil, the reason of the outermost jwtaudit error in err's
// chain otherwise, and ReasonInternal for an error that carries none.
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	if r, ok := reasonIn(err); ok {
		return r
	}
	return ReasonInternal
}

// reasonIn returns the reason carried by err if it carries one, and ok=false
// for a foreign error: used to keep a validator's own ErrRevoked.
func reasonIn(err error) (Reason, bool) {
	var f *failure
	if errors.As(err, &f) {
		return f.reason, true
	}
	var s *sentinel
	if errors.As(err, &s) {
		return s.reason, true
	}
	return ReasonNone, false
}
