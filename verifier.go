package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Verifier verifies tokens. It is safe for concurrent use; create one at
// start-up and share it.
type Verifier struct {
	cfg   verifierConfig
	keys  keyFinder
	known []string // expected claim values, which decoding reuses instead of copying
	watch []string // private claims the decoder looks for: required ones, then audited ones
}

type verifierConfig struct {
	sharedConfig
	leeway             time.Duration
	maxAge             time.Duration
	maxSize            int
	subject            string
	requiredRegistered []string
	requiredPrivate    []string
	validators         []Validator
	expiryOptional     bool
	source             KeySource
	trusted            map[string]*trustedIssuer // WithTrustedIssuers
}

// defaultMaxTokenSize bounds the input Verify looks at. Real tokens are a
// few hundred bytes to a few KiB; HTTP servers commonly cap a header at 8 KiB.
const defaultMaxTokenSize = 8 << 10

func defaultVerifierConfig() verifierConfig {
	return verifierConfig{
		sharedConfig: sharedConfig{clock: time.Now, sink: DiscardAudit},
		maxSize:      defaultMaxTokenSize,
	}
}

// NewVerifier returns a verifier configured by opts. It needs its keys from
// exactly one of [WithKeys], [WithKeySet] and [WithKeySource]; a key that
// can sign is used for its public part only.
func NewVerifier(opts ...VerifierOption) (*Verifier, error) {
	cfg := defaultVerifierConfig()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("jwtaudit: NewVerifier: nil option")
		}
		if err := o.applyVerifier(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.checkKeys(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg}
	switch sources := countTrue(len(cfg.keys) > 0, cfg.keySet != nil, cfg.source != nil, cfg.trusted != nil); {
	case sources == 0:
		return nil, errors.New("jwtaudit: NewVerifier needs keys: WithKeys, WithKeySet, WithKeySource or WithTrustedIssuers")
	case sources > 1:
		return nil, errors.New("jwtaudit: NewVerifier takes keys from one of WithKeys, WithKeySet, WithKeySource and WithTrustedIssuers")
	case cfg.trusted != nil && cfg.issuer != "":
		return nil, errors.New("jwtaudit: NewVerifier: WithTrustedIssuers names the issuers; WithIssuer cannot be used with it")
	case len(cfg.keys) > 0:
		v.keys = newStaticKeys(cfg.keys)
	case cfg.keySet != nil:
		v.keys = cfg.keySet
	case cfg.source != nil:
		v.keys = finderOf(cfg.source)
	}
	v.watch = append(append(v.watch, cfg.requiredPrivate...), cfg.auditClaims...)
	if len(v.watch) > maxWatchedClaims {
		return nil, fmt.Errorf("jwtaudit: WithRequiredClaims and WithAuditClaims name more than %d private claims together", maxWatchedClaims)
	}
	expected := append([]string{cfg.issuer, cfg.subject}, cfg.audience...)
	for _, ti := range cfg.trusted {
		expected = append(append(expected, ti.name), ti.audience...)
	}
	for _, s := range expected {
		if s != "" {
			v.known = append(v.known, s)
		}
	}
	return v, nil
}

// Verify checks a compact token and records one audit event. It returns the
// token only if every check passes; otherwise a nil token and an error whose
// [Reason] says why. [ErrExpired] is told apart from every other rejection.
//
// The checks run in this order and stop at the first failure: size
// ([ErrTooLarge]); compact form, strict base64url and JSON ([ErrMalformed]);
// the header's "alg" allowed ([ErrAlgorithm]); with [WithTrustedIssuers],
// an "iss" naming a trusted issuer ([ErrIssuer]); the key selected by "kid"
// ([ErrUnknownKey]) and "alg" equal to that key's algorithm ([ErrAlgorithm]);
// the signature ([ErrSignature]); then the claims: "typ" ([ErrType]),
// "exp" ([ErrExpired], [ErrMissingClaim]), "nbf" ([ErrNotYetValid]), "iat"
// ([ErrIssuedInFuture]), "iss" ([ErrIssuer]), "aud" ([ErrAudience]), "sub"
// ([ErrSubject]), required claims ([ErrMissingClaim]), maximum age
// ([ErrTooOld]), and the validators, in the order they were added.
//
// If the event cannot be recorded, Verify returns [ErrAudit] and no token,
// even for a valid one.
func (v *Verifier) Verify(ctx context.Context, token string) (*Token, error) {
	start := v.cfg.clock()
	ev := Event{Time: start, Op: OpVerify}
	tok, err := v.verify(ctx, start, token, &ev)
	return v.finish(ctx, &ev, start, tok, err)
}

