// Package redistest starts a redis-server of a test's own, on a free
// loopback port with its data in a temporary directory, for the tests of
// the packages that use Redis. It needs no Redis client, so that the core
// module, which holds it, requires none: a test makes its client of Addr.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
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
	for range 100 {
		if s.answers() {
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

// answers reports whether the server answers a PING.
func (s *Server) answers() bool {
	c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// String names the server.
func (s *Server) String() string { return fmt.Sprintf("redis-server on %s", s.Addr()) }
