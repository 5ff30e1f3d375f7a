package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/fleettest"
)

// writeVariedFleet writes the logs of a varied fleet (see fleettest).
func writeVariedFleet(t *testing.T) []string { return fleettest.Write(t) }

// TestReportPage writes a report without a browser and checks what any
// reader of the file sees: the verdict, the totals of `summary`, what
// rejected tokens claimed escaped, and no script or outside reference.
func TestReportPage(t *testing.T) {
	files := writeVariedFleet(t)
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, errOut := cli(append([]string{"report", "-o", page}, files...)...); code != exitOK {
		t.Fatalf("report: %d %s", code, errOut)
	}
	html, _ := os.ReadFile(page)
	s, err := summarize(files, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<div id="verdict" class="ok">`,
		`<span id="total-records">` + strconv.Itoa(s.Records) + `</span>`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`<tr data-instance="api-2">`,
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the page has no %s", want)
		}
	}
	// Two of every ten rounds verify a token again through the cache: 24
	// hits in api-1's 120 rounds, 32 in api-2's 160.
	for i, want := range []int{24, 32} {
		if got := s.Instances[i].VerifiedFromCache; got != want {
			t.Errorf("%s: %d verified from the cache, want %d", s.Instances[i].Instance, got, want)
		}
		if cell := `<td class="count" data-field="verified_from_cache">` + strconv.Itoa(want) + `</td>`; !strings.Contains(string(html), cell) {
			t.Errorf("the page has no %s", cell)
		}
	}
	for _, banned := range []string{"<script", "http://", "https://fonts", "src=", "@import"} {
		if strings.Contains(string(html), banned) {
			t.Errorf("the page holds %q", banned)
		}
	}

	// A tampered log makes the banner say so, naming the line.
	tampered := false
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if !tampered && strings.Contains(string(data), `"sub":"user-1"`) {
			os.WriteFile(f, []byte(strings.Replace(string(data), `"sub":"user-1"`, `"sub":"user-9"`, 1)), 0o600)
			tampered = true
		}
	}
	if code, out, _ := cli(append([]string{"report", "-o", page}, files...)...); code != exitOK || !strings.Contains(out, "chain FAILED") {
		t.Errorf("report of a tampered log: %d %s", code, out)
	}
	html, _ = os.ReadFile(page)
	if !strings.Contains(string(html), `<div id="verdict" class="failed">`) {
		t.Error("the banner of a tampered log does not say it failed")
	}
}

// TestReportNeverWritesThroughALink plants links where a report writer
// could be led astray, the old fixed temporary name PATH.tmp and PATH
// itself, and checks that neither target is touched: the page goes to a
// fresh temporary file and is renamed over PATH, replacing a link there.
func TestReportNeverWritesThroughALink(t *testing.T) {
	files := writeVariedFleet(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	victim := filepath.Join(dir, "victim")
	for _, planted := range []string{page + ".tmp", page} {
		t.Run(filepath.Base(planted), func(t *testing.T) {
			os.Remove(page)
			os.Remove(page + ".tmp")
			if err := os.WriteFile(victim, []byte("untouched"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, planted); err != nil {
				t.Skip("no symbolic links here:", err)
			}
			if code, _, errOut := cli(append([]string{"report", "-o", page}, files...)...); code != exitOK {
				t.Fatalf("report: %d %s", code, errOut)
			}
			if data, _ := os.ReadFile(victim); string(data) != "untouched" {
				t.Errorf("the report was written through the link at %s", planted)
			}
			if fi, err := os.Lstat(page); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("the page is %v, %v; want a regular file of mode 0600", fi, err)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") && e.Name() != "report.html.tmp" {
					t.Errorf("a temporary file was left behind: %s", e.Name())
				}
			}
		})
	}
}

// TestTimeCountsCoarsen streams more minutes than timeCounts keeps and
// checks that it moves to hours without losing a record.
func TestTimeCountsCoarsen(t *testing.T) {
	c := newTimeCounts()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = maxSlices + 5000
	for i := range n {
		c.add(record{Time: from.Add(time.Duration(i) * time.Minute), Op: "verify", Outcome: "success"})
	}
	if c.resolution != time.Hour {
		t.Fatalf("resolution %s after %d minutes", c.resolution, n)
	}
	to := from.Add((n - 1) * time.Minute)
	buckets, _ := c.buckets(from, to, 24*time.Hour)
	total := 0
	for _, b := range buckets {
		total += b.Verified
	}
	if total != n {
		t.Errorf("%d records in the buckets, want %d", total, n)
	}
}
