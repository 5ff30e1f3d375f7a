package jwtaudit

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// DPoP checks the proofs of possession of RFC 9449: with each request, a
// client that holds a key sends a fresh proof signed with it, and an
// access token bound to the key ("cnf":{"jkt":…}) is accepted only with
// such a proof. A stolen DPoP-bound token is of no use without the key.
//
// A Verifier built [WithDPoP] checks proofs in [Verifier.VerifyDPoP]; a
// token endpoint checks a client's proof with [DPoP.Check] before it
// issues a bound token. The httpauth package does both for HTTP.
type DPoP struct {
	algorithms algorithmSet
	maxAge     time.Duration
	leeway     time.Duration
	replays    ReplayStore
	nonces     *DPoPNonces
	clock      func() time.Time
	keys       proofKeys // of recent proofs
}

// DPoPOptions configures [NewDPoP].
type DPoPOptions struct {
	// Algorithms are the proof algorithms accepted. Default: every
	// asymmetric algorithm of this package (RS*, PS*, ES*, EdDSA); a
	// symmetric one is refused, since a proof's key is public. EdDSA also
	// accepts proofs whose "alg" is "Ed25519", its RFC 9864 name.
	Algorithms []Algorithm

	// MaxAge is how old a proof's "iat" may be: 5 minutes when 0. Its
	// "jti" is remembered for as long.
	MaxAge time.Duration

	// Leeway is how far ahead of this server's clock a proof's "iat" may
	// be, for clients whose clocks run fast: 1 minute when 0.
	Leeway time.Duration

	// Replays remembers the proofs seen, so that each is accepted once
	// (RFC 9449 §11.1). Default: a [MemoryReplay] of this process, which
	// other instances do not see; give the instances of a fleet a shared
	// store (redisrevoke's) so that a proof used on one is refused on all.
	Replays ReplayStore

	// Nonces, when set, makes every proof carry a recent server nonce
	// (RFC 9449 §8): without one it is refused with [ErrDPoPNonce], and the
	// answer hands the client the nonce to use ([DPoP.Nonce]).
	Nonces *DPoPNonces

	// Clock is the time proofs are checked at (default time.Now).
	Clock func() time.Time
}

// NewDPoP returns a proof checker configured by opts.
func NewDPoP(opts DPoPOptions) (*DPoP, error) {
	d := &DPoP{maxAge: opts.MaxAge, leeway: opts.Leeway, replays: opts.Replays, nonces: opts.Nonces, clock: opts.Clock}
	for _, a := range opts.Algorithms {
		info, ok := algorithms[a]
		if !ok {
			return nil, fail(ReasonAlgorithm, "NewDPoP: %q is not a supported algorithm", clip(string(a)))
		}
		if info.family == familyHMAC {
			return nil, fail(ReasonAlgorithm, "NewDPoP: %s is symmetric; a proof is signed with a private key whose public half it carries", a)
		}
		d.algorithms = append(d.algorithms, a)
	}
	if d.algorithms == nil {
		for _, a := range allAlgorithms {
			if algorithms[a].family != familyHMAC {
				d.algorithms = append(d.algorithms, a)
			}
		}
	}
	if d.maxAge <= 0 {
		d.maxAge = 5 * time.Minute
	}
	if d.leeway <= 0 {
		d.leeway = time.Minute
	}
	if d.clock == nil {
		d.clock = time.Now
	}
	if d.replays == nil {
		d.replays = NewMemoryReplay(MemoryStoreOptions{Clock: d.clock})
	}
	return d, nil
}

// proofEd25519 is RFC 9864's fully specified name of EdDSA over Ed25519,
// which WebCrypto clients (panva's dpop among them) put in their proofs.
// A checker that accepts EdDSA accepts it too.
const proofEd25519 Algorithm = "Ed25519"

// Algorithms returns the proof algorithms accepted, for the "algs" of a
// WWW-Authenticate challenge (RFC 9449 §7.1): with EdDSA, its RFC 9864
// name "Ed25519" follows it.
func (d *DPoP) Algorithms() []Algorithm {
	out := make([]Algorithm, 0, len(d.algorithms)+1)
	for _, a := range d.algorithms {
		out = append(out, a)
		if a == EdDSA {
			out = append(out, proofEd25519)
		}
	}
	return out
}

