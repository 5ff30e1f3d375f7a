package jwtaudit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Revocation denies tokens before they expire: one token, named by its
// issuer and "jti", or every token of a subject issued before a cut-off
// ("log out everywhere"). Revocations are never keyed by a hash of the
// token, which has more than one valid spelling. Until is when the
// revocation can be forgotten: every token it covers has expired by then.
//
// # Log out everywhere
//
// A subject's revocation revokes its tokens issued before IssuedBefore,
// its cut-off, and the cut-off is also the subject's new generation. An
// Issuer that shares the store ([WithSubjectGenerations]) stamps each token
// of a subject that has a revocation in force with that generation
// ([Claims.SubjectGeneration], "sgen"), and a stamped token is judged by its
// generation alone: revoked when the subject's cut-off is a later one. So a
// token issued after "log out everywhere" returns is never refused, and
// one issued before it always is, whatever the clocks of the machines say.
// A token without a generation (from an issuer that does not share the
// store) is judged by its "iat", which has whole seconds and the issuer's
// clock: [Revoker.RevokeSubject] puts the cut-off a leeway after the time
// it is given, so that the tokens of an issuer whose clock runs ahead
// within the leeway are revoked too; such an issuer's tokens issued within
// the leeway after the revocation are refused as well.
//
// A token's revocation may name the token's subject: a store then bounds
// how many token revocations one subject holds
// (MemoryStoreOptions.MaxPerSubject), and past the bound revokes the
// subject instead, with IssuedBefore as its cut-off.
type Revocation struct {
	Issuer       string    // "iss" of the tokens covered ("" for tokens without one)
	ID           string    // "jti" of the one token; "" for a subject's revocation
	Subject      string    // "sub" of a subject's revocation, or of the one token's when known
	IssuedBefore time.Time // a subject's cut-off; for one token, the cut-off if its subject's revocation replaces it
	Until        time.Time
}

// SubjectGenerations gives an Issuer ([WithSubjectGenerations]) the
// generation of a subject's tokens: the cut-off of the subject's revocation
// in force, in Unix microseconds, or 0 when there is none. A store shared
// by several instances answers from the store all instances write to, so
// that a token issued after a revocation returns, on any instance, carries
// its generation. [MemoryRevocations] is one; so is the redisrevoke
// sub-package's store. It is called once per Issue, on the caller's
// goroutine.
type SubjectGenerations interface {
	SubjectGeneration(ctx context.Context, issuer, subject string) (int64, error)
}

// RevocationStore keeps revocations for verifiers ([WithRevocation]) and
// takes new ones from a [Revoker]. [MemoryRevocations] keeps them in this
// process; a store shared by several instances (the redisrevoke
// sub-package) keeps a copy in memory too.
//
// Revoked is called once per Verify of a token that passed every other
// check, concurrently, on the request's path: it must answer from memory,
// without a network round trip. An error means the store cannot answer
// (its copy is stale beyond what it tolerates); the verifier then refuses
// the token with [ErrStoreUnavailable] unless its [RevocationPolicy] fails
// open.
type RevocationStore interface {
	Revoke(ctx context.Context, r Revocation) error
	Revoked(ctx context.Context, c *Claims) (bool, error)
}

// RevocationPolicy says what a verifier with [WithRevocation] does where
// the store cannot decide. The zero value is the safe one.
type RevocationPolicy struct {
	// AllowMissingID accepts tokens without "jti", which cannot be revoked
	// one by one (a subject's revocation still applies to them). By
	// default they are refused with ErrMissingClaim.
	AllowMissingID bool

	// FailOpen accepts a token when the store cannot answer, instead of
	// refusing it with ErrStoreUnavailable (the default). The event of
	// such a verification still records the store's failure in its
	// "revocation" attribute.
	FailOpen bool
}

// Revoker revokes tokens, in a [RevocationStore] that verifiers check, and
// records each revocation as an audit event (op revoke). Create it with
// [NewRevoker]; it is safe for concurrent use.
//
// A revocation is the one operation made even when its event cannot be
// recorded: refusing to revoke would leave a stolen token valid. The
// revocation is stored first; if its event then fails to be recorded and
// the trail fails closed, the method returns [ErrAudit], and the token
// stays revoked.
type Revoker struct {
	store RevocationStore
	opts  RevokerOptions
	rec   recorder
}

// RevokerOptions configures a Revoker. Zero values take the defaults
// named.
type RevokerOptions struct {
	// Leeway is the verifiers' leeway (WithLeeway), and how far ahead an
	// issuer's clock may run: a revoked token is kept on the deny list
	// until its "exp" plus this, and a subject's cut-off is this after the
	// time RevokeSubject is given (default one minute).
	Leeway time.Duration

	// MaxTokenLifetime is the longest a token of the issuer can live (its
	// TTL): a subject's revocation is kept until a token issued just
	// before it has expired (default 24 hours).
	MaxTokenLifetime time.Duration
}

// RevokerOption configures [NewRevoker]: the audit options
// ([AuditOption]); what only a Revoker has is in [RevokerOptions].
type RevokerOption interface {
	applyRevoker(*revokerConfig) error
}

