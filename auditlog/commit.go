package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/jwtaudit/jwtaudit"
)

// The group commit. A record arrives formatted, without its chain members,
// and is added, under s.mu, to the open group; then, if no group is being
// written, its caller writes the open group itself, releasing s.mu: it
// gives each record its chain members (its place, the previous record's
// hash, the chain key's id), hashes it, and writes the group with one
// write(2) (and one fsync under SyncEveryRecord). Otherwise it waits for
// that write to end and looks again. Alone, a record is written at once,
// as it would be without groups; under load, the records that arrive
// during one write all go in the next. Holding s.mu only to add a record
// to a list keeps callers from queueing on the mutex itself.
//
// A group is written whole or not at all: after a failed write or fsync
// the file is cut back to its size before the group, and every record of
// the group is refused, as is every record queued behind it, since those
// are chained on lines that are not in the file. The chain goes back to
// the last record in the file.

// group is records written by one call.
type group struct {
	bodies  [][]byte // the records, without chain members, held by their callers
	lines   []byte   // the records as written
	last    link     // the chain's tip after the group's last record
	done    bool     // written, or refused with err
	err     error
	waiters int // callers whose records are in it
	// ended is signalled (on s.mu) when the group is written or refused,
	// and when the write before it ends, so that one of its callers
	// writes it: only the callers concerned wake.
	ended sync.Cond
}

// maxSpareGroup is the largest group buffer kept for a next group, and
// maxSpareGroups how many are kept: one being written, one gathering, and
// one whose callers have not all woken yet.
const (
	maxSpareGroup  = 1 << 20
	maxSpareGroups = 3
)

// opMember starts the first member an event's line has after "msg": the
// chain members go before it. It cannot occur earlier: a quote inside a
// JSON string is escaped, and "time", "level" and "msg" come before it.
var opMember = []byte(`,"op":`)

// commit writes one record, formatted without its chain members, as
// Record and the recover record do, after a checkpoint if one is due, and
// rotating first if it would make the file larger than MaxSize. arrived
// says that the record was counted in s.arriving while it was encoded.
func (s *Sink) commit(body []byte, arrived bool) error {
	published, err := s.commitLocked(body, arrived)
	s.publish(published)
	return err
}

// publish hands signed checkpoints to Checkpoints.Publish, in order, if
// there is one. It runs outside s.mu.
func (s *Sink) publish(signed [][]byte) {
	for _, checkpoint := range signed {
		s.opts.Checkpoints.Publish(checkpoint)
	}
}

// takeUnpublished returns the checkpoints written since the last call,
// for Publish. The caller holds s.mu.
func (s *Sink) takeUnpublished() [][]byte {
	out := s.unpublished
	s.unpublished = nil
	return out
}

// commitLocked is commit under s.mu, returning the checkpoints it wrote
// (before the record, and after a retention record), for Publish.
func (s *Sink) commitLocked(body []byte, arrived bool) (published [][]byte, err error) {
	// Looked for outside the lock, which is held while a line is chained.
	hasOp := bytes.Contains(body, opMember)
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { published = s.takeUnpublished() }()
	if arrived {
		s.arriving.Add(-1)
	}
	if !hasOp {
		return nil, errors.New("auditlog: a record without an op member") // every event and own record has one
	}
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.checkpointDue() {
		// A checkpoint signs the chain as it stands: everything queued
		// is written first.
		s.drain()
		if err := s.usable(); err != nil {
			return nil, err
		}
		if err := s.writeCheckpoint(); err != nil {
			return nil, err
		}
	}
	n := int64(len(body) + s.chainMembersLen(s.queuedSeq+1))
	if n > maxRecord {
		return nil, fmt.Errorf("auditlog: a record of %d bytes is longer than the %d bytes Open and Verify read back; it is not written", n, maxRecord)
	}
	if s.opts.MaxSize > 0 && s.size+s.queued > 0 && s.size+s.queued+n > s.opts.MaxSize {
		// Rotation closes the file: everything queued is written first.
		s.drain()
		if err := s.usable(); err != nil {
			return nil, err
		}
		if s.size > 0 && s.size+n > s.opts.MaxSize {
			if err := s.rotate(); err != nil {
				return nil, err
			}
		}
	}
	return nil, s.await(s.queue(body))
}

// usable says why the store takes no record, if it does not.
func (s *Sink) usable() error {
	switch {
	case s.closing:
		return jwtaudit.ErrClosed
	case s.broken != nil:
		return fmt.Errorf("auditlog: %s is unusable since a failed write: %w", s.path, s.broken)
	}
	return nil
}

// queue adds a record to the open group, giving it the next place in the
// chain. The caller holds s.mu and has checked that body has an op member;
// body stays untouched until the group is done.
func (s *Sink) queue(body []byte) *group {
	g := s.open
	if g == nil {
		if n := len(s.spares); n > 0 {
			g, s.spares = s.spares[n-1], s.spares[:n-1]
			g.done, g.err = false, nil
		} else {
			g = &group{}
			g.ended.L = &s.mu
		}
		s.open = g
	}
	g.bodies = append(g.bodies, body)
	s.queuedSeq++
	s.queued += int64(len(body) + s.chainMembersLen(s.queuedSeq))
	return g
}