func (v *Verifier) verify(ctx context.Context, now time.Time, raw string, ev *Event) (*Token, error) {
	if len(raw) > v.cfg.maxSize {
		return nil, fail(ReasonTooLarge, "%d bytes, the limit is %d", len(raw), v.cfg.maxSize)
	}
	// One copy of the input serves the fingerprint, the signing input and
	// the decoding.
	data := []byte(raw)
	ev.Fingerprint = fingerprint(data)
	parts, err := splitCompact(data)
	if err != nil {
		return nil, failWrap(ReasonMalformed, err, "")
	}
	h, err := decodeHeader(parts.header)
	if err != nil {
		return nil, failWrap(ReasonMalformed, err, "header")
	}

	alg, known := lookupAlgorithm(h.alg)
	if !known || !v.cfg.allows(alg) {
		ev.setHeader(&h)
		return nil, fail(ReasonAlgorithm, "alg %q is not accepted", clip(string(h.alg)))
	}
	// With several trusted issuers, the unverified "iss" picks whose keys
	// to try; nothing else is taken from the claims before the signature.
	keys, expect := v.keys, expectations{issuer: v.cfg.issuer, audience: v.cfg.audience}
	var claims Claims
	var found uint64
	decoded := false
	if v.cfg.trusted != nil {
		if claims, found, err = v.decodeClaims(parts.payload, ev); err != nil {
			ev.setHeader(&h)
			return nil, failWrap(ReasonMalformed, err, "claims")
		}
		decoded = true
		ti := v.cfg.trusted[claims.Issuer]
		if ti == nil {
			ev.setHeader(&h)
			return nil, fail(ReasonIssuer, "iss %q is not a trusted issuer", clip(claims.Issuer))
		}
		keys, expect.issuer = ti.keys, ti.name
		if len(ti.audience) > 0 {
			expect.audience = ti.audience
		}
	}
	key, err := keys.findKey(ctx, h.kid, h.hasKid)
	if err != nil {
		ev.setHeader(&h)
		return nil, err
	}
	ev.KeyID, ev.Algorithm = key.id, alg
	if alg != key.alg {
		return nil, fail(ReasonAlgorithm, "alg %s does not match key %q, which is %s", alg, key.id, key.alg)
	}
	if err := key.verify(parts.signingInput, parts.signature); err != nil {
		// The claims are read for the record only, marked unverified.
		if !decoded {
			_, _, _ = v.decodeClaims(parts.payload, ev)
		}
		return nil, fail(ReasonSignature, "signature does not verify with key %q", key.id)
	}
	if !decoded {
		if claims, found, err = v.decodeClaims(parts.payload, ev); err != nil {
			return nil, failWrap(ReasonMalformed, err, "claims")
		}
	}
	header := v.header(&h, key)
	if err := v.checkClaims(now, &header, &claims, found, &expect); err != nil {
		return nil, err
	}
	tok := &Token{Header: header, Claims: claims, Fingerprint: ev.Fingerprint, payload: parts.payload}
	if err := v.runValidators(ctx, tok); err != nil {
		return nil, err
	}
	ev.Verified = true
	return tok, nil
}

