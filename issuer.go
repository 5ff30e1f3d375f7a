package jwtaudit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Issuer issues signed tokens. It is safe for concurrent use; create one at
// start-up and share it.
type Issuer struct {
	cfg    issuerConfig
	fixed  *signingHead                // with WithKeys
	cached atomic.Pointer[signingHead] // with WithKeySet: the active key's
}

// signingHead is a signing key and what the issuer derives from it once:
// the encoded header of every token it signs (base64url(header) + "."),
// and, for a key set's key, whether WithAlgorithms allows it.
type signingHead struct {
	key     *Key
	head    []byte
	refused error // non-nil: the key may not sign
}

func newSigningHead(k *Key, cfg *issuerConfig) *signingHead {
	head := b64.AppendEncode(nil, appendHeader(nil, k, cfg.typ))
	sh := &signingHead{key: k, head: append(head, '.')}
	if !cfg.allows(k.alg) {
		sh.refused = fail(ReasonSigning, "the active key %q uses %s, which WithAlgorithms does not allow", k.id, k.alg)
	}
	return sh
}

type issuerConfig struct {
	sharedConfig
	ttl          time.Duration
	signingKeyID string
}

// defaultTTL is how long an issued token is valid unless WithTTL says
// otherwise: short enough that a leaked token soon dies, long enough for a
// session between refreshes.
const defaultTTL = time.Hour

func defaultIssuerConfig() issuerConfig {
	return issuerConfig{
		sharedConfig: sharedConfig{clock: time.Now, sink: DiscardAudit, typ: "JWT"},
		ttl:          defaultTTL,
	}
}

// NewIssuer returns an issuer configured by opts. With [WithKeys] it needs
// at least one key that can sign, and signs with the one named by
// [WithSigningKey], or else the first such key given; with [WithKeySet] it
// signs with the set's active key at the time of each Issue. Every token
// gets the header {"alg","kid","typ"}, with "typ" "JWT" unless [WithType]
// says otherwise.
func NewIssuer(opts ...IssuerOption) (*Issuer, error) {
	cfg := defaultIssuerConfig()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("jwtaudit: NewIssuer: nil option")
		}
		if err := o.applyIssuer(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.checkKeys(); err != nil {
		return nil, err
	}
	if cfg.keySet != nil {
		if len(cfg.keys) > 0 || cfg.signingKeyID != "" {
			return nil, errors.New("jwtaudit: NewIssuer: WithKeySet replaces WithKeys and WithSigningKey")
		}
		if alg := cfg.keySet.Active().alg; !cfg.allows(alg) {
			return nil, fmt.Errorf("jwtaudit: the key set's active key uses %s, which WithAlgorithms does not allow", alg)
		}
		return &Issuer{cfg: cfg}, nil
	}
	key, err := cfg.signingKey()
	if err != nil {
		return nil, err
	}
	return &Issuer{cfg: cfg, fixed: newSigningHead(key, &cfg)}, nil
}

// signing returns the key to sign with now, and its header.
func (is *Issuer) signing() *signingHead {
	if is.fixed != nil {
		return is.fixed
	}
	k := is.cfg.keySet.Active()
	if h := is.cached.Load(); h != nil && h.key == k {
		return h
	}
	h := newSigningHead(k, &is.cfg)
	is.cached.Store(h)
	return h
}

func (c *issuerConfig) signingKey() (*Key, error) {
	for _, k := range c.keys {
		if c.signingKeyID == "" && k.CanSign() {
			return k, nil
		}
		if c.signingKeyID != "" && k.id == c.signingKeyID {
			if !k.CanSign() {
				return nil, fmt.Errorf("jwtaudit: signing key %q has no private part", k.id)
			}
			return k, nil
		}
	}
	if c.signingKeyID != "" {
		return nil, fmt.Errorf("jwtaudit: no key has the signing key id %q", c.signingKeyID)
	}
	return nil, errors.New("jwtaudit: NewIssuer needs a key that can sign (WithKeys)")
}

// Key returns the key the issuer signs with now.
func (is *Issuer) Key() *Key { return is.signing().key }

// Issue signs claims into a compact JWS and records one audit event.
//
// It stamps what the caller leaves unset: "iat" from the clock, "exp" as
// "iat" plus the TTL, a random 128-bit "jti", "iss" from [WithIssuer] and
// "aud" from [WithAudience]. A subject is required. Claims that contradict
// each other ("exp" not after "iat", "nbf" after "exp"), an "iss" other than
// the configured one, and private claims named like registered ones are
// refused with [ErrInvalidClaims]. A signer failure is [ErrSigning]. If the
// event cannot be recorded, Issue returns [ErrAudit] and no token.
func (is *Issuer) Issue(ctx context.Context, claims Claims) (string, error) {
	start := is.cfg.clock()
	sh := is.signing()
	ev := Event{Time: start, Op: OpIssue, Algorithm: sh.key.alg, KeyID: sh.key.id, Verified: true}
	token, err := is.issue(start, sh, claims, &ev)
	return is.finish(ctx, &ev, start, token, err)
}