// chain writes a group's records into its lines, each with its chain
// members inserted before its op member, and moves the tip past them. It
// runs without s.mu, by the one caller writing the group.
func (s *Sink) chain(g *group) {
	g.lines = g.lines[:0]
	for _, body := range g.bodies {
		at := bytes.Index(body, opMember)
		start := len(g.lines)
		g.lines = append(g.lines, body[:at]...)
		g.lines = s.appendChainMembers(g.lines)
		g.lines = append(g.lines, body[at:]...)
		line := g.lines[start:]
		s.tip.seq++
		s.hasher.digest(line[:len(line)-1], &s.tip.hash)
	}
	g.last = s.tip
}

// appendChainMembers appends the next record's chain members, as
// slog.JSONHandler writes them.
func (s *Sink) appendChainMembers(dst []byte) []byte {
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, s.tip.seq+1, 10)
	dst = append(dst, `,"prev":"`...)
	dst = hex.AppendEncode(dst, s.tip.hash[:])
	dst = append(dst, `","chain":"`...)
	dst = append(dst, s.hasher.id...) // "sha256" or "hmac-sha256:" and hex: nothing to escape
	if s.instance != "" {
		dst = append(dst, `","instance":"`...)
		dst = append(dst, s.instance...) // CheckInstance's bytes: nothing to escape
	}
	return append(dst, '"')
}

// chainMembersLen is the length of the chain members of record seq.
func (s *Sink) chainMembersLen(seq uint64) int {
	var digits [20]byte
	n := len(`,"seq":,"prev":"","chain":""`) + len(strconv.AppendUint(digits[:0], seq, 10)) +
		hex.EncodedLen(sha256.Size) + len(s.hasher.id)
	if s.instance != "" {
		n += len(`,"instance":""`) + len(s.instance)
	}
	return n
}

// await waits until g is written or refused, writing it itself when no
// other write is under way. The caller holds s.mu.
func (s *Sink) await(g *group) error {
	g.waiters++
	for !g.done {
		if s.flushing {
			g.ended.Wait()
		} else {
			s.flush()
		}
	}
	g.waiters--
	err := g.err
	if g.waiters == 0 && cap(g.lines) <= maxSpareGroup && len(s.spares) < cap(s.spares) {
		clear(g.bodies) // they go back to their callers' pools
		g.bodies = g.bodies[:0]
		s.spares = append(s.spares, g)
	}
	return err
}

// drain writes every queued record. The caller holds s.mu.
func (s *Sink) drain() {
	for s.open != nil || s.flushing {
		if s.flushing {
			s.drained.Wait()
		} else {
			s.flush()
		}
	}
}

// flush chains and writes the open group, releasing s.mu meanwhile so that
// other records can queue behind it. The caller holds s.mu; no other write
// is under way, and none can start until this one ends.
func (s *Sink) flush() {
	s.flushing = true
	if s.arriving.Load() > 0 {
		// Records are being encoded: let them join this group, rather
		// than wait a whole write for the next one. Alone, a record is
		// written without this pause.
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	g := s.open
	s.open = nil
	s.mu.Unlock()
	s.chain(g)
	err := s.writeGroup(g.lines)
	s.mu.Lock()
	s.flushing = false
	s.queued -= int64(len(g.lines))
	if err == nil {
		s.size += int64(len(g.lines))
		s.written = g.last
		if s.opts.Durability != SyncEveryRecord {
			s.dirty = true
		}
	} else {
		// Take the group back, so that the log stays a chain and no
		// refused operation has a record; if even that fails, stop, and
		// have the next Open cut the file back (see refused.go).
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = errors.Join(err, terr)
			mark := refusedMark{Size: s.size, Seq: s.written.seq, Hash: hex.EncodeToString(s.written.hash[:])}
			if merr := s.lock.markRefused(mark); merr != nil {
				s.broken = errors.Join(s.broken, fmt.Errorf("auditlog: recording the refused write in %s: %w", s.lock.f.Name(), merr))
			}
		}
		g.err = err
		if behind := s.open; behind != nil {
			s.open = nil
			behind.err = fmt.Errorf("auditlog: not written: a record before it could not be: %w", err)
			behind.done = true
			behind.ended.Broadcast()
		}
		s.tip, s.queuedSeq, s.queued = s.written, s.written.seq, 0
	}
	g.done = true
	g.ended.Broadcast()
	if s.open != nil {
		s.open.ended.Signal() // one of its callers writes it
	}
	s.drained.Broadcast()
}

// writeGroup writes a group's lines with one call, and syncs them under
// SyncEveryRecord. Like chain, it runs without s.mu: s.f, s.tip and the
// hasher change only under s.mu while no group is being written (rotation
// and Close drain first).
func (s *Sink) writeGroup(lines []byte) error {
	if _, err := s.f.Write(lines); err != nil {
		return fmt.Errorf("auditlog: writing %s: %w", s.path, err)
	}
	if s.opts.Durability == SyncEveryRecord {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("auditlog: syncing %s: %w", s.path, err)
		}
	}
	return nil
}
