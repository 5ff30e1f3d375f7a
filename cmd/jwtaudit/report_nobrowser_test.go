//go:build !browser

package main

import "testing"

// TestReportInABrowser is built with -tags browser only: chromedp, which
// drives the browser, takes longer to compile than the rest of the tests
// take to run, so the check is a step of its own in .ci/run.
func TestReportInABrowser(t *testing.T) {
	t.Skip("the report is checked in headless Chromium by: go test -tags browser -run ReportInABrowser ./cmd/jwtaudit (.ci/run runs it)")
}
