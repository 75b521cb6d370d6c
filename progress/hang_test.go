package progress

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/internal/redistest"
)

// TestOpenRedisTimeouts: OpenRedis's client honours context deadlines and
// gives up after 500 ms unless the URL says otherwise (go-redis keeps -1,
// "none", as 0 once the client is made).
func TestOpenRedisTimeouts(t *testing.T) {
	for _, c := range []struct {
		url                              string
		dial, read, write, pool, retries string
	}{
		{"redis://localhost:6379", "500ms", "500ms", "500ms", "500ms", "1"},
		{"redis://localhost:6379?read_timeout=2s&dial_timeout=1s&max_retries=-1", "1s", "2s", "500ms", "500ms", "0"},
		{"redis://localhost:6379?write_timeout=-1&pool_timeout=3s", "500ms", "500ms", "0s", "3s", "1"},
	} {
		s, _, err := OpenRedis(c.url, "", RedisOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o := s.client.(*redis.Client).Options()
		got := []string{o.DialTimeout.String(), o.ReadTimeout.String(), o.WriteTimeout.String(), o.PoolTimeout.String(), strconv.Itoa(o.MaxRetries)}
		want := []string{c.dial, c.read, c.write, c.pool, c.retries}
		if !o.ContextTimeoutEnabled || !slices.Equal(got, want) {
			t.Errorf("%s: dial, read, write, pool timeouts and retries %v (context deadlines honoured: %v); want %v and true", c.url, got, o.ContextTimeoutEnabled, want)
		}
		s.Close()
	}
}

// resendProxy forwards to Redis, but holds the first command that holds
// needle: it is sent on only when the client, its read timed out, resends
// it on another connection, and the resend only once Redis answered the
// first. This is a Redis that hung with the command in its socket: on
// resume it runs the first attempt, then the resend.
type resendProxy struct {
	t      *testing.T
	target string
	needle []byte
	ln     net.Listener

	mu        sync.Mutex
	attempts  int
	held      []byte   // the first attempt, not yet sent
	heldUp    net.Conn // its connection to Redis
	heldReply []byte   // Redis's answer to it
	landed    chan []byte
	conns     []net.Conn
}

func startResendProxy(t *testing.T, target, needle string) *resendProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &resendProxy{t: t, target: target, needle: []byte(needle), ln: ln, landed: make(chan []byte, 1)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
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

func (p *resendProxy) requests(c, up net.Conn) {
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
					p.t.Error(err)
				}
				select {
				case <-p.landed:
				case <-time.After(5 * time.Second):
					p.t.Error("the held attempt got no answer from Redis")
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

func (p *resendProxy) isHeld(up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heldUp == up
}

func (p *resendProxy) replies(c, up net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 && p.isHeld(up) {
			p.mu.Lock()
			p.heldReply = bytes.Clone(buf[:n])
			p.mu.Unlock()
			p.landed <- nil
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

// TestRedisClaimResentAfterTimeout is issue 14's lost paste: a claim's
// reply does not come within the read timeout, go-redis resends it, and
// the first attempt lands before the resend. The resend must find the
// claim its own (same token), not someone else's.
func TestRedisClaimResentAfterTimeout(t *testing.T) {
	u, err := url.Parse(redistest.URL(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	opts := redisTestOptions(t)
	prefix := redistest.Prefix(t, opts)
	key := "slack:msg:T1:C1:1700000000.000100"
	proxy := startResendProxy(t, u.Host, prefix+":claim:"+key)
	u.Host = proxy.ln.Addr().String()
	u.RawQuery = "read_timeout=200ms"
	s, err := OpenRedisURL(u.String(), RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	mine := NewToken()
	if ok, err := s.Claim(ctx, "warm-up", mine, time.Minute); err != nil || !ok { // loads the script
		t.Fatalf("warm-up claim: %v %v", ok, err)
	}
	ok, err := s.Claim(ctx, key, mine, time.Minute)
	proxy.mu.Lock()
	attempts, first := proxy.attempts, proxy.heldReply
	proxy.mu.Unlock()
	if attempts != 2 || !bytes.Equal(first, []byte(":1\r\n")) {
		t.Fatalf("%d attempts, the first answered %q; want 2, the first taking the claim (:1)", attempts, first)
	}
	if err != nil || !ok {
		t.Errorf("the resent claim = %v, %v; want won: the first attempt took it with the same token", ok, err)
	}
	if ok, err := s.Claim(ctx, key, NewToken(), time.Minute); err != nil || ok {
		t.Errorf("another token's claim = %v, %v; want lost", ok, err)
	}
	// A claim by SET NX alone, without the token, would have lost to its own first attempt.
	plain := redis.NewClient(opts)
	defer plain.Close()
	if won, err := plain.SetNX(ctx, prefix+":claim:"+key, mine, time.Minute).Result(); err != nil || won {
		t.Errorf("SET NX after the first attempt: %v, %v; the test no longer shows the lost paste", won, err)
	}
}

// TestRedisPausedServer: a Redis stopped with SIGSTOP (connections open,
// nothing answers) fails each call within its context's deadline, and
// after a few failures the breaker fails them without sending anything.
// Once Redis resumes, the probe (on a new connection: the old ones timed
// out) closes the breaker.
func TestRedisPausedServer(t *testing.T) {
	srv := redistest.Start(t)
	clock := &fakeClock{t: time.Now()}
	s, err := OpenRedisURL(srv.URL(3), RedisOptions{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	defer srv.Resume()
	var last error
	for i := range breakerFailures + 1 {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, last = s.Claim(ctx, "k", "t", time.Minute)
		cancel()
		if !errors.Is(last, ErrUnavailable) {
			t.Fatalf("claim %d on a paused server: %v, want ErrUnavailable", i+1, last)
		}
	}
	if !errors.Is(last, ErrBreakerOpen) {
		t.Errorf("after %d failures: %v, want ErrBreakerOpen", breakerFailures, last)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("resumed, the breaker still open: %v, want ErrBreakerOpen", err)
	}
	clock.t = clock.t.Add(breakerOpenFor)
	for i, what := range []string{"the probe", "the call after it"} {
		if ok, err := s.Claim(context.Background(), "k", "t", time.Minute); err != nil || !ok {
			t.Errorf("%s (%d) after Redis resumed: %v, %v; want the claim", what, i, ok, err)
		}
	}
}
