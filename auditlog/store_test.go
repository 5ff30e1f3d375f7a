package auditlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/leaktest"
)

var testChainKey = []byte("chain key for the tests, 32 byte")

func event(i int) jwtaudit.Event {
	return jwtaudit.Event{
		Time: time.Date(2026, 11, 27, 10, 0, i, 0, time.UTC), Op: jwtaudit.OpVerify, Outcome: jwtaudit.OutcomeSuccess,
		Algorithm: jwtaudit.HS256, KeyID: "k1", Subject: fmt.Sprintf("user-%d", i), Verified: true,
	}
}

// writeLog writes n events to a new store at path and closes it.
func writeLog(t *testing.T, path string, opts Options, n int) Head {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := s.Record(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
	head := s.Head()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return head
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestWriteVerifyResume(t *testing.T) {
	defer leaktest.VerifyNone(t)
	for _, key := range [][]byte{nil, testChainKey} {
		t.Run(fmt.Sprintf("key=%v", key != nil), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token.log")
			opts := Options{ChainKey: key}
			head := writeLog(t, path, opts, 10)
			if head.Seq != 10 {
				t.Fatalf("head = %+v", head)
			}
			rep, err := Verify([]string{path}, VerifyOptions{ChainKey: key, Head: &head})
			if err != nil || rep.Records != 10 || rep.Head != head || rep.FirstSeq != 1 {
				t.Fatalf("Verify = %+v, %v", rep, err)
			}
			// Reopening resumes the chain.
			head = writeLog(t, path, opts, 5)
			rep, err = Verify([]string{path}, VerifyOptions{ChainKey: key, Head: &head})
			if err != nil || rep.Records != 15 || head.Seq != 15 {
				t.Fatalf("after reopening: %+v, %v", rep, err)
			}
			first := lines(t, path)[0]
			if !strings.Contains(first, `"seq":1,"prev":"`+genesis+`"`) || !strings.Contains(first, `"msg":"token verified"`) {
				t.Errorf("first line = %s", first)
			}
			if key != nil {
				if _, err := Verify([]string{path}, VerifyOptions{}); err == nil {
					t.Errorf("an HMAC chain verified without its key")
				}
			}
		})
	}
}

func TestRotation(t *testing.T) {
	defer leaktest.VerifyNone(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "token.log")
	opts := Options{MaxSize: 2000, ChainKey: testChainKey}
	head := writeLog(t, path, opts, 100)
	files, _ := filepath.Glob(path + "*")
	if len(files) < 5 {
		t.Fatalf("only %d files after rotation", len(files))
	}
	for _, f := range files {
		if info, _ := os.Stat(f); info.Size() > opts.MaxSize {
			t.Errorf("%s is %d bytes, over MaxSize", f, info.Size())
		}
	}
	rep, err := Verify(files, VerifyOptions{ChainKey: testChainKey, Head: &head})
	if err != nil || rep.Records != 100 || rep.Files[0] != path+"."+fmt.Sprint(len(files)-1) || rep.Files[len(files)-1] != path {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}

	// Keeping two rotated files: the chain still verifies from where it
	// now starts.
	path2 := filepath.Join(dir, "kept.log")
	head = writeLog(t, path2, Options{MaxSize: 2000, MaxFiles: 2}, 100)
	files, _ = filepath.Glob(path2 + "*")
	if len(files) != 3 {
		t.Fatalf("%d files, want the log and 2 rotated", len(files))
	}
	rep, err = Verify(files, VerifyOptions{Head: &head})
	if err != nil || rep.FirstSeq == 1 || rep.Head != head {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	// The retention records account for the deleted files: one per
	// deletion, in the chain.
	var retained int
	for _, f := range files {
		data, _ := os.ReadFile(f)
		retained += strings.Count(string(data), `"op":"retention"`)
	}
	if retained == 0 || head.Seq <= 100 {
		t.Errorf("%d retention records in the kept files, head %d", retained, head.Seq)
	}
}

func TestResumeAfterRotationFromEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	writeLog(t, path, Options{}, 3)
	if err := os.Rename(path, path+".1"); err != nil { // as a rotation leaves it
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	head := writeLog(t, path, Options{}, 2)
	if head.Seq != 5 {
		t.Errorf("head after resuming from the rotated file = %+v", head)
	}
	if _, err := Verify([]string{path, path + ".1"}, VerifyOptions{Head: &head}); err != nil {
		t.Error(err)
	}
}

func TestTornLineRecovery(t *testing.T) {
	defer leaktest.VerifyNone(t)
	path := filepath.Join(t.TempDir(), "token.log")
	writeLog(t, path, Options{ChainKey: testChainKey}, 4)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-11-27T10:00:09Z","level":"INFO","msg":"token ver`)
	f.Close()

	_, err := Verify([]string{path}, VerifyOptions{ChainKey: testChainKey})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Line != 5 || !strings.Contains(ce.Problem, "torn") {
		t.Fatalf("Verify of a torn log = %v", err)
	}

	s, err := Open(path, Options{ChainKey: testChainKey})
	if err != nil {
		t.Fatal(err)
	}
	rec := s.Recovered()
	if rec == nil || rec.AfterSeq != 4 || rec.TornBytes != 62 {
		t.Fatalf("Recovered = %+v", rec)
	}
	if err := s.Record(context.Background(), event(5)); err != nil {
		t.Fatal(err)
	}
	head := s.Head()
	s.Close()
	if _, err := Verify([]string{path}, VerifyOptions{ChainKey: testChainKey, Head: &head}); err != nil {
		t.Fatal(err)
	}
	l := lines(t, path)
	if len(l) != 6 || !strings.Contains(l[4], `"op":"recover"`) || !strings.Contains(l[4], `"torn_bytes":62`) || !strings.Contains(l[4], `"seq":5`) {
		t.Errorf("recovery record = %s", l[4])
	}
}

func TestTamperDetection(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.log")
	head := writeLog(t, orig, Options{ChainKey: testChainKey}, 10)
	base := lines(t, orig)

	for _, tc := range []struct {
		name    string
		edit    func(l []string) []string
		useHead bool
		line    int
		problem string
	}{
		{"one byte changed", func(l []string) []string {
			l[3] = strings.Replace(l[3], "user-3", "user-9", 1)
			return l
		}, false, 4, "record 4 was edited"},
		{"line deleted", func(l []string) []string { return append(l[:5], l[6:]...) }, false, 6, "expected record 6, found 7"},
		{"line inserted", func(l []string) []string {
			forged := strings.Replace(l[4], "user-4", "mallory", 1)
			return append(l[:5], append([]string{forged}, l[5:]...)...)
		}, false, 6, "record 5 after record 5"},
		{"lines swapped", func(l []string) []string { l[2], l[3] = l[3], l[2]; return l }, false, 3, "expected record 3, found 4"},
		{"garbage inserted", func(l []string) []string { return append(l[:2], append([]string{"hello"}, l[2:]...)...) }, false, 3, "not a JSON record"},
		{"tail cut, with head", func(l []string) []string { return l[:8] }, true, 8, "records were cut from the end"},
		{"last line edited, with head", func(l []string) []string {
			l[9] = strings.Replace(l[9], "user-9", "user-0", 1)
			return l
		}, true, 10, "does not match the saved head"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".log")
			edited := tc.edit(append([]string(nil), base...))
			if err := os.WriteFile(path, []byte(strings.Join(edited, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			opts := VerifyOptions{ChainKey: testChainKey}
			if tc.useHead {
				opts.Head = &head
			}
			_, err := Verify([]string{path}, opts)
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("not detected: %v", err)
			}
			if ce.Line != tc.line || ce.File != path || !strings.Contains(ce.Problem, tc.problem) {
				t.Errorf("got %v, want line %d: %s", ce, tc.line, tc.problem)
			}
			if tc.useHead {
				if _, err := Verify([]string{path}, VerifyOptions{ChainKey: testChainKey}); err != nil {
					t.Errorf("without the head this goes unnoticed, yet Verify said %v", err)
				}
			}
		})
	}
}

func TestNotALog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.txt")
	os.WriteFile(path, []byte("hello\n"), 0o600)
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "not a JSON record") {
		t.Errorf("Open of a text file = %v", err)
	}
	if _, err := Verify([]string{path}, VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "not a chained jwtaudit audit log") {
		t.Errorf("Verify of a text file = %v", err)
	}
	if _, err := Verify([]string{filepath.Join(dir, "missing.log")}, VerifyOptions{}); err == nil {
		t.Errorf("Verify of a missing file succeeded")
	}
	if _, err := Verify(nil, VerifyOptions{}); err == nil {
		t.Errorf("Verify of no file succeeded")
	}
}

// fullFile is a file whose writes fail as on a full disk, after writing
// part of the line.
type fullFile struct {
	*os.File
}

func (f fullFile) Write(p []byte) (int, error) {
	n, _ := f.File.Write(p[:len(p)/2])
	return n, syscall.ENOSPC
}

func TestFailClosedOnFullDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	writeLog(t, path, Options{}, 2)
	defer func(orig func(string, os.FileMode) (file, error)) { openFile = orig }(openFile)
	openFile = func(p string, mode os.FileMode) (file, error) {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, mode)
		return fullFile{f}, err
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, []byte("0123456789abcdef0123456789abcdef"))
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(s))
	is, _ := jwtaudit.NewIssuer(shared)
	v, _ := jwtaudit.NewVerifier(shared)
	good, _ := jwtaudit.NewIssuer(jwtaudit.WithKeys(key))
	valid, _ := good.Issue(context.Background(), jwtaudit.Claims{Subject: "a"})

	raw, err := is.Issue(context.Background(), jwtaudit.Claims{Subject: "a"})
	if !errors.Is(err, jwtaudit.ErrAudit) || !errors.Is(err, syscall.ENOSPC) || raw != "" {
		t.Errorf("Issue on a full disk = %q, %v", raw, err)
	}
	if tok, err := v.Verify(context.Background(), valid); !errors.Is(err, jwtaudit.ErrAudit) || tok != nil {
		t.Errorf("Verify on a full disk = %v, %v", tok, err)
	}
	// The half-written lines were taken back: the log still verifies.
	if rep, err := Verify([]string{path}, VerifyOptions{}); err != nil || rep.Records != 2 {
		t.Errorf("log after failed writes: %+v, %v", rep, err)
	}
}

func TestCloseAndSyncGoroutine(t *testing.T) {
	defer leaktest.VerifyNone(t)
	path := filepath.Join(t.TempDir(), "token.log")
	s, err := Open(path, Options{Durability: SyncInterval, SyncEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(context.Background(), event(0)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(context.Background(), event(1)); !errors.Is(err, jwtaudit.ErrClosed) {
		t.Errorf("Record after Close = %v", err)
	}
	if err := s.Close(); !errors.Is(err, jwtaudit.ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}
