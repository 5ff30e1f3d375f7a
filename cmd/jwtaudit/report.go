package main

import (
	"bufio"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jwtaudit/jwtaudit/auditlog"
)

// The page is one HTML file with its style inline and its charts drawn by
// this command as SVG: it opens offline, makes no request, and has no
// script, so there is no library to pin and no licence to carry.
//
//go:embed report.html.tmpl
var reportTemplate string

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"instanceName": instanceName,
	"list":         func(v ...any) []any { return v },
	"utc":          func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(reportTemplate))

func runReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report", "report [the flags of verify] [-o FILE] [--top N] LOG...", stderr)
	verifyOptions := chainFlags(fs)
	out := fs.String("o", "report.html", "the page to write")
	top := topFlag(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 || *top < 0 {
		fmt.Fprintln(stderr, "jwtaudit report: no log file given, or a negative --top")
		fs.Usage()
		return exitUsage
	}
	opts, err := verifyOptions()
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit report:", err)
		return exitUsage
	}
	page, err := buildReport(fs.Args(), opts, *top)
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit report:", err)
		return exitUsage
	}
	if err := writeReport(*out, page); err != nil {
		fmt.Fprintln(stderr, "jwtaudit report:", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "wrote %s: %d records, chain %s\n", *out, page.Summary.Records, page.VerdictWord())
	return exitOK
}

// report is what the page shows.
type report struct {
	Generated time.Time
	Files     []string
	Verdicts  []verdict
	Summary   summary
	Bucket    string // the width of a time bucket, as text
	Buckets   []bucket
	Reasons   []string // the rejection reasons, most frequent first
	Charts    charts
}

// verdict is one instance's chain verdict.
type verdict struct {
	Instance string
	OK       bool
	Text     string
}

// bucket counts what happened in one slice of time.
type bucket struct {
	Start                      time.Time
	Issued, Verified, Rejected int
	ByReason                   map[string]int
	KeyChanges, Fetches        int
	FailedFetches, Revocations int
	Replays, FailedKeyChanges  int
}

// VerdictWord is "verified" when every instance's chain holds.
func (r *report) VerdictWord() string {
	for _, v := range r.Verdicts {
		if !v.OK {
			return "FAILED"
		}
	}
	return "verified"
}

// bucketWidths are the widths a time axis may have: the first that makes
// at most maxBuckets buckets of the log's span is used.
var bucketWidths = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour,
	24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour}

const maxBuckets = 60

// buildReport verifies the logs while it summarizes them and counts their
// records by time: two passes over the files, side by side, each
// streaming. Memory does not grow with the number of records: the busiest
// lists are tallies of bounded size, and the time counts follow the log's
// span (by the minute, coarsened to the hour and then the day when the
// span is long).
func buildReport(paths []string, opts auditlog.VerifyOptions, top int) (*report, error) {
	r := &report{Generated: time.Now(), Files: paths}
	type verified struct {
		instances []auditlog.InstanceReport
		err       error
	}
	done := make(chan verified, 1)
	go func() {
		instances, err := auditlog.VerifyInstances(paths, opts)
		done <- verified{instances, err}
	}()
	counts := newTimeCounts()
	var err error
	r.Summary, err = summarize(paths, top, counts.add)
	v := <-done
	if err != nil {
		return nil, err
	}
	if v.err != nil {
		return nil, v.err
	}
	for _, in := range v.instances {
		vd := verdict{Instance: in.Instance, OK: in.Err == nil}
		if vd.OK {
			vd.Text = fmt.Sprintf("verified: %d records, %d to %d", in.Report.Records, in.Report.FirstSeq, in.Report.Head.Seq)
		} else {
			vd.Text = in.Err.Error()
		}
		r.Verdicts = append(r.Verdicts, vd)
	}
	width := bucketWidths[len(bucketWidths)-1]
	for _, w := range bucketWidths {
		if w >= counts.resolution && r.Summary.To.Sub(r.Summary.From)/w < maxBuckets {
			width = w
			break
		}
	}
	r.Bucket = strings.TrimSuffix(strings.TrimSuffix(width.String(), "0s"), "0m")
	r.Buckets, r.Reasons = counts.buckets(r.Summary.From, r.Summary.To, width)
	r.Charts = drawCharts(r)
	return r, nil
}

