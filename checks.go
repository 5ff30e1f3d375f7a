package jwtaudit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// expectations are the claim values a token must have: the verifier's, or
// those of the trusted issuer its "iss" names.
type expectations struct {
	issuer   string
	audience []string
}

// checkClaims runs the claim checks of a token whose signature verified,
// in the order Verify documents.
func (v *Verifier) checkClaims(now time.Time, h *Header, c *Claims, m *watchMatch, expect *expectations) error {
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
	if name, missing := v.watch.missingRequired(m); missing {
		return fail(ReasonMissingClaim, "no %s", name)
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

// runValidators calls the caller's validators in order. A panic in one is
// recovered by Verify, which ends the call with ErrInternal.
func (v *Verifier) runValidators(ctx context.Context, tok *Token) error {
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

// revocationUnchecked marks the event of a token let through, failing
// open, without a revocation check.
var revocationUnchecked = slog.String("revocation", "unchecked: the store could not answer")

// checkRevocation asks the revocation store about a token whose claims
// passed every check.
func (v *Verifier) checkRevocation(ctx context.Context, c *Claims, ev *Event) error {
	store, policy := v.cfg.revocations, v.cfg.revocationPolicy
	if store == nil {
		return nil
	}
	if c.ID == "" && !policy.AllowMissingID {
		return fail(ReasonMissingClaim, "no jti, which revocation needs")
	}
	revoked, err := store.Revoked(ctx, c)
	switch {
	case err != nil && policy.FailOpen:
		ev.Attrs = append(ev.Attrs, revocationUnchecked)
		return nil
	case err != nil:
		return failWrap(ReasonStoreUnavailable, err, "revocation could not be checked")
	case revoked:
		return fail(ReasonRevoked, "jti or subject revoked")
	}
	return nil
}

// checkReplay records the first use of a one-time token.
func (v *Verifier) checkReplay(ctx context.Context, c *Claims) error {
	if v.cfg.replays == nil {
		return nil
	}
	if c.ID == "" || c.ExpiresAt.IsZero() {
		return fail(ReasonMissingClaim, "no jti or exp, which a one-time token needs")
	}
	first, err := v.cfg.replays.FirstUse(ctx, c.Issuer, c.ID, c.ExpiresAt.Add(v.cfg.leeway))
	switch {
	case err != nil:
		return failWrap(ReasonStoreUnavailable, err, "the token's use could not be recorded")
	case !first:
		return fail(ReasonReplayed, "jti used before")
	}
	return nil
}
