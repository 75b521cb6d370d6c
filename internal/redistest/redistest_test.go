package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestSharedURL(t *testing.T) {
	for _, c := range []struct {
		raw  string
		db   int
		want string // "" means an error
	}{
		{"", 3, "redis://127.0.0.1:6379/3"},
		{"redis://10.0.0.5:6380/0", 9, "redis://10.0.0.5:6380/9"},
		{"redis://user:s3cret@10.0.0.5:6380", 1, "redis://user:s3cret@10.0.0.5:6380/1"},
		{"rediss://:pw@cache.internal:6379/12?protocol=2", 4, "rediss://:pw@cache.internal:6379/4?protocol=2"},
		{"", 0, ""},
		{"", 10, ""},
		{"http://127.0.0.1:6379", 1, ""},
		{"redis://", 1, ""},
		{"redis://u:p@[::1", 1, ""},
	} {
		got, err := sharedURL(c.raw, c.db)
		if c.want == "" {
			if err == nil {
				t.Errorf("sharedURL(%q, %d) = %q, want an error", c.raw, c.db, got)
			} else if strings.Contains(err.Error(), "p@") {
				t.Errorf("sharedURL(%q, %d): the error shows the password: %v", c.raw, c.db, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("sharedURL(%q, %d) = %q, %v; want %q", c.raw, c.db, got, err, c.want)
		}
	}
}

func TestServerStopStartKeepsData(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DB: 2, MaxRetries: -1})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.PID() != 0 || c.Ping(ctx).Err() == nil {
		t.Fatalf("the server still answers after Stop (pid %d)", s.PID())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.PID() == pid || s.PID() == 0 {
		t.Errorf("pid after Start: %d, before Stop: %d", s.PID(), pid)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Errorf("after Stop and Start: %q, %v; want the saved \"v\"", got, err)
	}
	if err := s.Start(); err == nil {
		t.Error("a second Start while running did not fail")
	}
	if err := c.Set(ctx, "unsaved", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "unsaved").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("after Kill and Start: %v, want no key (Kill does not save)", err)
	}
	if got, _ := c.Get(ctx, "k").Result(); got != "v" {
		t.Errorf("after Kill and Start: %q, want the data Stop saved", got)
	}
}

func TestServerPauseResume(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ReadTimeout: 200 * time.Millisecond})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Error("a paused server answered")
	}
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Errorf("after Resume: %v", err)
	}
	s.Kill()
	if err := s.Pause(); err == nil {
		t.Error("Pause of a killed server did not fail")
	}
}

func TestServersAreApart(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers on %s", a.Addr)
	}
	if want := "redis://" + a.Addr + "/5"; a.URL(5) != want {
		t.Errorf("URL(5) = %q, want %q", a.URL(5), want)
	}
	ctx := context.Background()
	ca, cb := redis.NewClient(a.Options(1)), redis.NewClient(b.Options(1))
	defer ca.Close()
	defer cb.Close()
	if err := ca.Set(ctx, "only-in-a", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := cb.Exists(ctx, "only-in-a").Result(); err != nil || n != 0 {
		t.Errorf("b sees a's key: %d, %v", n, err)
	}
}

func TestPrefixDeletesItsKeys(t *testing.T) {
	opts := Options(t, 9)
	ctx := context.Background()
	c := redis.NewClient(opts)
	defer c.Close()
	var prefix, other string
	t.Run("user", func(t *testing.T) {
		prefix, other = Prefix(t, opts), Prefix(t, opts)
		if prefix == other {
			t.Fatalf("two tests got prefix %q", prefix)
		}
		for i := range 1200 { // more than one batch
			if err := c.Set(ctx, prefix+":"+string(rune('a'+i%26))+strings.Repeat("x", i/26), i, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	keep := prefix + "-not-under-it"
	if err := c.Set(ctx, keep, 1, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(ctx, keep)
	if keys, err := c.Keys(ctx, prefix+":*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("after the test, %d keys under %s: (%v)", len(keys), prefix, err)
	}
	if n, _ := c.Exists(ctx, keep).Result(); n != 1 {
		t.Errorf("%s was deleted too", keep)
	}
}

// outcome records how a helper ended a test: skipped or failed.
type outcome struct {
	testing.TB
	skipped, failed string
}

func (o *outcome) Helper()                   {}
func (o *outcome) Skip(args ...any)          { o.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (o *outcome) Fatal(args ...any)         { o.failed = fmt.Sprint(args...); runtime.Goexit() }
func (o *outcome) Fatalf(f string, a ...any) { o.failed = fmt.Sprintf(f, a...); runtime.Goexit() }

// run calls f with o in a goroutine of its own, as the testing package
// would, so that Skip and Fatal end only f.
func (o *outcome) run(f func(testing.TB)) {
	done := make(chan struct{})
	go func() { defer close(done); f(o) }()
	<-done
}

func TestWithoutServerSkipOrFail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "redis://" + ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		name, ci, redisURL, path string
		db                       int
		skip, fail               bool
	}{
		{"no server", "", closed, "", 1, true, false},
		{"no server in CI", "true", closed, "", 1, false, true},
		{"database 0", "", closed, "", 0, false, true},
		{"no redis-server in CI", "true", "", t.TempDir(), 0, false, true},
		{"no redis-server", "", "", t.TempDir(), 0, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("CI", c.ci)
			t.Setenv("REDIS_URL", c.redisURL)
			o := &outcome{TB: t}
			if c.path != "" {
				t.Setenv("PATH", c.path)
				o.run(func(tb testing.TB) { Start(tb) })
			} else {
				o.run(func(tb testing.TB) { URL(tb, c.db) })
			}
			if (o.skipped != "") != c.skip || (o.failed != "") != c.fail {
				t.Errorf("skipped %q, failed %q; want skip %v, fail %v", o.skipped, o.failed, c.skip, c.fail)
			}
		})
	}
}
