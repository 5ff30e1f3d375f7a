package jwtaudit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"math/big"
	"time"
)

// Event is one audit record: what was done, with which key, to which
// token, and how it ended. It is a value and holds neither the token nor any
// key material.
//
// On a rejected token the claims (Issuer, Subject, Audience, ID, ExpiresAt)
// are whatever the token said, if it could be read at all: they come from
// whoever sent it, they are clipped in length, and Verified is false. Only
// events whose Verified is true carry claims that a signature vouches for.
//
// A sink receives an event whose slices (Audience, Claims, Attrs) are its
// own: the package copies them when it completes the event, so that a sink
// may keep or change what it is given. [FanOutSink] gives each of its sinks
// a copy of its own.
type Event struct {
	Time        time.Time     // when the operation started, from the configured clock
	Op          Op            // issue, verify, or a key or audit operation
	Outcome     Outcome       // success, rejected or error
	Reason      Reason        // ReasonNone on success
	Detail      string        // the error message on failure: never the token or a key
	Algorithm   Algorithm     // the key's algorithm; on an early rejection, the header's
	KeyID       string        // the key's id; on an early rejection, the header's
	Issuer      string        // "iss"
	Subject     string        // "sub"
	Audience    []string      // "aud"
	ID          string        // "jti"
	ExpiresAt   time.Time     // "exp"
	Fingerprint Fingerprint   // of the token; zero when no token was issued
	Duration    time.Duration // time taken, measured with the configured clock
	Verified    bool          // whether the claims above are verified
	Cached      bool          // a Verify answered from the verified-token cache (WithVerifiedCache)
	Claims      []slog.Attr   // private claims named by WithAuditClaims
	Attrs       []slog.Attr   // what the operation adds, then what WithContextAttrs adds
}

// Clone returns a copy of e that shares no slice with it.
func (e Event) Clone() Event {
	e.Audience = copyOf(e.Audience, 0)
	e.Claims = copyOf(e.Claims, 0)
	e.Attrs = copyOf(e.Attrs, 0)
	return e
}

// Op is the operation an event records.
type Op uint8

// The operations.
const (
	OpIssue        Op = iota + 1 // Issuer.Issue
	OpVerify                     // Verifier.Verify
	OpAuditDropped               // an AsyncSink dropped events; Attrs has their count
	OpKeyRotate                  // a KeySet changed: a key published, rotated in, or removed
	OpJWKSFetch                  // a RemoteKeySet fetched its JWKS, or failed to
	OpRevoke                     // a Revoker revoked a token, or a subject's tokens
	OpStoreState                 // a revocation store shared among instances changed state (StoreEvents)
)

var opNames = [...]string{
	OpIssue:        "issue",
	OpVerify:       "verify",
	OpAuditDropped: "audit_dropped",
	OpKeyRotate:    "key_rotate",
	OpJWKSFetch:    "jwks_fetch",
	OpRevoke:       "revoke",
	OpStoreState:   "store_state",
}

// String returns "issue", "verify", "audit_dropped", "key_rotate",
// "jwks_fetch", "revoke" or "store_state".
func (o Op) String() string { return enumName(opNames[:], int(o)) }

// MarshalText encodes o as String does.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Outcome is how an operation ended.
type Outcome uint8

// The outcomes. A rejection is the token's (or the claims') fault; an error
// is the service's: a signer, a sink or a caller's function that failed.
const (
	OutcomeSuccess  Outcome = iota + 1 // token issued, token valid, change made
	OutcomeRejected                    // token (or claims) refused
	OutcomeError                       // the operation could not be carried out
)

var outcomeNames = [...]string{
	OutcomeSuccess:  "success",
	OutcomeRejected: "rejected",
	OutcomeError:    "error",
}

// String returns "success", "rejected" or "error".
func (o Outcome) String() string { return enumName(outcomeNames[:], int(o)) }

// enumName returns the name of value i of an enumeration, or "unknown" for
// a value that has none.
func enumName(names []string, i int) string {
	if i < len(names) && names[i] != "" {
		return names[i]
	}
	return "unknown"
}

