package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// IssuerOption configures [NewIssuer]. Options that only make sense for a
// verifier do not implement it, so passing one to NewIssuer does not compile.
type IssuerOption interface {
	applyIssuer(*issuerConfig) error
}

// VerifierOption configures [NewVerifier]. Options that only make sense for
// an issuer do not implement it.
type VerifierOption interface {
	applyVerifier(*verifierConfig) error
}

// Option configures both sides: build the shared options once (keys,
// issuer name, audience, clock, audit sink, algorithms, token type) and pass
// the same values to [NewIssuer] and [NewVerifier].
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
			// Option has unexported methods, so sharedOption is its only
			// implementation; anything else here is a nil Option.
			apply, ok := o.(sharedOption)
			if !ok || apply == nil {
				return errors.New("jwtaudit: Options: nil option")
			}
			if err := apply(c); err != nil {
				return err
			}
		}
		return nil
	})
}

// sharedConfig is what Option sets.
type sharedConfig struct {
	keys         []*Key
	keySet       *KeySet
	issuer       string
	audience     []string
	clock        func() time.Time
	sink         AuditSink
	algorithms   []Algorithm // nil: every supported algorithm
	typ          string
	contextAttrs func(context.Context) []slog.Attr
	auditClaims  []string                            // private claims copied into events
	redactor     *Redactor                           // hashes identifying values in events
	failOpen     func(context.Context, Event, error) // nil: fail closed
}

type sharedOption func(*sharedConfig) error

func (o sharedOption) applyIssuer(c *issuerConfig) error     { return o(&c.sharedConfig) }
func (o sharedOption) applyVerifier(c *verifierConfig) error { return o(&c.sharedConfig) }

type issuerOption func(*issuerConfig) error

func (o issuerOption) applyIssuer(c *issuerConfig) error { return o(c) }

type verifierOption func(*verifierConfig) error

func (o verifierOption) applyVerifier(c *verifierConfig) error { return o(c) }

var (
	_ Option         = sharedOption(nil)
	_ IssuerOption   = issuerOption(nil)
	_ VerifierOption = verifierOption(nil)
)

// WithKeys adds keys. The issuer signs with one of them (see
// [WithSigningKey]); the verifier selects among them by the token's "kid".
// Key ids must be unique. The option may be given more than once.
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
// unexpired retiring keys. It replaces [WithKeys].
func WithKeySet(ks *KeySet) Option {
	return sharedOption(func(c *sharedConfig) error {
		if ks == nil {
			return errors.New("jwtaudit: WithKeySet: nil key set")
		}
		c.keySet = ks
		return nil
	})
}

// WithKeySource makes the verifier take its keys from src: a
// [RemoteKeySet] that follows a JWKS URL, or a source of your own. It
// replaces [WithKeys] and [WithKeySet].
func WithKeySource(src KeySource) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if src == nil {
			return errors.New("jwtaudit: WithKeySource: nil source")
		}
		c.source = src
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

// WithAudience sets the audience: the issuer stamps these values as "aud"
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
		}
		c.audience = append([]string(nil), audience...)
		return nil
	})
}

// WithClock sets the source of the current time (default time.Now), for
// tests and examples. Event times and durations use it too.
func WithClock(now func() time.Time) Option {
	return sharedOption(func(c *sharedConfig) error {
		if now == nil {
			return errors.New("jwtaudit: WithClock: nil clock")
		}
		c.clock = now
		return nil
	})
}

// WithAudit sets the sink that records every event (default [DiscardAudit]).
func WithAudit(sink AuditSink) Option {
	return sharedOption(func(c *sharedConfig) error {
		if sink == nil {
			return errors.New("jwtaudit: WithAudit: nil sink")
		}
		c.sink = sink
		return nil
	})
}

