package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// echo starts a server that writes back each line it reads.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func TestFaults(t *testing.T) {
	p, err := Start(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	roundTrip := func(deadline time.Duration) (time.Duration, error) {
		start := time.Now()
		c.SetDeadline(start.Add(deadline))
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return 0, err
		}
		line, err := r.ReadString('\n')
		if err == nil && line != "ping\n" {
			t.Fatalf("echoed %q", line)
		}
		return time.Since(start), err
	}

	if _, err := roundTrip(time.Second); err != nil {
		t.Fatalf("through a healthy link: %v", err)
	}
	p.SetLatency(5 * time.Millisecond)
	if d, err := roundTrip(time.Second); err != nil || d < 10*time.Millisecond {
		t.Errorf("with 5 ms each way: %v, %v; want at least 10 ms", d, err)
	}
	p.SetLatency(0)

	p.BlackHole()
	var ne net.Error
	if _, err := roundTrip(200 * time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("through a black hole: %v, want a timeout with the connection open", err)
	}
	late, err := net.Dial("tcp", p.Addr()) // accepted, and held too
	if err != nil {
		t.Fatalf("a new connection in a black hole: %v", err)
	}
	defer late.Close()
	late.Write([]byte("late\n"))
	p.Heal()
	c.SetDeadline(time.Now().Add(time.Second))
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Errorf("what the black hole held: %q, %v", line, err)
	}
	late.SetDeadline(time.Now().Add(time.Second))
	if line, err := bufio.NewReader(late).ReadString('\n'); err != nil || line != "late\n" {
		t.Errorf("the connection made in the black hole: %q, %v", line, err)
	}

	p.ResetAll()
	if _, err := roundTrip(time.Second); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) {
		t.Errorf("after a reset: %v", err)
	}
}
