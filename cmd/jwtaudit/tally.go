package main

import (
	"cmp"
	"slices"
)

// Most distinct names a tally holds. Verified subjects, key ids and
// issuers come from tokens this service's keys signed, so their number
// follows the user base; what rejected tokens claimed is whatever anyone
// sent, so it is held to fewer.
const (
	maxVerifiedNames = 100_000
	maxClaimedNames  = 10_000
)

// tally counts how often each name occurs in a stream, in memory bounded by
// its limit whatever the stream's length. While it has seen at most limit
// distinct names every count is exact. Past that it runs the Space-Saving
// algorithm (Metwally, Agrawal and El Abbadi, "Efficient Computation of
// Frequent and Top-k Elements in Data Streams", 2005): a name it does not
// hold takes the place of the least counted one and inherits that count as
// its overcount. Then any name that occurs more than n/limit times in n is
// certain to be held, and each held count exceeds the truth by at most its
// overcount; a name with no overcount was never displaced and is exact.
// Filling the tally with junk names first therefore cannot hide a busy name
// that comes later.
type tally struct {
	limit int
	at    map[string]int // a name's index in names
	names []tallied      // a min-heap by count once it holds limit names
}

// tallied is one name's count.
type tallied struct {
	name      string
	count     int
	overcount int
}

func newTally(limit int) *tally {
	return &tally{limit: limit, at: map[string]int{}}
}

// full reports whether the tally holds as many names as it may, and keeps
// them as a heap.
func (t *tally) full() bool { return len(t.names) == t.limit }

// add counts one occurrence of name.
func (t *tally) add(name string) {
	if i, ok := t.at[name]; ok {
		t.names[i].count++
		if t.full() {
			t.down(i)
		}
		return
	}
	if !t.full() {
		t.at[name] = len(t.names)
		t.names = append(t.names, tallied{name: name, count: 1})
		if t.full() {
			for i := len(t.names)/2 - 1; i >= 0; i-- {
				t.down(i)
			}
		}
		return
	}
	least := t.names[0]
	delete(t.at, least.name)
	t.names[0] = tallied{name: name, count: least.count + 1, overcount: least.count}
	t.at[name] = 0
	t.down(0)
}

// down moves the entry at i below its children until the heap is ordered
// again: counts only grow, so an entry never needs to move up.
func (t *tally) down(i int) {
	for {
		least := i
		if l := 2*i + 1; l < len(t.names) && t.names[l].count < t.names[least].count {
			least = l
		}
		if r := 2*i + 2; r < len(t.names) && t.names[r].count < t.names[least].count {
			least = r
		}
		if least == i {
			return
		}
		t.names[i], t.names[least] = t.names[least], t.names[i]
		t.at[t.names[i].name], t.at[t.names[least].name] = i, least
		i = least
	}
}

// busiest returns the n names with the highest counts, ties by name.
func (t *tally) busiest(n int) []named {
	out := make([]named, 0, len(t.names))
	for _, e := range t.names {
		out = append(out, named{Name: e.name, Count: e.count, Overcount: e.overcount})
	}
	slices.SortFunc(out, func(a, b named) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	return out[:min(n, len(out))]
}
