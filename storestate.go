package jwtaudit

import (
	"context"
	"errors"
	"log/slog"
)

// StoreState is the state of a revocation store shared among instances,
// as it reports it ([StoreEvents]).
type StoreState uint8

// The states.
const (
	// StoreCurrent: the store's copy holds every revocation the shared
	// store holds, and it is following the shared store.
	StoreCurrent StoreState = iota + 1

	// StoreStale: the link to the shared store is lost, or silent, and
	// the copy may miss revocations made since; after the store's grace
	// (redisrevoke's StaleAfter) it no longer answers, and verifiers fail
	// closed, or open as their RevocationPolicy says.
	StoreStale

	// StoreIncomplete: the copy cannot hold a revocation the shared store
	// holds (it is full); it no longer answers for the tokens it does not
	// know to be revoked.
	StoreIncomplete
)

var storeStateNames = [...]string{StoreCurrent: "current", StoreStale: "stale", StoreIncomplete: "incomplete"}

// String returns "current", "stale" or "incomplete".
func (s StoreState) String() string { return enumName(storeStateNames[:], int(s)) }

// StoreCause says why a store is not current.
type StoreCause uint8

// The causes.
const (
	StoreCauseNone  StoreCause = iota // current
	StoreSilentLink                   // nothing came from the shared store for too long: no message, no confirmation, no answer to a ping
	StoreLinkLost                     // the link to the shared store failed
	StoreLoadFailed                   // reading the shared store's revocations failed
	StoreFull                         // the copy reached its bound on entries
)

var storeCauseNames = [...]string{StoreCauseNone: "none", StoreSilentLink: "silent_link", StoreLinkLost: "link_lost", StoreLoadFailed: "load_failed", StoreFull: "full"}

// String returns "none", "silent_link", "link_lost", "load_failed" or
// "full".
func (c StoreCause) String() string { return enumName(storeCauseNames[:], int(c)) }

// StoreChange is one change of a shared store's state.
type StoreChange struct {
	State      StoreState
	Cause      StoreCause // StoreCauseNone when State is StoreCurrent
	Detail     string     // a sentence for people: what happened, and what follows
	Entries    int        // revocations the copy holds
	MaxEntries int        // its bound
}

// StoreEvents records the state changes of a revocation store shared among
// instances (the redisrevoke sub-package's) on the audit trail, as events
// of op store_state: a change to stale or incomplete is an error (reason
// store_unavailable) naming its cause, a return to current a success. The
// store calls it; its audit options are the Issuer's, Verifier's and
// Revoker's, so that the trail says when an instance's revocations could
// not be trusted, beside the decisions made meanwhile.
type StoreEvents struct {
	rec   recorder
	store string
}

// NewStoreEvents returns the recorder of a store's state changes, named
// store in its events ("store").
func NewStoreEvents(store string, auditOpts ...RevokerOption) (*StoreEvents, error) {
	if store == "" {
		return nil, errors.New("jwtaudit: NewStoreEvents: empty store name")
	}
	cfg := revokerConfig{audit: defaultAuditConfig()}
	if err := applyAll("NewStoreEvents", auditOpts, func(o RevokerOption) error { return o.applyRevoker(&cfg) }); err != nil {
		return nil, err
	}
	return &StoreEvents{rec: newRecorder(cfg.audit), store: store}, nil
}

// Record records one change as one event. It returns an error wrapping
// [ErrAudit] when the event could not be recorded and the trail fails
// closed; the store's state has changed all the same.
func (s *StoreEvents) Record(ctx context.Context, c StoreChange) error {
	ev := s.rec.begin(OpStoreState)
	ev.Verified = true
	ev.Attrs = []slog.Attr{
		slog.String("store", s.store), slog.String("state", c.State.String()), slog.String("cause", c.Cause.String()),
		slog.Int("entries", c.Entries), slog.Int("max_entries", c.MaxEntries),
	}
	var err error
	if c.State != StoreCurrent {
		err = fail(ReasonStoreUnavailable, "%s", c.Detail)
	}
	return s.rec.finish(ctx, &ev, err, nil)
}
