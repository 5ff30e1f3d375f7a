package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jwtaudit/jwtaudit/auditlog"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name, secret, notice string
	}{
		{"random secret", "", "JWTAUDIT_SECRET is not set"},
		{"secret from the environment", strings.Repeat("s", 32), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "token.log")
			var out strings.Builder
			if err := run(&out, logPath, tc.secret, ""); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			for _, want := range []string{"verified: subject 42", "tampered: invalid token (signature)", "expired:  token expired", "5 events appended to " + logPath} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "JWTAUDIT_SECRET is not set") != (tc.notice != "") {
				t.Errorf("notice about the secret: %s", got)
			}

			f, err := os.Open(logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var msgs []string
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var line struct {
					Msg    string `json:"msg"`
					Reason string `json:"reason"`
				}
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("not a JSON line: %s", sc.Text())
				}
				msgs = append(msgs, strings.TrimSpace(line.Msg+" "+line.Reason))
			}
			want := []string{"token issued", "token verified", "token rejected signature", "token issued", "token rejected expired"}
			if strings.Join(msgs, "|") != strings.Join(want, "|") {
				t.Errorf("audit trail = %q, want %q", msgs, want)
			}
			// A second run continues the chain, and the whole trail verifies.
			if err := run(io.Discard, logPath, tc.secret, ""); err != nil {
				t.Fatal(err)
			}
			rep, err := auditlog.Verify([]string{logPath}, auditlog.VerifyOptions{})
			if err != nil || rep.Records != 10 {
				t.Errorf("the trail does not verify: %+v, %v", rep, err)
			}
		})
	}
}

func TestRunRefusesShortSecret(t *testing.T) {
	var out strings.Builder
	err := run(&out, filepath.Join(t.TempDir(), "token.log"), "pw-42", "")
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "pw-42") {
		t.Errorf("the error repeats the secret: %v", err)
	}
}
