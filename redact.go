package jwtaudit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"log/slog"
	"sync"
)

// Redactor replaces values in audit events by their salted HMAC-SHA256, as
// HashiCorp Vault's audit devices do: the trail can still be searched for a
// subject (hash the subject with the same salt and look for the result,
// which `jwtaudit hash` does), but whoever reads it without the salt learns
// nothing of the values.
//
// Give it to both sides with [WithRedaction]. It hashes an event's Subject,
// ID ("jti") and every private claim copied by [WithAuditClaims]. A
// Redactor is safe for concurrent use.
type Redactor struct {
	pool sync.Pool // of hash.Hash keyed with the salt
}

// redactedPrefix marks a hashed value, as in Vault's audit logs.
const redactedPrefix = "hmac-sha256:"

// minSaltLen is the shortest salt accepted: as long as the HMAC-SHA256 key
// RFC 2104 recommends (the hash's output size).
const minSaltLen = 32

// NewRedactor returns a redactor keyed with salt, which must be at least 32
// random bytes kept as secret as a signing key: anyone with it can test
// guesses against the trail. The salt is copied.
func NewRedactor(salt []byte) (*Redactor, error) {
	if len(salt) < minSaltLen {
		return nil, errors.New("jwtaudit: NewRedactor: the salt must be at least 32 bytes")
	}
	key := append([]byte(nil), salt...)
	r := &Redactor{}
	r.pool.New = func() any { return hmac.New(sha256.New, key) }
	return r, nil
}

// Hash returns "hmac-sha256:" followed by the hex HMAC-SHA256 of value
// under the salt: the form values take in a redacted trail.
func (r *Redactor) Hash(value string) string {
	h := r.pool.Get().(hash.Hash)
	defer r.pool.Put(h)
	h.Reset()
	h.Write([]byte(value))
	var sum [sha256.Size]byte
	out := make([]byte, 0, len(redactedPrefix)+hex.EncodedLen(sha256.Size))
	out = append(out, redactedPrefix...)
	return string(hex.AppendEncode(out, h.Sum(sum[:0])))
}

// redact replaces the event's identifying values by their hashes.
func (r *Redactor) redact(e *Event) {
	if e.Subject != "" {
		e.Subject = r.Hash(e.Subject)
	}
	if e.ID != "" {
		e.ID = r.Hash(e.ID)
	}
	for i, a := range e.Claims {
		e.Claims[i].Value = slog.StringValue(r.Hash(a.Value.String()))
	}
}
