package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkTally holds a tally that has seen stream to what Space-Saving
// promises: at most limit names held; each held count at least the truth
// and at most overcount above it; no overcount means exact; and every name
// that occurred more than len(stream)/limit times is held. It returns the
// tally.
func checkTally(t *testing.T, limit int, stream []string) *tally {
	t.Helper()
	tl := newTally(limit)
	truth := map[string]int{}
	for _, name := range stream {
		tl.add(name)
		truth[name]++
	}
	if len(tl.names) > limit || len(tl.at) != len(tl.names) {
		t.Fatalf("%d names held, %d indexed, limit %d", len(tl.names), len(tl.at), limit)
	}
	if tl.full() {
		// The next name displaces names[0]: it must be the least counted.
		for i := 1; i < len(tl.names); i++ {
			if parent := (i - 1) / 2; tl.names[parent].count > tl.names[i].count {
				t.Fatalf("heap out of order: %+v above %+v", tl.names[parent], tl.names[i])
			}
		}
	}
	held := map[string]bool{}
	for i, e := range tl.names {
		held[e.name] = true
		if tl.at[e.name] != i {
			t.Fatalf("%q is at %d, indexed at %d", e.name, i, tl.at[e.name])
		}
		if e.count < truth[e.name] || e.count-e.overcount > truth[e.name] {
			t.Errorf("%q: count %d, overcount %d, truth %d", e.name, e.count, e.overcount, truth[e.name])
		}
	}
	for name, n := range truth {
		if n > len(stream)/limit && !held[name] {
			t.Errorf("%q occurred %d times in %d and is not held (limit %d)", name, n, len(stream), limit)
		}
	}
	if len(truth) <= limit {
		for _, e := range tl.busiest(len(truth)) {
			if e.Overcount != 0 || e.Count != truth[e.Name] {
				t.Errorf("under the limit, %q: %+v, truth %d", e.Name, e, truth[e.Name])
			}
		}
	}
	return tl
}

func TestTallyIsExactUnderItsLimit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var stream []string
	for range 5000 {
		stream = append(stream, fmt.Sprint("user-", r.IntN(300)))
	}
	checkTally(t, 300, stream)
}

func TestTallyPastItsLimit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, limit := range []int{1, 2, 10, 100} {
		var stream []string
		for range 20000 {
			// Zipf-like: a few busy names and a long tail.
			stream = append(stream, fmt.Sprint("user-", int(r.ExpFloat64()*float64(limit))))
		}
		checkTally(t, limit, stream)
	}
}

// TestTallyJunkFirst sends many distinct names before a busy one, as
// someone filling the report with forged subjects would: the busy name is
// still held, on top, with its count within its overcount.
func TestTallyJunkFirst(t *testing.T) {
	var stream []string
	for i := range 5000 {
		stream = append(stream, fmt.Sprint("junk-", i))
	}
	for range 200 {
		stream = append(stream, "busy")
	}
	top := checkTally(t, 50, stream).busiest(1)[0]
	if top.Name != "busy" || top.Count-top.Overcount > 200 || top.Count < 200 {
		t.Errorf("top after the junk: %+v", top)
	}
}

// TestSummaryOfManyClaimedSubjects summarizes a log whose rejected tokens
// claim more distinct subjects than a tally holds, a busy one among them:
// the busy subject is listed first, and where a count may be high the
// summary says by how much, in JSON and as text.
func TestSummaryOfManyClaimedSubjects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	line := func(sub string) {
		fmt.Fprintf(w, `{"time":"2026-11-27T10:00:00Z","level":"WARN","msg":"token rejected","op":"verify","outcome":"rejected","reason":"signature","sub":%q,"verified":false}`+"\n", sub)
	}
	for i := range 2 * maxClaimedNames {
		line(fmt.Sprint("forged-", i))
		if i%10 == 0 {
			line("mallory")
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	code, out, errOut := cli("summary", "--json", "--top", "3", path)
	if code != exitOK {
		t.Fatalf("summary: %d %s", code, errOut)
	}
	var s summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.UnverifiedSubjects) != 3 {
		t.Fatalf("unverified subjects: %+v", s.UnverifiedSubjects)
	}
	top := s.UnverifiedSubjects[0]
	const mallory = 2 * maxClaimedNames / 10
	if top.Name != "mallory" || top.Count < mallory || top.Count-top.Overcount > mallory {
		t.Errorf("busiest claimed subject: %+v, want mallory with %d", top, mallory)
	}
	if s.UnverifiedSubjects[1].Overcount == 0 {
		t.Errorf("a displaced forged subject shows no overcount: %+v", s.UnverifiedSubjects[1])
	}
	if !strings.Contains(out, `"overcount":`) {
		t.Error("the JSON summary has no overcount")
	}
	if _, text, _ := cli("summary", path); !strings.Contains(text, "too high)") {
		t.Errorf("the text summary does not say a count may be high:\n%s", text)
	}
}
