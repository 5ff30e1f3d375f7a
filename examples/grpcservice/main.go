// Command grpcservice is a gRPC server whose every call is authenticated
// by grpcauth's interceptors, and a client that calls it, in one program
// that needs no network beyond loopback: it serves the standard health
// service, calls it with a token, without one, with one that lacks a
// required scope, and over a stream, and writes every decision to an
// audit trail of JSON lines.
//
//	go run ./examples/grpcservice              # audit trail appended to ./grpcservice.log
//	go run ./examples/grpcservice -log /tmp/g.log
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/auditlog"
	"github.com/jwtaudit/jwtaudit/grpcauth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func main() {
	logPath := flag.String("log", "grpcservice.log", "file the audit trail is appended to, as JSON lines")
	flag.Parse()
	if err := run(os.Stdout, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "grpcservice:", err)
		os.Exit(1)
	}
}

// watchMethod is the health service's stream, which this service opens
// only to tokens granting health:watch.
const watchMethod = "/grpc.health.v1.Health/Watch"

func run(out io.Writer, logPath string) error {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	key, err := jwtaudit.NewKey("grpc-1", jwtaudit.HS256, secret)
	if err != nil {
		return err
	}
	trail, err := auditlog.Open(logPath, auditlog.Options{})
	if err != nil {
		return err
	}
	defer trail.Close()
	shared := jwtaudit.Options(jwtaudit.WithKeys(key), jwtaudit.WithAudit(trail))
	issuer, err := jwtaudit.NewIssuer(shared, jwtaudit.WithTTL(time.Hour))
	if err != nil {
		return err
	}
	// grpcauth.VerifierOptions puts each call's method, peer and request
	// id in its event, and checks the scopes a method requires.
	verifier, err := jwtaudit.NewVerifier(append(grpcauth.VerifierOptions(), shared)...)
	if err != nil {
		return err
	}

	// The server: every call verified, Watch only with health:watch.
	auth := []grpcauth.Option{grpcauth.RequireScopes(watchMethod, "health:watch")}
	server := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcauth.UnaryServerInterceptor(verifier, auth...)),
		grpc.ChainStreamInterceptor(grpcauth.StreamServerInterceptor(verifier, auth...)),
	)
	healthpb.RegisterHealthServer(server, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go server.Serve(l)
	defer server.Stop()

	// The client.
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx := context.Background()
	reader, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "alice", Private: map[string]any{"scope": "health:read"}})
	if err != nil {
		return err
	}
	watcher, err := issuer.Issue(ctx, jwtaudit.Claims{Subject: "bob", Private: map[string]any{"scope": "health:read health:watch"}})
	if err != nil {
		return err
	}
	withToken := func(token string) context.Context {
		if token == "" {
			return ctx
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}

	for _, c := range []struct{ who, token string }{{"alice", reader}, {"no token", ""}} {
		_, err := client.Check(withToken(c.token), &healthpb.HealthCheckRequest{})
		fmt.Fprintf(out, "Check as %-9s → %s\n", c.who, outcome(err))
	}
	for _, c := range []struct{ who, token string }{{"bob", watcher}, {"alice", reader}} {
		fmt.Fprintf(out, "Watch as %-9s → %s\n", c.who, outcome(firstUpdate(withToken(c.token), client)))
	}
	fmt.Fprintf(out, "Every call above is one audit event in %s.\n", logPath)
	return nil
}

// firstUpdate opens a Watch stream and reads its first message.
func firstUpdate(ctx context.Context, client healthpb.HealthClient) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	res, err := stream.Recv()
	if err == nil && res.Status != healthpb.HealthCheckResponse_SERVING {
		return errors.New(res.Status.String())
	}
	return err
}

// outcome prints a call's result as the client sees it.
func outcome(err error) string {
	if err == nil {
		return "SERVING"
	}
	st := status.Convert(err)
	return fmt.Sprintf("%s: %s", st.Code(), st.Message())
}
