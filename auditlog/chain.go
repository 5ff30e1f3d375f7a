package auditlog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
)

// Head is the position of the chain's last record: its sequence number and
// its hash. Store it away from the log (another machine, a ticket, a
// signed message): only a head kept elsewhere reveals records cut from the
// end of the log, which leaves no gap in the chain.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"` // hex SHA-256 (or HMAC-SHA256) of the record's line
}

// genesis is the "prev" of the first record of a chain.
var genesis = hex.EncodeToString(make([]byte, sha256.Size))

// minChainKey is the shortest chain key accepted: as long as the HMAC-SHA256
// key RFC 2104 recommends, as for the redaction salt.
const minChainKey = 32

// chainHasher hashes record lines: SHA-256, or HMAC-SHA256 under a chain
// key, which someone without the key cannot recompute after an edit.
type chainHasher struct {
	h  hash.Hash
	id string // names the key, never shows it: written in every record
}

func newChainHasher(key []byte) (chainHasher, error) {
	if len(key) == 0 {
		return chainHasher{h: sha256.New(), id: "sha256"}, nil
	}
	if len(key) < minChainKey {
		return chainHasher{}, fmt.Errorf("auditlog: the chain key is %d bytes; at least %d are required", len(key), minChainKey)
	}
	return chainHasher{h: hmac.New(sha256.New, key), id: keyID(key)}, nil
}

// keyID derives a name for a chain key: the first 8 bytes of its HMAC over
// a fixed label, in hex. It tells two keys apart and reveals nothing of
// either.
func keyID(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("jwtaudit chain key id"))
	return "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil)[:8])
}

// sum returns the hex hash of one line, without its newline.
func (c chainHasher) sum(line []byte) string {
	var d [sha256.Size]byte
	c.digest(line, &d)
	return hex.EncodeToString(d[:])
}

// digest hashes one line, without its newline, into d.
func (c chainHasher) digest(line []byte, d *[sha256.Size]byte) {
	c.h.Reset()
	c.h.Write(line)
	c.h.Sum(d[:0])
}

// link is a place in the chain: a record's sequence number and hash (the
// zero link is the place before the first record, whose hash is genesis).
type link struct {
	seq  uint64
	hash [sha256.Size]byte
}

// head returns the link as a Head.
func (l link) head() Head { return Head{Seq: l.seq, Hash: hex.EncodeToString(l.hash[:])} }

// chainRecord is what the chain needs of one record: its place, the hash
// of the one before, the key that chained it, and, on a retention record,
// which records the sink removed.
type chainRecord struct {
	Time     string // as written: RFC 3339
	Seq      uint64
	Prev     string
	Chain    string // the chain key's id
	Instance string // the store's, or "" in a log begun without
	// A retention record says that records 1 to RemovedThrough are gone
	// and that the last of them hashed to RemovedHead.
	Retention      bool
	RemovedThrough uint64
	RemovedHead    string
	// A checkpoint record holds a signed note (see Checkpoints).
	Checkpoint       bool
	SignedCheckpoint string
}

// chainFields are the members parseChain decodes.
type chainFields struct {
	Time           string  `json:"time"`
	Seq            *uint64 `json:"seq"`
	Prev           *string `json:"prev"`
	Chain          *string `json:"chain"`
	Instance       string  `json:"instance"`
	Op             string  `json:"op"`
	RemovedThrough uint64  `json:"removed_through"`
	RemovedHead    string  `json:"removed_head"`
	Checkpoint     string  `json:"checkpoint"`
}

var errNotChained = errors.New("not a record of a chained audit log (no seq, prev and chain)")

// parseChain reads the chain members of one line; the rest of the record
// is only checked to be JSON.
func parseChain(line []byte) (chainRecord, error) {
	// Unmarshal refuses anything after the object too, which a Decoder
	// would leave unread.
	var f chainFields
	if err := json.Unmarshal(line, &f); err != nil {
		return chainRecord{}, fmt.Errorf("not a JSON record: %w", err)
	}
	if f.Seq == nil || f.Prev == nil || f.Chain == nil {
		return chainRecord{}, errNotChained
	}
	return chainRecord{
		Time: f.Time, Seq: *f.Seq, Prev: *f.Prev, Chain: *f.Chain, Instance: f.Instance,
		Retention: f.Op == opRetention, RemovedThrough: f.RemovedThrough, RemovedHead: f.RemovedHead,
		Checkpoint: f.Op == opCheckpoint, SignedCheckpoint: f.Checkpoint,
	}, nil
}

// opRetention is the op of the record a sink writes when its retention
// (Options.MaxFiles) deletes a rotated file.
const opRetention = "retention"
