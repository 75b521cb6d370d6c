// Package redistest gives tests a Redis: a redis-server of their own on a
// free loopback port (Start), or the shared server that REDIS_URL names
// (Options, URL), with a key prefix no other test uses (Prefix). Without
// the server a test is skipped, or fails when the environment sets CI.
package redistest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the shared server when REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379"

// Server is a redis-server process of one test (or of the load tool) on a
// loopback port, without persistence (--save "" --appendonly no).
type Server struct {
	Addr string // 127.0.0.1:port
	dir  string
	// args, when set, are more arguments for the port; a first argument
	// not starting with "--" is the configuration file (Sentinel's).
	args func(port string) []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a redis-server for the test and kills it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	NeedServer(tb)
	s, err := New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Kill)
	return s
}

// NeedServer skips the test when redis-server is not on PATH (fails it
// when CI is set), for tests that start servers with New.
func NeedServer(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		unavailable(tb, "redis-server is not on PATH (apt-get install redis-server)")
	}
}

// New starts a redis-server in dir on a free loopback port, outside a
// test; end it with Kill.
func New(dir string) (*Server, error) { return newServer(dir, nil) }

// newServer is New with more arguments for the server on port.
func newServer(dir string, args func(port string) []string) (*Server, error) {
	var err error
	for range 5 { // another process may take the free port before the server does
		var ln net.Listener
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
		s := &Server{Addr: ln.Addr().String(), dir: dir, args: args}
		ln.Close()
		if err = s.Start(); err == nil {
			return s, nil
		}
	}
	return nil, err
}

// URL is the server's redis:// URL with database db.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr, db) }

// Options are the server's client options with database db.
func (s *Server) Options(db int) *redis.Options {
	return &redis.Options{Addr: s.Addr, DB: db, Protocol: 2}
}

// PID is the server's process id; 0 while it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Start starts the server again on its port; it loads the data Stop saved.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("redistest: redis-server is already running")
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	logf, err := os.OpenFile(filepath.Join(s.dir, "redis-"+port+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	// A replica syncs at once (the default waits 5 s for more replicas).
	args := []string{"--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--dbfilename", "dump-" + port + ".rdb",
		"--daemonize", "no", "--loglevel", "warning", "--repl-diskless-sync-delay", "0"}
	if s.args != nil {
		more := s.args(port)
		if len(more) > 0 && !strings.HasPrefix(more[0], "--") {
			args = append([]string{more[0]}, args...) // the configuration file comes first
			more = more[1:]
		}
		args = append(args, more...)
	}
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Killed with this process, so a test that panics leaves no server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("redistest: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	// Bounded polling: the server gives no other sign that it listens.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ping(s.Addr) == nil {
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redistest: redis-server on %s exited at start (port taken?)", s.Addr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redistest: redis-server on %s did not answer within 5 s", s.Addr)
		}
	}
}

// Stop shuts the server down saving its data first (SHUTDOWN SAVE), so
// that Start brings the same data back, as a server with persistence would.
func (s *Server) Stop() error {
	cmd, done := s.take()
	if cmd == nil {
		return nil
	}
	c := client(s.Addr)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.ShutdownSave(ctx).Err()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("redistest: redis-server did not shut down (%v); killed", err)
	}
}

// Kill ends the server at once, without saving.
func (s *Server) Kill() {
	if cmd, done := s.take(); cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
}

// Pause stops the process (SIGSTOP): connections stay open, nothing answers.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("redistest: redis-server is not running")
	}
	return s.cmd.Process.Signal(sig)
}

func (s *Server) take() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	return cmd, done
}

// client makes one attempt per command and answers fast when nothing listens.
func client(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err // not listening yet; go-redis would log each try
	}
	conn.Close()
	c := client(addr)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// URL is the shared test server's URL: REDIS_URL (DefaultURL when unset)
// with database db, 1 to 9, its host, credentials and options kept.
func URL(tb testing.TB, db int) string {
	tb.Helper()
	u, err := sharedURL(os.Getenv("REDIS_URL"), db)
	if err != nil {
		tb.Fatal(err)
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("REDIS_URL: %v", err)
	}
	opts.MaxRetries, opts.DialerRetries = -1, 1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		unavailable(tb, fmt.Sprintf("Redis at %s does not answer: %v; start redis-server or set REDIS_URL", opts.Addr, err))
	}
	return u
}

// Options are URL's client options, on RESP2 unless it says otherwise, as progress.OpenRedis.
func Options(tb testing.TB, db int) *redis.Options {
	tb.Helper()
	opts, err := redis.ParseURL(URL(tb, db))
	if err != nil {
		tb.Fatal(err)
	}
	opts.Protocol = cmp.Or(opts.Protocol, 2)
	return opts
}

func sharedURL(raw string, db int) (string, error) {
	if db < 1 || db > 9 {
		return "", fmt.Errorf("redistest: database %d; tests use databases 1 to 9", db)
	}
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return "", errors.New("REDIS_URL is not a redis:// or rediss:// URL with a host")
	}
	u.Path = "/" + strconv.Itoa(db)
	return u.String(), nil
}

// Prefix is a key prefix no other test uses; the keys under it
// (prefix:*) are deleted from the server of opts when the test ends.
func Prefix(tb testing.TB, opts *redis.Options) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "upgradebot-test-" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		c := redis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 && iter.Err() == nil {
			n := min(len(keys), 500)
			if err := c.Unlink(ctx, keys[:n]...).Err(); err != nil {
				tb.Errorf("redistest: deleting %s:*: %v", prefix, err)
				return
			}
			keys = keys[n:]
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("redistest: listing %s:*: %v", prefix, err)
		}
	})
	return prefix
}

// unavailable skips the test, or fails it when CI is set.
func unavailable(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}
