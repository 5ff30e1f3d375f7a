package auditlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"golang.org/x/mod/sumdb/note"
)

// VerifyOptions configures [Verify].
type VerifyOptions struct {
	// ChainKey is the key the log was written with, if any.
	ChainKey []byte

	// Head, when set, is a head saved earlier: the log must contain its
	// record, unchanged. Without it, records cut from the end of the log
	// cannot be noticed.
	Head *Head

	// CheckpointKeys, when set, are the verifier keys of the checkpoint
	// signers (note format, "name+hash+key": CheckpointVerifierKey, or what
	// `jwtaudit keygen --checkpoint` prints). Every checkpoint record must
	// then be signed by one of them, and the log must hold at least one.
	// Without them, checkpoints are still held to the chain, but their
	// signatures are not checked.
	CheckpointKeys []string
}

// Report describes a log that verified.
type Report struct {
	Files    []string // the files, in chain order
	Records  uint64   // records checked
	FirstSeq uint64   // sequence number of the first record
	Head     Head     // the last record

	// Checkpoints is the number of checkpoint records, and LastCheckpoint
	// the last record one of them signed (0 without checkpoints): records
	// after it are vouched for by the chain alone.
	Checkpoints    uint64
	LastCheckpoint uint64

	// Instance is the store's instance id (Options.Instance), or "" for a
	// log begun before instances were recorded.
	Instance string
}

// ChainError names the first line of a log that breaks the chain.
type ChainError struct {
	File    string
	Line    int // 1-based, within File
	Problem string
}

// Error returns "FILE:LINE: problem".
func (e *ChainError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Problem)
}

// maxLine bounds one record when verifying, as readTail does when opening.
const maxLine = maxRecord

// Verify checks that the files form one unbroken chain and returns what
// it found, or a *ChainError naming the first line that does not fit: a
// line edited, inserted, deleted, reordered or torn. The files may be given
// in any order (a shell's token.log* will do): they are put in chain order
// by their first sequence numbers. Record 1's "prev" must be the genesis
// value. A chain that starts after record 1 verifies only when a retention
// record in it says that the sink itself removed the records before (its
// MaxFiles deleted the oldest file) and names the hash of the last of
// them, which the first remaining record's "prev" must equal: records cut
// from the start by anyone else are found. Every record names the key
// that chained it, so a log checked with another key fails as "wrong
// key", not as an edit.
func Verify(paths []string, opts VerifyOptions) (Report, error) {
	var rep Report
	if len(paths) == 0 {
		return rep, errors.New("auditlog: no file to verify")
	}
	ordered, err := chainOrder(paths)
	if err != nil {
		return rep, err
	}
	rep.Files = ordered
	hasher, err := newChainHasher(opts.ChainKey)
	if err != nil {
		return rep, err
	}
	v := verifier{hasher: hasher, head: opts.Head}
	if len(opts.CheckpointKeys) > 0 {
		var list []note.Verifier
		for _, k := range opts.CheckpointKeys {
			nv, err := note.NewVerifier(k)
			if err != nil {
				return rep, fmt.Errorf("auditlog: checkpoint key %q: %w", k, err)
			}
			list = append(list, nv)
		}
		v.checkpointKeys = note.VerifierList(list...)
	}
	for _, path := range ordered {
		if err := v.file(path); err != nil {
			return rep, err
		}
	}
	if v.records == 0 {
		return rep, errors.New("auditlog: the files hold no record")
	}
	if v.firstSeq > 1 && !v.removalRecorded {
		return rep, &ChainError{File: ordered[0], Line: 1, Problem: fmt.Sprintf(
			"the chain starts at record %d: records 1 to %d are missing, and no retention record says the sink removed them", v.firstSeq, v.firstSeq-1)}
	}
	rep.Records, rep.FirstSeq, rep.Head = v.records, v.firstSeq, Head{Seq: v.seq, Hash: v.hash}
	rep.Checkpoints, rep.LastCheckpoint, rep.Instance = v.checkpoints, v.lastCheckpoint, v.instance
	if v.checkpointKeys != nil && v.checkpoints == 0 {
		return rep, fmt.Errorf("auditlog: the log holds no signed checkpoint, and checkpoint keys were given")
	}
	if h := opts.Head; h != nil {
		switch {
		case v.headFound && v.headMatches:
		case v.headFound:
			return rep, &ChainError{File: v.headFile, Line: v.headLine, Problem: fmt.Sprintf("record %d does not match the saved head: it was edited", h.Seq)}
		case h.Seq > v.seq:
			return rep, &ChainError{File: v.file0, Line: v.line0, Problem: fmt.Sprintf("the log ends at record %d but the saved head is record %d: records were cut from the end", v.seq, h.Seq)}
		default:
			return rep, fmt.Errorf("auditlog: the saved head, record %d, is before the first record checked (%d)", h.Seq, v.firstSeq)
		}
	}
	return rep, nil
}

