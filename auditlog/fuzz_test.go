package auditlog

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify runs Verify, what `jwtaudit verify` runs on any file it is
// given, over arbitrary contents: it must never panic, and it accepts only
// a chain (so a file it accepts has at least one record).
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.log")
	writeLogForFuzz(f, path)
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"prev":"` + genesis + `"}` + "\n"))
	f.Add([]byte(`{"seq":18446744073709551615,"prev":""}` + "\n" + `{"seq":0,"prev":""}` + "\n"))
	f.Add([]byte("\n\n\n"))
	// Calls run one at a time in each fuzzing process, which has its own
	// directory: one file is rewritten each time.
	p := filepath.Join(dir, "fuzz.log")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify([]string{p}, VerifyOptions{})
		if err == nil && rep.Records == 0 {
			t.Fatalf("accepted a file without records: %q", data)
		}
	})
}

func writeLogForFuzz(f *testing.F, path string) {
	s, err := Open(path, Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		if err := s.Record(f.Context(), event(i)); err != nil {
			f.Fatal(err)
		}
	}
}
