package jwtaudit

import (
	"errors"
	"fmt"
	"slices"
)

// IssuerOption configures [NewIssuer]. Options are typed by what they
// configure, in the OpenTelemetry way: each constructor takes an interface
// of its own, and an option type implements exactly the interfaces of the
// constructors it means something to, so that giving an option to a
// constructor it does not serve is a compile error. List options
// ([WithKeys], [WithAudience], [WithAlgorithms], [WithAuditClaims],
// [WithRequiredClaims], [WithValidator], [WithTrustedIssuers]) add to what
// earlier ones gave; any other option given twice takes the last value.
type IssuerOption interface {
	applyIssuer(*issuerConfig) error
}

// VerifierOption configures [NewVerifier].
type VerifierOption interface {
	applyVerifier(*verifierConfig) error
}

// KeySetOption configures [NewKeySet]: the audit options ([AuditOption]).
type KeySetOption interface {
	applyKeySet(*keySetConfig) error
}

// RemoteKeySetOption configures [NewRemoteKeySet]: the audit options
// ([AuditOption]); what only a remote key set has is in
// [RemoteKeySetOptions].
type RemoteKeySetOption interface {
	applyRemoteKeySet(*remoteKeySetConfig) error
}

// Option configures both an issuer and a verifier: build the shared
// options once (keys, issuer name, audience, algorithms, token type, and
// the audit options) and pass the same values to [NewIssuer] and
// [NewVerifier].
type Option interface {
	IssuerOption
	VerifierOption
}

