package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"text/tabwriter"
	"time"
)

// summary is what `jwtaudit summary` reports; its JSON form is --json's.
type summary struct {
	Records  int       `json:"records"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Outcomes []outcome `json:"outcomes"`
	Subjects []named   `json:"busiest_subjects"`
	KeyIDs   []named   `json:"busiest_key_ids"`
	Issuers  []named   `json:"busiest_issuers"`

	// What rejected tokens claimed: kept apart, since anyone can send a
	// token that names any subject, key or issuer.
	UnverifiedSubjects []named `json:"unverified_subjects"`
	UnverifiedKeyIDs   []named `json:"unverified_key_ids"`
	UnverifiedIssuers  []named `json:"unverified_issuers"`

	RejectionsPerHour []hourCount `json:"rejections_per_hour"`

	// Instances are the stores the records came from (auditlog's
	// Options.Instance), each with its first and last record: a fleet's
	// logs, copied into one place, are summarized together.
	Instances []instanceSpan `json:"instances"`
}

// instanceSpan is one instance's part of the records.
type instanceSpan struct {
	Instance string `json:"instance"`
	Records  int    `json:"records"`
	Issued   int    `json:"issued"`
	Verified int    `json:"verified"`
	// VerifiedFromCache is how many of Verified were answered from a
	// verifier's verified-token cache (events marked "cached").
	VerifiedFromCache int       `json:"verified_from_cache"`
	Rejected          int       `json:"rejected"`
	FirstSeq          uint64    `json:"first_seq"`
	LastSeq           uint64    `json:"last_seq"`
	From              time.Time `json:"from"`
	To                time.Time `json:"to"`
}

type outcome struct {
	Op      string `json:"op"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	Count   int    `json:"count"`
}

// named is a name and how often it occurs. Overcount is zero when Count is
// exact; when more distinct names came than a tally holds, Count may exceed
// the truth by up to Overcount (see tally).
type named struct {
	Name      string `json:"name"`
	Count     int    `json:"count"`
	Overcount int    `json:"overcount,omitempty"`
}

type hourCount struct {
	Hour  time.Time `json:"hour"`
	Count int       `json:"count"`
}

// record is what the summary reads of one line.
type record struct {
	Time     time.Time `json:"time"`
	Op       string    `json:"op"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason"`
	Sub      string    `json:"sub"`
	Kid      string    `json:"kid"`
	Iss      string    `json:"iss"`
	Verified bool      `json:"verified"`
	Cached   bool      `json:"cached"`
	Instance string    `json:"instance"`
	Seq      uint64    `json:"seq"`
}

func runSummary(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("summary", "summary [--json] [--top N] LOG...", stderr)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	top := topFlag(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 || *top < 0 {
		fmt.Fprintln(stderr, "jwtaudit summary: no log file given, or a negative --top")
		fs.Usage()
		return exitUsage
	}
	s, err := summarize(fs.Args(), *top, nil)
	if err != nil {
		fmt.Fprintln(stderr, "jwtaudit summary:", err)
		return exitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			fmt.Fprintln(stderr, "jwtaudit summary:", err)
			return exitUsage
		}
		return exitOK
	}
	printSummary(stdout, s)
	return exitOK
}

// topFlag is summary's and report's --top: how long the busiest lists are.
func topFlag(fs *flag.FlagSet) *int {
	return fs.Int("top", 10, "how many of the busiest subjects, key ids and issuers to list")
}

