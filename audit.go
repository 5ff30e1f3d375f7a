package jwtaudit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"time"
	"unicode/utf8"
)

// AuditSink records audit events. [Issuer] and [Verifier] call Record exactly
// once for every Issue and Verify call, on every path, before returning to
// their caller, so that an implementation sees each decision as it is made.
//
// Record is called concurrently from every goroutine that issues or
// verifies, and must be safe for that. The context is the caller's. An error
// means the event was not recorded: the operation is then refused with
// [ErrAudit] (fail closed), so a sink must not return an error for an event
// it did keep.
type AuditSink interface {
	Record(ctx context.Context, e Event) error
}

// AuditFunc adapts a function to [AuditSink].
type AuditFunc func(ctx context.Context, e Event) error

// Record calls f(ctx, e).
func (f AuditFunc) Record(ctx context.Context, e Event) error { return f(ctx, e) }

// DiscardAudit is the sink used when none is configured: it drops every
// event and never fails.
var DiscardAudit AuditSink = discardAudit{}

type discardAudit struct{}

func (discardAudit) Record(context.Context, Event) error { return nil }

// Op is the operation an event records.
type Op uint8

// The operations.
const (
	OpIssue        Op = iota + 1 // Issuer.Issue
	OpVerify                     // Verifier.Verify
	OpAuditDropped               // an AsyncSink dropped events; Attrs has their count
	OpKeyRotate                  // a KeySet changed: a key published, rotated in, or removed
	OpJWKSFetch                  // a RemoteKeySet fetched its JWKS, or failed to
)

// String returns "issue", "verify", "audit_dropped", "key_rotate" or
// "jwks_fetch".
func (o Op) String() string {
	switch o {
	case OpIssue:
		return "issue"
	case OpVerify:
		return "verify"
	case OpAuditDropped:
		return "audit_dropped"
	case OpKeyRotate:
		return "key_rotate"
	case OpJWKSFetch:
		return "jwks_fetch"
	}
	return "unknown"
}

// Outcome is how an operation ended.
type Outcome uint8

// The outcomes. A rejection is the token's (or the claims') fault; an error
// is the service's: a signer, a sink or a validator that failed.
const (
	OutcomeSuccess  Outcome = iota + 1 // token issued, or token valid
	OutcomeRejected                    // token (or claims) refused
	OutcomeError                       // the operation could not be carried out
)

// String returns "success", "rejected" or "error".
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeRejected:
		return "rejected"
	case OutcomeError:
		return "error"
	}
	return "unknown"
}

// outcomeOf classifies a reason.
func outcomeOf(r Reason) Outcome {
	switch r {
	case ReasonNone:
		return OutcomeSuccess
	case ReasonSigning, ReasonAudit, ReasonInternal, ReasonKeyFetch:
		return OutcomeError
	}
	return OutcomeRejected
}

// Fingerprint identifies a token in the audit trail without revealing it:
// the first 16 bytes of the SHA-256 of the compact token. An issue event and
// every later verify event of the same token carry the same fingerprint, so
// they can be joined; the token cannot be rebuilt from it.
type Fingerprint [16]byte

// FingerprintOf returns the fingerprint of a compact token, for finding its
// events in the audit trail.
func FingerprintOf(token string) Fingerprint { return fingerprint([]byte(token)) }

// fingerprint is FingerprintOf for a token the caller already holds as
// bytes, as Issue and Verify do.
func fingerprint(token []byte) Fingerprint {
	sum := sha256.Sum256(token)
	return Fingerprint(sum[:16])
}

// IsZero reports whether f is unset.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// String returns f in base64url without padding (22 characters).
func (f Fingerprint) String() string { return base64.RawURLEncoding.EncodeToString(f[:]) }

// MarshalText encodes f as String does.
func (f Fingerprint) MarshalText() ([]byte, error) {
	return base64.RawURLEncoding.AppendEncode(nil, f[:]), nil
}

// Event is one audit record: what was done, with which key, to which
// token, and how it ended. It is a value and holds neither the token nor any
// key material.
//
// On a rejected token the claims (Issuer, Subject, Audience, ID, ExpiresAt)
// are whatever the token said, if it could be read at all: they come from
// whoever sent it, and Verified is false. Only events whose Verified is true
// carry claims that a signature vouches for.
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
	Claims      []slog.Attr   // private claims named by WithAuditClaims
	Attrs       []slog.Attr   // added by WithContextAttrs
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
		return "key set changed"
	case OpJWKSFetch:
		if e.Outcome == OutcomeSuccess {
			return "JWKS fetched"
		}
		return "JWKS fetch failed"
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

// record completes the event of one Issue or Verify call from its result
// and hands it to the sink: the single place where events are recorded. It
// returns the error the call must return instead of its own, if any: the
// sink's failure wrapped in ErrAudit when the trail fails closed.
func (c *sharedConfig) record(ctx context.Context, ev *Event, start time.Time, err error) error {
	ev.Reason = ReasonOf(err)
	ev.Outcome = outcomeOf(ev.Reason)
	if err != nil {
		ev.Detail = err.Error()
	}
	ev.Duration = c.clock().Sub(start)
	if c.contextAttrs != nil {
		ev.Attrs = c.contextAttrs(ctx)
	}
	if c.redactor != nil {
		c.redactor.redact(ev)
	}
	serr := c.sink.Record(ctx, *ev)
	if serr == nil {
		return nil
	}
	if c.failOpen != nil {
		c.failOpen(ctx, *ev, serr)
		return nil
	}
	return failWrap(ReasonAudit, serr, "the event was not recorded, so the operation is refused")
}

// maxUnverifiedLen bounds each string copied from a rejected token into an
// event, so that junk sent by anyone cannot fill the audit trail.
const maxUnverifiedLen = 256

// clip shortens an unverified string to maxUnverifiedLen bytes, on a rune
// boundary, marking the cut.
func clip(s string) string {
	if len(s) <= maxUnverifiedLen {
		return s
	}
	cut := maxUnverifiedLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
