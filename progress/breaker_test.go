package progress

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestBreaker drives the breaker through its states with a fake clock and
// a fake Redis (next): which calls reach Redis, and what the others get.
func TestBreaker(t *testing.T) {
	timeout := fmt.Errorf("redis: read: %w", os.ErrDeadlineExceeded) // a net timeout, as a hung server gives
	refused := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	type step struct {
		name    string
		advance time.Duration
		reply   error // what Redis answers, when the call reaches it
		reaches bool  // the call reaches Redis
	}
	fail := func(name string, n int, err error) []step {
		out := make([]step, n)
		for i := range out {
			out[i] = step{name: fmt.Sprintf("%s %d", name, i+1), reply: err, reaches: true}
		}
		return out
	}
	var steps []step
	steps = append(steps, fail("failure before an answer", breakerFailures-1, timeout)...)
	steps = append(steps, step{name: "an answer resets the count", reaches: true})
	steps = append(steps, fail("failure in a row", breakerFailures, refused)...)
	steps = append(steps,
		step{name: "open: fails at once", reply: nil, reaches: false},
		step{name: "still open just before the end", advance: breakerOpenFor - time.Millisecond, reaches: false},
		step{name: "the probe fails", advance: time.Millisecond, reply: timeout, reaches: true},
		step{name: "open again", reaches: false},
		step{name: "open again, almost over", advance: breakerOpenFor - time.Millisecond, reaches: false},
		step{name: "a cancelled probe says nothing", advance: time.Millisecond, reply: context.Canceled, reaches: true},
		step{name: "the next call is the probe again; an error reply is an answer", reply: errors.New("ERR unknown command"), reaches: true},
		step{name: "closed", reply: redis.Nil, reaches: true},
		step{name: "closed, one failure does not open it", reply: timeout, reaches: true},
		step{name: "closed still", reaches: true},
	)

	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newBreaker(clock.now, nil)
	var reply error
	reached := 0
	process := b.ProcessHook(func(context.Context, redis.Cmder) error { reached++; return reply })
	for _, s := range steps {
		clock.t = clock.t.Add(s.advance)
		reply = s.reply
		before := reached
		cmd := redis.NewStatusCmd(context.Background(), "ping")
		err := process(context.Background(), cmd)
		if got := reached > before; got != s.reaches {
			t.Fatalf("%s: reached Redis %v, want %v", s.name, got, s.reaches)
		}
		switch {
		case s.reaches && !errors.Is(err, s.reply) && err != s.reply:
			t.Errorf("%s: %v, want Redis's %v", s.name, err, s.reply)
		case !s.reaches && (!errors.Is(err, ErrBreakerOpen) || !errors.Is(cmd.Err(), ErrBreakerOpen) || !isUnavailable(err)):
			t.Errorf("%s: %v (command: %v), want ErrBreakerOpen, an outage", s.name, err, cmd.Err())
		}
	}
}

// TestBreakerOneProbe: while the probe is out, other calls and pipelines
// still fail at once; the probe's answer closes the breaker for all.
func TestBreakerOneProbe(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newBreaker(clock.now, nil)
	for range breakerFailures {
		b.done(false, context.DeadlineExceeded)
	}
	clock.t = clock.t.Add(breakerOpenFor)
	pipelines := 0
	pipe := b.ProcessPipelineHook(func(context.Context, []redis.Cmder) error { pipelines++; return nil })
	cmds := []redis.Cmder{redis.NewStringCmd(context.Background(), "get", "a"), redis.NewStringCmd(context.Background(), "get", "b")}
	var during error
	probe := b.ProcessHook(func(ctx context.Context, _ redis.Cmder) error {
		during = pipe(context.Background(), cmds) // another caller while the probe waits for Redis
		// The probe's own connection handshake, on the probe's context, passes.
		if err := pipe(ctx, []redis.Cmder{redis.NewStatusCmd(ctx, "hello", "3")}); err != nil {
			t.Errorf("the probe's handshake: %v", err)
		}
		return nil
	})
	if err := probe(context.Background(), redis.NewStatusCmd(context.Background(), "ping")); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(during, ErrBreakerOpen) || pipelines != 1 {
		t.Errorf("a pipeline during the probe: %v, %d pipelines reached Redis; want ErrBreakerOpen and only the handshake", during, pipelines)
	}
	for _, c := range cmds {
		if !errors.Is(c.Err(), ErrBreakerOpen) {
			t.Errorf("%v: %v, want ErrBreakerOpen", c.Args(), c.Err())
		}
	}
	if err := pipe(context.Background(), cmds); err != nil || pipelines != 2 {
		t.Errorf("after the probe's answer: %v, %d pipelines reached Redis; want closed", err, pipelines)
	}
}

// BreakerOpen says when OpenRedis's breaker is open (for the metric): here
// Redis refuses every connection.
func TestBreakerOpenReported(t *testing.T) {
	s, err := OpenRedisURL("redis://127.0.0.1:1/3", RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range breakerFailures {
		if s.BreakerOpen() {
			t.Fatalf("open after %d failures, want %d", i, breakerFailures)
		}
		if err := s.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("ping: %v, want ErrUnavailable", err)
		}
	}
	if !s.BreakerOpen() {
		t.Errorf("closed after %d failures in a row, want open", breakerFailures)
	}
	if (&RedisStore{}).BreakerOpen() {
		t.Error("a store without a breaker reports it open")
	}
}
