package progress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/internal/redistest"
)

// redisTestOptions are the shared test server's options (internal/redistest:
// REDIS_URL's server, database 3); the test is skipped when it does not
// answer, or fails when CI is set.
func redisTestOptions(tb testing.TB) *redis.Options { return redistest.Options(tb, 3) }

// newRedisClient opens a client that is closed at the end of the test.
func newRedisClient(tb testing.TB, opts *redis.Options) *redis.Client {
	c := redis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// newTestRedisStore returns a store with its own prefix on the test server.
func newTestRedisStore(tb testing.TB, ro RedisOptions) (*RedisStore, *redis.Client) {
	opts := redisTestOptions(tb)
	ro.Prefix = redistest.Prefix(tb, opts)
	c := newRedisClient(tb, opts)
	s, err := NewRedisStore(c, ro)
	if err != nil {
		tb.Fatal(err)
	}
	return s, c
}

func TestRedisContract(t *testing.T) {
	redisTestOptions(t)
	runContractTests(t, func(t *testing.T) Store {
		s, _ := newTestRedisStore(t, RedisOptions{})
		return s
	})
}

func TestRedisHistoryLimit(t *testing.T) {
	s, _ := newTestRedisStore(t, RedisOptions{historyLimit: 3})
	testHistoryLimit(t, s)
}

func TestRedisKeys(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "Prod", Channel: "C1"})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Key: "m1", Reason: ReasonFailed, Modules: []string{"Orders"}})
	p := s.prefix
	for _, key := range []string{
		p + ":workspaces", p + ":{T0001}:#envs", p + ":{T0001}:#channels", p + ":{T0001}:#ch:C1:envs",
		p + ":{T0001}:prod:meta", p + ":{T0001}:prod:channels", p + ":{T0001}:prod:modules",
		p + ":{T0001}:prod:order", p + ":{T0001}:prod:history", p + ":{T0001}:prod:idem:m1",
	} {
		if n, err := c.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Errorf("key %s: exists %d, %v", key, n, err)
		}
	}
	ttl, err := c.TTL(ctx, p+":{T0001}:prod:idem:m1").Result()
	if err != nil || ttl <= 23*time.Hour || ttl > IdempotencyTTL {
		t.Errorf("idempotency key TTL = %v, %v; want about 24h", ttl, err)
	}
	if ttl, err := c.TTL(ctx, p+":{T0001}:prod:undo:m1").Result(); err != nil || ttl <= UndoTTL-time.Hour || ttl > UndoTTL {
		t.Errorf("undo record TTL = %v, %v; want about %v", ttl, err, UndoTTL)
	}
}

// roundTrips counts what a client sends: one per command, one per pipeline.
// The handshake of a newly dialed connection (HELLO, AUTH, SELECT, CLIENT
// SETINFO) also passes the hooks; it is counted apart, since it belongs to
// the connection, not to the operation that happened to need one.
type roundTrips struct{ n, handshake atomic.Int64 }

func isHandshake(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		switch c.Name() {
		case "hello", "auth", "select", "client":
		default:
			return false
		}
	}
	return true
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(cmds)
		return next(ctx, cmds)
	}
}

func (h *roundTrips) count(cmds []redis.Cmder) {
	if isHandshake(cmds) {
		h.handshake.Add(1)
		return
	}
	h.n.Add(1)
}

// seedModules tracks "prod" with n modules to republish.
func seedModules(tb testing.TB, s Store, n int) {
	ctx := context.Background()
	if _, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "prod", Channel: "C1"}); err != nil {
		tb.Fatal(err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("Module_%05d", i)
	}
	res, err := s.Apply(ctx, ws, "prod", Change{Kind: ChangeAddModules, Key: "seed", Reason: ReasonFailed, Modules: names, At: t0})
	if err != nil || len(res.Added) != n {
		tb.Fatalf("seed: %d added, %v", len(res.Added), err)
	}
	if _, err := s.Apply(ctx, ws, "prod", Change{Kind: ChangeAddModules, Key: "seed-p", Reason: ReasonProducerNotPrepared, Modules: []string{"Producer"}, At: t0.Add(time.Hour)}); err != nil {
		tb.Fatal(err)
	}
}

const statusRoundTripBudget = 2

