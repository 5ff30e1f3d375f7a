package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsAreScraped scrapes the example's /metrics as Prometheus
// would and finds the decisions it made.
func TestMetricsAreScraped(t *testing.T) {
	var trail strings.Builder
	handler, err := run(context.Background(), &trail)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`jwtaudit_tokens_total{cached="false",op="verify",otel_scope_name="github.com/jwtaudit/jwtaudit/otelmetrics"`,
		`jwtaudit_tokens_total{cached="true",op="verify"`,
		`reason="signature"`,
		`jwtaudit_duration_seconds_bucket{`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the scrape has no %s:\n%s", want, grepJWTAudit(string(body)))
		}
	}
	if n := strings.Count(trail.String(), "\n"); n != 8 {
		t.Errorf("the trail has %d lines, want 8 (2 issued, 6 verified)", n)
	}
}

func grepJWTAudit(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "jwtaudit_") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
