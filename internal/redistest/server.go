// Package redistest starts a redis-server of a test's own, on a free
// loopback port with its data in a temporary directory, for the tests of
// the packages that use Redis.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server of the test's own, on a free loopback port,
// with its data in a temporary directory.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// Start starts a server, or skips the test when redis-server is not
// installed; with JWTAUDIT_REQUIRE_REDIS=1 a missing server fails it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("JWTAUDIT_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server is not installed, and JWTAUDIT_REQUIRE_REDIS=1")
		}
		t.Skip("redis-server is not installed: these tests need a real Redis (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: port}
	s.Restart()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the end of %s's log:\n%s", s, s.logTail())
		}
		s.Stop()
	})
	return s
}

// logTail returns the last lines of the server's log, for a failed test.
func (s *Server) logTail() string {
	data, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return string(data)
}

// Addr is the server's address, for a client's Options.Addr.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Restart runs the server (again, after Stop) with append-only persistence, so that a restart
// keeps the revocations, as operators must configure it.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	for range 100 {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	s.t.Fatalf("redis-server did not start:\n%s", log)
}

// Stop kills the server, as a crash would.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second, MaxRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

// String names the server.
func (s *Server) String() string { return fmt.Sprintf("redis-server on %s", s.Addr()) }
