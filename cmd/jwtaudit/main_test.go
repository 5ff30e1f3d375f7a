package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
	"golang.org/x/mod/sumdb/note"
)

// cli runs one command line and returns its exit code and output.
func cli(args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const salt = "a redaction salt of 32 bytes or more"

// writeTrail issues and verifies tokens through a redacting, chained file
// store, and returns the log's path and head.
func writeTrail(t *testing.T, chainKey []byte) (string, auditlog.Head) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "token.log")
	store, err := auditlog.Open(path, auditlog.Options{ChainKey: chainKey})
	if err != nil {
		t.Fatal(err)
	}
	redactor, err := jwtaudit.NewRedactor([]byte(salt))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, []byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(store), jwtaudit.WithRedaction(redactor),
		jwtaudit.WithClock(func() time.Time { return now }))
	is, _ := jwtaudit.NewIssuer(shared)
	v, _ := jwtaudit.NewVerifier(shared)
	ctx := context.Background()
	for i, sub := range []string{"alice", "bob", "alice", "alice"} {
		raw, err := is.Issue(ctx, jwtaudit.Claims{Subject: sub, ID: fmt.Sprintf("jti-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = v.Verify(ctx, raw)
		_, _ = v.Verify(ctx, raw+"x")
	}
	head := store.Head()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return path, head
}

func TestHelpAndUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Usage:"},
		{[]string{"--help"}, exitOK, "jwtaudit verify"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"verify"}, exitUsage, "no log file given"},
		{[]string{"verify", "--help"}, exitOK, "-key-file"},
		{[]string{"verify", "--bogus", "x"}, exitUsage, "flag provided but not defined"},
		{[]string{"verify", "missing.log"}, exitUsage, "no such file"},
		{[]string{"verify", "--head", "nonsense", "x"}, exitUsage, "--head"},
		{[]string{"summary"}, exitUsage, "no log file given"},
		{[]string{"summary", "missing.log"}, exitUsage, "no such file"},
		{[]string{"hash"}, exitUsage, "exactly one value"},
		{[]string{"hash", "alice"}, exitUsage, "no salt"},
		{[]string{"hash", "--salt-file", "missing", "alice"}, exitUsage, "no such file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("JWTAUDIT_REDACTION_SALT", "")
			code, out, errOut := cli(tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

func TestVerifyCommand(t *testing.T) {
	key := []byte("chain key of the trail under test")
	path, head := writeTrail(t, key)
	keyFile := filepath.Join(t.TempDir(), "chain.key")
	os.WriteFile(keyFile, append(key, '\n'), 0o600)
	headArg := fmt.Sprintf("%d:%s", head.Seq, head.Hash)

	code, out, _ := cli("verify", "--key-file", keyFile, "--head", headArg, path)
	if code != exitOK || !strings.Contains(out, "ok: 12 records, 1 to 12") || !strings.Contains(out, "saved head, record 12") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	t.Setenv("JWTAUDIT_CHAIN_KEY", string(key))
	if code, out, _ := cli("verify", path); code != exitOK || !strings.Contains(out, "head: 12:"+head.Hash) {
		t.Errorf("verify with the key from the environment: exit %d\n%s", code, out)
	}
	t.Setenv("JWTAUDIT_CHAIN_KEY", "")
	if code, out, _ := cli("verify", path); code != exitProblem || !strings.Contains(out, "FAILED") {
		t.Errorf("verify without the chain key: exit %d\n%s", code, out)
	}

	// Cut the last two lines: only the head notices.
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	cut := filepath.Join(t.TempDir(), "cut.log")
	os.WriteFile(cut, []byte(strings.Join(lines[:10], "")), 0o600)
	if code, _, _ := cli("verify", "--key-file", keyFile, cut); code != exitOK {
		t.Errorf("a cut log without --head: exit %d", code)
	}
	code, out, _ = cli("verify", "--key-file", keyFile, "--head", headArg, cut)
	if code != exitProblem || !strings.Contains(out, "cut.log:10: the log ends at record 10") {
		t.Errorf("a cut log with --head: exit %d\n%s", code, out)
	}

	// Edit one byte of line 3.
	edited := filepath.Join(t.TempDir(), "edited.log")
	lines[2] = strings.Replace(lines[2], `"verify"`, `"verifY"`, 1)
	os.WriteFile(edited, []byte(strings.Join(lines, "")), 0o600)
	code, out, _ = cli("verify", "--key-file", keyFile, edited)
	if code != exitProblem || !strings.Contains(out, "edited.log:3: record 3 was edited") {
		t.Errorf("an edited log: exit %d\n%s", code, out)
	}

	// A file that is no log at all.
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("shopping list\n"), 0o600)
	if code, out, _ := cli("verify", notes); code != exitProblem || !strings.Contains(out, "not a chained jwtaudit audit log") {
		t.Errorf("a text file: exit %d\n%s", code, out)
	}
}

func TestSummaryCommand(t *testing.T) {
	path, _ := writeTrail(t, nil)
	code, out, _ := cli("summary", path)
	for _, want := range []string{"records: 12, from 2026-11-27T10:00:00Z", "issue", "signature", "BUSIEST SUBJECTS (issued, verified, revoked)", "k1", "2026-11-27T10:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if code != exitOK {
		t.Errorf("exit %d", code)
	}
	// The trail's tokens name no issuer: an empty list says so, rather than
	// listing an issuer named "none" zero times.
	if regexp.MustCompile(`(?m)^none\s+0$`).MatchString(out) || !strings.Contains(out, "(none)") {
		t.Errorf("an empty list:\n%s", out)
	}

	code, out, _ = cli("summary", "--json", "--top", "1", path)
	var s summary
	if err := json.Unmarshal([]byte(out), &s); err != nil || code != exitOK {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	counts := map[string]int{}
	for _, o := range s.Outcomes {
		counts[o.Op+"/"+o.Outcome+"/"+o.Reason] = o.Count
	}
	want := map[string]int{"issue/success/": 4, "verify/success/": 4, "verify/rejected/signature": 4}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", counts, want)
	}
	// alice: 3 issued and 3 verified count as verified; the 3 forged
	// copies only claimed her.
	if len(s.Subjects) != 1 || s.Subjects[0].Count != 6 || len(s.UnverifiedSubjects) != 1 || s.UnverifiedSubjects[0].Count != 3 ||
		len(s.RejectionsPerHour) != 1 || s.RejectionsPerHour[0].Count != 4 {
		t.Errorf("summary = %+v", s)
	}

	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("shopping list\n"), 0o600)
	if code, _, errOut := cli("summary", notes); code != exitUsage || !strings.Contains(errOut, "notes.txt:1: not a jwtaudit audit record") {
		t.Errorf("summary of a text file: exit %d, %s", code, errOut)
	}
}

// TestHashFindsRedactedSubject is the redaction promise end to end: the
// clear subject and jti are nowhere in the file, and the hash command
// finds the subject's records.
func TestHashFindsRedactedSubject(t *testing.T) {
	path, _ := writeTrail(t, nil)
	data, _ := os.ReadFile(path)
	for _, clear := range []string{"alice", "bob", "jti-0", "jti-3"} {
		if strings.Contains(string(data), clear) {
			t.Errorf("%q is in the redacted trail", clear)
		}
	}
	saltFile := filepath.Join(t.TempDir(), "salt")
	os.WriteFile(saltFile, []byte(salt+"\n"), 0o600)
	code, out, _ := cli("hash", "--salt-file", saltFile, "alice")
	hash := strings.TrimSpace(out)
	if code != exitOK || !strings.HasPrefix(hash, "hmac-sha256:") {
		t.Fatalf("hash: exit %d, %q", code, out)
	}
	// alice: 3 tokens, each issued, verified and rejected once.
	if n := strings.Count(string(data), `"sub":"`+hash+`"`); n != 9 {
		t.Errorf("the hash of alice finds %d records, want 9", n)
	}
	t.Setenv("JWTAUDIT_REDACTION_SALT", salt)
	if _, out2, _ := cli("hash", "alice"); strings.TrimSpace(out2) != hash {
		t.Errorf("the salt from the environment gives %q", out2)
	}
}

// TestSummaryEscapesWhatTokensSay writes a rejected token whose subject and
// key id carry newlines and terminal escape sequences, and checks that the
// summary prints them escaped, apart from the verified values.
func TestSummaryEscapesWhatTokensSay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	sink, err := auditlog.Open(path, auditlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, []byte("0123456789abcdef0123456789abcdef"))
	v, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key), jwtaudit.WithAudit(sink))
	evil := "mallory\n| admin | 999 |\x1b]0;pwned\x07\x1b[2J\u202e"
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	quoted, _ := json.Marshal(evil)
	forged := enc(`{"alg":"HS256","kid":`+string(quoted)+`}`) + "." + enc(`{"sub":`+string(quoted)+`,"exp":4000000000}`) + ".AAAA"
	if _, err := v.Verify(context.Background(), forged); err == nil {
		t.Fatal("a forged token was accepted")
	}
	sink.Close()
	code, out, errOut := cli("summary", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\n| admin"} {
		if strings.Contains(out, bad) {
			t.Errorf("the summary prints %q raw:\n%s", bad, out)
		}
	}
	unverified := out[strings.Index(out, "SUBJECTS CLAIMED BY REJECTED TOKENS"):]
	if !strings.Contains(unverified, `"mallory\n| admin | 999 |\x1b]0;pwned\a\x1b[2J\u202e"`) {
		t.Errorf("the claimed subject is not listed, escaped, among the unverified:\n%s", out)
	}
	if verified := out[strings.Index(out, "BUSIEST SUBJECTS"):strings.Index(out, "SUBJECTS CLAIMED")]; strings.Contains(verified, "mallory") {
		t.Errorf("an unverified subject is among the verified:\n%s", out)
	}
}

