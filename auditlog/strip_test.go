package auditlog

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

// checkpointOp says whether a log line is a checkpoint record.
func checkpointOp(line string) bool {
	return strings.Contains(line, `"op":"checkpoint"`)
}

// TestStrippedCheckpointsFail drops the checkpoints after the first few,
// edits a record after them and rebuilds the chain, as anyone who can
// write a plain SHA-256 log (or who holds its chain key) can: the records
// after the last checkpoint left are signed by none, which a closed log
// never has, and they are more than the cadence allows, which a log still
// being written never has either.
func TestStrippedCheckpointsFail(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	path := filepath.Join(t.TempDir(), "token.log")
	writeCheckpointed(t, path, signer, 20) // Every 3
	keys := VerifyOptions{CheckpointKeys: []string{vkey}}
	if rep, err := Verify([]string{path}, keys); err != nil || rep.Uncovered != 0 {
		t.Fatalf("the log as written: %+v, %v", rep, err)
	}

	ls := lines(t, path)
	kept, from := 0, 0
	var stripped []string
	for _, line := range ls {
		if checkpointOp(line) {
			if kept++; kept > 2 {
				if from == 0 {
					from = len(stripped)
				}
				continue
			}
		}
		stripped = append(stripped, strings.Replace(line, `"sub":"user-15"`, `"sub":"mallory"`, 1))
	}
	writeLines(t, path, rechain(t, stripped, from, nil))

	for _, tc := range []struct {
		name string
		opts VerifyOptions
		want string
	}{
		{"closed, with keys", keys, "signed by none"},
		{"open tail, with keys", VerifyOptions{CheckpointKeys: keys.CheckpointKeys, OpenTail: true}, "cadence is a checkpoint every 3"},
		{"open tail, without keys", VerifyOptions{OpenTail: true}, "cadence is a checkpoint every 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Verify([]string{path}, tc.opts)
			if !isChainError(err, tc.want) {
				t.Errorf("Verify = %+v, %v; want a failure saying %q", rep, err, tc.want)
			}
		})
	}
	// Without keys and without OpenTail the log is not judged by its
	// checkpoints' signatures, but the uncovered records are counted.
	rep, err := Verify([]string{path}, VerifyOptions{})
	if err != nil || rep.Uncovered == 0 || rep.Uncovered != rep.Head.Seq-rep.LastCheckpoint-1 {
		t.Errorf("without keys: %+v, %v", rep, err)
	}
}

// TestOpenTail verifies a log that is still being written: its records
// after the last checkpoint fail a verification that expects a closed log,
// and pass one that is told the tail is open.
func TestOpenTail(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	path := filepath.Join(t.TempDir(), "token.log")
	s, err := Open(path, Options{Checkpoints: &Checkpoints{Signer: signer, Origin: "example.com/token.log", Every: 5}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 8 { // a checkpoint before the sixth: two records after it
		if err := s.Record(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{vkey}}); !isChainError(err, "records 7 to 9 follow the last checkpoint (record 6)") {
		t.Errorf("a live log verified as closed: %v", err)
	}
	rep, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{vkey}, OpenTail: true})
	if err != nil || rep.Uncovered != 3 || rep.LastCheckpoint != 5 {
		t.Errorf("a live log with an open tail: %+v, %v", rep, err)
	}
}