// InstanceReport is the verdict on one instance's log (see
// VerifyInstances).
type InstanceReport struct {
	Instance string
	Report   Report
	Err      error // nil when the instance's chain holds; often a *ChainError
}

// VerifyInstances verifies the logs of several instances of a service at
// once, files from several machines copied into one place: it groups the
// files by the instance their first record names and verifies each
// instance's chain on its own, as Verify does, so that one instance's
// broken log does not hide whether the others hold. Files that hold no
// record yet belong to no instance and are left out when there are
// several. The reports come in the order of the instances' ids.
// opts.Head names one instance's record: with several instances it is
// refused.
func VerifyInstances(paths []string, opts VerifyOptions) ([]InstanceReport, error) {
	if len(paths) == 0 {
		return nil, errors.New("auditlog: no file to verify")
	}
	groups := map[string][]string{}
	for _, p := range paths {
		_, instance, empty, err := firstRecord(p)
		if err != nil {
			return nil, err
		}
		if !empty {
			groups[instance] = append(groups[instance], p)
		}
	}
	if len(groups) <= 1 {
		rep, err := Verify(paths, opts)
		return []InstanceReport{{Instance: rep.Instance, Report: rep, Err: err}}, nil
	}
	if opts.Head != nil {
		return nil, errors.New("auditlog: a head is one instance's: give that instance's files alone")
	}
	var out []InstanceReport
	for _, instance := range slices.Sorted(maps.Keys(groups)) {
		rep, err := Verify(groups[instance], opts)
		out = append(out, InstanceReport{Instance: instance, Report: rep, Err: err})
	}
	return out, nil
}

// verifier carries the chain from one line to the next.
type verifier struct {
	hasher   chainHasher
	head     *Head
	records  uint64
	firstSeq uint64
	seq      uint64 // of the last good line
	hash     string // of the last good line
	file0    string // where the last good line is
	line0    int

	headFound, headMatches bool
	headFile               string
	headLine               int

	firstPrev       string // "prev" of the first record
	removalRecorded bool   // a retention record accounts for the records before the first

	checkpointKeys              note.Verifiers // nil: signatures unchecked
	checkpoints, lastCheckpoint uint64

	instance string // every record's
}

func (v *verifier) file(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("auditlog: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line, err = readLong(r, line)
		}
		if err == io.EOF {
			if len(line) > 0 {
				return &ChainError{File: path, Line: n, Problem: "incomplete last record (torn by a crash while writing)"}
			}
			return nil
		}
		if err != nil {
			return &ChainError{File: path, Line: n, Problem: err.Error()}
		}
		if err := v.line(path, n, line[:len(line)-1]); err != nil {
			return err
		}
	}
}

