package progress

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
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
	proxy := redistest.NewResendProxy(t, u.Host, prefix+":{T1}:#claim:"+key)
	u.Host = proxy.Addr
	u.RawQuery = "read_timeout=200ms"
	s, err := OpenRedisURL(u.String(), RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	mine := NewToken()
	if ok, err := s.Claim(ctx, "T1", "warm-up", mine, time.Minute); err != nil || !ok { // loads the script
		t.Fatalf("warm-up claim: %v %v", ok, err)
	}
	ok, err := s.Claim(ctx, "T1", key, mine, time.Minute)
	attempts, first := proxy.Attempts()
	if attempts != 2 || !bytes.Equal(first, []byte(":1\r\n")) {
		t.Fatalf("%d attempts, the first answered %q; want 2, the first taking the claim (:1)", attempts, first)
	}
	if err != nil || !ok {
		t.Errorf("the resent claim = %v, %v; want won: the first attempt took it with the same token", ok, err)
	}
	if ok, err := s.Claim(ctx, "T1", key, NewToken(), time.Minute); err != nil || ok {
		t.Errorf("another token's claim = %v, %v; want lost", ok, err)
	}
	// A claim by SET NX alone, without the token, would have lost to its own first attempt.
	plain := redis.NewClient(opts)
	defer plain.Close()
	if won, err := plain.SetNX(ctx, prefix+":{T1}:#claim:"+key, mine, time.Minute).Result(); err != nil || won {
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
		_, last = s.Claim(ctx, "T1", "k", "t", time.Minute)
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
		if ok, err := s.Claim(context.Background(), "T1", "k", "t", time.Minute); err != nil || !ok {
			t.Errorf("%s (%d) after Redis resumed: %v, %v; want the claim", what, i, ok, err)
		}
	}
}