// WithAlgorithms restricts the algorithms in use (default: all supported).
// A configured key with another algorithm is a construction error, and the
// verifier refuses a token whose header names another one.
func WithAlgorithms(algs ...Algorithm) Option {
	return sharedOption(func(c *sharedConfig) error {
		if len(algs) == 0 {
			return errors.New("jwtaudit: WithAlgorithms: no algorithm given")
		}
		for _, a := range algs {
			if _, ok := algorithms[a]; !ok {
				return fmt.Errorf("jwtaudit: WithAlgorithms: unsupported algorithm %q", a)
			}
		}
		c.algorithms = append([]Algorithm(nil), algs...)
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

// WithContextAttrs adds attributes taken from the call's context, such as a
// request id or a client address, to every event (as [Event.Attrs]). fn is
// called once per Issue or Verify, on the caller's goroutine.
func WithContextAttrs(fn func(context.Context) []slog.Attr) Option {
	return sharedOption(func(c *sharedConfig) error {
		if fn == nil {
			return errors.New("jwtaudit: WithContextAttrs: nil function")
		}
		c.contextAttrs = fn
		return nil
	})
}

// WithAuditClaims copies the named private claims of each token into its
// events ([Event.Claims]), strings as they are and other values as JSON
// text. Private claims are left out of events unless named here. At most 64
// names; a registered claim name is refused (those are recorded anyway).
func WithAuditClaims(names ...string) Option {
	return sharedOption(func(c *sharedConfig) error {
		for _, n := range names {
			if n == "" || isRegisteredClaim(n) {
				return fmt.Errorf("jwtaudit: WithAuditClaims: %q is not a private claim name", n)
			}
		}
		c.auditClaims = append(c.auditClaims, names...)
		if len(c.auditClaims) > maxWatchedClaims {
			return fmt.Errorf("jwtaudit: WithAuditClaims: more than %d claims", maxWatchedClaims)
		}
		return nil
	})
}

// WithRedaction writes the subject, the "jti" and the claims copied by
// [WithAuditClaims] into events as their salted hashes (see [Redactor]).
// Error details never quote a subject, an id or a private claim, so with
// redaction on, none of them is written in clear text by this package;
// the text of errors returned by your own validators is yours to keep clean.
func WithRedaction(r *Redactor) Option {
	return sharedOption(func(c *sharedConfig) error {
		if r == nil {
			return errors.New("jwtaudit: WithRedaction: nil redactor")
		}
		c.redactor = r
		return nil
	})
}

// WithAuditFailOpen makes Issue and Verify return their real result when
// the sink fails to record the event, and hand the event and the sink's
// error to report instead (which must not block for long). Without it the
// trail fails closed: the operation is refused with [ErrAudit]. Fail open
// keeps a service available when its audit storage is not, at the price of
// decisions that are not on the record; report is where to raise the alarm.
func WithAuditFailOpen(report func(ctx context.Context, e Event, err error)) Option {
	return sharedOption(func(c *sharedConfig) error {
		if report == nil {
			return errors.New("jwtaudit: WithAuditFailOpen: nil report function")
		}
		c.failOpen = report
		return nil
	})
}

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

// maxWatchedClaims bounds the private claims WithRequiredClaims and
// WithAuditClaims may each name, so that the decoder tracks them in one
// bit mask.
const maxWatchedClaims = 64

// WithRequiredClaims requires the named claims to be present. A registered
// string claim ("iss", "sub", "jti") counts as missing when empty. Private
// claims may be named too (at most 64).
func WithRequiredClaims(names ...string) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		for _, n := range names {
			if n == "" {
				return errors.New("jwtaudit: WithRequiredClaims: empty claim name")
			}
			if isRegisteredClaim(n) {
				c.requiredRegistered = append(c.requiredRegistered, n)
			} else {
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

// InsecureAllowMissingExpiry accepts tokens that have no "exp". Such a token
// is valid forever unless a validator or [WithMaxAge] says otherwise; use it
// only for tokens from an issuer you cannot change.
func InsecureAllowMissingExpiry() VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		c.expiryOptional = true
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
		if !c.allows(k.alg) {
			return fmt.Errorf("jwtaudit: key %q uses %s, which WithAlgorithms does not allow", k.id, k.alg)
		}
	}
	return nil
}

// allows reports whether alg is in the configured allow-list.
func (c *sharedConfig) allows(alg Algorithm) bool {
	if c.algorithms == nil {
		_, ok := algorithms[alg]
		return ok
	}
	for _, a := range c.algorithms {
		if a == alg {
			return true
		}
	}
	return false
}
