// Command httpservice is a small HTTP service that hands out tokens at
// login and checks them on every request, with revocation (log out, log
// out everywhere) shared by every instance when they share a Redis, and
// every decision on a chained audit trail.
//
//	go run ./examples/httpservice [-addr 127.0.0.1:8080] [-log httpservice.log] [-redis ADDR] [-origin https://api.example.com]
//
// Two demo users: alice (password wonderland, scope read) and bob
// (password builder, scopes read and admin). The signing key is derived
// from JWTAUDIT_SECRET when it is set (32 bytes or more), so that instances
// started with the same secret accept each other's tokens; otherwise a
// random one is made for this run, with a notice. The trail is chained
// with JWTAUDIT_CHAIN_KEY when that is set: `go run ./cmd/jwtaudit verify
// httpservice.log` checks it.
//
//	POST /login              {"username":…,"password":…} → {"access_token":…,"token_type":"Bearer","expires_in":3600}
//	                         with a DPoP header (RFC 9449 §5): a token bound to the proof's key, "token_type":"DPoP"
//	GET  /me                 the token's subject and scopes
//	GET  /admin              needs scope admin
//	POST /logout             revokes the token presented
//	POST /logout-all         revokes every token of its subject
//	GET  /.well-known/jwks.json
//
// /me, /admin and the logouts take "Authorization: Bearer" with a bearer
// token, and "Authorization: DPoP" with a DPoP-bound token and a proof
// ("DPoP" header) made for that request by the key it is bound to. Proofs
// name the URL the client used: behind a proxy, -origin gives the public
// scheme and host.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jwtaudit/jwtaudit"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	logPath := flag.String("log", "httpservice.log", "file the audit trail is appended to")
	redisAddr := flag.String("redis", "", "Redis address for revocations and DPoP proofs seen, shared by every instance (default: in this process only)")
	origin := flag.String("origin", "", "the scheme and host clients address the service by, which DPoP proofs name (default: the request's)")
	flag.Parse()
	if err := run(*addr, *logPath, *redisAddr, *origin, os.Stdout); err != nil {
		log.Fatal("httpservice: ", err)
	}
}

func run(addr, logPath, redisAddr, origin string, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := newService(ctx, config{
		logPath: logPath, redisAddr: redisAddr, origin: origin,
		secret: os.Getenv("JWTAUDIT_SECRET"), chainKey: os.Getenv("JWTAUDIT_CHAIN_KEY"), out: out,
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "listening on http://%s\n", l.Addr())
	fmt.Fprintln(out, "demo users: alice / wonderland (scope read), bob / builder (scopes read admin)")
	server := &http.Server{Handler: svc, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(shutdown)
	}()
	if err := server.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// config is what one instance is started with.
type config struct {
	logPath   string
	redisAddr string
	origin    string // -origin: what DPoP proofs name; "" for the request's
	secret    string // JWTAUDIT_SECRET
	chainKey  string // JWTAUDIT_CHAIN_KEY
	out       io.Writer
	clock     func() time.Time // for tests; default time.Now
}

// signingKey derives the instance's Ed25519 key from the shared secret, or
// makes a random one: instances with the same secret sign alike, and the
// JWKS publishes the public half.
func signingKey(secret string, out io.Writer) (*jwtaudit.Key, error) {
	var seed [ed25519.SeedSize]byte
	switch {
	case secret == "":
		fmt.Fprintln(out, "JWTAUDIT_SECRET is not set: using a random key for this run.")
		if _, err := rand.Read(seed[:]); err != nil {
			return nil, err
		}
	case len(secret) < 32:
		return nil, errors.New("JWTAUDIT_SECRET must be 32 bytes or more")
	default:
		seed = sha256.Sum256([]byte("jwtaudit httpservice signing key\x00" + secret))
	}
	return jwtaudit.NewKey("", jwtaudit.EdDSA, ed25519.NewKeyFromSeed(seed[:]))
}
