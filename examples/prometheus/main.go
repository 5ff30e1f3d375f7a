// Command prometheus shows jwtaudit's audit events as metrics that
// Prometheus scrapes: the otelmetrics sink on an OpenTelemetry
// MeterProvider whose Prometheus exporter serves /metrics, beside a JSON
// trail on standard output, with one FanOutSink feeding both.
//
//	cd examples/prometheus && go run . [-addr 127.0.0.1:9464]
//
// It issues and verifies a few tokens (one of them tampered with, one
// verified again from the cache), then serves the metrics until stopped:
//
//	curl -s 127.0.0.1:9464/metrics | grep '^jwtaudit_'
//
// This example is a module of its own, so that the Prometheus client it
// needs never becomes a dependency of jwtaudit.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/otelmetrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9464", "where to serve /metrics")
	flag.Parse()
	handler, err := run(context.Background(), os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "metrics on http://%s/metrics\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, handler))
}

// run wires the sinks, makes a few decisions, and returns the /metrics
// handler. The trail goes to trail.
func run(ctx context.Context, trail io.Writer) (http.Handler, error) {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, err
	}
	metrics, err := otelmetrics.NewSink(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)))
	if err != nil {
		return nil, err
	}
	audit := jwtaudit.NewFanOutSink(jwtaudit.AllSinks, jwtaudit.NewJSONSink(trail), metrics)

	key, err := jwtaudit.NewKey("demo-1", jwtaudit.HS256, []byte(rand.Text()+rand.Text()))
	if err != nil {
		return nil, err
	}
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithIssuer("https://auth.example"), jwtaudit.WithAudit(audit))
	issuer, err := jwtaudit.NewIssuer(shared)
	if err != nil {
		return nil, err
	}
	verifier, err := jwtaudit.NewVerifier(shared, jwtaudit.WithVerifiedCache(1000, 1<<20))
	if err != nil {
		return nil, err
	}
	for _, user := range []string{"alice", "bob"} {
		raw, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: user})
		if err != nil {
			return nil, err
		}
		for range 2 { // the second from the cache
			if _, err := verifier.Verify(ctx, raw); err != nil {
				return nil, err
			}
		}
		verifier.Verify(ctx, tamper(raw)) // refused: its signature does not hold
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	return mux, nil
}

// tamper changes one character of a token's signature, as an attacker
// would: never to the same character, and not the last one, whose low bits
// base64 may leave unused.
func tamper(raw string) string {
	i := len(raw) - 5
	c := "A"
	if raw[i] == 'A' {
		c = "B"
	}
	return raw[:i] + c + raw[i+1:]
}