// Nonce returns the server nonce to hand out now, in a DPoP-Nonce header,
// and false when the checker uses none.
func (d *DPoP) Nonce() (string, bool) {
	if d.nonces == nil {
		return "", false
	}
	return d.nonces.nonceAt(d.clock()), true
}

// DPoPRequest is what a proof is checked against: the proofs a request
// carries and the request itself.
type DPoPRequest struct {
	// Proofs are the values of the request's DPoP header fields. Exactly
	// one is accepted (RFC 9449 §4.3, check 1).
	Proofs []string

	// Method is the request's method, which "htm" must equal.
	Method string

	// URL is the request's absolute URI as the client addressed it (behind
	// a proxy: the public scheme and host). "htu" must equal it without
	// query and fragment, after RFC 3986's normalizations of case, default
	// port and percent-encoding.
	URL string
}

// DPoPProof is what a proof that passed every check establishes.
type DPoPProof struct {
	// KeyThumbprint is the RFC 7638 SHA-256 thumbprint of the proof's key:
	// the Confirmation.KeyThumbprint of a token to issue bound to it.
	KeyThumbprint string
	Algorithm     Algorithm // the proof's "alg"
	ID            string    // the proof's "jti"
	IssuedAt      time.Time // the proof's "iat"
}

// Check checks the proof of a request to a token endpoint (RFC 9449 §5),
// which carries no access token: every check of §4.3 but "ath", then the
// proof's single use. The result's KeyThumbprint is what a token issued
// in answer is bound to. Errors: [ErrDPoPProof], [ErrDPoPNonce],
// [ErrDPoPReplayed], and [ErrStoreUnavailable] when the replay store cannot
// answer.
func (d *DPoP) Check(ctx context.Context, req DPoPRequest) (DPoPProof, error) {
	p, err := d.checkProof(&req, "")
	if err == nil {
		err = d.use(ctx, &p)
	}
	return p, err
}

// checkProof runs RFC 9449 §4.3's checks of a proof but its single use.
// With an access token, "ath" must be its hash; without one "ath" is not
// looked at.
func (d *DPoP) checkProof(req *DPoPRequest, accessToken string) (DPoPProof, error) {
	var p DPoPProof
	switch len(req.Proofs) {
	case 0:
		return p, fail(ReasonDPoPProof, "no DPoP proof")
	case 1:
	default:
		return p, fail(ReasonDPoPProof, "%d DPoP header fields; one is allowed", len(req.Proofs))
	}
	c, alg, jkt, err := d.readProof(req.Proofs[0])
	if err != nil {
		return p, failWrap(ReasonDPoPProof, err, "")
	}
	p = DPoPProof{KeyThumbprint: jkt, Algorithm: alg, ID: c.id, IssuedAt: c.issuedAt}
	now := d.clock()
	htu, ok := htuOf(c.uri)
	want, wantOK := htuOf(req.URL)
	switch {
	case c.method != req.Method:
		return p, fail(ReasonDPoPProof, "htm %q is not the request's method %q", clip(c.method), clip(req.Method))
	case !ok:
		return p, fail(ReasonDPoPProof, "htu is not an absolute http or https URI")
	case !wantOK:
		return p, fail(ReasonDPoPProof, "the request's URL %q is not absolute", clip(req.URL))
	case htu != want:
		return p, fail(ReasonDPoPProof, "htu %q is not the request's URI %q", clip(htu), clip(want))
	case c.issuedAt.Before(now.Add(-d.maxAge)):
		return p, fail(ReasonDPoPProof, "iat %s is more than %s old", rfc3339(c.issuedAt), d.maxAge)
	case c.issuedAt.After(now.Add(d.leeway)):
		return p, fail(ReasonDPoPProof, "iat %s is more than %s ahead", rfc3339(c.issuedAt), d.leeway)
	case accessToken != "" && c.ath == "":
		return p, fail(ReasonDPoPProof, "no ath, which a proof sent with an access token needs")
	case accessToken != "" && c.ath != accessTokenHash(accessToken):
		return p, fail(ReasonDPoPProof, "ath is not the hash of the access token sent with it")
	case d.nonces != nil && c.nonce == "":
		return p, fail(ReasonDPoPNonce, "no nonce")
	case d.nonces != nil && !d.nonces.accepts(c.nonce, now):
		return p, fail(ReasonDPoPNonce, "a nonce not handed out, or no longer accepted")
	}
	return p, nil
}

