package grpcauth

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jwtaudit/jwtaudit"
	"github.com/jwtaudit/jwtaudit/internal/eventtest"
	"github.com/jwtaudit/jwtaudit/internal/tokentest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var (
	testNow    = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	testSecret = []byte("0123456789abcdef0123456789abcdef")
)

const (
	check = "/grpc.health.v1.Health/Check"
	watch = "/grpc.health.v1.Health/Watch"
)

// events keeps what the verifier records.
type events = eventtest.Recorder

func attr(ev jwtaudit.Event, key string) string { return eventtest.Attr(ev, key) }

// server is a real gRPC server on loopback serving the health service
// behind the interceptors, and a client connected to it.
type server struct {
	issuer   *jwtaudit.Issuer
	trail    *events
	client   healthpb.HealthClient
	subjects chan string // the subject the handler's context held, per call
}

func newServer(t *testing.T, verifierOpts []jwtaudit.VerifierOption, opts ...Option) *server {
	t.Helper()
	key, err := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{trail: &events{}, subjects: make(chan string, 16)}
	clock := jwtaudit.WithClock(func() time.Time { return testNow })
	s.issuer, _ = jwtaudit.NewIssuer(jwtaudit.WithKeys(key), clock)
	v, err := jwtaudit.NewVerifier(append(verifierOpts, jwtaudit.WithKeys(key), clock, jwtaudit.WithAudit(s.trail))...)
	if err != nil {
		t.Fatal(err)
	}
	// After authentication, note whose token the handler's context holds.
	noteUnary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		s.note(ctx)
		return h(ctx, req)
	}
	noteStream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		s.note(ss.Context())
		return h(srv, ss)
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor(v, opts...), noteUnary),
		grpc.ChainStreamInterceptor(StreamServerInterceptor(v, opts...), noteStream),
	)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(l)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
	})
	s.client = healthpb.NewHealthClient(conn)
	return s
}

func (s *server) note(ctx context.Context) {
	subject := "-"
	if tok, ok := TokenFrom(ctx); ok {
		subject = tok.Claims.Subject
	}
	s.subjects <- subject
}