// TestCheckpointKeys makes a checkpoint key with keygen, signs a log's
// checkpoints with it, and verifies them with the printed verifier key.
func TestCheckpointKeys(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "checkpoint.key")
	code, out, errOut := cli("keygen", "--checkpoint", "example.com/token-log", keyFile)
	if code != exitOK {
		t.Fatalf("keygen --checkpoint: %d %s", code, errOut)
	}
	vkey := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	skey, _ := os.ReadFile(keyFile)
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "token.log")
	var published []byte
	store, err := auditlog.Open(path, auditlog.Options{Checkpoints: &auditlog.Checkpoints{Signer: signer, Origin: "example.com/token.log", Every: 2,
		Publish: func(b []byte) { published = append(published[:0], b...) }}})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		store.Record(context.Background(), jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess, Subject: "a"})
	}
	store.Close()
	if code, out, _ := cli("verify", "--checkpoint-key", vkey, path); code != exitOK || !strings.Contains(out, "signed by the keys given") {
		t.Errorf("verify with the key: %d %s", code, out)
	}
	// The last published checkpoint is a head: a log cut short fails.
	cpFile := filepath.Join(dir, "checkpoint.txt")
	os.WriteFile(cpFile, published, 0o600)
	if code, out, errOut := cli("verify", "--head", cpFile, path); code != exitOK || !strings.Contains(out, "is in the log unchanged") {
		t.Errorf("verify --head CHECKPOINT: %d %s %s", code, out, errOut)
	}
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	os.WriteFile(path+".cut", []byte(strings.Join(lines[:len(lines)-3], "")), 0o600)
	if code, out, _ := cli("verify", "--head", cpFile, path+".cut"); code != exitProblem || !strings.Contains(out, "cut from the end") {
		t.Errorf("a log cut short, against its published checkpoint: %d %s", code, out)
	}
	_, other, _ := note.GenerateKey(rand.Reader, "example.com/token-log")
	if code, out, _ := cli("verify", "--checkpoint-key", other, path); code != exitProblem || !strings.Contains(out, "signature") {
		t.Errorf("verify with another key: %d %s", code, out)
	}
}

