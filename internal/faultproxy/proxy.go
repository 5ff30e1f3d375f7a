// Package faultproxy is a TCP proxy that puts the faults a fleet meets
// between a client and a server on 127.0.0.1, for tests: a link that stays
// open and passes nothing (a black hole), latency, connections reset.
// Killing the server is the easy fault; these are the ones a network makes.
//
// Each connection is two pumps, one a direction, reading chunks and
// writing them on. A black hole stops both pumps before their next write:
// the connection stays established, bytes sent into it are held (by the
// proxy and then by the kernel's buffers, as a router that drops them
// would leave TCP retransmitting), and new connections are accepted and
// held the same way. Healing lets what was held through. Latency delays
// each chunk by the given time in each direction, without limiting how
// many are in flight, so a pipeline stays a pipeline.
package faultproxy

import (
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections made to Addr to the upstream address, with
// faults. Create it with Start; Close it when done.
type Proxy struct {
	upstream string
	ln       net.Listener

	mu      sync.Mutex
	held    bool          // a black hole: nothing passes
	healed  chan struct{} // closed when the black hole ends
	latency time.Duration // added to each chunk, in each direction
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// Start listens on a free port of 127.0.0.1 and forwards each connection
// to upstream.
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{upstream: upstream, ln: ln, healed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	close(p.healed)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// BlackHole makes the link pass nothing, in either direction, on the
// connections open and on new ones, which are accepted (as a middlebox
// would) and held: until Heal, no byte reaches the other side, and no
// connection is closed.
func (p *Proxy) BlackHole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.held {
		p.held, p.healed = true, make(chan struct{})
	}
}

// Heal ends a black hole: what was held goes through.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held {
		p.held = false
		close(p.healed)
	}
}

// SetLatency delays every chunk by d in each direction: a round trip
// through the proxy takes 2d more.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// ResetAll closes every open connection with a TCP reset, as a peer that
// crashed or a middlebox that forgot the connection does. New connections
// are accepted as before.
func (p *Proxy) ResetAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends RST
		}
		c.Close()
		delete(p.conns, c)
	}
}

// Close stops accepting, closes every connection and waits for the pumps.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Heal()
	p.ResetAll()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client, server) {
			return
		}
		p.wg.Add(2)
		go p.pump(server, client)
		go p.pump(client, server)
	}
}

// track registers a connection's two ends, or closes them when the proxy
// is closing.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pump copies from src to dst, chunk by chunk, each after the latency and
// any black hole. A reader goroutine feeds the writer so that chunks read
// while earlier ones wait out their latency are not held up behind them.
func (p *Proxy) pump(dst, src net.Conn) {
	defer p.wg.Done()
	type chunk struct {
		data []byte
		due  time.Time
	}
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				due := time.Now().Add(p.latency)
				p.mu.Unlock()
				chunks <- chunk{buf[:n], due}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		p.waitHealed()
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	// One side ended, or was reset: end the connection.
	src.Close()
	dst.Close()
	p.mu.Lock()
	delete(p.conns, src)
	delete(p.conns, dst)
	p.mu.Unlock()
	for range chunks { // let the reader finish
	}
}

// waitHealed returns once no black hole holds the link.
func (p *Proxy) waitHealed() {
	for {
		p.mu.Lock()
		held, healed := p.held, p.healed
		p.mu.Unlock()
		if !held {
			return
		}
		<-healed
	}
}

var _ io.Closer = (*Proxy)(nil)