// use records the proof's single use (RFC 9449 §11.1). Its "jti" is
// remembered, under the key's thumbprint, until the proof is too old to
// be accepted anyway.
func (d *DPoP) use(ctx context.Context, p *DPoPProof) error {
	first, err := d.replays.FirstUse(ctx, "dpop "+p.KeyThumbprint, p.ID, p.IssuedAt.Add(d.maxAge+time.Second))
	switch {
	case err != nil:
		return failWrap(ReasonStoreUnavailable, err, "the proof's use could not be recorded")
	case !first:
		return fail(ReasonDPoPReplayed, "jti used before")
	}
	return nil
}

// WithDPoP makes the verifier check proofs of possession with d in
// [Verifier.VerifyDPoP].
func WithDPoP(d *DPoP) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if d == nil {
			return errors.New("jwtaudit: WithDPoP: nil checker")
		}
		c.dpop = d
		return nil
	})
}

// DPoP returns the proof checker given [WithDPoP], or nil.
func (v *Verifier) DPoP() *DPoP { return v.cfg.dpop }

// VerifyDPoP verifies an access token presented with a DPoP proof
// (Authorization: DPoP …) and records one audit event, which names the
// proof's key by its thumbprint ("dpop_jkt") once the proof was read. It
// runs Verify's checks, and after the claims (step 8) those of RFC 9449
// §4.3: the proof ([ErrDPoPProof], [ErrDPoPNonce]), then the token's
// binding to the proof's key ([ErrDPoPBinding]: the token's
// "cnf"."jkt" must be the key's thumbprint); and last, after the
// validators and before a one-time token's use, the proof's single use
// ([ErrDPoPReplayed]). The verifier needs [WithDPoP].
//
// A token bound to a key is accepted only here: [Verifier.Verify] refuses
// it with ErrDPoPBinding (RFC 9449 §7.1), and so does VerifyDPoP an
// unbound token.
func (v *Verifier) VerifyDPoP(ctx context.Context, token string, req DPoPRequest) (tok *Token, err error) {
	ev := v.rec.begin(OpVerify)
	defer func() {
		if ferr := v.rec.finish(ctx, &ev, err, recover()); ferr != nil {
			tok, err = nil, ferr
		}
	}()
	return v.verify(ctx, ev.Time, token, &presented{req: &req}, &ev)
}

// presented is how a token was presented: as a bearer token (req nil) or
// with a DPoP proof, and, once checked, the proof.
type presented struct {
	req   *DPoPRequest
	proof DPoPProof
}

// checkBinding holds a token whose claims passed to the way it was
// presented: a bearer token must be bound to no key; a token with a proof
// must be bound to the proof's key, and the proof must pass RFC 9449
// §4.3's checks.
func (v *Verifier) checkBinding(raw string, c *Claims, how *presented, ev *Event) error {
	if how.req == nil {
		if c.bound() {
			return fail(ReasonDPoPBinding, "the token is bound to a key (cnf) and was presented as a bearer token, without proof of possession")
		}
		return nil
	}
	d := v.cfg.dpop
	if d == nil {
		return fail(ReasonInternal, "VerifyDPoP needs a verifier built WithDPoP")
	}
	proof, err := d.checkProof(how.req, raw)
	if proof.KeyThumbprint != "" {
		ev.Attrs = append(ev.Attrs, slog.String("dpop_jkt", proof.KeyThumbprint))
	}
	switch {
	case err != nil:
		return err
	case c.boundOtherwise:
		return fail(ReasonDPoPBinding, "the token is bound (cnf) by a method this package cannot check")
	case c.Confirmation.KeyThumbprint == "":
		return fail(ReasonDPoPBinding, "the token is bound to no key (no cnf.jkt), and a DPoP proof was sent with it")
	case c.Confirmation.KeyThumbprint != proof.KeyThumbprint:
		return fail(ReasonDPoPBinding, "the token is bound to another key than the proof's")
	}
	how.proof = proof
	return nil
}

// useProof records the single use of the proof a token came with.
func (v *Verifier) useProof(ctx context.Context, how *presented) error {
	if how.req == nil {
		return nil
	}
	return v.cfg.dpop.use(ctx, &how.proof)
}
