package jwtaudit

import (
	"errors"
	"fmt"
)

// TrustedIssuer is one issuer whose tokens a [Verifier] accepts, with its
// own keys and expectations; see [WithTrustedIssuers].
type TrustedIssuer struct {
	// Issuer is the "iss" value of its tokens.
	Issuer string

	// Keys or Source (exactly one) are its keys: fixed keys, or a
	// [KeySet], a [RemoteKeySet] following its JWKS, or a source of your
	// own.
	Keys   []*Key
	Source KeySource

	// Audience, when set, replaces the verifier's WithAudience for this
	// issuer's tokens.
	Audience []string
}

// trustedIssuer is a TrustedIssuer ready for use.
type trustedIssuer struct {
	name     string
	keys     keyFinder
	audience []string
	expect   expectations // set by NewVerifier, which knows the default audience
}

// WithTrustedIssuers makes one verifier accept tokens from several
// issuers, each with its own keys. The token's "iss", read before the
// signature is checked, only picks whose keys to check it with; a token
// whose "iss" names no trusted issuer is refused with [ErrIssuer] before
// any key is looked up. Since the signature covers "iss", a token that
// verifies was issued by the issuer its keys belong to. It cannot be
// combined with [WithKeys], [WithKeySet], [WithKeySource] or [WithIssuer].
// Given more than once, it adds issuers; naming one issuer twice is an
// error.
func WithTrustedIssuers(issuers ...TrustedIssuer) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if len(issuers) == 0 {
			return errors.New("jwtaudit: WithTrustedIssuers: no issuer given")
		}
		if c.trusted == nil {
			c.trusted = make(map[string]*trustedIssuer, len(issuers))
		}
		for _, ti := range issuers {
			if ti.Issuer == "" {
				return errors.New("jwtaudit: WithTrustedIssuers: an issuer without a name")
			}
			if _, dup := c.trusted[ti.Issuer]; dup {
				return fmt.Errorf("jwtaudit: WithTrustedIssuers: %q given twice", ti.Issuer)
			}
			t := &trustedIssuer{name: ti.Issuer, audience: append([]string(nil), ti.Audience...)}
			switch {
			case len(ti.Keys) > 0 && ti.Source == nil:
				for _, k := range ti.Keys {
					if k == nil {
						return fmt.Errorf("jwtaudit: WithTrustedIssuers: %q has a nil key", ti.Issuer)
					}
				}
				t.keys = newStaticKeys(ti.Keys)
			case len(ti.Keys) == 0 && ti.Source != nil:
				t.keys = finderOf(ti.Source)
			default:
				return fmt.Errorf("jwtaudit: WithTrustedIssuers: %q needs exactly one of Keys and Source", ti.Issuer)
			}
			c.trusted[ti.Issuer] = t
		}
		return nil
	})
}
