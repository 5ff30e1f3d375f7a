package jwtaudit

import (
	"context"
	"errors"
	"time"
)

// Verifier verifies tokens. It is safe for concurrent use; create one at
// start-up and share it.
type Verifier struct {
	cfg    verifierConfig
	rec    recorder
	keys   keyFinder    // nil with WithTrustedIssuers: the token's "iss" picks them
	expect expectations // without WithTrustedIssuers
	known  []string     // expected claim values, which decoding reuses instead of copying
	watch  claimWatch
	cache  *verifiedCache // WithVerifiedCache; nil without
}

// NewVerifier returns a verifier configured by opts. It needs its keys from
// exactly one of [WithKeys], [WithKeySet], [WithKeySource] and
// [WithTrustedIssuers]; a key that can sign is used for its public part
// only.
func NewVerifier(opts ...VerifierOption) (*Verifier, error) {
	cfg := defaultVerifierConfig()
	if err := applyAll("NewVerifier", opts, func(o VerifierOption) error { return o.applyVerifier(&cfg) }); err != nil {
		return nil, err
	}
	if err := cfg.checkKeys(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, rec: newRecorder(cfg.audit), expect: expectations{issuer: cfg.issuer, audience: cfg.audience}}
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
	var err error
	if v.watch, err = newClaimWatch(cfg.requiredPrivate, cfg.auditClaims); err != nil {
		return nil, err
	}
	expected := append([]string{cfg.issuer, cfg.subject}, cfg.audience...)
	for _, ti := range cfg.trusted {
		ti.expect = expectations{issuer: ti.name, audience: cfg.audience}
		if len(ti.audience) > 0 {
			ti.expect.audience = ti.audience
		}
		expected = append(append(expected, ti.name), ti.audience...)
	}
	for _, s := range expected {
		if s != "" {
			v.known = append(v.known, s)
		}
	}
	if cfg.cacheEntries > 0 {
		v.cache = newVerifiedCache(cfg.cacheEntries, cfg.cacheBytes)
	}
	return v, nil
}

// Verify checks a compact token and records one audit event. It returns the
// token only if every check passes; otherwise a nil token and an error whose
// [Reason] says why. [ErrExpired] is told apart from every other rejection.
//
// The checks run in this order and stop at the first failure:
//
//  1. an empty token is [ErrNoToken]; then size ([ErrTooLarge]), before
//     anything is decoded;
//  2. the compact form: three strict base64url segments ([ErrMalformed]);
//  3. the header: strict JSON, no "crit" or "b64" ([ErrMalformed]), and an
//     "alg" that is supported and allowed ([ErrAlgorithm]);
//  4. with [WithTrustedIssuers], the unverified "iss", the one value read
//     from the payload before the signature, names a trusted issuer
//     ([ErrIssuer]);
//  5. the key that "kid" selects ([ErrUnknownKey]), whose algorithm
//     "alg" must equal ([ErrAlgorithm]);
//  6. the signature ([ErrSignature]);
//  7. the payload is a valid claims set ([ErrInvalidClaims]): strict JSON,
//     registered claims of their RFC 7519 types, no member name twice even
//     up to case;
//  8. the claims: "typ" ([ErrType]), "exp" ([ErrExpired],
//     [ErrMissingClaim]), "nbf" ([ErrNotYetValid]), "iat"
//     ([ErrIssuedInFuture]), "iss" ([ErrIssuer]), "aud" ([ErrAudience]),
//     "sub" ([ErrSubject]), required claims ([ErrMissingClaim]), maximum age
//     ([ErrTooOld]); a token bound to a key ("cnf") is refused
//     ([ErrDPoPBinding]): it is accepted only with a proof of possession,
//     by [Verifier.VerifyDPoP];
//  9. with [WithRevocation], the revocation store ([ErrRevoked],
//     [ErrMissingClaim] for a token without "jti", [ErrStoreUnavailable]);
//  10. the validators, in the order they were added;
//  11. with [WithReplayGuard], the token's first use ([ErrReplayed],
//     [ErrMissingClaim], [ErrStoreUnavailable]), last, so that only a
//     token that passed everything else uses up its "jti".
//
// The claims are decoded once, after step 6, whatever its result: for the
// checks when the signature holds, and for the event alone, marked
// unverified, when the token is refused. So the reason a token gets does not
// depend on how the keys were configured, except that without a trusted
// issuer's name in "iss" there are no keys to try (step 4).
//
// A panic in a caller's code reached from Verify (a [KeySource], a
// validator) is recovered and ends the call with [ErrInternal]. If the event
// cannot be recorded, Verify returns [ErrAudit] and no token, even for a
// valid one.
func (v *Verifier) Verify(ctx context.Context, token string) (tok *Token, err error) {
	ev := v.rec.begin(OpVerify)
	defer func() {
		if ferr := v.rec.finish(ctx, &ev, err, recover()); ferr != nil {
			tok, err = nil, ferr
		}
	}()
	return v.verify(ctx, ev.Time, token, &presented{}, &ev)
}