// TestOpenTailInterval: with an interval, a store checkpoints at the first
// record after it has passed, so a record in the open tail more than the
// interval after the last checkpoint shows that checkpoints were stripped,
// whatever the count.
func TestOpenTailInterval(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	path := filepath.Join(t.TempDir(), "token.log")
	s, err := Open(path, Options{Checkpoints: &Checkpoints{Signer: signer, Origin: "example.com/token.log", Every: 1000, Interval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	at := func(i int, d time.Duration) jwtaudit.Event { e := event(i); e.Time = now.Add(d); return e }
	for i, d := range []time.Duration{0, time.Minute} {
		if err := s.Record(context.Background(), at(i, d)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // a checkpoint, now
	opts := VerifyOptions{CheckpointKeys: []string{vkey}, OpenTail: true}
	if _, err := Verify([]string{path}, opts); err != nil {
		t.Fatal(err)
	}
	// Records appended after the checkpoint, as a rewrite of the end
	// would leave them: one within the interval passes, one two hours
	// after the checkpoint does not.
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{10 * time.Minute, true}, {2 * time.Hour, false}} {
		ls := lines(t, path)
		var m map[string]any
		json.Unmarshal([]byte(ls[len(ls)-2]), &m)
		m["time"] = now.Add(tc.after).UTC().Format(time.RFC3339Nano)
		m["sub"] = "appended"
		b, _ := json.Marshal(m)
		tail := filepath.Join(t.TempDir(), "token.log")
		writeLines(t, tail, rechain(t, append(ls, string(b)), len(ls), nil))
		_, err := Verify([]string{tail}, opts)
		if tc.ok != (err == nil) || !tc.ok && !isChainError(err, "more than the interval (1h0m0s) after the last checkpoint") {
			t.Errorf("a record %v after the checkpoint: %v", tc.after, err)
		}
	}
}

// TestCadenceRunsOnAcrossRestarts reopens a log, after a Close and after
// a crash (the file as it was before Close), and checks that the store
// counts its cadence from the log's last checkpoint, not from its own
// start: every run between checkpoints stays within Every, and Verify,
// which holds the runs to it, passes.
func TestCadenceRunsOnAcrossRestarts(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	cp := &Checkpoints{Signer: signer, Origin: "example.com/token.log", Every: 4}
	path := filepath.Join(t.TempDir(), "token.log")
	next := 0
	write := func(n int, crash bool) {
		t.Helper()
		s, err := Open(path, Options{Checkpoints: cp})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			if err := s.Record(context.Background(), event(next)); err != nil {
				t.Fatal(err)
			}
			next++
		}
		before, _ := os.ReadFile(path)
		s.Close()
		if crash {
			os.WriteFile(path, before, 0o600)
		}
	}
	write(6, false)
	write(3, true) // crashed: three records after the last checkpoint
	write(3, false)
	write(9, true)
	write(2, false)
	rep, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{vkey}})
	if err != nil {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	ls := lines(t, path)
	run := 0
	for _, line := range ls {
		if checkpointOp(line) {
			run = 0
			continue
		}
		if run++; run > 4 {
			t.Fatalf("more than Every records between two checkpoints:\n%s", strings.Join(ls, "\n"))
		}
	}
}

// TestResumedCheckpoints turns checkpoints off for a while and on again:
// the first checkpoint after the records written without any says so
// ("resumed"), and the log verifies; the cadence check itself refuses a
// longer run between two checkpoints that do not say so.
func TestResumedCheckpoints(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	cp := &Checkpoints{Signer: signer, Origin: "example.com/token.log", Every: 3}
	path := filepath.Join(t.TempDir(), "token.log")
	for _, c := range []*Checkpoints{cp, nil, cp} {
		writeLog(t, path, Options{Checkpoints: c}, 8)
	}
	if _, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{vkey}}); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(lines(t, path), func(l string) bool { return strings.Contains(l, `resumed\n`) }) {
		t.Error("no checkpoint says it resumed")
	}

	v := verifier{checkpoints: 1, lastCheckpointRecord: 10, lastNote: checkpointNote{every: 3}}
	for _, tc := range []struct {
		note checkpointNote
		seq  uint64
		ok   bool
	}{
		{checkpointNote{every: 3}, 14, true},
		{checkpointNote{every: 3}, 15, false},
		{checkpointNote{every: 5}, 16, true}, // the cadence grew at a restart
		{checkpointNote{every: 3, resumed: true}, 50, true},
		{checkpointNote{}, 50, true}, // written before notes stated a cadence
	} {
		if err := v.checkCadence(tc.note, tc.seq); (err == nil) != tc.ok {
			t.Errorf("a checkpoint %+v at record %d after one at record 10 (every 3): %v", tc.note, tc.seq, err)
		}
	}
}

// TestForgedRetentionFails cuts records from the start of a log with
// checkpoints and appends a retention record that accounts for them, as
// the sink would have written it: a retention record counts only once a
// checkpoint after it signs it, which no one without the signing key can
// add.
func TestForgedRetentionFails(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	path := filepath.Join(t.TempDir(), "token.log")
	writeCheckpointed(t, path, signer, 12)
	ls := lines(t, path)
	const cut = 6
	var removed struct {
		Seq      uint64
		Instance string
	}
	json.Unmarshal([]byte(ls[cut-1]), &removed)
	forged, _ := json.Marshal(map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339Nano), "level": "INFO", "msg": "audit log retention",
		"chain": "sha256", "instance": removed.Instance, "op": opRetention,
		"removed_through": removed.Seq, "removed_head": hashOfLine(ls[cut-1]),
	})
	tampered := rechain(t, append(slices.Clone(ls[cut:]), string(forged)), len(ls)-cut, nil)
	writeLines(t, path, tampered)
	for _, opts := range []VerifyOptions{{}, {CheckpointKeys: []string{vkey}}, {CheckpointKeys: []string{vkey}, OpenTail: true}} {
		if rep, err := Verify([]string{path}, opts); !isChainError(err, "is signed by no checkpoint after it") {
			t.Errorf("with %+v: %+v, %v", opts, rep, err)
		}
	}
}

