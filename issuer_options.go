package jwtaudit

import (
	"errors"
	"fmt"
	"time"
)

// issuerConfig is what the options of NewIssuer set.
type issuerConfig struct {
	sharedConfig
	ttl          time.Duration
	signingKeyID string
	generations  SubjectGenerations
}

// defaultTTL is how long an issued token is valid unless WithTTL says
// otherwise: short enough that a leaked token soon dies, long enough for a
// session between refreshes.
const defaultTTL = time.Hour

func defaultIssuerConfig() issuerConfig {
	return issuerConfig{
		sharedConfig: sharedConfig{audit: defaultAuditConfig(), typ: "JWT"},
		ttl:          defaultTTL,
	}
}

type issuerOption func(*issuerConfig) error

func (o issuerOption) applyIssuer(c *issuerConfig) error { return o(c) }

var _ IssuerOption = issuerOption(nil)

// WithTTL sets how long issued tokens are valid: "exp" is "iat" plus ttl
// (default one hour). A call overrides it by setting Claims.ExpiresAt.
func WithTTL(ttl time.Duration) IssuerOption {
	return issuerOption(func(c *issuerConfig) error {
		if ttl <= 0 {
			return fmt.Errorf("jwtaudit: WithTTL: ttl must be positive, got %s", ttl)
		}
		c.ttl = ttl
		return nil
	})
}

// WithSigningKey names the key the issuer signs with. Without it, the issuer
// signs with the first key given to [WithKeys] that can sign.
func WithSigningKey(kid string) IssuerOption {
	return issuerOption(func(c *issuerConfig) error {
		if kid == "" {
			return errors.New("jwtaudit: WithSigningKey: empty key id")
		}
		c.signingKeyID = kid
		return nil
	})
}

// WithSubjectGenerations makes the issuer stamp each token with its
// subject's generation ([Claims.SubjectGeneration], "sgen"), as src gives
// it: the revocation store the verifiers check (a [MemoryRevocations], or
// the redisrevoke sub-package's store). Then "log out everywhere" revokes
// every token issued before it and none issued after it returns, whatever
// the clocks of the issuing machines say (see [Revocation]). When src
// cannot answer, the token is issued without a generation, to be judged by
// its "iat", and its event says so ("sgen": "unknown").
func WithSubjectGenerations(src SubjectGenerations) IssuerOption {
	return issuerOption(func(c *issuerConfig) error {
		if src == nil {
			return errors.New("jwtaudit: WithSubjectGenerations: nil source")
		}
		c.generations = src
		return nil
	})
}

// signingKey picks the key of WithKeys that the issuer signs with.
func (c *issuerConfig) signingKey() (*Key, error) {
	for _, k := range c.keys {
		if c.signingKeyID == "" && k.CanSign() {
			return k, nil
		}
		if c.signingKeyID != "" && k.id == c.signingKeyID {
			switch {
			case k.legacy:
				return nil, fmt.Errorf("jwtaudit: signing key %q is a legacy key, which only verifies", k.id)
			case !k.CanSign():
				return nil, fmt.Errorf("jwtaudit: signing key %q has no private part", k.id)
			}
			return k, nil
		}
	}
	if c.signingKeyID != "" {
		return nil, fmt.Errorf("jwtaudit: no key has the signing key id %q", c.signingKeyID)
	}
	for _, k := range c.keys {
		if k.legacy {
			return nil, fmt.Errorf("jwtaudit: NewIssuer needs a key that can sign: %q is a legacy key (InsecureLegacyHMACKey), which only verifies; issue with a key of your own (NewKey, jwtaudit keygen)", k.id)
		}
	}
	return nil, errors.New("jwtaudit: NewIssuer needs a key that can sign (WithKeys)")
}
