package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// verifierConfig is what the options of NewVerifier set.
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
	revocations        RevocationStore
	revocationPolicy   RevocationPolicy
	replays            ReplayStore
	dpop               *DPoP // WithDPoP
	cacheEntries       int   // WithVerifiedCache; 0 without a cache
	cacheBytes         int64 // WithVerifiedCache
}

// defaultMaxTokenSize bounds the input Verify looks at. Real tokens are a
// few hundred bytes to a few KiB; HTTP servers commonly cap a header at 8 KiB.
const defaultMaxTokenSize = 8 << 10

func defaultVerifierConfig() verifierConfig {
	return verifierConfig{
		sharedConfig: sharedConfig{audit: defaultAuditConfig()},
		maxSize:      defaultMaxTokenSize,
	}
}

type verifierOption func(*verifierConfig) error

func (o verifierOption) applyVerifier(c *verifierConfig) error { return o(c) }

var _ VerifierOption = verifierOption(nil)

// WithKeySource makes the verifier take its keys from src: a
// [RemoteKeySet] that follows a JWKS URL, or a source of your own. It
// cannot be combined with [WithKeys] or [WithKeySet].
func WithKeySource(src KeySource) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if src == nil {
			return errors.New("jwtaudit: WithKeySource: nil source")
		}
		c.source = src
		return nil
	})
}

// WithLeeway allows for clock skew between issuer and verifier when "exp",
// "nbf" and "iat" are checked (default 0). Keep it to seconds or a minute.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if d < 0 {
			return fmt.Errorf("jwtaudit: WithLeeway: leeway must not be negative, got %s", d)
		}
		c.leeway = d
		return nil
	})
}

// WithMaxTokenSize sets the longest token, in bytes, that the verifier will
// look at (default 8 KiB). Longer input is refused with [ErrTooLarge] before
// any decoding.
func WithMaxTokenSize(n int) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if n <= 0 {
			return fmt.Errorf("jwtaudit: WithMaxTokenSize: size must be positive, got %d", n)
		}
		c.maxSize = n
		return nil
	})
}

// WithSubject requires "sub" to equal sub.
func WithSubject(sub string) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if sub == "" {
			return errors.New("jwtaudit: WithSubject: empty subject")
		}
		c.subject = sub
		return nil
	})
}

// WithRequiredClaims requires the named claims to be present. A registered
// string claim ("iss", "sub", "jti") counts as missing when empty. Private
// claims may be named too: a verifier watches at most 64 private claims,
// those named here and by [WithAuditClaims] together. A name that differs
// from a registered claim only in case is refused.
func WithRequiredClaims(names ...string) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		for _, n := range names {
			if isRegisteredClaim(n) {
				if !slices.Contains(c.requiredRegistered, n) {
					c.requiredRegistered = append(c.requiredRegistered, n)
				}
				continue
			}
			if err := checkPrivateName(n); err != nil {
				return fmt.Errorf("jwtaudit: WithRequiredClaims: %w", err)
			}
			if !slices.Contains(c.requiredPrivate, n) {
				c.requiredPrivate = append(c.requiredPrivate, n)
			}
		}
		if len(c.requiredPrivate) > maxWatchedClaims {
			return fmt.Errorf("jwtaudit: WithRequiredClaims: more than %d private claims", maxWatchedClaims)
		}
		return nil
	})
}

// WithMaxAge refuses tokens issued more than d ago, whatever their "exp"
// says, with [ErrTooOld]; "iat" becomes required.
func WithMaxAge(d time.Duration) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if d <= 0 {
			return fmt.Errorf("jwtaudit: WithMaxAge: age must be positive, got %s", d)
		}
		c.maxAge = d
		return nil
	})
}

// Validator is a check of the caller's own, run after every built-in check
// has passed, in the order the validators were added. It sees the token
// that would be returned. An error rejects the token: with the reason the
// error carries if it wraps a sentinel of this package (return [ErrRevoked]
// for a revoked token), with [ErrRejected] otherwise. A panic is recovered
// and rejects the token with [ErrInternal].
type Validator func(ctx context.Context, t *Token) error

// WithValidator adds a validator.
func WithValidator(v Validator) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if v == nil {
			return errors.New("jwtaudit: WithValidator: nil validator")
		}
		c.validators = append(c.validators, v)
		return nil
	})
}

// WithRevocation makes the verifier refuse revoked tokens with
// [ErrRevoked]: after the signature and every claim check, before the
// validators, it asks store whether the token's "jti", or its subject's
// tokens issued before its "iat", are revoked. A [Revoker] over the same
// store revokes. policy's zero value refuses tokens without "jti" and
// tokens the store cannot answer for (see [RevocationPolicy]).
func WithRevocation(store RevocationStore, policy RevocationPolicy) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if store == nil {
			return errors.New("jwtaudit: WithRevocation: nil store")
		}
		c.revocations, c.revocationPolicy = store, policy
		return nil
	})
}

// WithReplayGuard makes every token one-time, for magic links and password
// resets: the first verification of a token that passes every check, the
// validators included, records its issuer and "jti" in store, atomically,
// and later ones are refused with [ErrReplayed]. "jti" and "exp" become
// required. Use a verifier of its own for one-time tokens.
func WithReplayGuard(store ReplayStore) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if store == nil {
			return errors.New("jwtaudit: WithReplayGuard: nil store")
		}
		c.replays = store
		return nil
	})
}

// InsecureAllowMissingExpiry accepts tokens that have no "exp". Such a token
// is valid forever unless a validator or [WithMaxAge] says otherwise; use it
// only for tokens from an issuer you cannot change.
func InsecureAllowMissingExpiry() VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		c.expiryOptional = true
		return nil
	})
}
