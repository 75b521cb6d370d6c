package redistest

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// ResendProxy forwards to a Redis server, but holds the first command that
// holds needle: it is sent on only when the client, its read timed out,
// resends it on another connection, and the resend only once Redis answered
// the first. This is a Redis that hung with the command in its socket: on
// resume it runs the first attempt, then the resend.
type ResendProxy struct {
	Addr string // 127.0.0.1:port to connect to

	tb     testing.TB
	needle []byte
	ln     net.Listener

	mu        sync.Mutex
	attempts  int
	held      []byte   // the first attempt, not yet sent
	heldUp    net.Conn // its connection to Redis
	heldReply []byte   // Redis's answer to it
	landed    chan struct{}
	conns     []net.Conn
}

// NewResendProxy starts a proxy to target that the test's end stops.
func NewResendProxy(tb testing.TB, target, needle string) *ResendProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &ResendProxy{Addr: ln.Addr().String(), tb: tb, needle: []byte(needle), ln: ln, landed: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			wg.Go(func() { p.requests(c, up) })
			wg.Go(func() { p.replies(c, up) })
		}
	})
	return p
}

func (p *ResendProxy) requests(c, up net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if p.isHeld(up) {
				return // the client gave up on it; the connection to Redis stays for the held command
			}
			up.Close()
			return
		}
		chunk := buf[:n]
		if bytes.Contains(chunk, p.needle) {
			p.mu.Lock()
			p.attempts++
			first := p.attempts == 1
			if first {
				p.held, p.heldUp = bytes.Clone(chunk), up
			}
			held, heldUp := p.held, p.heldUp
			p.mu.Unlock()
			if first {
				continue
			}
			if held != nil {
				// The resend: Redis resumes and runs the first attempt first.
				if _, err := heldUp.Write(held); err != nil {
					p.tb.Error(err)
				}
				select {
				case <-p.landed:
				case <-time.After(5 * time.Second):
					p.tb.Error("the held attempt got no answer from Redis")
				}
				p.mu.Lock()
				p.held = nil
				p.mu.Unlock()
			}
		}
		if _, err := up.Write(chunk); err != nil {
			return
		}
	}
}

// Attempts returns how many commands held needle, and Redis's answer to
// the first (nil until it ran).
func (p *ResendProxy) Attempts() (int, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts, p.heldReply
}

func (p *ResendProxy) isHeld(up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heldUp == up
}

func (p *ResendProxy) replies(c, up net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 && p.isHeld(up) {
			p.mu.Lock()
			p.heldReply = bytes.Clone(buf[:n])
			p.mu.Unlock()
			p.landed <- struct{}{}
			continue // its client timed out long ago
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
