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

// chainHasher hashes record lines: SHA-256, or HMAC-SHA256 under a chain
// key, which someone without the key cannot recompute after an edit.
type chainHasher struct {
	h hash.Hash
}

func newChainHasher(key []byte) chainHasher {
	if len(key) > 0 {
		return chainHasher{h: hmac.New(sha256.New, key)}
	}
	return chainHasher{h: sha256.New()}
}

// sum returns the hex hash of one line, without its newline.
func (c chainHasher) sum(line []byte) string {
	c.h.Reset()
	c.h.Write(line)
	var out [sha256.Size]byte
	return hex.EncodeToString(c.h.Sum(out[:0]))
}

// chainFields are the members every record of a chained log carries.
type chainFields struct {
	Seq  *uint64 `json:"seq"`
	Prev *string `json:"prev"`
}

var errNotChained = errors.New("not a record of a chained audit log (no seq and prev)")

// parseChain reads the chain members of one line. Only the two members are
// decoded; the rest of the record is only checked to be JSON.
func parseChain(line []byte) (seq uint64, prev string, err error) {
	// Unmarshal refuses anything after the object too, which a Decoder
	// would leave unread.
	var f chainFields
	if err := json.Unmarshal(line, &f); err != nil {
		return 0, "", fmt.Errorf("not a JSON record: %w", err)
	}
	if f.Seq == nil || f.Prev == nil {
		return 0, "", errNotChained
	}
	return *f.Seq, *f.Prev, nil
}