// MarshalText encodes o as String does.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// outcomeOf classifies a reason.
func outcomeOf(r Reason) Outcome {
	switch r {
	case ReasonNone:
		return OutcomeSuccess
	case ReasonSigning, ReasonAudit, ReasonInternal, ReasonKeyFetch, ReasonStoreUnavailable:
		return OutcomeError
	}
	return OutcomeRejected
}

// Fingerprint identifies a token in the audit trail without revealing it:
// the first 16 bytes of the SHA-256 of the compact token, in its one
// canonical spelling. An issue event and every later verify event of the
// same token carry the same fingerprint, so they can be joined; the token
// cannot be rebuilt from it.
//
// An ECDSA signature (r, s) has a second valid spelling, (r, n−s), that
// anyone can make from the first; both verify. The fingerprint is taken
// over the spelling with the lower s, so both spellings of a token have
// the same fingerprint.
type Fingerprint [16]byte

// FingerprintOf returns the fingerprint of a compact token, for finding its
// events in the audit trail.
func FingerprintOf(token string) Fingerprint {
	p, err := splitCompact(token)
	if err != nil {
		return fingerprint([]byte(token))
	}
	h, err := decodeHeader(p.header)
	if err != nil {
		return fingerprint(p.token)
	}
	alg, _ := lookupAlgorithm(h.alg)
	return tokenFingerprint(&p, alg)
}

// fingerprint hashes a token's bytes as they are.
func fingerprint(token []byte) Fingerprint {
	sum := sha256.Sum256(token)
	return Fingerprint(sum[:16])
}

// tokenFingerprint is the fingerprint of a split token whose header names
// alg: of its bytes, or for ECDSA of its low-s spelling.
func tokenFingerprint(p *compactParts, alg Algorithm) Fingerprint {
	var buf [2 * 66]byte // an ES512 signature, the longest
	low, ok := lowS(alg, p.signature, buf[:0])
	if !ok {
		return fingerprint(p.token)
	}
	var enc [176]byte // base64url of 132 bytes
	h := sha256.New()
	h.Write(p.signingInput)
	h.Write([]byte{'.'})
	h.Write(b64.AppendEncode(enc[:0], low))
	var sum [sha256.Size]byte
	return Fingerprint(h.Sum(sum[:0])[:16])
}

// ecdsaOrders holds, per ECDSA algorithm, the group order n and n/2 as
// big-endian bytes of the size of s.
var ecdsaOrders = func() map[Algorithm][2][]byte {
	out := map[Algorithm][2][]byte{}
	for _, alg := range []Algorithm{ES256, ES384, ES512} {
		params := algorithms[alg].curve.Params()
		size := (params.BitSize + 7) / 8
		n, half := make([]byte, size), make([]byte, size)
		params.N.FillBytes(n)
		new(big.Int).Rsh(params.N, 1).FillBytes(half)
		out[alg] = [2][]byte{n, half}
	}
	return out
}()

// lowS appends to dst an ECDSA signature r||s in its low-s form, when alg
// is an ECDSA algorithm, the signature has that algorithm's size and its s
// is above half the group order; ok is false when the token's own spelling
// is the canonical one. It allocates nothing.
func lowS(alg Algorithm, sig, dst []byte) (low []byte, ok bool) {
	switch alg { // before the map lookup: this runs for every token
	case ES256, ES384, ES512:
	default:
		return nil, false
	}
	orders := ecdsaOrders[alg]
	n, half := orders[0], orders[1]
	size := len(n)
	if len(sig) != 2*size {
		return nil, false
	}
	s := sig[size:]
	if bytes.Compare(s, half) <= 0 || bytes.Compare(s, n) >= 0 {
		return nil, false
	}
	low = append(dst, sig...)
	// n − s, byte by byte from the least significant, with a borrow.
	borrow := 0
	for i := size - 1; i >= 0; i-- {
		d := int(n[i]) - int(s[i]) - borrow
		borrow = 0
		if d < 0 {
			d, borrow = d+256, 1
		}
		low[size+i] = byte(d)
	}
	return low, true
}

// IsZero reports whether f is unset.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// String returns f in base64url without padding (22 characters).
func (f Fingerprint) String() string { return base64.RawURLEncoding.EncodeToString(f[:]) }

