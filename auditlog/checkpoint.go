package auditlog

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoints makes a store sign its chain as it goes (Options.Checkpoints),
// as Certificate Transparency's signed tree heads do: every Every records,
// and at the first record after Interval has passed, the store writes a
// "checkpoint" record holding a signed note (the C2SP signed-note format
// of the Go checksum database, golang.org/x/mod/sumdb/note) whose body is a
// C2SP tlog checkpoint: the log's origin, the number of the record before
// it, and that record's chain hash, with the time and the cadence (Every,
// Interval) as extension lines. Close writes one for the records since
// the last, so a closed log ends with a checkpoint; a store that reopens a
// log counts its cadence from the log's last checkpoint.
//
// With the signer's verifier key, [Verify] (VerifyOptions.CheckpointKeys)
// checks every checkpoint against the chain, every run of records between
// two checkpoints against their cadence, and that every record is covered
// by a checkpoint (or, with VerifyOptions.OpenTail, that the records after
// the last one are within its cadence): rewriting the log, rebuilding its
// chain, and stripping the checkpoints from its end are then caught
// whatever the chain key, by anyone without the signing key, but for a
// rewrite of the records within one cadence of the end of a log still
// being written. A checkpoint handed elsewhere as well (Publish) is a head
// kept away from the log, that a log cut short must still contain.
//
// A checkpoint costs a signature (an Ed25519 one: tens of microseconds, or
// a KMS call) every Every records; between checkpoints, a record costs
// what it did. If signing fails, the record that was to follow the
// checkpoint is refused, as a record that cannot be written is.
type Checkpoints struct {
	// Signer signs each checkpoint: one of note.NewSigner's, from the key
	// text `jwtaudit keygen --checkpoint` writes, or NewCheckpointSigner's,
	// for an Ed25519 key behind a crypto.Signer (a KMS, an HSM).
	Signer note.Signer

	// Origin names the log in its checkpoints: its first line, unique to
	// this log, such as "auth.example.com/token.log".
	Origin string

	// Every is the number of records between checkpoints (default 1000);
	// Interval, when positive, also makes one at the first record after it
	// has passed since the last.
	Every    uint64
	Interval time.Duration

	// Publish, when set, is handed each signed checkpoint once it is in
	// the log, outside the store's lock: send it to another machine, a
	// ticket, a witness. It must not keep the slice.
	Publish func(signed []byte)
}

// defaultCheckpointEvery is Checkpoints.Every's default.
const defaultCheckpointEvery = 1000

// opCheckpoint is the op of a checkpoint record.
const opCheckpoint = "checkpoint"

// check validates c and fills in its defaults.
func (c *Checkpoints) check() error {
	switch {
	case c.Signer == nil:
		return errors.New("auditlog: Checkpoints.Signer is nil")
	case c.Origin == "" || strings.ContainsAny(c.Origin, "\n\r"):
		return errors.New("auditlog: Checkpoints.Origin must be one non-empty line")
	case c.Interval < 0:
		return errors.New("auditlog: negative Checkpoints.Interval")
	}
	if c.Every == 0 {
		c.Every = defaultCheckpointEvery
	}
	return nil
}

// NewCheckpointSigner returns a signer of checkpoints named name (a word
// without spaces or '+', such as "auth.example.com/token-log") for an
// Ed25519 key held by any crypto.Signer: an ed25519.PrivateKey, or a key in
// a KMS or HSM that signs plain Ed25519 messages.
func NewCheckpointSigner(name string, key crypto.Signer) (note.Signer, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("auditlog: NewCheckpointSigner: a %T public key; checkpoints are signed with Ed25519", key.Public())
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("auditlog: NewCheckpointSigner: %w", err)
	}
	v, err := note.NewVerifier(vkey) // checks the name, and works out the key hash
	if err != nil {
		return nil, fmt.Errorf("auditlog: NewCheckpointSigner: %w", err)
	}
	return cryptoSigner{name: name, hash: v.KeyHash(), key: key}, nil
}

// CheckpointVerifierKey returns the verifier key of a checkpoint signer's
// Ed25519 public key, in the note format ("name+hash+key") that
// VerifyOptions.CheckpointKeys and `jwtaudit verify --checkpoint-key` take.
func CheckpointVerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	return note.NewEd25519VerifierKey(name, pub)
}

// cryptoSigner is a note.Signer over a crypto.Signer's Ed25519 key.
type cryptoSigner struct {
	name string
	hash uint32
	key  crypto.Signer
}

func (s cryptoSigner) Name() string    { return s.name }
func (s cryptoSigner) KeyHash() uint32 { return s.hash }
func (s cryptoSigner) Sign(msg []byte) ([]byte, error) {
	return s.key.Sign(rand.Reader, msg, crypto.Hash(0)) // Ed25519 signs the message itself
}