func (s *server) token(t *testing.T, c jwtaudit.Claims) string {
	t.Helper()
	raw, err := s.issuer.Issue(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// call makes a unary Check and a Watch stream's first message with the
// given authorization values, and returns their errors.
func (s *server) call(t *testing.T, method string, authorization ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md := metadata.MD{"x-request-id": {"req-7"}}
	if len(authorization) > 0 {
		md["authorization"] = authorization
	}
	ctx = metadata.NewOutgoingContext(ctx, md)
	if method == check {
		_, err := s.client.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	stream, err := s.client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	res, err := stream.Recv()
	if err == nil && res.Status != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %v", res.Status)
	}
	return err
}

// TestInterceptors holds each answer of a real server to a real client,
// unary and streaming: the status the client gets, the one event per
// call, its reason and the call's attributes, and the token in the
// handler's context.
func TestInterceptors(t *testing.T) {
	s := newServer(t, VerifierOptions(), RequireScopes(watch, "health:watch"))
	reader := s.token(t, jwtaudit.Claims{Subject: "alice", Private: map[string]any{"scope": "health:read"}})
	watcher := s.token(t, jwtaudit.Claims{Subject: "bob", Private: map[string]any{"scope": "health:read health:watch"}})
	expired := s.token(t, jwtaudit.Claims{Subject: "alice", IssuedAt: testNow.Add(-2 * time.Hour), ExpiresAt: testNow.Add(-time.Hour)})
	for _, tc := range []struct {
		name      string
		method    string
		auth      []string
		code      codes.Code
		message   string
		reason    jwtaudit.Reason
		malformed bool
		subject   string // in the handler's context, when the call got through
	}{
		{"unary: valid", check, []string{"Bearer " + reader}, codes.OK, "", jwtaudit.ReasonNone, false, "alice"},
		{"unary: scheme in lower case", check, []string{"bearer " + reader}, codes.OK, "", jwtaudit.ReasonNone, false, "alice"},
		{"unary: no credentials", check, nil, codes.Unauthenticated, "authentication required", jwtaudit.ReasonNoToken, false, ""},
		{"unary: two values", check, []string{"Bearer " + reader, "Bearer " + reader}, codes.Unauthenticated, "malformed credentials", jwtaudit.ReasonNoToken, true, ""},
		{"unary: another scheme", check, []string{"Basic YWxpY2U6cHc="}, codes.Unauthenticated, "malformed credentials", jwtaudit.ReasonNoToken, true, ""},
		{"unary: two tokens", check, []string{"Bearer " + reader + " " + reader}, codes.Unauthenticated, "malformed credentials", jwtaudit.ReasonNoToken, true, ""},
		{"unary: DPoP scheme", check, []string{"DPoP " + reader}, codes.Unauthenticated, "malformed credentials", jwtaudit.ReasonNoToken, true, ""},
		{"unary: expired", check, []string{"Bearer " + expired}, codes.Unauthenticated, "token expired", jwtaudit.ReasonExpired, false, ""},
		{"unary: tampered", check, []string{"Bearer " + tokentest.TamperSignature(reader)}, codes.Unauthenticated, "invalid token", jwtaudit.ReasonSignature, false, ""},
		{"stream: valid, with the scope", watch, []string{"Bearer " + watcher}, codes.OK, "", jwtaudit.ReasonNone, false, "bob"},
		{"stream: missing scope", watch, []string{"Bearer " + reader}, codes.PermissionDenied, "insufficient scope", jwtaudit.ReasonRejected, false, ""},
		{"stream: no credentials", watch, nil, codes.Unauthenticated, "authentication required", jwtaudit.ReasonNoToken, false, ""},
		{"stream: tampered", watch, []string{"Bearer " + tokentest.TamperSignature(watcher)}, codes.Unauthenticated, "invalid token", jwtaudit.ReasonSignature, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.call(t, tc.method, tc.auth...)
			st, _ := status.FromError(err)
			if st.Code() != tc.code || (tc.code != codes.OK && st.Message() != tc.message) {
				t.Errorf("%v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.message)
			}
			if len(st.Details()) != 0 {
				t.Errorf("the status has details: %v", st.Details())
			}
			evs := s.trail.Take()
			if len(evs) != 1 {
				t.Fatalf("%d events for one call", len(evs))
			}
			e := evs[0]
			if e.Reason != tc.reason || attr(e, "grpc_method") != tc.method || !strings.HasPrefix(attr(e, "client"), "127.0.0.1:") || attr(e, "request_id") != "req-7" {
				t.Errorf("event %s (%s), attrs %v", e.Reason, e.Detail, e.Attrs)
			}
			if (attr(e, "grpc_auth") != "") != tc.malformed {
				t.Errorf("grpc_auth %q, want malformed=%v", attr(e, "grpc_auth"), tc.malformed)
			}
			if tc.code == codes.OK {
				if got := <-s.subjects; got != tc.subject {
					t.Errorf("the handler's context holds %q, want %q", got, tc.subject)
				}
			} else if len(s.subjects) != 0 {
				t.Errorf("a refused call reached the handler as %q", <-s.subjects)
			}
		})
	}
}

// TestScopesNeedTheValidator: a method that requires scopes, on a
// verifier built without VerifierOptions, is refused rather than run
// unchecked.
func TestScopesNeedTheValidator(t *testing.T) {
	s := newServer(t, nil, RequireScopes(check, "health:read"))
	tok := s.token(t, jwtaudit.Claims{Subject: "alice", Private: map[string]any{"scope": "health:read"}})
	if st, _ := status.FromError(s.call(t, check, "Bearer "+tok)); st.Code() != codes.Internal {
		t.Errorf("%v %q, want Internal", st.Code(), st.Message())
	}
	if n := len(s.trail.Take()); n != 1 {
		t.Errorf("%d events", n)
	}
}

// TestUnavailable: a verifier that cannot decide answers Unavailable.
func TestUnavailable(t *testing.T) {
	s := newServer(t, append(VerifierOptions(), jwtaudit.WithValidator(func(context.Context, *jwtaudit.Token) error {
		return fmt.Errorf("redis down: %w", jwtaudit.ErrStoreUnavailable)
	})))
	tok := s.token(t, jwtaudit.Claims{Subject: "alice"})
	if st, _ := status.FromError(s.call(t, check, "Bearer "+tok)); st.Code() != codes.Unavailable || st.Message() != "service unavailable" {
		t.Errorf("%v %q", st.Code(), st.Message())
	}
	s.trail.Take()
}

// TestWithoutAuthentication: only the named method is open, and its calls
// leave no event; every other stays closed.
func TestWithoutAuthentication(t *testing.T) {
	s := newServer(t, VerifierOptions(), WithoutAuthentication(check))
	if err := s.call(t, check); err != nil {
		t.Errorf("the open method: %v", err)
	}
	if got := <-s.subjects; got != "-" {
		t.Errorf("a token in an open call's context: %q", got)
	}
	if n := len(s.trail.Take()); n != 0 {
		t.Errorf("%d events for an unverified call", n)
	}
	if st, _ := status.FromError(s.call(t, watch)); st.Code() != codes.Unauthenticated {
		t.Errorf("another method: %v", st.Code())
	}
	s.trail.Take()
}

func TestOptionsPanic(t *testing.T) {
	key, _ := jwtaudit.NewKey("k1", jwtaudit.HS256, testSecret)
	v, _ := jwtaudit.NewVerifier(jwtaudit.WithKeys(key))
	for name, opts := range map[string][]Option{
		"method without a slash":  {RequireScopes("grpc.health.v1.Health/Check", "a")},
		"method without a name":   {RequireScopes("/grpc.health.v1.Health/", "a")},
		"scope with a space":      {RequireScopes(check, "a b")},
		"open method with scopes": {RequireScopes(check, "a"), WithoutAuthentication(check)},
		"open service":            {WithoutAuthentication("/grpc.health.v1.Health")},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			UnaryServerInterceptor(v, opts...)
		}()
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "nil verifier") {
				t.Errorf("nil verifier: %v", r)
			}
		}()
		StreamServerInterceptor(nil)
	}()
}