// BenchmarkStatus5000 reads the status of an environment with 5,000 modules
// and fails when one status costs more than two round trips.
func BenchmarkStatus5000(b *testing.B) {
	s, c := newTestRedisStore(b, RedisOptions{})
	seedModules(b, s, 5000)
	hook := &roundTrips{}
	c.AddHook(hook)
	ctx := context.Background()
	worst := int64(0)
	for b.Loop() {
		before := hook.n.Load()
		st, err := s.Status(ctx, ws, "prod", 20)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Modules) != 20 || st.ModuleCount != 5001 || st.Modules[0].Name != "Producer" {
			b.Fatalf("status: %d modules of %d, first %q", len(st.Modules), st.ModuleCount, st.Modules[0].Name)
		}
		worst = max(worst, hook.n.Load()-before)
	}
	b.ReportMetric(float64(worst), "max-roundtrips/op")
	b.ReportMetric(float64(hook.n.Load())/float64(b.N), "roundtrips/op")
	if worst > statusRoundTripBudget {
		b.Fatalf("a status took %d round trips, budget %d", worst, statusRoundTripBudget)
	}
}

// TestRedisStatusRoundTrips checks the benchmark's budget in every test run.
func TestRedisStatusRoundTrips(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	seedModules(t, s, 5000)
	hook := &roundTrips{}
	c.AddHook(hook)
	for _, limit := range []int{20, 0, -1} {
		before := hook.n.Load()
		st, err := s.Status(context.Background(), ws, "prod", limit)
		if err != nil {
			t.Fatal(err)
		}
		if n := hook.n.Load() - before; n > statusRoundTripBudget {
			t.Errorf("status with limit %d took %d round trips, budget %d", limit, n, statusRoundTripBudget)
		}
		if st.ModuleCount != 5001 || st.Unnamed() != 0 {
			t.Errorf("count %d, unnamed %d", st.ModuleCount, st.Unnamed())
		}
	}
}