// decodeClaims decodes the claims set and copies into the event what it
// records of them: the registered claims and those named by
// WithAuditClaims, all still unverified.
func (v *Verifier) decodeClaims(payload []byte, ev *Event) (Claims, uint64, error) {
	var spans []valueSpan
	if len(v.cfg.auditClaims) > 0 {
		spans = make([]valueSpan, len(v.watch))
	}
	c, found, err := decodeClaims(payload, v.watch, spans, v.known)
	if err != nil {
		return c, found, err
	}
	ev.setClaims(&c)
	offset := len(v.cfg.requiredPrivate)
	for i, name := range v.cfg.auditClaims {
		if found&(1<<(offset+i)) != 0 {
			sp := spans[offset+i]
			ev.Claims = append(ev.Claims, slog.String(name, clip(auditValue(payload[sp.start:sp.end]))))
		}
	}
	return c, found, nil
}

// header makes the Header of a token whose signature verified, reusing the
// key's strings and the configured type instead of copying them.
func (v *Verifier) header(h *rawHeader, key *Key) Header {
	out := Header{Algorithm: key.alg}
	if h.hasKid {
		out.KeyID = key.id
	}
	if h.hasTyp {
		switch string(h.typ) {
		case "JWT":
			out.Type = "JWT"
		case v.cfg.typ:
			out.Type = v.cfg.typ
		default:
			out.Type = string(h.typ)
		}
	}
	if len(h.cty) > 0 {
		out.ContentType = string(h.cty)
	}
	return out
}

// setHeader copies what the header says into the event of a token refused
// before its key was found; the values are clipped, as they are unverified.
func (e *Event) setHeader(h *rawHeader) {
	e.Algorithm, e.KeyID = Algorithm(clip(string(h.alg))), clip(string(h.kid))
}

// expectations are the claim values a token must have: the verifier's, or
// those of the trusted issuer its "iss" names.
type expectations struct {
	issuer   string
	audience []string
}

// checkClaims runs the claim checks, in the documented order.
func (v *Verifier) checkClaims(now time.Time, h *Header, c *Claims, found uint64, expect *expectations) error {
	cfg := &v.cfg
	if cfg.typ != "" && !sameType(h.Type, cfg.typ) {
		return fail(ReasonType, "typ %q, expected %q", clip(h.Type), cfg.typ)
	}
	switch {
	case c.ExpiresAt.IsZero():
		if !cfg.expiryOptional {
			return fail(ReasonMissingClaim, "no exp")
		}
	case !now.Before(c.ExpiresAt.Add(cfg.leeway)):
		return fail(ReasonExpired, "expired at %s", rfc3339(c.ExpiresAt))
	}
	if !c.NotBefore.IsZero() && now.Add(cfg.leeway).Before(c.NotBefore) {
		return fail(ReasonNotYetValid, "not valid before %s", rfc3339(c.NotBefore))
	}
	if !c.IssuedAt.IsZero() && now.Add(cfg.leeway).Before(c.IssuedAt) {
		return fail(ReasonIssuedInFuture, "issued at %s", rfc3339(c.IssuedAt))
	}
	if expect.issuer != "" && c.Issuer != expect.issuer {
		return fail(ReasonIssuer, "iss %q, expected %q", clip(c.Issuer), expect.issuer)
	}
	if err := checkAudience(c.Audience, expect.audience); err != nil {
		return err
	}
	if cfg.subject != "" && c.Subject != cfg.subject {
		// The values stay out of the message: a subject identifies a person,
		// and messages are written to the trail even when it is redacted.
		return fail(ReasonSubject, "sub is not the required subject")
	}
	for _, name := range cfg.requiredRegistered {
		if !hasRegistered(c, name) {
			return fail(ReasonMissingClaim, "no %s", name)
		}
	}
	for i, name := range cfg.requiredPrivate {
		if found&(1<<i) == 0 {
			return fail(ReasonMissingClaim, "no %s", name)
		}
	}
	if cfg.maxAge > 0 {
		if c.IssuedAt.IsZero() {
			return fail(ReasonMissingClaim, "no iat, which the maximum age needs")
		}
		if age := now.Sub(c.IssuedAt); age > cfg.maxAge+cfg.leeway {
			return fail(ReasonTooOld, "issued %s ago, the maximum age is %s", age.Round(time.Second), cfg.maxAge)
		}
	}
	return nil
}

