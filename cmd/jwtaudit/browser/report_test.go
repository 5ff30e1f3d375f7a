//go:build browser

package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/jwtaudit/jwtaudit/internal/fleettest"
)

// summary is what the test reads of `jwtaudit summary --json`.
type summary struct {
	Records  int `json:"records"`
	Outcomes []struct {
		Op      string `json:"op"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
		Count   int    `json:"count"`
	} `json:"outcomes"`
	Subjects  []named        `json:"busiest_subjects"`
	Instances []instanceSpan `json:"instances"`
}

type named struct {
	Name      string `json:"name"`
	Count     int    `json:"count"`
	Overcount int    `json:"overcount,omitempty"`
}

type instanceSpan struct {
	Instance          string `json:"instance"`
	Records           int    `json:"records"`
	Issued            int    `json:"issued"`
	Verified          int    `json:"verified"`
	VerifiedFromCache int    `json:"verified_from_cache"`
	Rejected          int    `json:"rejected"`
}

// jwtaudit runs the command, built once for the test, and returns what it
// printed; a failure fails the test.
func jwtaudit(t *testing.T, args ...string) string {
	t.Helper()
	built.Do(func() {
		dir, err := os.MkdirTemp("", "jwtaudit-browser")
		if err != nil {
			t.Fatal(err)
		}
		exe = filepath.Join(dir, "jwtaudit")
		if out, err := exec.Command("go", "build", "-o", exe, "github.com/jwtaudit/jwtaudit/cmd/jwtaudit").CombinedOutput(); err != nil {
			t.Fatalf("building jwtaudit: %v\n%s", err, out)
		}
	})
	out, err := exec.Command(exe, args...).Output()
	if err != nil {
		t.Fatalf("jwtaudit %s: %v", strings.Join(args[:1], " "), err)
	}
	return string(out)
}

var (
	built sync.Once
	exe   string
)

// chromium finds a Chromium to drive, or says how to get one.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("JWTAUDIT_REQUIRE_BROWSER") == "1" {
		t.Fatal("JWTAUDIT_REQUIRE_BROWSER=1, and no chromium is on PATH")
	}
	t.Skip("no chromium on PATH: the report is not checked in a browser (Debian: apt-get install chromium; JWTAUDIT_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// TestReportInABrowser opens a generated report in headless Chromium,
// waits for its charts, reads the numbers back from the page and compares
// them with `summary --json` for the same logs, checks that the page made
// no request and ran no script, and that its screenshot is not blank.
func TestReportInABrowser(t *testing.T) {
	browser := chromium(t)
	files := fleettest.Write(t)
	page := filepath.Join(t.TempDir(), "report.html")
	if out := jwtaudit(t, append([]string{"report", "-o", page}, files...)...); !strings.Contains(out, "chain verified") {
		t.Fatalf("report: %s", out)
	}
	var want summary
	if err := json.Unmarshal([]byte(jwtaudit(t, append([]string{"summary", "--json"}, files...)...)), &want); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The browser lives as long as ctx: the time limit goes on a context
	// derived from it, once it has started.
	tctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()
	if err := chromedp.Do(tctx,
		chromedp.Navigate("file://"+page),
		chromedp.WaitVisible(chromedp.CSS("#decisions rect")),
		chromedp.WaitVisible(chromedp.CSS("#lifecycle circle")),
	); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Op, Outcome, Reason string
		Count               int
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	total, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#total-records")))
	must(err)
	verdict, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#verdict")))
	must(err)
	outcomes, err := chromedp.Run(tctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll('#outcomes tr[data-op]')].map(tr => ({Op: tr.dataset.op, Outcome: tr.dataset.outcome, Reason: tr.dataset.reason, Count: +tr.querySelector('.count').textContent}))`))
	must(err)
	subjects, err := chromedp.Run(tctx, chromedp.Evaluate[[]named](`[...document.querySelectorAll('#subjects tr')].slice(1).map(tr => ({name: tr.querySelector('.name').textContent, count: +tr.querySelector('.count').textContent, overcount: +(tr.querySelector('.overcount')?.dataset.overcount ?? 0)}))`))
	must(err)
	unverified, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#unverified-subjects .name')].map(td => td.textContent)`))
	must(err)
	instances, err := chromedp.Run(tctx, chromedp.Evaluate[[]instanceSpan](`[...document.querySelectorAll('#instances tr[data-instance]')].map(tr => ({instance: tr.dataset.instance, records: +tr.querySelector('[data-field=records]').textContent, issued: +tr.querySelector('[data-field=issued]').textContent, verified: +tr.querySelector('[data-field=verified]').textContent, verified_from_cache: +tr.querySelector('[data-field=verified_from_cache]').textContent, rejected: +tr.querySelector('[data-field=rejected]').textContent}))`))
	must(err)
	scripts, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.scripts.length`))
	must(err)
	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	must(err)

	if total != fmt.Sprint(want.Records) {
		t.Errorf("the page says %s records, summary %d", total, want.Records)
	}
	if !strings.Contains(verdict, "Chain verified") || !strings.Contains(verdict, "api-2: verified") {
		t.Errorf("verdict banner: %q", verdict)
	}
	if len(outcomes) != len(want.Outcomes) {
		t.Fatalf("the page has %d outcome rows, summary %d", len(outcomes), len(want.Outcomes))
	}
	for i, o := range want.Outcomes {
		if got := outcomes[i]; got != row(o) {
			t.Errorf("outcome row %d: page %+v, summary %+v", i, got, o)
		}
	}
	if fmt.Sprint(subjects) != fmt.Sprint(want.Subjects) {
		t.Errorf("busiest subjects: page %v, summary %v", subjects, want.Subjects)
	}
	if len(instances) != 2 {
		t.Fatalf("instances on the page: %+v", instances)
	}
	for i, in := range want.Instances {
		got := instances[i]
		if got.Instance != in.Instance || got.Records != in.Records || got.Issued != in.Issued || got.Verified != in.Verified || got.VerifiedFromCache != in.VerifiedFromCache || got.Rejected != in.Rejected {
			t.Errorf("instance %s: page %+v, summary %+v", in.Instance, got, in)
		}
	}
	if len(unverified) == 0 || unverified[0] != "<script>alert(1)</script>" || scripts != 0 {
		t.Errorf("the unverified subject is not shown as text (%q), or the page has %d scripts", unverified, scripts)
	}
	mu.Lock()
	for _, u := range requests {
		if u != "file://"+page {
			t.Errorf("the page requested %s", u)
		}
	}
	mu.Unlock()

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	colours := map[[4]uint32]bool{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 7 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 7 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("the screenshot has %d colours: blank", len(colours))
	}
	if dir := os.Getenv("JWTAUDIT_REPORT_SCREENSHOT_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, "report.png"), shot, 0o644)
	}
}
