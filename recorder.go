package jwtaudit

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jwtaudit/jwtaudit/internal/textclip"
)

// recorder completes the events of one producer (an Issuer, a Verifier, a
// KeySet, a RemoteKeySet, an AsyncSink's report of dropped events) and
// hands them to the configured sink. It is the only way from this package
// to a sink: every event, whoever makes it, is clipped, given its context
// attributes, redacted, copied for the sink and judged by the failure policy
// here and nowhere else.
type recorder struct {
	auditConfig
	discards  bool // the sink is DiscardSink: nothing is completed for it
	sinkReads bool // the sink only reads an event while Record runs (see own)
}

func newRecorder(c auditConfig) recorder {
	_, discards := c.sink.(discardSink)
	_, reads := c.sink.(*JSONSink)
	return recorder{auditConfig: c, discards: discards, sinkReads: reads}
}

// begin starts the event of one operation, at the time it starts.
func (r *recorder) begin(op Op) Event { return Event{Time: r.clock(), Op: op} }

// since is the time taken since start: by the configured clock, or with
// the real one from start's monotonic reading alone, which is half the
// cost of reading the time again.
func (r *recorder) since(start time.Time) time.Duration {
	if r.setClock {
		return r.clock().Sub(start)
	}
	return time.Since(start)
}

// finish completes ev as the outcome of err, or of the panic p (the value
// recover returned in the operation's deferred call), and records it. It
// returns nil when the operation's own result stands, or else the error the
// operation must return instead: ErrInternal after a panic, or ErrAudit
// when the event could not be recorded and the trail fails closed.
//
// Producers call it exactly once per operation. Issue and Verify call it
// from a deferred function, so that no path, not even a panic in a
// caller's code, ends without its event.
func (r *recorder) finish(ctx context.Context, ev *Event, err error, p any) error {
	var replaced error
	if p != nil {
		err = fail(ReasonInternal, "recovered from a panic during %s", ev.Op)
		replaced = err
	}
	attrs, aerr := r.contextAttributes(ctx)
	if aerr != nil {
		err, replaced = aerr, aerr
	}
	if replaced != nil {
		// The operation's result is not handed out after all: a verified
		// token is refused, an issued one never leaves Issue.
		switch ev.Op {
		case OpVerify:
			ev.Verified = false
		case OpIssue:
			ev.Fingerprint = Fingerprint{}
		}
	}
	if r.discards {
		// No sink: completing the event and a copy of it for nobody
		// would be all the audit costs.
		return replaced
	}
	ev.Reason = ReasonOf(err)
	ev.Outcome = outcomeOf(ev.Reason)
	if err != nil {
		ev.Detail = clipTo(err.Error(), maxDetailLen)
	}
	ev.Duration = r.since(ev.Time)
	ev.own(attrs, r.sinkReads)
	if !ev.Verified {
		ev.clipUnverified()
	}
	ev.bound()
	if r.redactor != nil {
		r.redactor.redact(ev)
	}
	serr := r.deliver(ctx, *ev)
	if serr == nil {
		return replaced
	}
	if r.failOpen != nil && r.report(ctx, ev.Clone(), serr) {
		return replaced
	}
	return failWrap(ReasonAudit, serr, "the event was not recorded, so the operation is refused")
}

// contextAttributes calls the WithContextAttrs function, turning a panic
// in it into an ErrInternal failure.
func (r *recorder) contextAttributes(ctx context.Context) (attrs []slog.Attr, err error) {
	if r.contextAttrs == nil {
		return nil, nil
	}
	defer func() {
		if p := recover(); p != nil {
			attrs, err = nil, fail(ReasonInternal, "the WithContextAttrs function panicked")
		}
	}()
	return r.contextAttrs(ctx), nil
}

// deliver hands e to the sink; a panicking sink has not recorded it.
func (r *recorder) deliver(ctx context.Context, e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("the audit sink panicked")
		}
	}()
	return r.sink.Record(ctx, e)
}

// report hands an unrecorded event to the WithAuditFailOpen function. It
// reports false if that function panicked: the alarm was not raised, so the
// trail falls back to failing closed.
func (r *recorder) report(ctx context.Context, e Event, serr error) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	r.failOpen(ctx, e, serr)
	return true
}

// own gives the event slices of its own, so that the sink may keep or
// change them without touching the token or the configuration they were
// taken from, and appends the context attributes after the operation's own.
//
// A sink that only reads the event while Record runs (sinkReads: the
// JSONSink, which encodes it there and then) is lent the audience instead
// when no clipping will rewrite it (bound and clipUnverified write only
// what they change): the copy would be the one allocation an audited
// Verify makes for its event.
func (e *Event) own(contextAttrs []slog.Attr, sinkReads bool) {
	if !sinkReads || !fitsUnclipped(e.Audience) {
		e.Audience = copyOf(e.Audience, 0)
	}
	e.Claims = copyOf(e.Claims, 0)
	if len(contextAttrs) > maxContextAttrs {
		contextAttrs = contextAttrs[:maxContextAttrs]
	}
	attrs := copyOf(e.Attrs, len(contextAttrs))
	for _, a := range contextAttrs {
		if reservedName(a.Key) {
			a.Key = "ctx_" + a.Key
		}
		attrs = append(attrs, a)
	}
	e.Attrs = attrs
}