// TestFleetCommands verifies and summarizes three instances' logs at once.
func TestFleetCommands(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"api-1", "api-2", "worker"} {
		s, err := auditlog.Open(filepath.Join(dir, name+".log"), auditlog.Options{Instance: name})
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			s.Record(context.Background(), jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess, Subject: name})
		}
		s.Close()
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	code, out, _ := cli(append([]string{"verify"}, files...)...)
	if code != exitOK || strings.Count(out, ": ok: 4 records") != 3 || !strings.Contains(out, "instance worker: ok") {
		t.Errorf("verify of three instances: %d\n%s", code, out)
	}
	data, _ := os.ReadFile(files[1])
	os.WriteFile(files[1], []byte(strings.Replace(string(data), `"sub":"api-2"`, `"sub":"api-X"`, 1)), 0o600)
	code, out, _ = cli(append([]string{"verify"}, files...)...)
	if code != exitProblem || strings.Count(out, "FAILED") != 1 || !strings.Contains(out, "instance api-2: FAILED") || strings.Count(out, ": ok:") != 2 {
		t.Errorf("verify after tampering with api-2: %d\n%s", code, out)
	}
	code, out, _ = cli(append([]string{"summary", "--json"}, files...)...)
	var s summary
	if err := json.Unmarshal([]byte(out), &s); code != exitOK || err != nil || len(s.Instances) != 3 || s.Instances[2].Instance != "worker" || s.Instances[2].Records != 4 {
		t.Errorf("summary of three instances: %d %v %+v", code, err, s.Instances)
	}
}