func (is *Issuer) issue(now time.Time, sh *signingHead, c Claims, ev *Event) (string, error) {
	err := is.complete(now, &c)
	ev.Issuer, ev.Subject, ev.Audience, ev.ID, ev.ExpiresAt = c.Issuer, c.Subject, c.Audience, c.ID, c.ExpiresAt
	if err != nil {
		return "", err
	}
	for _, name := range is.cfg.auditClaims {
		if v, ok := c.Private[name]; ok {
			ev.Claims = append(ev.Claims, slog.String(name, auditText(v)))
		}
	}

	scratch := scratchPool.Get().(*[]byte)
	defer putScratch(scratch)
	payload, err := appendClaims((*scratch)[:0], &c)
	if err != nil {
		return "", failWrap(ReasonInvalidClaims, err, "")
	}
	*scratch = payload

	if sh.refused != nil {
		return "", sh.refused
	}
	// Size the token's bytes exactly, so that building it never regrows
	// the buffer.
	key := sh.key
	out := make([]byte, 0, len(sh.head)+b64.EncodedLen(len(payload))+1+b64.EncodedLen(key.sigLen))
	out = append(out, sh.head...)
	out = b64.AppendEncode(out, payload)
	sig, err := sign(key, out)
	if err != nil {
		return "", failWrap(ReasonSigning, err, fmt.Sprintf("key %q", key.id))
	}
	out = append(out, '.')
	out = b64.AppendEncode(out, sig)
	ev.Fingerprint = fingerprint(out)
	return string(out), nil
}

// complete fills in the claims the issuer stamps and refuses contradictions.
func (is *Issuer) complete(now time.Time, c *Claims) error {
	if is.cfg.issuer != "" {
		if c.Issuer != "" && c.Issuer != is.cfg.issuer {
			return fail(ReasonInvalidClaims, "iss %q is not this issuer's %q", c.Issuer, is.cfg.issuer)
		}
		c.Issuer = is.cfg.issuer
	}
	if len(c.Audience) == 0 {
		c.Audience = is.cfg.audience
	}
	// NumericDate has whole seconds: keep the claims (and so the event)
	// exactly as the token will carry them.
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	c.IssuedAt = wholeSeconds(c.IssuedAt)
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(is.cfg.ttl)
	}
	c.ExpiresAt = wholeSeconds(c.ExpiresAt)
	if !c.NotBefore.IsZero() {
		c.NotBefore = wholeSeconds(c.NotBefore)
	}
	if c.ID == "" {
		c.ID = rand.Text() // 26 base32 characters: 130 random bits
	}
	switch {
	case c.Subject == "":
		return fail(ReasonInvalidClaims, "empty subject")
	case c.ExpiresAt.Unix() <= c.IssuedAt.Unix():
		return fail(ReasonInvalidClaims, "exp %s is not after iat %s", rfc3339(c.ExpiresAt), rfc3339(c.IssuedAt))
	case !c.NotBefore.IsZero() && c.NotBefore.Unix() >= c.ExpiresAt.Unix():
		return fail(ReasonInvalidClaims, "nbf %s is not before exp %s", rfc3339(c.NotBefore), rfc3339(c.ExpiresAt))
	case c.ExpiresAt.Unix() > maxNumericDate || c.IssuedAt.Unix() < 0 || (!c.NotBefore.IsZero() && c.NotBefore.Unix() < 0):
		return fail(ReasonInvalidClaims, "a date is outside the years 1970 to 9999")
	}
	for _, a := range c.Audience {
		if a == "" {
			return fail(ReasonInvalidClaims, "empty audience")
		}
	}
	return nil
}

// sign calls the key's signer, turning a panic in a caller's crypto.Signer
// into an error so that the call still ends with its one event.
func sign(key *Key, input []byte) (sig []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			sig, err = nil, errors.New("signer panicked")
		}
	}()
	return key.sign(input)
}

// finish records the event of one Issue call and decides what it returns.
func (is *Issuer) finish(ctx context.Context, ev *Event, start time.Time, token string, err error) (string, error) {
	if aerr := is.cfg.record(ctx, ev, start, err); aerr != nil {
		return "", aerr
	}
	return token, err
}

// scratchPool holds buffers for encoding claims, which are copied into the
// token and never outlive an Issue call.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledScratch keeps the buffer of one token with huge private claims
// from being held in the pool for good.
const maxPooledScratch = 16 << 10

func putScratch(b *[]byte) {
	if cap(*b) <= maxPooledScratch {
		scratchPool.Put(b)
	}
}

// auditText renders a private claim value for an event as the verifier
// will: a string as itself, anything else as JSON text.
func auditText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// wholeSeconds drops the fraction of a second, in UTC.
func wholeSeconds(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