// line checks one record against the one before it.
func (v *verifier) line(path string, n int, line []byte) error {
	bad := func(format string, args ...any) error {
		return &ChainError{File: path, Line: n, Problem: fmt.Sprintf(format, args...)}
	}
	rec, err := parseChain(line)
	if err != nil {
		if v.records == 0 && n == 1 {
			return bad("not a chained jwtaudit audit log: %v", err)
		}
		return bad("%v: an edited or inserted line", err)
	}
	seq, prev := rec.Seq, rec.Prev
	if rec.Chain != v.hasher.id {
		// Tell a wrong key from an edit: the record names its key.
		return bad("record %d was chained with the key %s, not with the key given (%s): wrong key", seq, rec.Chain, v.hasher.id)
	}
	if v.records > 0 && rec.Instance != v.instance {
		return bad("record %d is instance %q's, the records before it instance %q's: the logs of two instances are mixed", seq, rec.Instance, v.instance)
	}
	hash := v.hasher.sum(line)
	switch {
	case v.records == 0:
		v.instance = rec.Instance
		if seq == 1 && prev != genesis {
			return bad("record 1 does not start a chain")
		}
		v.firstSeq, v.firstPrev = seq, prev
	case seq == v.seq+1 && prev == v.hash:
	case seq == v.seq+1:
		// The sequence runs on, so nothing is missing between the two
		// lines: the line before was changed after its successor was
		// written (or this line's prev was).
		return &ChainError{File: v.file0, Line: v.line0, Problem: fmt.Sprintf(
			"record %d was edited: its hash does not match the prev of the record after it (%s:%d)", v.seq, path, n)}
	case seq > v.seq+1:
		return bad("expected record %d, found %d: records were deleted, or lines reordered", v.seq+1, seq)
	default:
		return bad("record %d after record %d: a line inserted, duplicated or moved", seq, v.seq)
	}
	if rec.Retention && rec.RemovedThrough+1 == v.firstSeq && rec.RemovedHead == v.firstPrev {
		v.removalRecorded = true
	}
	if rec.Checkpoint {
		if err := checkCheckpoint(rec.SignedCheckpoint, seq, prev, v.checkpointKeys); err != nil {
			return bad("checkpoint record %d: %v", seq, err)
		}
		v.checkpoints, v.lastCheckpoint = v.checkpoints+1, seq-1
	}
	v.records++
	v.seq, v.hash, v.file0, v.line0 = seq, hash, path, n
	if v.head != nil && seq == v.head.Seq {
		v.headFound, v.headMatches, v.headFile, v.headLine = true, hash == v.head.Hash, path, n
	}
	return nil
}

// readLong finishes a line longer than the reader's buffer, up to maxLine.
func readLong(r *bufio.Reader, first []byte) ([]byte, error) {
	line := append([]byte(nil), first...)
	for len(line) <= maxLine {
		more, err := r.ReadSlice('\n')
		line = append(line, more...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
	return nil, fmt.Errorf("a line longer than %d bytes", maxLine)
}

// chainOrder sorts files by the sequence number of their first record.
// Empty files (a fresh file just after rotation) go last.
func chainOrder(paths []string) ([]string, error) {
	type entry struct {
		path  string
		first uint64
		empty bool
	}
	entries := make([]entry, 0, len(paths))
	for _, p := range paths {
		first, _, empty, err := firstRecord(p)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{p, first, empty})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.empty != b.empty:
			if a.empty {
				return 1
			}
			return -1
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.path
	}
	return out, nil
}

// firstRecord reads the sequence number and instance of a file's first
// record. A first line that cannot be read is left for the line-by-line
// check to report, ordered as if it came first.
func firstRecord(path string) (seq uint64, instance string, empty bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", false, fmt.Errorf("auditlog: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	line, err := r.ReadSlice('\n')
	if len(bytes.TrimSpace(line)) == 0 && (err == io.EOF) {
		return 0, "", true, nil
	}
	if rec, perr := parseChain(bytes.TrimSuffix(line, []byte("\n"))); perr == nil {
		return rec.Seq, rec.Instance, false, nil
	}
	return 0, "", false, nil
}