// TestVerifyAFleetAgainstWhatItShouldBe: with the fleet named (--instance,
// --fleet) and each instance's head (--head INSTANCE=HEAD, as
// SEQ:HASH or a published checkpoint), a fleet with one log missing and
// another cut from 5 records to 2 fails, naming both; without, it passes,
// as it did.
func TestVerifyAFleetAgainstWhatItShouldBe(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, _ := note.GenerateKey(rand.Reader, "example.com/token-log")
	signer, _ := note.NewSigner(skey)
	heads := map[string]string{}
	var published []byte
	for _, name := range []string{"api-1", "api-2", "worker"} {
		cp := &auditlog.Checkpoints{Signer: signer, Origin: name, Every: 100, Publish: func(b []byte) { published = append([]byte(nil), b...) }}
		s, err := auditlog.Open(filepath.Join(dir, name+".log"), auditlog.Options{Instance: name, Checkpoints: cp})
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			s.Record(context.Background(), jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess, Subject: name})
		}
		h := s.Head()
		s.Close()
		heads[name] = fmt.Sprintf("%d:%s", h.Seq, h.Hash)
		if name == "worker" { // its head as the checkpoint it published at Close
			heads[name] = filepath.Join(t.TempDir(), "worker.checkpoint")
			os.WriteFile(heads[name], published, 0o600)
		}
	}
	fleet := filepath.Join(t.TempDir(), "fleet")
	os.WriteFile(fleet, []byte("# the fleet\napi-1 "+heads["api-1"]+"\napi-2 "+heads["api-2"]+"\nworker\n"), 0o600)
	paths := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n+".log"))
		}
		return out
	}
	expect := []string{"--checkpoint-key", vkey, "--fleet", fleet, "--head", "worker=" + heads["worker"]}
	if code, out, errOut := cli(append(append([]string{"verify"}, expect...), paths("api-1", "api-2", "worker")...)...); code != exitOK || strings.Count(out, "is in the log unchanged") != 3 {
		t.Fatalf("the whole fleet: %d\n%s%s", code, out, errOut)
	}

	// api-2 missing, api-1 cut from 5 records to 2.
	data, _ := os.ReadFile(paths("api-1")[0])
	ls := strings.SplitAfter(string(data), "\n")
	os.WriteFile(paths("api-1")[0], []byte(ls[0]+ls[1]), 0o600)
	if code, out, _ := cli(append([]string{"verify"}, paths("api-1", "worker")...)...); code != exitOK {
		t.Errorf("without expectations: %d\n%s", code, out)
	}
	code, out, _ := cli(append(append([]string{"verify"}, expect...), paths("api-1", "worker")...)...)
	if code != exitProblem || !strings.Contains(out, "instance api-1: FAILED") || !strings.Contains(out, "instance api-2: FAILED") || !strings.Contains(out, "instance worker: ok") {
		t.Errorf("api-2 missing, api-1 rolled back: %d\n%s", code, out)
	}
	code, out, _ = cli(append([]string{"verify", "--instance", "api-1", "--instance", "api-2", "--instance", "worker"}, paths("api-1", "worker")...)...)
	if code != exitProblem || !strings.Contains(out, "instance api-2: FAILED no log of this instance") {
		t.Errorf("api-2 missing, by --instance: %d\n%s", code, out)
	}
	if code, _, errOut := cli("verify", "--head", "api-1=1:00", paths("api-1")[0]); code != exitUsage || !strings.Contains(errOut, "instance api-1") {
		t.Errorf("a bad per-instance head: %d %s", code, errOut)
	}
}

// TestVerifyOpenTail: a log still being written has records after its last
// checkpoint: verify with checkpoint keys fails it as cut short, and
// --open-tail accepts it, saying which records the chain alone vouches for.
func TestVerifyOpenTail(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "example.com/token-log")
	signer, _ := note.NewSigner(skey)
	path := filepath.Join(t.TempDir(), "token.log")
	s, err := auditlog.Open(path, auditlog.Options{Checkpoints: &auditlog.Checkpoints{Signer: signer, Origin: "o", Every: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 5 {
		s.Record(context.Background(), jwtaudit.Event{Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess})
	}
	if code, out, _ := cli("verify", "--checkpoint-key", vkey, path); code != exitProblem || !strings.Contains(out, "--open-tail") {
		t.Errorf("a live log as closed: %d %s", code, out)
	}
	if code, out, _ := cli("verify", "--checkpoint-key", vkey, "--open-tail", path); code != exitOK || !strings.Contains(out, "not covered: the 2 record(s) after the last checkpoint, 5 to 6") {
		t.Errorf("a live log, --open-tail: %d %s", code, out)
	}
}