func checkAudience(aud, expected []string) error {
	if len(expected) == 0 {
		if len(aud) > 0 {
			return fail(ReasonAudience, "aud %q, and this verifier expects no audience", clip(aud[0]))
		}
		return nil
	}
	for _, a := range aud {
		for _, e := range expected {
			if a == e {
				return nil
			}
		}
	}
	if len(aud) == 0 {
		return fail(ReasonAudience, "no aud, expected one of %q", expected)
	}
	return fail(ReasonAudience, "aud %q is not one of %q", clip(aud[0]), expected)
}

// hasRegistered reports whether a registered claim is present and not empty.
func hasRegistered(c *Claims, name string) bool {
	switch name {
	case "iss":
		return c.Issuer != ""
	case "sub":
		return c.Subject != ""
	case "aud":
		return len(c.Audience) > 0
	case "exp":
		return !c.ExpiresAt.IsZero()
	case "nbf":
		return !c.NotBefore.IsZero()
	case "iat":
		return !c.IssuedAt.IsZero()
	case "jti":
		return c.ID != ""
	}
	return false
}

// sameType compares "typ" values as RFC 7515 §4.1.9 asks: media types are
// case-insensitive, and "application/" may be left out.
func sameType(got, want string) bool {
	trim := func(s string) string {
		if len(s) > len("application/") && strings.EqualFold(s[:len("application/")], "application/") {
			return s[len("application/"):]
		}
		return s
	}
	return strings.EqualFold(trim(got), trim(want))
}

// runValidators calls the caller's validators in order. A panic is
// recovered so that the call still ends with its one event.
func (v *Verifier) runValidators(ctx context.Context, tok *Token) (err error) {
	if len(v.cfg.validators) == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fail(ReasonInternal, "a validator panicked")
		}
	}()
	for i, validate := range v.cfg.validators {
		if verr := validate(ctx, tok); verr != nil {
			if r, ok := reasonIn(verr); ok {
				return failWrap(r, verr, fmt.Sprintf("validator %d", i))
			}
			return failWrap(ReasonRejected, verr, fmt.Sprintf("validator %d", i))
		}
	}
	return nil
}

// finish records the event of one Verify call and decides what it returns.
func (v *Verifier) finish(ctx context.Context, ev *Event, start time.Time, tok *Token, err error) (*Token, error) {
	if aerr := v.cfg.record(ctx, ev, start, err); aerr != nil {
		return nil, aerr
	}
	return tok, err // verify returns no token with an error
}

// setClaims copies the claims of a token under verification into its event.
// They are clipped: until every check passes they are only what the token
// says, and could come from anyone.
func (e *Event) setClaims(c *Claims) {
	e.Issuer, e.Subject, e.ID, e.ExpiresAt = clip(c.Issuer), clip(c.Subject), clip(c.ID), c.ExpiresAt
	e.Audience = c.Audience
	if len(e.Audience) > maxUnverifiedAudiences {
		e.Audience = e.Audience[:maxUnverifiedAudiences]
	}
	copied := false
	for i, a := range e.Audience {
		if len(a) > maxUnverifiedLen {
			if !copied {
				e.Audience, copied = slices.Clone(e.Audience), true
			}
			e.Audience[i] = clip(a)
		}
	}
}

// maxUnverifiedAudiences bounds the "aud" values copied into an event.
const maxUnverifiedAudiences = 8

func countTrue(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}
