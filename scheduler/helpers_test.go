package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
)

const ws = "T1"

// redisEnv is one Redis key space shared by the "replicas" of a test: the
// shared test server (internal/redistest, database 6) with a unique prefix.
type redisEnv struct {
	t      *testing.T
	opts   *redis.Options
	prefix string
	now    func() time.Time
}

func newRedisEnv(t *testing.T, now func() time.Time) *redisEnv {
	opts := redistest.Options(t, 6)
	return &redisEnv{t: t, opts: opts, prefix: redistest.Prefix(t, opts), now: now}
}

// store opens another connection to the key space, as one more replica would.
func (e *redisEnv) store() progress.Store {
	c := redis.NewClient(e.opts)
	e.t.Cleanup(func() { c.Close() })
	s, err := progress.NewRedisStore(c, progress.RedisOptions{Prefix: e.prefix, Now: e.now})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func boltStore(t *testing.T, now func() time.Time) progress.Store {
	s, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "sched.db"), progress.BoltOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeClock is a settable clock; After fires when the clock passes its time.
type fakeClock struct {
	mu      sync.Mutex
	changed sync.Cond // signalled when a waiter is added
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{now: t}
	c.changed.L = &c.mu
	return c
}

// awaitWaiters blocks until n callers wait on the clock: running replicas
// that finished their step and wait for the next tick.
func (c *fakeClock) awaitWaiters(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) < n {
		c.changed.Wait()
	}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.changed.Broadcast()
	return ch
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// doneMarkDown is a store that, while down is set, fails what writes a
// done mark (a claim held longer than a lease): the store is away just
// when a post was made.
type doneMarkDown struct {
	progress.Store
	down bool
}

func (s *doneMarkDown) Claim(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	if s.down && ttl > DefaultLease {
		return false, progress.ErrUnavailable
	}
	return s.Store.Claim(ctx, ws, key, token, ttl)
}

func (s *doneMarkDown) Renew(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	if s.down && ttl > DefaultLease {
		return false, progress.ErrUnavailable
	}
	return s.Store.Renew(ctx, ws, key, token, ttl)
}

// post is one message the fake poster received.
type post struct {
	channel string
	reply   *bot.Reply
	at      time.Time
	by      string
}

// fakePoster records posts; fail, when set, decides an attempt's error.
type fakePoster struct {
	name     string
	clock    Clock
	rec      *recorder
	fail     func(attempt int) error
	attempts atomic.Int32
	block    chan struct{} // when set, Post waits for it (or ctx) before answering
	started  chan struct{} // when set, Post signals it once it started
}

// recorder collects the posts of every replica of a test.
type recorder struct {
	mu    sync.Mutex
	posts []post
}

func (r *recorder) all() []post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]post(nil), r.posts...)
}

func (p *fakePoster) Post(ctx context.Context, channel string, r *bot.Reply) error {
	n := int(p.attempts.Add(1))
	if p.started != nil {
		select {
		case p.started <- struct{}{}:
		default:
		}
	}
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if p.fail != nil {
		if err := p.fail(n); err != nil {
			return err
		}
	}
	p.rec.mu.Lock()
	p.rec.posts = append(p.rec.posts, post{channel: channel, reply: r, at: p.clock.Now(), by: p.name})
	p.rec.mu.Unlock()
	return nil
}

// errRateLimited stands for a 429 the Poster's own retries did not get past.
var errRateLimited = errors.New("slack: rate limited (429)")

// countMetrics counts the scheduler's metrics.
type countMetrics struct{ posted, missed atomic.Int32 }

func (m *countMetrics) ReminderPosted() { m.posted.Add(1) }
func (m *countMetrics) ReminderMissed() { m.missed.Add(1) }

// fixture is a store with tracked environments and a way to build replicas.
type fixture struct {
	t     *testing.T
	store func() progress.Store
	first progress.Store
	clock Clock
	rec   *recorder
}

func newFixture(t *testing.T, store func() progress.Store, clock Clock) *fixture {
	return &fixture{t: t, store: store, first: store(), clock: clock, rec: &recorder{}}
}

// track makes channel follow env with the given modules to republish.
func (f *fixture) track(channel, env string, modules ...string) {
	f.t.Helper()
	ctx := context.Background()
	at := f.clock.Now()
	if _, err := f.first.Track(ctx, progress.TrackRequest{Workspace: ws, Environment: env, Channel: channel, Version: "11.31.0", Actor: "U1", At: at}); err != nil {
		f.t.Fatal(err)
	}
	if len(modules) > 0 {
		f.apply(env, progress.Change{Kind: progress.ChangeAddModules, Reason: progress.ReasonFailed, Modules: modules})
	}
}

var keySeq atomic.Int64

func (f *fixture) apply(env string, c progress.Change) {
	f.t.Helper()
	c.Key = fmt.Sprintf("k%d", keySeq.Add(1))
	c.Actor = "U1"
	c.At = f.clock.Now()
	if _, err := f.first.Apply(context.Background(), ws, env, c); err != nil {
		f.t.Fatal(err)
	}
}

// replica builds a scheduler on its own store connection.
func (f *fixture) replica(name string, o Options, poster *fakePoster) *Scheduler {
	f.t.Helper()
	st := f.first
	if name != "" {
		st = f.store()
	}
	o.Store = st
	o.Bot = bot.New(bot.Options{Store: st, Now: f.clock.Now})
	o.Clock = f.clock
	if poster != nil {
		poster.name, poster.clock, poster.rec = name, f.clock, f.rec
		o.Poster = poster
	}
	if o.MinInterval == 0 {
		o.MinInterval = time.Second
	}
	if testing.Verbose() && o.Logger == nil {
		o.Logger = testLogger(f.t, name)
	}
	s, err := New(o)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// stepAt moves the clock to at and runs scheduler steps until nothing is due.
func stepAt(t *testing.T, s *Scheduler, c *fakeClock, at time.Time) {
	t.Helper()
	c.Set(at)
	for range 20 {
		s.step(context.Background())
		due := 0
		for _, it := range s.items {
			if !it.retryAt.After(at) {
				due++
			}
		}
		if due == 0 {
			return
		}
	}
	t.Fatalf("items still due at %s after 20 steps", at)
}

func set(t *testing.T, s *Scheduler, channel, spec string) string {
	t.Helper()
	desc, err := s.Set(context.Background(), ws, channel, spec, "U1")
	if err != nil {
		t.Fatalf("Set(%q): %v", spec, err)
	}
	return desc
}

// waitFor polls cond until it holds or the bound passes.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logEvents is a slog handler that passes each message to a channel (and
// drops it when nobody listens), so a test can wait for what was logged.
type logEvents chan string

func (e logEvents) Enabled(context.Context, slog.Level) bool { return true }
func (e logEvents) WithAttrs([]slog.Attr) slog.Handler       { return e }
func (e logEvents) WithGroup(string) slog.Handler            { return e }
func (e logEvents) Handle(_ context.Context, r slog.Record) error {
	select {
	case e <- r.Message:
	default:
	}
	return nil
}

// awaitLog waits until msg is logged.
func (e logEvents) awaitLog(t *testing.T, msg string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-e:
			if m == msg {
				return
			}
		case <-timeout:
			t.Fatalf("%q was never logged", msg)
		}
	}
}

// testLogger logs to the test's output (with -v), until the test ends.
func testLogger(t *testing.T, name string) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", name)
}

type testWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