// revokerConfig is what the audit options of NewRevoker set.
type revokerConfig struct {
	audit auditConfig
}

const (
	defaultRevokeLeeway     = time.Minute
	defaultMaxTokenLifetime = 24 * time.Hour
)

// NewRevoker returns a Revoker over store. Give it the same audit options
// as the issuer and verifier, so that revocations are on the same trail.
func NewRevoker(store RevocationStore, opts RevokerOptions, auditOpts ...RevokerOption) (*Revoker, error) {
	if store == nil {
		return nil, errors.New("jwtaudit: NewRevoker: nil store")
	}
	if opts.Leeway < 0 || opts.MaxTokenLifetime < 0 {
		return nil, errors.New("jwtaudit: NewRevoker: negative option")
	}
	setDefault(&opts.Leeway, defaultRevokeLeeway)
	setDefault(&opts.MaxTokenLifetime, defaultMaxTokenLifetime)
	cfg := revokerConfig{audit: defaultAuditConfig()}
	if err := applyAll("NewRevoker", auditOpts, func(o RevokerOption) error { return o.applyRevoker(&cfg) }); err != nil {
		return nil, err
	}
	return &Revoker{store: store, opts: opts, rec: newRecorder(cfg.audit)}, nil
}

// RevokeToken revokes one verified token (as Verify returned it), by its
// issuer and "jti", until its "exp" plus the leeway. A token without "jti"
// or "exp" cannot be revoked on its own: revoke its subject. The
// revocation names the token's subject, which bounds how many token
// revocations one subject holds (see [Revocation]).
func (r *Revoker) RevokeToken(ctx context.Context, tok *Token) error {
	if tok == nil {
		return errors.New("jwtaudit: RevokeToken: nil token")
	}
	return r.revokeToken(ctx, tok.Claims.Issuer, tok.Claims.ID, tok.Claims.Subject, tok.Claims.ExpiresAt)
}

// RevokeID revokes the token of an issuer with the given "jti" and "exp",
// as the audit trail names them, without the token at hand.
func (r *Revoker) RevokeID(ctx context.Context, issuer, id string, expires time.Time) error {
	return r.revokeToken(ctx, issuer, id, "", expires)
}

func (r *Revoker) revokeToken(ctx context.Context, issuer, id, subject string, expires time.Time) error {
	ev := r.rec.begin(OpRevoke)
	ev.Issuer, ev.ID, ev.Subject, ev.ExpiresAt, ev.Verified = issuer, id, subject, expires, true
	ev.Attrs = []slog.Attr{slog.String("revoke", "token")}
	var err error
	switch {
	case id == "":
		err = fail(ReasonMissingClaim, "no jti: revoke the token's subject instead")
	case expires.IsZero():
		err = fail(ReasonMissingClaim, "no exp: revoke the token's subject instead")
	default:
		err = r.store.Revoke(ctx, Revocation{Issuer: issuer, ID: id, Subject: subject,
			IssuedBefore: ev.Time.Add(r.opts.Leeway), Until: expires.Add(r.opts.Leeway)})
	}
	return r.finish(ctx, &ev, err)
}

// RevokeSubject revokes every token of a subject of an issuer issued before
// issuedBefore (usually now: "log out everywhere"), as [Revocation] says:
// the cut-off is issuedBefore plus the leeway, for the tokens of an issuer
// whose clock runs ahead, and the subject's new generation, for the
// tokens of an issuer that shares the store. It is kept until a token
// issued just before the cut-off has expired (MaxTokenLifetime after it).
// A token without "iat" or a generation cannot show it was issued after,
// and is refused too.
func (r *Revoker) RevokeSubject(ctx context.Context, issuer, subject string, issuedBefore time.Time) error {
	ev := r.rec.begin(OpRevoke)
	ev.Issuer, ev.Subject, ev.Verified = issuer, subject, true
	cutoff := issuedBefore.Add(r.opts.Leeway)
	ev.Attrs = []slog.Attr{slog.String("revoke", "subject"), slog.Time("issued_before", issuedBefore), slog.Time("cutoff", cutoff)}
	var err error
	if subject == "" {
		err = fail(ReasonMissingClaim, "no subject to revoke")
	} else {
		err = r.store.Revoke(ctx, Revocation{
			Issuer: issuer, Subject: subject, IssuedBefore: cutoff,
			Until: cutoff.Add(r.opts.MaxTokenLifetime),
		})
	}
	return r.finish(ctx, &ev, err)
}

// finish records a revocation's event. A store's error that carries no
// reason is ErrStoreUnavailable.
func (r *Revoker) finish(ctx context.Context, ev *Event, err error) error {
	if err != nil {
		if _, ok := reasonIn(err); !ok {
			err = failWrap(ReasonStoreUnavailable, err, "the revocation was not stored")
		}
	}
	if aerr := r.rec.finish(ctx, ev, err, nil); aerr != nil {
		if err == nil {
			return fmt.Errorf("%w (the revocation itself was stored)", aerr)
		}
		return aerr
	}
	return err
}