// MarshalText encodes f as String does.
func (f Fingerprint) MarshalText() ([]byte, error) {
	return base64.RawURLEncoding.AppendEncode(nil, f[:]), nil
}

// setHeader copies what a token's header says into its event, for a token
// refused before its key was found. The values are unverified.
func (e *Event) setHeader(h *rawHeader) {
	e.Algorithm, e.KeyID = Algorithm(h.alg), string(h.kid)
}

// setClaims copies a token's registered claims into its event. Until every
// check has passed they are only what the token says; the recorder clips
// them while the event is not Verified.
func (e *Event) setClaims(c *Claims) {
	e.Issuer, e.Subject, e.Audience, e.ID, e.ExpiresAt = c.Issuer, c.Subject, c.Audience, c.ID, c.ExpiresAt
}

// Level is the slog level of the event: Info for a success, Warn for a
// rejection, Error for an operation that could not be carried out.
func (e Event) Level() slog.Level {
	switch e.Outcome {
	case OutcomeSuccess:
		return slog.LevelInfo
	case OutcomeRejected:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// Message is a short human sentence for a log line, such as
// "token verified" or "token rejected".
func (e Event) Message() string {
	ok := e.Outcome == OutcomeSuccess
	switch e.Op {
	case OpIssue:
		switch e.Outcome {
		case OutcomeSuccess:
			return "token issued"
		case OutcomeRejected:
			return "issue refused"
		}
		return "issue failed"
	case OpVerify:
		switch e.Outcome {
		case OutcomeSuccess:
			return "token verified"
		case OutcomeRejected:
			return "token rejected"
		}
		return "verify failed"
	case OpAuditDropped:
		return "audit events dropped"
	case OpKeyRotate:
		if ok {
			return "key set changed"
		}
		return "key set change failed"
	case OpJWKSFetch:
		if ok {
			return "JWKS fetched"
		}
		return "JWKS fetch failed"
	case OpRevoke:
		if ok {
			return "revoked"
		}
		return "revocation failed"
	case OpStoreState:
		if ok {
			return "revocation store current"
		}
		return "revocation store not current"
	}
	return "audit event"
}

// LogValue is the one place that decides what of an event is written: a
// group of the fields that are set, with the Attrs last. Time is left to the
// log record, which the slog sink sets to e.Time.
func (e Event) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 16+len(e.Attrs))
	attrs = append(attrs,
		slog.String("op", e.Op.String()),
		slog.String("outcome", e.Outcome.String()),
	)
	if e.Reason != ReasonNone {
		attrs = append(attrs, slog.String("reason", e.Reason.String()))
	}
	if e.Detail != "" {
		attrs = append(attrs, slog.String("detail", e.Detail))
	}
	attrs = appendNonEmpty(attrs, "alg", string(e.Algorithm))
	attrs = appendNonEmpty(attrs, "kid", e.KeyID)
	attrs = appendNonEmpty(attrs, "iss", e.Issuer)
	attrs = appendNonEmpty(attrs, "sub", e.Subject)
	if len(e.Audience) > 0 {
		attrs = append(attrs, slog.Any("aud", e.Audience))
	}
	attrs = appendNonEmpty(attrs, "jti", e.ID)
	if !e.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("exp", e.ExpiresAt))
	}
	if !e.Fingerprint.IsZero() {
		attrs = append(attrs, slog.String("fingerprint", e.Fingerprint.String()))
	}
	if e.Duration != 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	attrs = append(attrs, slog.Bool("verified", e.Verified))
	if e.Cached {
		attrs = append(attrs, slog.Bool("cached", true))
	}
	if len(e.Claims) > 0 {
		attrs = append(attrs, slog.Attr{Key: "claims", Value: slog.GroupValue(e.Claims...)})
	}
	attrs = append(attrs, e.Attrs...)
	return slog.GroupValue(attrs...)
}

func appendNonEmpty(attrs []slog.Attr, key, value string) []slog.Attr {
	if value == "" {
		return attrs
	}
	return append(attrs, slog.String(key, value))
}
