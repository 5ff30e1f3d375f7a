package auditlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

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
	// then be signed by one of them, the log must hold at least one, and
	// every record must be covered by one (a closed log ends with a
	// checkpoint) unless OpenTail says the log is still being written.
	// Without them, checkpoints are still held to the chain and to their
	// cadence, but their signatures are not checked, and records after
	// the last checkpoint are only counted (Report.Uncovered).
	CheckpointKeys []string

	// OpenTail says that the log is still being written: records after
	// its last checkpoint are accepted, but no more of them than its
	// cadence allows (Checkpoints.Every, which each checkpoint states), and
	// none whose time is more than Checkpoints.Interval after the last
	// checkpoint's. A log whose last checkpoints were stripped, and whose
	// end was rewritten, fails unless it was cut back to within one
	// cadence of its end; a head kept elsewhere (Head, Heads: a published
	// checkpoint) closes that gap too.
	OpenTail bool

	// Instances, for VerifyInstances, are the instances the fleet has: a
	// log of each must be among the files, and a log of no other may be.
	Instances []string

	// Heads, for VerifyInstances, are saved heads (or published
	// checkpoints) by instance: each instance's log must contain its head,
	// unchanged, so that a log rolled back or cut short fails. An instance
	// named here is expected as if it were in Instances.
	Heads map[string]Head
}