func (v *Verifier) verify(ctx context.Context, now time.Time, raw string, how *presented, ev *Event) (*Token, error) {
	if raw == "" {
		return nil, fail(ReasonNoToken, "no token given")
	}
	if len(raw) > v.cfg.maxSize {
		return nil, fail(ReasonTooLarge, "%d bytes, the limit is %d", len(raw), v.cfg.maxSize)
	}
	if v.cache != nil {
		if e := v.cache.get(raw); e != nil {
			if tok, err := v.verifyCached(ctx, now, raw, e, how, ev); err != errCacheMiss {
				return tok, err
			}
		}
	}
	parts, err := splitCompact(raw)
	if err != nil {
		ev.Fingerprint = FingerprintOf(raw)
		return nil, failWrap(ReasonMalformed, err, "")
	}
	signed, authErr := v.authenticate(ctx, &parts, ev)

	// The claims are decoded into the Token that a success returns: one
	// allocation for both, which a rejection wastes.
	tok := &Token{payload: parts.payload}
	claims := &tok.Claims
	match := v.watch.newMatch()
	claimsErr := decodeClaimsInto(claims, &tok.audience, parts.payload, &v.watch, &match, v.known)
	if claimsErr == nil {
		ev.setClaims(claims)
		ev.Claims = v.watch.auditAttrs(parts.payload, &match)
	}
	switch {
	case authErr != nil:
		return nil, authErr
	case claimsErr != nil:
		return nil, failWrap(ReasonInvalidClaims, claimsErr, "the signed payload is not a valid claims set")
	}

	tok.Header, tok.Fingerprint = v.header(&signed.header, signed.key), ev.Fingerprint
	if err := v.checkClaims(now, &tok.Header, claims, &match, &signed.expect); err != nil {
		return nil, err
	}
	if err := v.checkBinding(raw, claims, how, ev); err != nil {
		return nil, err
	}
	if err := v.checkRevocation(ctx, claims, ev); err != nil {
		return nil, err
	}
	if err := v.runValidators(ctx, tok); err != nil {
		return nil, err
	}
	if err := v.useProof(ctx, how); err != nil {
		return nil, err
	}
	if err := v.checkReplay(ctx, claims); err != nil {
		return nil, err
	}
	ev.Verified = true
	if v.cache != nil {
		v.remember(raw, tok, &signed, &match, ev.Claims)
	}
	return tok, nil
}

// signedBy is what authenticate establishes of a token: the key whose
// signature it carries, its header, and what its claims must hold.
type signedBy struct {
	key    *Key
	keys   keyFinder // where key came from
	header rawHeader
	expect expectations
}

// authenticate runs the steps up to the signature: header, algorithm,
// issuer (with trusted issuers), key, signature. Until a key is found the
// event names the algorithm and key id the header claims.
func (v *Verifier) authenticate(ctx context.Context, p *compactParts, ev *Event) (s signedBy, err error) {
	if s.header, err = decodeHeader(p.header); err != nil {
		ev.Fingerprint = fingerprint(p.token)
		return s, failWrap(ReasonMalformed, err, "header")
	}
	h := &s.header
	defer func() {
		if s.key == nil {
			ev.setHeader(h)
		}
	}()
	alg, known := lookupAlgorithm(h.alg)
	ev.Fingerprint = tokenFingerprint(p, alg)
	if !known || !v.cfg.algorithms.allows(alg) {
		return s, fail(ReasonAlgorithm, "alg %q is not accepted", clip(string(h.alg)))
	}
	keys := v.keys
	s.expect = v.expect
	if v.cfg.trusted != nil {
		iss, _ := unverifiedIssuer(p.payload)
		ti := v.cfg.trusted[string(iss)]
		if ti == nil {
			return s, fail(ReasonIssuer, "iss %q is not a trusted issuer", clip(string(iss)))
		}
		keys, s.expect = ti.keys, ti.expect
	}
	key, err := keys.findKey(ctx, h.kid, h.hasKid)
	if err != nil {
		return s, err
	}
	s.key, s.keys = key, keys
	ev.KeyID, ev.Algorithm = key.id, alg
	if key.legacy {
		ev.Attrs = append(ev.Attrs, legacyKeyAttr)
	}
	if alg != key.alg {
		return s, fail(ReasonAlgorithm, "alg %s does not match key %q, which is %s", alg, key.id, key.alg)
	}
	if err := key.verify(p.signingInput, p.signature); err != nil {
		return s, fail(ReasonSignature, "signature does not verify with key %q", key.id)
	}
	return s, nil
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

func countTrue(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}
