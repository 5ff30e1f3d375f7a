package auditlog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// newCheckpointKey makes a signer and its verifier key.
func newCheckpointKey(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return signer, vkey
}

// writeCheckpointed writes n events to a new log with checkpoints every
// few records and returns the checkpoints it published.
func writeCheckpointed(t *testing.T, path string, signer note.Signer, n int) [][]byte {
	t.Helper()
	var published [][]byte
	s, err := Open(path, Options{Checkpoints: &Checkpoints{Signer: signer, Origin: "example.com/token.log", Every: 3,
		Publish: func(b []byte) { published = append(published, append([]byte(nil), b...)) }}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := s.Record(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return published
}

func TestCheckpointsSignTheChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	published := writeCheckpointed(t, path, signer, 10)

	rep, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{vkey}})
	if err != nil {
		t.Fatal(err)
	}
	// 10 events and a checkpoint after every 3 records, and one at Close.
	if rep.Checkpoints != 4 || rep.LastCheckpoint != rep.Head.Seq-1 || rep.Records != 14 {
		t.Errorf("report %+v", rep)
	}
	if len(published) != int(rep.Checkpoints) {
		t.Fatalf("%d checkpoints published, %d in the log", len(published), rep.Checkpoints)
	}
	// What was published is a C2SP checkpoint any witness can read.
	verifier, _ := note.NewVerifier(vkey)
	last := published[len(published)-1]
	cp, _, _, err := tlog.ParseCheckpoint(last, "example.com/token.log", verifier)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != rep.LastCheckpoint || hex.EncodeToString(cp.Hash) != hashOfLine(lines(t, path)[cp.Size-1]) {
		t.Errorf("the last checkpoint, of record %d, is not the chain's", cp.Size)
	}

	_, otherKey := newCheckpointKey(t, "example.com/token-log")
	if _, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{otherKey}}); !isChainError(err, "signature") {
		t.Errorf("with another checkpoint key: %v", err)
	}
	plain := filepath.Join(t.TempDir(), "plain.log")
	writeLog(t, plain, Options{}, 2)
	if _, err := Verify([]string{plain}, VerifyOptions{CheckpointKeys: []string{vkey}}); err == nil || !strings.Contains(err.Error(), "no signed checkpoint") {
		t.Errorf("a log without checkpoints, with a key: %v", err)
	}
}

func hashOfLine(line string) string {
	sum := sha256.Sum256([]byte(line))
	return hex.EncodeToString(sum[:])
}

func isChainError(err error, problem string) bool {
	var ce *ChainError
	return errors.As(err, &ce) && strings.Contains(ce.Problem, problem)
}

// rebuild edits record 5 of a plain SHA-256 log and chains every record
// after it again, as anyone who can write the file can; with signWith, it
// also writes new checkpoints, signed with that (someone else's) key.
func rebuild(t *testing.T, path string, signWith note.Signer) {
	t.Helper()
	ls := lines(t, path)
	ls[4] = strings.Replace(ls[4], `"sub":"user-4"`, `"sub":"mallory"`, 1)
	writeLines(t, path, rechain(t, ls, 5, signWith))
}

// rechain gives every line from index from on the "prev" of the line
// before it and, from seq on, consecutive sequence numbers, as whoever
// rewrites a plain SHA-256 log does; with signWith, it signs the
// checkpoint records it meets anew.
func rechain(t *testing.T, ls []string, from int, signWith note.Signer) []string {
	t.Helper()
	for i := from; i < len(ls); i++ {
		var m map[string]any
		if err := json.Unmarshal([]byte(ls[i]), &m); err != nil {
			t.Fatal(err)
		}
		var prevSeq struct{ Seq uint64 }
		if err := json.Unmarshal([]byte(ls[i-1]), &prevSeq); err != nil {
			t.Fatal(err)
		}
		prev := hashOfLine(ls[i-1])
		m["prev"], m["seq"] = prev, prevSeq.Seq+1
		if m["op"] == opCheckpoint && signWith != nil {
			hash, _ := hex.DecodeString(prev)
			body := tlog.Checkpoint{Origin: "example.com/token.log", Size: prevSeq.Seq, Hash: hash}.Marshal()
			signed, err := note.Sign(&note.Note{Text: string(body)}, signWith)
			if err != nil {
				t.Fatal(err)
			}
			m["root"], m["checkpoint"] = prev, string(signed)
		}
		b, _ := json.Marshal(m)
		ls[i] = string(b)
	}
	return ls
}

// writeLines writes lines as a log file.
func writeLines(t *testing.T, path string, ls []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointsCatchARebuiltChain edits a log and rebuilds its chain,
// which without a chain key anyone can: the checkpoints then disagree with
// the chain, or, written anew, are not signed by the log's key.
func TestCheckpointsCatchARebuiltChain(t *testing.T) {
	signer, vkey := newCheckpointKey(t, "example.com/token-log")
	mallory, _ := newCheckpointKey(t, "example.com/token-log")
	for _, tc := range []struct {
		name        string
		signWith    note.Signer
		withoutKeys string // "" when Verify without checkpoint keys passes
		withLogKey  string
	}{
		{"checkpoints left as they were", nil, "does not match the chain", "does not match the chain"},
		{"checkpoints written anew with another key", mallory, "", "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token.log")
			writeCheckpointed(t, path, signer, 10)
			rebuild(t, path, tc.signWith)
			_, err := Verify([]string{path}, VerifyOptions{})
			if tc.withoutKeys == "" && err != nil || tc.withoutKeys != "" && !isChainError(err, tc.withoutKeys) {
				t.Errorf("without checkpoint keys: %v", err)
			}
			if _, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{vkey}}); !isChainError(err, tc.withLogKey) {
				t.Errorf("with the log's checkpoint key: %v", err)
			}
		})
	}
}

// TestCheckpointSignerOverCryptoSigner signs with an Ed25519 key behind
// crypto.Signer, as a KMS holds one, and triggers checkpoints by time.
func TestCheckpointSignerOverCryptoSigner(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := NewCheckpointSigner("kms/token-log", priv)
	if err != nil {
		t.Fatal(err)
	}
	vkey, _ := CheckpointVerifierKey("kms/token-log", priv.Public().(ed25519.PublicKey))
	path := filepath.Join(t.TempDir(), "token.log")
	s, err := Open(path, Options{Checkpoints: &Checkpoints{Signer: signer, Origin: "kms", Every: 1 << 40, Interval: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		time.Sleep(2 * time.Millisecond)
		if err := s.Record(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	rep, err := Verify([]string{path}, VerifyOptions{CheckpointKeys: []string{vkey}})
	if err != nil || rep.Checkpoints != 3 { // before records 2 and 3, and at Close
		t.Errorf("Verify = %+v, %v", rep, err)
	}
	if _, err := NewCheckpointSigner("bad name", priv); err == nil {
		t.Error("a name with a space was accepted")
	}
	for _, c := range []Checkpoints{{Origin: "x"}, {Signer: signer}, {Signer: signer, Origin: "a\nb"}} {
		if _, err := Open(filepath.Join(t.TempDir(), "x.log"), Options{Checkpoints: &c}); err == nil {
			t.Errorf("Checkpoints %+v accepted", c)
		}
	}
}