// timeCounts counts records by slices of time as they stream past, at the
// finest resolution that keeps the number of slices bounded.
type timeCounts struct {
	resolution time.Duration
	slices     map[int64]*bucket // by start, in units of resolution since the Unix epoch
	reasons    map[string]int
}

// resolutions are timeCounts' steps, and maxSlices what makes it take the
// next one.
var resolutions = []time.Duration{time.Minute, time.Hour, 24 * time.Hour}

const maxSlices = 20000

func newTimeCounts() *timeCounts {
	return &timeCounts{resolution: resolutions[0], slices: map[int64]*bucket{}, reasons: map[string]int{}}
}

// add counts one record in its slice.
func (c *timeCounts) add(rec record) {
	k := rec.Time.Unix() / int64(c.resolution/time.Second)
	if rec.Time.Unix() < 0 && rec.Time.Unix()%int64(c.resolution/time.Second) != 0 {
		k-- // floor, not truncation, before 1970
	}
	b := c.slices[k]
	if b == nil {
		if len(c.slices) >= maxSlices && c.resolution < resolutions[len(resolutions)-1] {
			c.coarsen()
			c.add(rec)
			return
		}
		b = &bucket{ByReason: map[string]int{}}
		c.slices[k] = b
	}
	switch {
	case rec.Outcome == "rejected" && (rec.Op == "issue" || rec.Op == "verify"):
		b.Rejected++
		b.ByReason[rec.Reason]++
		c.reasons[rec.Reason]++
		if rec.Reason == "replayed" {
			b.Replays++
		}
	case rec.Op == "issue" && rec.Outcome == "success":
		b.Issued++
	case rec.Op == "verify" && rec.Outcome == "success":
		b.Verified++
	case rec.Op == "key_rotate":
		b.KeyChanges++
		if rec.Outcome != "success" {
			b.FailedKeyChanges++
		}
	case rec.Op == "jwks_fetch":
		b.Fetches++
		if rec.Outcome != "success" {
			b.FailedFetches++
		}
	case rec.Op == "revoke":
		b.Revocations++
	}
}

// coarsen moves every slice into the next resolution's.
func (c *timeCounts) coarsen() {
	next := resolutions[slices.Index(resolutions, c.resolution)+1]
	factor := int64(next / c.resolution)
	merged := map[int64]*bucket{}
	for k, b := range c.slices {
		nk := k / factor
		if k < 0 && k%factor != 0 {
			nk--
		}
		if m := merged[nk]; m != nil {
			m.merge(b)
		} else {
			merged[nk] = b
		}
	}
	c.resolution, c.slices = next, merged
}

func (b *bucket) merge(o *bucket) {
	b.Issued += o.Issued
	b.Verified += o.Verified
	b.Rejected += o.Rejected
	b.KeyChanges += o.KeyChanges
	b.FailedKeyChanges += o.FailedKeyChanges
	b.Fetches += o.Fetches
	b.FailedFetches += o.FailedFetches
	b.Revocations += o.Revocations
	b.Replays += o.Replays
	for r, n := range o.ByReason {
		b.ByReason[r] += n
	}
}

// buckets gathers the slices into buckets of width from from to to, and
// lists the rejection reasons, the most frequent first.
func (c *timeCounts) buckets(from, to time.Time, width time.Duration) ([]bucket, []string) {
	start := from.UTC().Truncate(width)
	out := make([]bucket, int(to.UTC().Sub(start)/width)+1)
	for i := range out {
		out[i] = bucket{Start: start.Add(time.Duration(i) * width), ByReason: map[string]int{}}
	}
	for k, b := range c.slices {
		i := int(time.Unix(k*int64(c.resolution/time.Second), 0).UTC().Sub(start) / width)
		if i >= 0 && i < len(out) {
			out[i].merge(b)
		}
	}
	reasons := slices.Collect(maps.Keys(c.reasons))
	slices.SortFunc(reasons, func(a, b string) int {
		return cmp.Or(cmp.Compare(c.reasons[b], c.reasons[a]), cmp.Compare(a, b))
	})
	return out, reasons
}

// writeReport renders the page to path, through a temporary file that
// os.CreateTemp makes, with a name of its own and O_EXCL, beside path: a
// link planted at a predictable name (PATH.tmp) is never written through,
// and a reader never sees a half-written page. The rename replaces a link
// at path itself, rather than following it. The page names users: it is
// made readable by its owner only (mode 0600).
func writeReport(path string, r *report) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	w := bufio.NewWriter(f)
	err = reportPage.Execute(w, r)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