// TestRedisReplicasConcurrent has two replicas, each with its own client,
// change one environment at the same time; no change may be lost.
func TestRedisReplicasConcurrent(t *testing.T) {
	a, _ := newTestRedisStore(t, RedisOptions{})
	b, err := NewRedisStore(newRedisClient(t, redisTestOptions(t)), RedisOptions{Prefix: a.prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	track(t, a, TrackRequest{Environment: "prod", Channel: "C1"})
	const n = 60
	run := func(fns ...func() error) {
		var wg sync.WaitGroup
		errs := make(chan error, len(fns))
		for _, fn := range fns {
			wg.Go(func() {
				if err := fn(); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	addAll := func(s Store, prefix string, reason Reason) func() error {
		return func() error {
			for i := range n {
				if _, err := s.Apply(ctx, ws, "prod", Change{Kind: ChangeAddModules, Key: fmt.Sprintf("%s-%d", prefix, i), Reason: reason, Modules: []string{fmt.Sprintf("%s%d", prefix, i)}}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	// Phase 1: both replicas add modules; a third writer updates counts.
	run(addAll(a, "a", ReasonFailed), addAll(b, "b", ReasonSkipped), func() error {
		for i := range n {
			if _, err := b.Apply(ctx, ws, "prod", Change{Kind: ChangePreparing, Key: fmt.Sprintf("p-%d", i), Preparation: Preparation{Percent: new(i)}}); err != nil {
				return err
			}
		}
		return nil
	})
	st := status(t, a, "prod", 0)
	if st.ModuleCount != 2*n || st.NamedFailedSkipped != 2*n || deref(st.Preparation.Percent) != n-1 {
		t.Fatalf("after concurrent adds: %d modules, %d named, %d%%; want %d, %d, %d", st.ModuleCount, st.NamedFailedSkipped, deref(st.Preparation.Percent), 2*n, 2*n, n-1)
	}
	// Phase 2: A republishes its modules while B adds others.
	run(func() error {
		for i := range n {
			if _, err := a.Apply(ctx, ws, "prod", Change{Kind: ChangeDone, Key: fmt.Sprintf("done-a-%d", i), Modules: []string{fmt.Sprintf("A%d", i)}}); err != nil {
				return err
			}
		}
		return nil
	}, addAll(b, "c", ReasonNotUpgraded))
	st = status(t, b, "prod", -1)
	if st.ModuleCount != 2*n || len(st.Modules) != 2*n || st.NamedFailedSkipped != 3*n {
		t.Errorf("after phase 2: %d modules (%d listed), %d named; want %d, %d", st.ModuleCount, len(st.Modules), st.NamedFailedSkipped, 2*n, 3*n)
	}
	for _, m := range st.Modules {
		if m.Name[0] == 'a' {
			t.Errorf("module %s should have been republished", m.Name)
		}
	}
	if h := history(t, b, "prod"); len(h) != 1+5*n {
		t.Errorf("history has %d entries, want %d", len(h), 1+5*n)
	}
}

// TestRedisRetryOnOtherReplica: a write whose outcome was unknown is retried
// through another replica and must not apply twice.
func TestRedisRetryOnOtherReplica(t *testing.T) {
	a, _ := newTestRedisStore(t, RedisOptions{})
	b, err := NewRedisStore(newRedisClient(t, redisTestOptions(t)), RedisOptions{Prefix: a.prefix})
	if err != nil {
		t.Fatal(err)
	}
	track(t, a, TrackRequest{Environment: "prod", Channel: "C1"})
	apply(t, a, "prod", Change{Kind: ChangeAddModules, Key: "x", Reason: ReasonFailed, Modules: []string{"A"}})
	c := Change{Kind: ChangeDone, Key: "1712.99", Modules: []string{"A"}}
	if res := apply(t, a, "prod", c); !res.BecameEmpty {
		t.Fatalf("done = %+v", res)
	}
	if res := apply(t, b, "prod", c); !res.Duplicate || res.BecameEmpty {
		t.Errorf("retry on the other replica = %+v, want a duplicate", res)
	}
}

// tcpProxy forwards a local port to Redis and can be stopped and restarted
// on the same port to simulate an outage.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	wg     sync.WaitGroup
	// dropReply makes the proxy swallow the next reply and cut the
	// connection: the command ran but the client never learns its outcome.
	dropReply atomic.Bool
}

func (p *tcpProxy) copyReplies(c, up net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if p.dropReply.CompareAndSwap(true, false) {
				_ = up.Close()
				return
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func startProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start() {
	var ln net.Listener
	var err error
	// The port was just released; retry briefly in case it is still settling.
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", p.target, time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(up, c); _ = up.Close() })
			p.wg.Go(func() { p.copyReplies(c, up) })
		}
	})
}

// stop closes the listener and every forwarded connection.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// lossyRedisStore is a store whose connection goes through a proxy that
// can drop a reply, with go-redis resending commands.
func lossyRedisStore(t *testing.T) (*RedisStore, *tcpProxy) {
	opts := redisTestOptions(t)
	proxy := startProxy(t, opts.Addr)
	po := *opts
	po.Addr = proxy.addr
	po.MaxRetries = 2
	s, err := NewRedisStore(newRedisClient(t, &po), RedisOptions{Prefix: redistest.Prefix(t, opts)})
	if err != nil {
		t.Fatal(err)
	}
	return s, proxy
}

// TestRedisLostReply: the reply of an Apply is lost after Redis ran it, so
// go-redis resends the command on a new connection. The resend must report
// what the first run did, not "duplicate", and must not apply twice.
func TestRedisLostReply(t *testing.T) {
	s, proxy := lossyRedisStore(t)
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Key: "warm-up", Reason: ReasonFailed, Modules: []string{"A"}}) // loads the script
	proxy.dropReply.Store(true)
	res := apply(t, s, "prod", Change{Kind: ChangeDone, Key: "m2", Modules: []string{"a"}})
	if proxy.dropReply.Load() {
		t.Fatal("no reply was dropped")
	}
	if res.Duplicate || !res.BecameEmpty || len(res.Removed) != 1 || res.Removed[0] != "A" {
		t.Errorf("result after a lost reply = %+v, want the first run's result", res)
	}
	if res := apply(t, s, "prod", Change{Kind: ChangeDone, Key: "m2", Modules: []string{"a"}}); !res.Duplicate {
		t.Errorf("a second Apply with the key = %+v, want a duplicate", res)
	}
	if h := history(t, s, "prod"); len(h) != 3 {
		t.Errorf("history has %d entries, want 3", len(h))
	}
}

// TestRedisLostClaimReply: the reply of a Claim is lost after Redis ran it;
// go-redis resends it, and the resend finds its own token and wins.
func TestRedisLostClaimReply(t *testing.T) {
	s, proxy := lossyRedisStore(t)
	ctx := context.Background()
	mine := NewToken()
	if ok, err := s.Claim(ctx, "T1", "warm-up", mine, time.Minute); err != nil || !ok { // loads the script
		t.Fatalf("warm-up claim: %v %v", ok, err)
	}
	proxy.dropReply.Store(true)
	ok, err := s.Claim(ctx, "T1", "occ:1", mine, time.Minute)
	if proxy.dropReply.Load() {
		t.Fatal("no reply was dropped")
	}
	if err != nil || !ok {
		t.Errorf("claim after a lost reply = %v, %v; want won", ok, err)
	}
	if ok, err := s.Claim(ctx, "T1", "occ:1", NewToken(), time.Minute); err != nil || ok {
		t.Errorf("another token's claim = %v, %v; want lost", ok, err)
	}
}

func TestRedisUnavailableAndRecovery(t *testing.T) {
	opts := redisTestOptions(t)
	proxy := startProxy(t, opts.Addr)
	po := *opts
	po.Addr = proxy.addr
	po.DialTimeout = 200 * time.Millisecond
	po.ReadTimeout = 500 * time.Millisecond
	po.WriteTimeout = 500 * time.Millisecond
	po.MaxRetries = 1
	s, err := NewRedisStore(newRedisClient(t, &po), RedisOptions{Prefix: redistest.Prefix(t, opts)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})

	proxy.stop()
	_, err = s.Status(ctx, ws, "prod", 10)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("status during outage: %v, want ErrUnavailable", err)
	}
	_, err = s.Apply(ctx, ws, "prod", Change{Kind: ChangeAddModules, Key: "during", Reason: ReasonFailed, Modules: []string{"A"}})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("apply during outage: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("ping during outage: %v, want ErrUnavailable", err)
	}

	// The same store works again once the server answers: go-redis redials.
	proxy.start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = s.Apply(ctx, ws, "prod", Change{Kind: ChangeAddModules, Key: "after", Reason: ReasonFailed, Modules: []string{"A"}})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if st := status(t, s, "prod", 10); st.ModuleCount != 1 {
		t.Errorf("after recovery: %d modules, want 1 (nothing half-written during the outage)", st.ModuleCount)
	}
}

// TestRedisClosedPort needs no server: nothing listens on the port.
func TestRedisClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s, err := OpenRedisURL("redis://"+addr+"/3?dial_timeout=200ms", RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, call := range map[string]func() error{
		"ping": func() error { return s.Ping(ctx) },
		"track": func() error {
			_, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C1"})
			return err
		},
		"status": func() error { _, err := s.Status(ctx, ws, "dev", 5); return err },
	} {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestOpenRedisURLErrors(t *testing.T) {
	for _, u := range []string{"http://user:s3cret@host:6379", "redis://user:s3cret@host:6379/x", "redis://user:s3cret@ho st:6379"} {
		_, err := OpenRedisURL(u, RedisOptions{})
		if err == nil {
			t.Errorf("%s: no error", u)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret") {
			t.Errorf("error reveals the password: %s", msg)
		}
	}
	if _, err := OpenRedisURL("redis://127.0.0.1:6379/3", RedisOptions{Prefix: "bad prefix"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad prefix: %v", err)
	}
}

// TestOpenRedis: the kind each URL makes, the retries it gets, and errors
// that never hold the password. It contacts no server.
func TestOpenRedis(t *testing.T) {
	const pw = "Pa55-SEKRIT-word"
	tests := []struct {
		name, url, cluster string
		kind               string // "" when refused
		retries, password  string // the client's MaxRetries/DialerRetries and password; the error's text when refused
	}{
		{"plain", "redis://localhost:6379", "", "one server", "1/2", ""},
		{"retries from the URL", "redis://localhost:6379?max_retries=5", "", "one server", "5/2", ""},
		{"tls, password, db", "rediss://user:" + pw + "@redis.example:6380/2", "", "one server", "1/2", pw},
		{"sentinel takes the sentinels' password", "redis://:" + pw + "@s1:26379?master_name=mymaster&addr=s2:26379", "", "sentinel", "1/2", pw},
		{"sentinel, master password", "redis://s1:26379?master_name=m&password=" + pw, "", "sentinel", "1/2", pw},
		{"cluster", "", "redis://:" + pw + "@r1:7000?addr=r2:7001&addr=r3:7002", "cluster", "1/2", pw},
		{"cluster wins", "redis://a:6379", "redis://r1:7000", "cluster", "1/2", ""},
		{"no URL", "", "", "", "has no host", ""},
		{"no host", "redis://user:" + pw + "@:6379", "", "", "has no host", ""},
		{"http scheme", "http://user:" + pw + "@host:6379", "", "", "invalid URL scheme", ""},
		{"bad db", "redis://host:6379/db1", "", "", "database number", ""},
		{"bad escape in password", "redis://user:" + pw + "%zz@host:6379", "", "", "is not a valid URL", ""},
		{"unknown option", "redis://host:6379?pasword=" + pw, "", "", "unexpected option: pasword", ""},
		{"sentinel bad addr", "redis://s1:26379?master_name=m&addr=s2&password=" + pw, "", "", "addr", ""},
		{"cluster bad addr", "", "redis://r1:7000?addr=r2", "", "addr", ""},
		{"cluster with a database", "", "redis://:" + pw + "@127.0.0.1:30001/5?addr=127.0.0.1:30002", "", "names database 5: a Redis Cluster has only database 0", ""},
		{"cluster with a path", "", "redis://r1:7000/x" + pw, "", "has a path: a Redis Cluster has only database 0", ""},
		{"cluster, database 0", "", "redis://r1:7000/0?addr=r2:7001", "cluster", "1/2", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, kind, err := OpenRedis(tc.url, tc.cluster, RedisOptions{})
			if tc.kind == "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.Contains(ve.Problem, tc.retries) || strings.Contains(err.Error(), "SEKRIT") {
					t.Fatalf("want a ValidationError saying %q without the password, got %v", tc.retries, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var retries, password string
			switch c := s.client.(type) {
			case *redis.Client:
				retries, password = fmt.Sprintf("%d/%d", c.Options().MaxRetries, c.Options().DialerRetries), c.Options().Password
			case *redis.ClusterClient:
				retries, password = fmt.Sprintf("%d/%d", c.Options().MaxRetries, c.Options().DialerRetries), c.Options().Password
			}
			if kind != tc.kind || retries != tc.retries || password != tc.password {
				t.Errorf("kind %q, retries %s, password %q; want %q, %s, %q", kind, retries, password, tc.kind, tc.retries, tc.password)
			}
		})
	}
}

func TestIsUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, true},
		{fmt.Errorf("x: %w", io.EOF), true},
		{redis.ErrClosed, true},
		{redis.ErrPoolTimeout, true},
		{errors.New("redis: connection pool: failed to dial"), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused")}, true},
		{errors.New("ERR syntax error"), false},
		{context.Canceled, false},
	} {
		if got := isUnavailable(c.err); got != c.want {
			t.Errorf("isUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// Two people taking one module at the same moment each learn whom they
// took it from: one of them from the other.
func TestRedisSetOwnerAtOnce(t *testing.T) {
	s, _ := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	for round := range 100 {
		if _, err := s.SetOwner(ctx, ws, "prod", "", "", []string{"Billing_CS"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		before := make([]map[string]string, 2)
		for i, who := range []string{"UANA", "URUI"} {
			wg.Go(func() {
				b, err := s.SetOwner(ctx, ws, "prod", who, who, []string{"Billing_CS"})
				if err != nil {
					t.Error(err)
				}
				before[i] = b
			})
		}
		wg.Wait()
		if len(before[0])+len(before[1]) != 1 {
			t.Fatalf("round %d: owners before were %v and %v, want the other's for exactly one of them", round, before[0], before[1])
		}
	}
}

// SettingsProblem tells a Redis that refuses the URL's settings (a login,
// a database, a server that is no Sentinel) from one that is down.
func TestRedisSettingsProblem(t *testing.T) {
	opts := redisTestOptions(t)
	host := opts.Addr
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, tc := range []struct{ url, want string }{
		{"redis://" + host + "/3", ""},
		{"redis://nobody:wrong@" + host + "/3", "Redis refused the login"},
		{"redis://" + host + "/99", "Redis has no such database"},
		{"redis://" + host + "/3?master_name=upgradebot", "is not a Sentinel"},
		{"cluster:redis://" + host, "is not a Redis Cluster node"},
		{"redis://" + free + "/3", ""}, // down: it may come back
	} {
		raw, cluster := tc.url, ""
		if u, ok := strings.CutPrefix(tc.url, "cluster:"); ok {
			raw, cluster = "", u
		}
		s, _, err := OpenRedis(raw, cluster, RedisOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		got := SettingsProblem(s.Ping(ctx))
		cancel()
		s.Close()
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: SettingsProblem = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// An undo record written before the state held Preparation.At (nine
// fields, not twelve: FirstNews and the last reset came later too) still
// puts the state back: the state is compared on the fields the record holds.
func TestRedisUndoOfAnOlderSnapshot(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	apply(t, s, "prod", Change{Kind: ChangePreparing, Key: "banner", Preparation: Preparation{Percent: new(40)}})
	key := s.envKey(ws, "prod", "undo:banner")
	raw, err := c.Get(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		D string  `json:"d"`
		T [][]any `json:"t"`
	}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	for _, item := range rec.T {
		if item[0] != "s" {
			continue
		}
		for i := 2; i <= 3; i++ { // before and after, as the earlier build wrote them
			var snap []any
			if err := json.Unmarshal([]byte(item[i].(string)), &snap); err != nil || len(snap) != 12 {
				t.Fatalf("state snapshot %v (%v), want 12 fields", item[i], err)
			}
			older, _ := json.Marshal(snap[:9])
			item[i] = string(older)
		}
	}
	older, _ := json.Marshal(rec)
	if err := c.Set(ctx, key, older, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	res := apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "undo-banner", Undoes: []string{"banner"}})
	if res.KeptState || res.State != StateFollowing {
		t.Errorf("undo of an older snapshot: %+v, want the state put back", res)
	}
}

// A Redis user limited by its ACL to other keys (or without scripts)
// answers PING: CheckAccess finds it out, as a settings problem.
func TestRedisCheckAccess(t *testing.T) {
	srv := redistest.Start(t)
	admin := redis.NewClient(srv.Options(0))
	defer admin.Close()
	ctx := context.Background()
	for _, rule := range [][]any{
		{"ACL", "SETUSER", "elsewhere", "on", ">pw", "~other:*", "+@all"},
		{"ACL", "SETUSER", "noscripts", "on", ">pw", "~*", "+@all", "-@scripting"},
		{"ACL", "SETUSER", "readonly", "on", ">pw", "~*", "+@read", "+@scripting", "+@connection"},
		{"ACL", "SETUSER", "full", "on", ">pw", "~*", "+@all"},
	} {
		if err := admin.Do(ctx, rule...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for user, want := range map[string]string{"elsewhere": "may not run the commands", "noscripts": "may not run the commands", "readonly": "may not run the commands", "full": ""} {
		s, _, err := OpenRedis(fmt.Sprintf("redis://%s:pw@%s/0", user, srv.Addr), "", RedisOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Ping(ctx)
		if err == nil {
			err = s.CheckAccess(ctx)
		}
		s.Close()
		if got := SettingsProblem(err); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: SettingsProblem(%v) = %q, want %q", user, err, got, want)
		}
	}
}

// A read-only replica answers PING and reads, and refuses every change:
// a settings problem at start.
func TestRedisCheckAccessOnAReplica(t *testing.T) {
	master, replica := redistest.Start(t), redistest.Start(t)
	c := redis.NewClient(replica.Options(0))
	defer c.Close()
	host, port, _ := net.SplitHostPort(master.Addr)
	if err := c.Do(context.Background(), "REPLICAOF", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	s, _, err := OpenRedis(replica.URL(0), "", RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.CheckAccess(context.Background())
	if got := SettingsProblem(err); !strings.Contains(got, "read-only replica") {
		t.Errorf("SettingsProblem(%v) = %q", err, got)
	}
}

// An environment recorded before its first news was kept has none: its
// next change is not taken for the upgrade's first news.
func TestRedisFirstNewsOfOlderData(t *testing.T) {
	ctx := context.Background()
	s, c := newTestRedisStore(t, RedisOptions{})
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Key: "a1", Actor: "U1", At: t0, Reason: ReasonFailed, Modules: []string{"A_Core"}})
	if err := c.HDel(ctx, s.envKey(ws, "prod", "meta"), "news_at").Err(); err != nil { // as stored before it was kept
		t.Fatal(err)
	}
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Key: "a2", Actor: "U1", At: t0.Add(48 * time.Hour), Reason: ReasonFailed, Modules: []string{"B_Core"}})
	if got := status(t, s, "prod", 0).FirstNews; !got.IsZero() {
		t.Errorf("first news %v; want none known (the upgrade had news before)", got)
	}
}