// Report describes a log that verified.
type Report struct {
	Files    []string // the files, in chain order
	Records  uint64   // records checked
	FirstSeq uint64   // sequence number of the first record
	Head     Head     // the last record

	// Checkpoints is the number of checkpoint records, and LastCheckpoint
	// the last record one of them signed (0 without checkpoints): records
	// after it are vouched for by the chain alone. Uncovered is how many
	// records come after the last checkpoint record (every record, when the
	// log holds none).
	Checkpoints    uint64
	LastCheckpoint uint64
	Uncovered      uint64

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
	rep.Records, rep.FirstSeq, rep.Head = v.records, v.firstSeq, Head{Seq: v.seq, Hash: v.hash}
	rep.Checkpoints, rep.LastCheckpoint, rep.Instance = v.checkpoints, v.lastCheckpoint, v.instance
	rep.Uncovered = v.records
	if v.checkpoints > 0 {
		rep.Uncovered = v.seq - v.lastCheckpointRecord
	}
	if v.firstSeq > 1 {
		if err := v.checkRemoval(ordered[0]); err != nil {
			return rep, err
		}
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
	if v.checkpointKeys != nil && v.checkpoints == 0 {
		return rep, &ChainError{File: v.file0, Line: v.line0, Problem: "the log holds no signed checkpoint, and checkpoint keys were given: it was written without checkpoints, or they were stripped"}
	}
	if err := v.checkTail(rep.Uncovered, opts.OpenTail); err != nil {
		return rep, err
	}
	return rep, nil
}

// InstanceReport is the verdict on one instance's log (see
// VerifyInstances).
type InstanceReport struct {
	Instance string
	Report   Report
	Err      error // nil when the instance's chain holds; often a *ChainError or a *FleetError
}

// FleetError says that a fleet's files are not the fleet expected
// (VerifyOptions.Instances, VerifyOptions.Heads): an instance's log is
// missing, or a log belongs to no instance of the fleet.
type FleetError struct {
	Instance string
	Problem  string
}

// Error returns "instance ID: problem".
func (e *FleetError) Error() string {
	return fmt.Sprintf("instance %q: %s", e.Instance, e.Problem)
}

// VerifyInstances verifies the logs of several instances of a service at
// once, files from several machines copied into one place: it groups the
// files by the instance their first record names and verifies each
// instance's chain on its own, as Verify does, so that one instance's
// broken log does not hide whether the others hold. Files that hold no
// record yet belong to no instance and are left out when there are
// several. The reports come in the order of the instances' ids.
//
// Without expectations, a fleet is whatever the files hold: a log left
// out, or rolled back to an earlier state, is not noticed. Say what the
// fleet should be: opts.Instances names the instances whose logs must all
// be there (and no other's), and opts.Heads a saved head, or a published
// checkpoint, per instance, which that instance's log must contain. A
// missing or unexpected instance has a report whose Err is a *FleetError.
// opts.Head names one instance's record: with several instances it is
// refused (use Heads).
func VerifyInstances(paths []string, opts VerifyOptions) ([]InstanceReport, error) {
	if len(paths) == 0 {
		return nil, errors.New("auditlog: no file to verify")
	}
	expected := map[string]bool{}
	for _, id := range opts.Instances {
		expected[id] = true
	}
	for id := range opts.Heads {
		expected[id] = true
	}
	for id := range expected {
		if err := CheckInstance(id); err != nil {
			return nil, err
		}
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
	if len(groups) <= 1 && len(expected) == 0 {
		rep, err := Verify(paths, opts)
		return []InstanceReport{{Instance: rep.Instance, Report: rep, Err: err}}, nil
	}
	if opts.Head != nil && len(groups) > 1 {
		return nil, errors.New("auditlog: a head is one instance's: give that instance's files alone, or name it by instance (Heads)")
	}
	var out []InstanceReport
	for instance := range expected {
		if groups[instance] == nil {
			out = append(out, InstanceReport{Instance: instance, Err: &FleetError{Instance: instance,
				Problem: "no log of this instance is among the files: the fleet expects one"}})
		}
	}
	for instance, files := range groups {
		if len(expected) > 0 && !expected[instance] {
			out = append(out, InstanceReport{Instance: instance, Err: &FleetError{Instance: instance,
				Problem: fmt.Sprintf("%d file(s) of this instance were given, and it is not an instance of the fleet expected", len(files))}})
			continue
		}
		one := opts
		if h, ok := opts.Heads[instance]; ok {
			one.Head = &h
		}
		rep, err := Verify(files, one)
		out = append(out, InstanceReport{Instance: instance, Report: rep, Err: err})
	}
	slices.SortFunc(out, func(a, b InstanceReport) int { return strings.Compare(a.Instance, b.Instance) })
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

	firstPrev   string // "prev" of the first record
	removalSeq  uint64 // the retention record that accounts for the records before the first, or 0
	removalFile string
	removalLine int

	checkpointKeys              note.Verifiers // nil: signatures unchecked
	checkpoints, lastCheckpoint uint64
	lastCheckpointRecord        uint64         // the last checkpoint record's own place
	lastNote                    checkpointNote // what it says
	late                        tailRecord     // the first record after it too late for its interval
	firstAfter                  tailRecord     // the first record after it

	instance string // every record's
}

// tailRecord places a record after the last checkpoint, for an error.
type tailRecord struct {
	seq  uint64
	file string
	line int
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
	if rec.Retention && rec.RemovedThrough+1 == v.firstSeq && rec.RemovedHead == v.firstPrev && v.removalSeq == 0 {
		v.removalSeq, v.removalFile, v.removalLine = seq, path, n
	}
	if rec.Checkpoint {
		cn, err := checkCheckpoint(rec.SignedCheckpoint, seq, prev, v.checkpointKeys)
		if err != nil {
			return bad("checkpoint record %d: %v", seq, err)
		}
		if err := v.checkCadence(cn, seq); err != nil {
			return bad("checkpoint record %d: %v", seq, err)
		}
		v.checkpoints, v.lastCheckpoint, v.lastCheckpointRecord, v.lastNote = v.checkpoints+1, seq-1, seq, cn
		v.late, v.firstAfter = tailRecord{}, tailRecord{}
	} else if v.checkpoints > 0 {
		if v.firstAfter.seq == 0 {
			v.firstAfter = tailRecord{seq, path, n}
		}
		if v.late.seq == 0 && v.tooLate(rec.Time) {
			v.late = tailRecord{seq, path, n}
		}
	}
	v.records++
	v.seq, v.hash, v.file0, v.line0 = seq, hash, path, n
	if v.head != nil && seq == v.head.Seq {
		v.headFound, v.headMatches, v.headFile, v.headLine = true, hash == v.head.Hash, path, n
	}
	return nil
}

// checkCadence holds the run of records before a checkpoint, back to the
// one before it, to the cadence the two state: a store writes a checkpoint
// once Every records follow the last (or sooner), across restarts too, so
// a longer run means checkpoints are missing. A checkpoint that says
// "resumed" follows records written without checkpoints, and one that
// states no cadence was written before checkpoints did: neither run is
// held to one.
func (v *verifier) checkCadence(cn checkpointNote, seq uint64) error {
	if v.checkpoints == 0 || cn.resumed || cn.every == 0 || v.lastNote.every == 0 {
		return nil
	}
	run, every := seq-v.lastCheckpointRecord-1, max(cn.every, v.lastNote.every)
	if run > every {
		return fmt.Errorf("%d records follow the checkpoint before it (record %d), and the log's cadence is a checkpoint every %d: checkpoints are missing",
			run, v.lastCheckpointRecord, every)
	}
	return nil
}

// tooLate reports whether a record written at the given time (RFC 3339,
// as the record says) should have been preceded by a checkpoint, by the
// last checkpoint's interval: a store writes one at the first record after
// Interval has passed. Times are the events' own: a record whose time
// cannot be read is not judged by it.
func (v *verifier) tooLate(recordTime string) bool {
	n := v.lastNote
	if n.interval <= 0 || n.time.IsZero() {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, recordTime)
	// The note's time has whole seconds: a record within the second after
	// the deadline is not judged.
	return err == nil && t.After(n.time.Add(n.interval+time.Second))
}

// checkTail judges the records after the last checkpoint. With checkpoint
// keys, a closed log has none; a log still being written (OpenTail) has no
// more than its cadence allows.
func (v *verifier) checkTail(uncovered uint64, openTail bool) error {
	if v.checkpoints == 0 || uncovered == 0 {
		return nil
	}
	first := v.firstAfter
	switch n := v.lastNote; {
	case openTail && n.every > 0 && uncovered > n.every:
		return &ChainError{File: first.file, Line: first.line, Problem: fmt.Sprintf(
			"%d records follow the last checkpoint (record %d), and the log's cadence is a checkpoint every %d: checkpoints were stripped from its end",
			uncovered, v.lastCheckpointRecord, n.every)}
	case openTail && v.late.seq != 0:
		return &ChainError{File: v.late.file, Line: v.late.line, Problem: fmt.Sprintf(
			"record %d is more than the interval (%s) after the last checkpoint (record %d, %s), with no checkpoint before it: checkpoints were stripped from the log's end",
			v.late.seq, n.interval, v.lastCheckpointRecord, n.time.Format(time.RFC3339))}
	case !openTail && v.checkpointKeys != nil:
		return &ChainError{File: first.file, Line: first.line, Problem: fmt.Sprintf(
			"records %d to %d follow the last checkpoint (record %d) and are signed by none: a closed log ends with a checkpoint, so this one was cut short or its last checkpoints were stripped (if it is still being written, say so: OpenTail, --open-tail)",
			first.seq, v.seq, v.lastCheckpointRecord)}
	}
	return nil
}

// checkRemoval accepts a chain that starts after record 1 only when a
// retention record accounts for the records before it, and, in a log with
// checkpoints (or verified with checkpoint keys), only when a checkpoint
// after the retention record signs it: otherwise anyone who can cut
// records from the start of the log can append a retention record that
// says the sink removed them.
func (v *verifier) checkRemoval(firstFile string) error {
	if v.removalSeq == 0 {
		return &ChainError{File: firstFile, Line: 1, Problem: fmt.Sprintf(
			"the chain starts at record %d: records 1 to %d are missing, and no retention record says the sink removed them", v.firstSeq, v.firstSeq-1)}
	}
	if (v.checkpoints > 0 || v.checkpointKeys != nil) && v.lastCheckpointRecord < v.removalSeq {
		return &ChainError{File: v.removalFile, Line: v.removalLine, Problem: fmt.Sprintf(
			"the retention record %d, which accounts for records 1 to %d, is signed by no checkpoint after it: it may have been appended by whoever cut them", v.removalSeq, v.firstSeq-1)}
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