// reservedNames are the names an event's own fields, the log record's and
// the file sink's chain are written under. A context attribute of one of
// these names, in any case, is written as ctx_NAME instead, so that it can
// neither stand in for an event's field nor break the chain.
var reservedNames = map[string]bool{
	"time": true, "level": true, "msg": true, "seq": true, "prev": true, "chain": true, "instance": true,
	"op": true, "outcome": true, "reason": true, "detail": true, "alg": true, "kid": true,
	"iss": true, "sub": true, "aud": true, "jti": true, "exp": true, "fingerprint": true,
	"duration": true, "verified": true, "cached": true, "claims": true,
}

// reservedName reports whether key equals a reserved name up to case, as
// encoding/json would match them. An ASCII key, as real ones are, is one
// lookup (strings.ToLower returns a lower-case key as it is); only a key
// with other letters, which may fold into ASCII ("ſ", the Kelvin sign), is
// compared name by name.
func reservedName(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			for name := range reservedNames {
				if strings.EqualFold(key, name) {
					return true
				}
			}
			return false
		}
	}
	return reservedNames[strings.ToLower(key)]
}

// fitsUnclipped reports whether no value of aud is long enough for any
// clipping to change it.
func fitsUnclipped(aud []string) bool {
	for _, a := range aud {
		if len(a) > min(maxUnverifiedLen, maxEventString) {
			return false
		}
	}
	return true
}

// copyOf returns a copy of s with room for extra more elements, or nil
// when there is nothing to hold. It is make and copy rather than
// slices.Clone, whose append costs several times more on the hot path.
func copyOf[T any](s []T, extra int) []T {
	if len(s)+extra == 0 {
		return nil
	}
	out := make([]T, len(s), len(s)+extra)
	copy(out, s)
	return out
}

// Bounds on what an event carries, so that neither junk sent by anyone nor
// an outsized claim of the service's own can fill the audit trail, or make
// a record too long for its store to read back.
const (
	maxUnverifiedLen       = textclip.MaxUnverified // each string copied from a rejected token
	maxUnverifiedAudiences = 8                      // "aud" values copied from a rejected token
	maxDetailLen           = 1024                   // an error message
	maxEventString         = 1024                   // any string of any event, verified or not
	maxAudiences           = 32                     // "aud" values of any event
	maxContextAttrs        = 32                     // attributes WithContextAttrs adds
	maxAttrDepth           = 4                      // groups within groups whose strings are bounded
)

// bound clips every field and string attribute of the event to
// maxEventString, and its lists to their bounds: with clipUnverified, what
// keeps an event's size bounded whatever the input. Lists a producer puts
// in an attribute (a key set's kids) are bounded by what they list; the
// file sink refuses a record over its limit all the same.
func (e *Event) bound() {
	e.Algorithm = Algorithm(clipTo(string(e.Algorithm), maxEventString))
	e.KeyID = clipTo(e.KeyID, maxEventString)
	e.Issuer = clipTo(e.Issuer, maxEventString)
	e.Subject = clipTo(e.Subject, maxEventString)
	e.ID = clipTo(e.ID, maxEventString)
	if len(e.Audience) > maxAudiences {
		e.Audience = e.Audience[:maxAudiences]
	}
	for i, a := range e.Audience {
		if c := clipTo(a, maxEventString); c != a {
			e.Audience[i] = c
		}
	}
	boundAttrs(e.Claims, 0)
	boundAttrs(e.Attrs, 0)
}

// boundAttrs clips the string values of attrs, and of the groups within
// them, in place.
func boundAttrs(attrs []slog.Attr, depth int) {
	for i := range attrs {
		a := &attrs[i]
		a.Key = clipTo(a.Key, maxUnverifiedLen)
		switch v := a.Value.Resolve(); v.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(clipTo(v.String(), maxEventString))
		case slog.KindGroup:
			if depth < maxAttrDepth {
				group := copyOf(v.Group(), 0)
				boundAttrs(group, depth+1)
				a.Value = slog.GroupValue(group...)
			}
		default:
			a.Value = v
		}
	}
}

// clipUnverified bounds every value an event took from a token that did not
// pass verification.
func (e *Event) clipUnverified() {
	e.Algorithm = Algorithm(clip(string(e.Algorithm)))
	e.KeyID = clip(e.KeyID)
	e.Issuer = clip(e.Issuer)
	e.Subject = clip(e.Subject)
	e.ID = clip(e.ID)
	if len(e.Audience) > maxUnverifiedAudiences {
		e.Audience = e.Audience[:maxUnverifiedAudiences]
	}
	for i, a := range e.Audience {
		if c := clip(a); c != a {
			e.Audience[i] = c
		}
	}
	for i, a := range e.Claims {
		if a.Value.Kind() == slog.KindString {
			e.Claims[i].Value = slog.StringValue(clip(a.Value.String()))
		}
	}
}

// clip shortens an unverified string to maxUnverifiedLen bytes.
func clip(s string) string { return textclip.To(s, maxUnverifiedLen) }

// clipTo shortens s to at most max bytes, on a rune boundary, marking the
// cut with "…".
func clipTo(s string, max int) string { return textclip.To(s, max) }