// Options bundles shared options into one, so that a configuration is
// written once and handed to both constructors:
//
//	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithIssuer("https://auth.example"))
//	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(15*time.Minute))
//	verifier, err := jwtaudit.NewVerifier(shared, jwtaudit.WithLeeway(30*time.Second))
//
// The options apply in order, as if listed one by one.
func Options(opts ...Option) Option {
	return sharedOption(func(c *sharedConfig) error {
		for _, o := range opts {
			// Option has unexported methods, so these are its only
			// implementations; anything else here is a nil Option.
			var err error
			switch o := o.(type) {
			case sharedOption:
				if o == nil {
					return errors.New("jwtaudit: Options: nil option")
				}
				err = o(c)
			case auditOption:
				if o == nil {
					return errors.New("jwtaudit: Options: nil option")
				}
				err = o(&c.audit)
			default:
				return errors.New("jwtaudit: Options: nil option")
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// applyAll applies a constructor's options in order; a nil one is an
// error, as is an option with a bad value.
func applyAll[O comparable](constructor string, opts []O, apply func(O) error) error {
	var none O
	for _, o := range opts {
		if o == none {
			return fmt.Errorf("jwtaudit: %s: nil option", constructor)
		}
		if err := apply(o); err != nil {
			return err
		}
	}
	return nil
}

// sharedConfig is what the options of both sides set.
type sharedConfig struct {
	audit       auditConfig
	keys        []*Key
	keySet      *KeySet
	issuer      string
	audience    []string
	algorithms  algorithmSet
	typ         string
	auditClaims []string // private claims copied into events
}

type sharedOption func(*sharedConfig) error

func (o sharedOption) applyIssuer(c *issuerConfig) error     { return o(&c.sharedConfig) }
func (o sharedOption) applyVerifier(c *verifierConfig) error { return o(&c.sharedConfig) }

var _ Option = sharedOption(nil)

// WithKeys adds keys. The issuer signs with one of them (see
// [WithSigningKey]); the verifier selects among them by the token's "kid".
// Key ids must be unique.
func WithKeys(keys ...*Key) Option {
	return sharedOption(func(c *sharedConfig) error {
		for i, k := range keys {
			if k == nil {
				return fmt.Errorf("jwtaudit: WithKeys: key %d is nil", i)
			}
		}
		c.keys = append(c.keys, keys...)
		return nil
	})
}

// WithKeySet uses a rotating [KeySet]: the issuer signs with its active key
// at the time of each Issue, the verifier accepts its next, active and
// unexpired retiring keys. It cannot be combined with [WithKeys].
func WithKeySet(ks *KeySet) Option {
	return sharedOption(func(c *sharedConfig) error {
		if ks == nil {
			return errors.New("jwtaudit: WithKeySet: nil key set")
		}
		c.keySet = ks
		return nil
	})
}

// WithIssuer names the issuer: the issuer stamps it as "iss", the verifier
// requires "iss" to equal it. Without it, no "iss" is stamped or checked.
func WithIssuer(name string) Option {
	return sharedOption(func(c *sharedConfig) error {
		if name == "" {
			return errors.New("jwtaudit: WithIssuer: empty issuer name")
		}
		c.issuer = name
		return nil
	})
}

// WithAudience adds audiences: the issuer stamps these values as "aud"
// unless a call's Claims name their own; the verifier accepts a token when
// any of its "aud" values is one of these. Without it the verifier refuses
// every token that has an "aud" (RFC 7519 §4.1.3: a recipient that does not
// identify itself with the audience must reject the token).
func WithAudience(audience ...string) Option {
	return sharedOption(func(c *sharedConfig) error {
		if len(audience) == 0 {
			return errors.New("jwtaudit: WithAudience: no audience given")
		}
		for _, a := range audience {
			if a == "" {
				return errors.New("jwtaudit: WithAudience: empty audience")
			}
			if !slices.Contains(c.audience, a) {
				c.audience = append(c.audience, a)
			}
		}
		return nil
	})
}

// WithAlgorithms restricts the algorithms in use to those it names
// (default: all supported). A configured key with another algorithm is a
// construction error, and the verifier refuses a token whose header names
// another one.
func WithAlgorithms(algs ...Algorithm) Option {
	return sharedOption(func(c *sharedConfig) error {
		if len(algs) == 0 {
			return errors.New("jwtaudit: WithAlgorithms: no algorithm given")
		}
		for _, a := range algs {
			if _, ok := algorithms[a]; !ok {
				return fmt.Errorf("jwtaudit: WithAlgorithms: unsupported algorithm %q", a)
			}
			if !slices.Contains(c.algorithms, a) {
				c.algorithms = append(c.algorithms, a)
			}
		}
		return nil
	})
}

// WithType sets the token type: the issuer writes it as the "typ" header
// (default "JWT"), the verifier requires it, compared without regard to case
// and with an optional "application/" prefix (RFC 7515 §4.1.9). Use "at+jwt"
// for OAuth 2.0 access tokens (RFC 9068). Without it the verifier does not
// look at "typ".
func WithType(typ string) Option {
	return sharedOption(func(c *sharedConfig) error {
		if typ == "" {
			return errors.New("jwtaudit: WithType: empty type")
		}
		c.typ = typ
		return nil
	})
}

// WithAuditClaims copies the named private claims of each token into its
// events ([Event.Claims]), strings as they are and other values as JSON
// text. Private claims are left out of events unless named here. A verifier
// watches at most 64 private claims, those named here and by
// [WithRequiredClaims] together. A registered claim name, or a name that
// differs from one only in case, is refused (registered claims are recorded
// anyway).
func WithAuditClaims(names ...string) Option {
	return sharedOption(func(c *sharedConfig) error {
		for _, n := range names {
			if err := checkPrivateName(n); err != nil {
				return fmt.Errorf("jwtaudit: WithAuditClaims: %w", err)
			}
			if slices.Contains(c.auditClaims, n) {
				return fmt.Errorf("jwtaudit: WithAuditClaims: %q named twice", n)
			}
			c.auditClaims = append(c.auditClaims, n)
		}
		if len(c.auditClaims) > maxWatchedClaims {
			return fmt.Errorf("jwtaudit: WithAuditClaims: more than %d claims", maxWatchedClaims)
		}
		return nil
	})
}

// checkKeys validates the keys of a configuration: unique ids, and every
// algorithm allowed.
func (c *sharedConfig) checkKeys() error {
	seen := make(map[string]bool, len(c.keys))
	for _, k := range c.keys {
		if seen[k.id] {
			return fmt.Errorf("jwtaudit: two keys have the id %q", k.id)
		}
		seen[k.id] = true
		if !c.algorithms.allows(k.alg) {
			return fmt.Errorf("jwtaudit: key %q uses %s, which WithAlgorithms does not allow", k.id, k.alg)
		}
	}
	return nil
}
