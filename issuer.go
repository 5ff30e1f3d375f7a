package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Issuer issues signed tokens. It is safe for concurrent use; create one at
// start-up and share it.
type Issuer struct {
	cfg    issuerConfig
	rec    recorder
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
	if !cfg.algorithms.allows(k.alg) {
		sh.refused = fail(ReasonSigning, "the active key %q uses %s, which WithAlgorithms does not allow", k.id, k.alg)
	}
	return sh
}

// NewIssuer returns an issuer configured by opts. With [WithKeys] it needs
// at least one key that can sign, and signs with the one named by
// [WithSigningKey], or else the first such key given; with [WithKeySet] it
// signs with the set's active key at the time of each Issue. Every token
// gets the header {"alg","kid","typ"}, with "typ" "JWT" unless [WithType]
// says otherwise.
func NewIssuer(opts ...IssuerOption) (*Issuer, error) {
	cfg := defaultIssuerConfig()
	if err := applyAll("NewIssuer", opts, func(o IssuerOption) error { return o.applyIssuer(&cfg) }); err != nil {
		return nil, err
	}
	if err := cfg.checkKeys(); err != nil {
		return nil, err
	}
	if cfg.keySet != nil {
		if len(cfg.keys) > 0 || cfg.signingKeyID != "" {
			return nil, errors.New("jwtaudit: NewIssuer: WithKeySet replaces WithKeys and WithSigningKey")
		}
		if alg := cfg.keySet.Active().alg; !cfg.algorithms.allows(alg) {
			return nil, fmt.Errorf("jwtaudit: the key set's active key uses %s, which WithAlgorithms does not allow", alg)
		}
		return &Issuer{cfg: cfg, rec: newRecorder(cfg.audit)}, nil
	}
	key, err := cfg.signingKey()
	if err != nil {
		return nil, err
	}
	return &Issuer{cfg: cfg, rec: newRecorder(cfg.audit), fixed: newSigningHead(key, &cfg)}, nil
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

// Issue signs claims into a compact JWS and records one audit event.
//
// It stamps what the caller leaves unset: "iat" from the clock, "exp" as
// "iat" plus the TTL, a random 128-bit "jti", "iss" from [WithIssuer] and
// "aud" from [WithAudience], and, with [WithSubjectGenerations], "sgen". A
// subject is required. Claims that contradict each other ("exp" not after
// "iat", "nbf" after "exp"), an "iss" other than the configured one, a
// SubjectGeneration set by the caller, a Confirmation.KeyThumbprint that is
// not a SHA-256 thumbprint, private claims named like
// registered ones or like each other (see [Claims]) and private claims
// that cannot be encoded are refused with [ErrInvalidClaims]. A signer failure is [ErrSigning]. A
// panic in a caller's code (a crypto.Signer, a claim's MarshalJSON) is
// recovered and ends the call with [ErrInternal]. If the event cannot be
// recorded, Issue returns [ErrAudit] and no token.
func (is *Issuer) Issue(ctx context.Context, claims Claims) (token string, err error) {
	ev := is.rec.begin(OpIssue)
	defer func() {
		if ferr := is.rec.finish(ctx, &ev, err, recover()); ferr != nil {
			token, err = "", ferr
		}
	}()
	return is.issue(ctx, ev.Time, claims, &ev)
}

func (is *Issuer) issue(ctx context.Context, now time.Time, c Claims, ev *Event) (string, error) {
	sh := is.signing()
	ev.Algorithm, ev.KeyID, ev.Verified = sh.key.alg, sh.key.id, true
	err := is.complete(now, &c)
	ev.setClaims(&c)
	if err != nil {
		return "", err
	}
	if c.Confirmation.KeyThumbprint != "" {
		// The same attribute as a DPoP request's event: the trail joins
		// the token's issue to the requests made with its key.
		ev.Attrs = append(ev.Attrs, slog.String("dpop_jkt", c.Confirmation.KeyThumbprint))
	}
	if is.cfg.generations != nil {
		is.stampGeneration(ctx, &c, ev)
	}
	for _, name := range is.cfg.auditClaims {
		if v, ok := c.Private[name]; ok {
			ev.Claims = append(ev.Claims, slog.String(name, auditText(v)))
		}
	}

	claimsBuf := scratchPool.Get().(*[]byte)
	defer putScratch(claimsBuf)
	payload, err := appendClaims((*claimsBuf)[:0], &c)
	if err != nil {
		return "", failWrap(ReasonInvalidClaims, err, "")
	}
	*claimsBuf = payload

	if sh.refused != nil {
		return "", sh.refused
	}
	// The token is built in a pooled buffer, sized so that it never
	// regrows, and copied once into the string returned.
	key := sh.key
	tokenBuf := scratchPool.Get().(*[]byte)
	defer putScratch(tokenBuf)
	out := slices.Grow((*tokenBuf)[:0], len(sh.head)+b64.EncodedLen(len(payload))+1+b64.EncodedLen(key.sigLen))
	out = append(out, sh.head...)
	out = b64.AppendEncode(out, payload)
	sig, err := key.sign(out)
	if err != nil {
		return "", failWrap(ReasonSigning, err, fmt.Sprintf("key %q", key.id))
	}
	signed := len(out)
	out = append(out, '.')
	out = b64.AppendEncode(out, sig)
	*tokenBuf = out
	ev.Fingerprint = tokenFingerprint(&compactParts{token: out, signingInput: out[:signed], signature: sig}, key.alg)
	return string(out), nil
}

// stampGeneration gives a token its subject's generation, when the
// subject has one. A source that cannot answer leaves the token without:
// it is then judged by its "iat", and can only be refused for it, never
// let through.
func (is *Issuer) stampGeneration(ctx context.Context, c *Claims, ev *Event) {
	gen, err := is.cfg.generations.SubjectGeneration(ctx, c.Issuer, c.Subject)
	if err != nil {
		ev.Attrs = append(ev.Attrs, slog.String("sgen", "unknown: the revocation store could not answer"))
		return
	}
	c.SubjectGeneration = max(gen, 0)
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
		c.ID = newTokenID() // 26 base32 characters: 130 random bits
	}
	switch {
	case c.Subject == "":
		return fail(ReasonInvalidClaims, "empty subject")
	case c.SubjectGeneration != 0:
		return fail(ReasonInvalidClaims, "sgen is the issuer's to stamp (WithSubjectGenerations), never its caller's")
	case c.Confirmation.KeyThumbprint != "" && !isThumbprint(c.Confirmation.KeyThumbprint):
		return fail(ReasonInvalidClaims, "Confirmation.KeyThumbprint is not a base64url SHA-256 thumbprint (43 characters)")
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

// scratchPool holds the buffers Issue encodes claims and builds tokens in;
// what they hold is copied out, and never outlives the call.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledScratch keeps the buffer of one token with huge private claims
// from being held in the pool for good.
const maxPooledScratch = 16 << 10

func putScratch(b *[]byte) {
	if cap(*b) <= maxPooledScratch {
		scratchPool.Put(b)
	}
}