// checkpointDue reports whether the next record must follow a checkpoint.
// The caller holds s.mu.
func (s *Sink) checkpointDue() bool {
	c := s.opts.Checkpoints
	if c == nil {
		return false
	}
	if s.queuedSeq < s.checkpointed { // a failed write took records back
		s.checkpointed = s.queuedSeq
	}
	since := s.queuedSeq - s.checkpointed
	return since >= c.Every || since > 0 && c.Interval > 0 && time.Since(s.checkpointTime) >= c.Interval
}

// writeCheckpoint signs the chain as it stands and appends the checkpoint
// record, keeping the signed note for Publish (takeUnpublished). The
// caller holds s.mu, and nothing is queued.
//
// Beside the log's origin, size and hash, the note carries, as extension
// lines, its time and the store's cadence ("every N", "interval D"), so
// that Verify can hold the log to it: a log whose last checkpoints were
// stripped has more records after its last checkpoint than the cadence
// allows. The first checkpoint of a store that found no checkpoint within
// its cadence when it opened the log also says "resumed": the records
// before it were written while no checkpoints were being made.
func (s *Sink) writeCheckpoint() error {
	c, now := s.opts.Checkpoints, time.Now()
	body := tlog.Checkpoint{Origin: c.Origin, Size: s.tip.seq, Hash: s.tip.hash[:]}.Marshal()
	text := string(body) + "time " + now.UTC().Format(time.RFC3339) + "\n" +
		"every " + strconv.FormatUint(c.Every, 10) + "\n" + "interval " + c.Interval.String() + "\n"
	if s.resumed {
		text += "resumed\n"
	}
	signed, err := note.Sign(&note.Note{Text: text}, c.Signer)
	if err != nil {
		return fmt.Errorf("auditlog: signing a checkpoint: %w", err)
	}
	line := ownRecord(slog.LevelInfo, "audit log checkpoint",
		slog.String("op", opCheckpoint),
		slog.Uint64("size", s.tip.seq),
		slog.String("root", hex.EncodeToString(s.tip.hash[:])),
		slog.String("checkpoint", string(signed)),
	)
	if err := s.await(s.queue(line)); err != nil {
		return err
	}
	s.checkpointed, s.checkpointTime, s.resumed = s.queuedSeq, now, false
	if c.Publish != nil {
		s.unpublished = append(s.unpublished, signed)
	}
	return nil
}

// checkpointNote is what a checkpoint record's signed note says.
type checkpointNote struct {
	size     uint64 // the record it signs
	hash     string // that record's hash, in hex
	time     time.Time
	every    uint64        // the store's cadence; 0 when the note does not say (written before notes did)
	interval time.Duration // 0: none
	resumed  bool          // the first checkpoint after records written without any
}

// readCheckpointNote reads a checkpoint record's note, checking its
// signature against keys when any are given.
func readCheckpointNote(signed string, keys note.Verifiers) (checkpointNote, error) {
	var text string
	if keys != nil {
		n, err := note.Open([]byte(signed), keys)
		if err != nil {
			return checkpointNote{}, fmt.Errorf("its signature does not verify with the checkpoint keys given: %w", err)
		}
		text = n.Text
	} else {
		var ok bool
		if text, _, ok = strings.Cut(signed, "\n\n"); !ok {
			return checkpointNote{}, errors.New("its checkpoint is not a signed note")
		}
		text += "\n"
	}
	var cp tlog.Checkpoint
	rest, err := cp.Unmarshal([]byte(text))
	if err != nil {
		return checkpointNote{}, err
	}
	cn := checkpointNote{size: cp.Size, hash: hex.EncodeToString(cp.Hash)}
	for _, line := range strings.Split(string(rest), "\n") {
		name, value, _ := strings.Cut(line, " ")
		switch name {
		case "time":
			cn.time, err = time.Parse(time.RFC3339, value)
		case "every":
			cn.every, err = strconv.ParseUint(value, 10, 64)
		case "interval":
			cn.interval, err = time.ParseDuration(value)
		case "resumed":
			cn.resumed = true
		}
		if err != nil {
			return checkpointNote{}, fmt.Errorf("its checkpoint's %q line: %w", name, err)
		}
	}
	return cn, nil
}

// checkCheckpoint checks a checkpoint record: its note is signed by one of
// keys (when any are given) and commits to the record before it, whose
// number is seq-1 and whose hash is prev.
func checkCheckpoint(signed string, seq uint64, prev string, keys note.Verifiers) (checkpointNote, error) {
	cn, err := readCheckpointNote(signed, keys)
	if err != nil {
		return cn, err
	}
	if cn.size != seq-1 || cn.hash != prev {
		return cn, fmt.Errorf("its checkpoint, of record %d, does not match the chain: the log was rewritten", cn.size)
	}
	return cn, nil
}