// summarize reads every record of the files, and hands each to also, when
// it is not nil.
func summarize(paths []string, top int, also func(record)) (summary, error) {
	var s summary
	outcomes := map[outcome]int{}
	subjects, kids, issuers := newTally(maxVerifiedNames), newTally(maxVerifiedNames), newTally(maxVerifiedNames)
	claimedSubjects, claimedKids, claimedIssuers := newTally(maxClaimedNames), newTally(maxClaimedNames), newTally(maxClaimedNames)
	hours := map[time.Time]int{}
	instances := map[string]*instanceSpan{}
	for _, path := range paths {
		err := eachRecord(path, func(r record) {
			if also != nil {
				also(r)
			}
			s.Records++
			in := instances[r.Instance]
			if in == nil {
				in = &instanceSpan{Instance: r.Instance, FirstSeq: r.Seq, From: r.Time}
				instances[r.Instance] = in
			}
			in.Records++
			switch {
			case r.Op == "issue" && r.Outcome == "success":
				in.Issued++
			case r.Op == "verify" && r.Outcome == "success":
				in.Verified++
				if r.Cached {
					in.VerifiedFromCache++
				}
			case r.Outcome == "rejected":
				in.Rejected++
			}
			in.FirstSeq, in.LastSeq = min(in.FirstSeq, r.Seq), max(in.LastSeq, r.Seq)
			if r.Time.Before(in.From) {
				in.From = r.Time
			}
			if r.Time.After(in.To) {
				in.To = r.Time
			}
			if s.From.IsZero() || r.Time.Before(s.From) {
				s.From = r.Time
			}
			if r.Time.After(s.To) {
				s.To = r.Time
			}
			outcomes[outcome{Op: r.Op, Outcome: r.Outcome, Reason: r.Reason}]++
			subs, ks, iss := subjects, kids, issuers
			if !r.Verified {
				subs, ks, iss = claimedSubjects, claimedKids, claimedIssuers
			}
			if r.Iss != "" {
				iss.add(r.Iss)
			}
			if r.Sub != "" {
				subs.add(r.Sub)
			}
			if r.Kid != "" {
				ks.add(r.Kid)
			}
			if r.Outcome == "rejected" {
				hours[r.Time.UTC().Truncate(time.Hour)]++
			}
		})
		if err != nil {
			return s, err
		}
	}
	if s.Records == 0 {
		return s, errors.New("no record in the files")
	}
	for o, n := range outcomes {
		o.Count = n
		s.Outcomes = append(s.Outcomes, o)
	}
	slices.SortFunc(s.Outcomes, func(a, b outcome) int {
		return cmp.Or(cmp.Compare(a.Op, b.Op), cmp.Compare(a.Outcome, b.Outcome), cmp.Compare(a.Reason, b.Reason))
	})
	for _, name := range slices.Sorted(maps.Keys(instances)) {
		s.Instances = append(s.Instances, *instances[name])
	}
	s.Subjects, s.KeyIDs, s.Issuers = subjects.busiest(top), kids.busiest(top), issuers.busiest(top)
	s.UnverifiedSubjects, s.UnverifiedKeyIDs, s.UnverifiedIssuers = claimedSubjects.busiest(top), claimedKids.busiest(top), claimedIssuers.busiest(top)
	s.RejectionsPerHour = []hourCount{}
	for h, n := range hours {
		s.RejectionsPerHour = append(s.RejectionsPerHour, hourCount{h, n})
	}
	slices.SortFunc(s.RejectionsPerHour, func(a, b hourCount) int { return a.Hour.Compare(b.Hour) })
	return s, nil
}

// eachRecord calls fn for each line of a log, refusing a line that is not
// a JSON record.
func eachRecord(path string, fn func(record)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Op == "" {
			return fmt.Errorf("%s:%d: not a jwtaudit audit record", path, n)
		}
		fn(r)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// instanceName shows an instance id, or says that the log recorded none.
func instanceName(id string) string {
	if id == "" {
		return "(none recorded)"
	}
	return id
}

// printSummary writes the summary for a terminal. Every value read from
// the log goes through shown: a log can hold whatever a token's sender put
// in its claims.
func printSummary(w io.Writer, s summary) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "records: %d, from %s to %s\n\n", s.Records, s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	fmt.Fprintln(tw, "OP\tOUTCOME\tREASON\tCOUNT")
	for _, o := range s.Outcomes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", shown(o.Op), shown(o.Outcome), shown(o.Reason), o.Count)
	}
	for _, list := range []struct {
		title string
		names []named
	}{
		// "Vouched for": the events whose claims a signature or the
		// service itself stands behind (issued, verified, revoked).
		{"BUSIEST SUBJECTS (issued, verified, revoked)", s.Subjects},
		{"BUSIEST KEY IDS (issued, verified, revoked)", s.KeyIDs},
		{"BUSIEST ISSUERS (issued, verified, revoked)", s.Issuers},
		{"SUBJECTS CLAIMED BY REJECTED TOKENS (unverified)", s.UnverifiedSubjects},
		{"KEY IDS CLAIMED BY REJECTED TOKENS (unverified)", s.UnverifiedKeyIDs},
		{"ISSUERS CLAIMED BY REJECTED TOKENS (unverified)", s.UnverifiedIssuers},
	} {
		fmt.Fprintf(tw, "\n%s\t\t\tCOUNT\n", list.title)
		if len(list.names) == 0 {
			fmt.Fprintln(tw, "(none)")
		}
		for _, n := range list.names {
			if n.Overcount > 0 {
				fmt.Fprintf(tw, "%s\t\t\t%d (may be up to %d too high)\n", shown(n.Name), n.Count, n.Overcount)
				continue
			}
			fmt.Fprintf(tw, "%s\t\t\t%d\n", shown(n.Name), n.Count)
		}
	}
	fmt.Fprintln(tw, "\nINSTANCE\tRECORDS\tISSUED\tVERIFIED\tFROM CACHE\tREJECTED\tSEQ\tFROM\tTO")
	for _, in := range s.Instances {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d to %d\t%s\t%s\n", shown(instanceName(in.Instance)), in.Records, in.Issued, in.Verified, in.VerifiedFromCache, in.Rejected,
			in.FirstSeq, in.LastSeq, in.From.UTC().Format(time.RFC3339), in.To.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(tw, "\nREJECTIONS PER HOUR\t\t\tCOUNT")
	if len(s.RejectionsPerHour) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, h := range s.RejectionsPerHour {
		fmt.Fprintf(tw, "%s\t\t\t%d\n", h.Hour.Format("2006-01-02T15:04Z"), h.Count)
	}
}