// TestRetentionWithCheckpoints rotates a log with checkpoints until its
// oldest files are deleted: each retention record is signed by a
// checkpoint right after it, and the log, which no longer starts at record
// 1, verifies with the checkpoint key.
func TestRetentionWithCheckpoints(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	path := filepath.Join(t.TempDir(), "token.log")
	writeLog(t, path, Options{MaxSize: 2000, MaxFiles: 2, Checkpoints: &Checkpoints{Signer: signer, Origin: "example.com/token.log", Every: 50}}, 60)
	files, _ := filepath.Glob(path + "*")
	rep, err := Verify(files, VerifyOptions{CheckpointKeys: []string{vkey}})
	if err != nil || rep.FirstSeq == 1 || rep.Uncovered != 0 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// truncateFails is a gatedFile whose truncate fails: a write that fails
// part-way cannot be taken back.
type truncateFails struct{ *gatedFile }

func (truncateFails) Truncate(int64) error { return syscall.EIO }

// TestRefusedWriteNeverVerifiesAfterReopen: a group write fails part-way
// and its truncate fails too, so that complete lines of refused records
// stay in the file. The store says where the log ended before them, and
// the next Open cuts them off (and says so in a recover record): they
// never verify as part of the trail.
func TestRefusedWriteNeverVerifiesAfterReopen(t *testing.T) {
	for _, n := range []int{1, 4, 16} {
		t.Run(fmt.Sprint(n, " records refused"), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token.log")
			writeLog(t, path, Options{}, 2)
			gf := &gatedFile{entered: make(chan struct{}), gate: make(chan struct{})}
			orig := openFile
			openFile = func(p string, mode os.FileMode) (file, error) {
				f, err := orig(p, mode)
				if err != nil {
					return nil, err
				}
				gf.File = f.(*os.File)
				return truncateFails{gf}, nil
			}
			s, err := Open(path, Options{})
			openFile = orig
			if err != nil {
				t.Fatal(err)
			}
			// One record is written while n queue behind it; their
			// group's write fails half-way.
			first := make(chan error)
			go func() { first <- s.Record(context.Background(), event(10)) }()
			<-gf.entered
			behind := make(chan []error)
			go func() { behind <- recordAll(s, 100, n) }()
			queuedBehind(t, s, n)
			gf.gate <- struct{}{}
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			<-gf.entered
			gf.fail.Store(true)
			gf.gate <- struct{}{}
			for i, err := range <-behind {
				if err == nil {
					t.Errorf("record %d was accepted", i)
				}
			}
			s.Close()
			data, _ := os.ReadFile(path)
			// The group's records queue in any order: any of them will do.
			if n > 2 && !regexp.MustCompile(`"sub":"user-1[0-9][0-9]"`).Match(data) {
				t.Fatal("the failed write left no complete record behind: the test does not test")
			}

			s, err = Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rec := s.Recovered()
			s.Close()
			if rec == nil || rec.RefusedBytes == 0 || rec.AfterSeq != 3 {
				t.Errorf("Recovered = %+v", rec)
			}
			rep, err := Verify([]string{path}, VerifyOptions{})
			if err != nil || rep.Records != 4 {
				t.Errorf("Verify = %+v, %v; want the 3 records written and the recover record", rep, err)
			}
			data, _ = os.ReadFile(path)
			for i := 100; i < 100+n; i++ {
				if strings.Contains(string(data), fmt.Sprintf(`"sub":"user-%d"`, i)) {
					t.Errorf("the refused record of user-%d is still in the log", i)
				}
			}
			if lock, _ := os.ReadFile(lockName(path)); len(lock) != 0 {
				t.Errorf("the lock file still holds %q", lock)
			}
		})
	}
}
