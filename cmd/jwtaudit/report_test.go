package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
