package main

import (
	"fmt"
	"strconv"
)

// charts are the page's SVG drawings, worked out here so that the
// template only places shapes.
type charts struct {
	Width, Height int
	Decisions     []shape // stacked bars: issued, verified, rejected
	Reasons       []shape // stacked bars, one colour a reason
	Lifecycle     []shape // markers: key changes, fetches, revocations, replays
	Axis          []label // times under the bars
	Palette       []swatch
}

// shape is one rectangle or circle of a chart; Title is its tooltip.
type shape struct {
	X, Y, W, H float64
	Class      string
	Title      string
	Circle     bool
}

type label struct {
	X    float64
	Text string
}

type swatch struct {
	Reason string
	Class  string
}

// reasonClasses colour the rejection reasons, the most frequent first;
// the rest share the last.
var reasonClasses = []string{"r0", "r1", "r2", "r3", "r4", "r5"}

const chartWidth, chartHeight, axisEvery = 960, 180, 6

func drawCharts(r *report) charts {
	c := charts{Width: chartWidth, Height: chartHeight}
	n := len(r.Buckets)
	slot := float64(chartWidth) / float64(n)
	barW := slot * 0.8
	maxDecisions, maxRejected := 1, 1
	for _, b := range r.Buckets {
		maxDecisions = max(maxDecisions, b.Issued+b.Verified+b.Rejected)
		maxRejected = max(maxRejected, b.Rejected)
	}
	class := map[string]string{}
	for i, reason := range r.Reasons {
		class[reason] = reasonClasses[min(i, len(reasonClasses)-1)]
		if i < len(reasonClasses) {
			c.Palette = append(c.Palette, swatch{reason, class[reason]})
		}
	}
	for i, b := range r.Buckets {
		x := float64(i)*slot + (slot-barW)/2
		when := b.Start.UTC().Format("2006-01-02 15:04")
		y := float64(chartHeight)
		for _, part := range []struct {
			n     int
			class string
			what  string
		}{{b.Issued, "issued", "issued"}, {b.Verified, "verified", "verified"}, {b.Rejected, "rejected", "rejected"}} {
			if part.n == 0 {
				continue
			}
			h := float64(part.n) / float64(maxDecisions) * (chartHeight - 10)
			y -= h
			c.Decisions = append(c.Decisions, shape{X: x, Y: y, W: barW, H: h, Class: part.class, Title: fmt.Sprintf("%s: %d %s", when, part.n, part.what)})
		}
		y = float64(chartHeight)
		for _, reason := range r.Reasons {
			k := b.ByReason[reason]
			if k == 0 {
				continue
			}
			h := float64(k) / float64(maxRejected) * (chartHeight - 10)
			y -= h
			c.Reasons = append(c.Reasons, shape{X: x, Y: y, W: barW, H: h, Class: class[reason], Title: fmt.Sprintf("%s: %d %s", when, k, reason)})
		}
		for row, m := range []struct {
			n, failed int
			class     string
			what      string
		}{
			{b.KeyChanges, b.FailedKeyChanges, "key", "key set changes"},
			{b.Fetches, b.FailedFetches, "fetch", "JWKS fetches"},
			{b.Revocations, 0, "revoke", "revocations"},
			{b.Replays, 0, "replay", "replays refused"},
		} {
			if m.n == 0 {
				continue
			}
			cls, title := m.class, fmt.Sprintf("%s: %d %s", when, m.n, m.what)
			if m.failed > 0 {
				cls, title = m.class+" failed", title+", "+strconv.Itoa(m.failed)+" failed"
			}
			c.Lifecycle = append(c.Lifecycle, shape{X: x + barW/2, Y: 25 + float64(row)*40, W: 6 + min(float64(m.n), 12), Class: cls, Title: title, Circle: true})
		}
		if i%max(1, n/axisEvery) == 0 {
			c.Axis = append(c.Axis, label{X: x, Text: when})
		}
	}
	return c
}
