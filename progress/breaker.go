package progress

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrBreakerOpen is the cause of the ErrUnavailable a RedisStore returns,
// without sending anything, while Redis keeps failing.
var ErrBreakerOpen = errors.New("redis not tried: it failed repeatedly, trying again in a few seconds")

const (
	breakerFailures = 5               // unavailable errors in a row that open the breaker
	breakerOpenFor  = 3 * time.Second // how long it stays open before one probe
)

// breaker is a go-redis hook, so every command and pipeline of the store
// passes it: after breakerFailures unavailable errors in a row it fails
// commands at once (ErrBreakerOpen) for breakerOpenFor, then lets one
// command through as a probe; the probe's answer closes it, its failure
// opens it again. A hung Redis then costs a caller nothing, instead of a
// read timeout per command.
type breaker struct {
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	failed  int       // unavailable errors in a row
	until   time.Time // open until then; zero while closed
	probing bool      // the probe is out
}

var _ redis.Hook = (*breaker)(nil)

func newBreaker(now func() time.Time, log *slog.Logger) *breaker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &breaker{now: now, log: log}
}

// BreakerOpen reports whether the store fails its calls at once because
// Redis kept failing (OpenRedis's breaker is open); false for a store on a
// client the caller brought, which has no breaker.
func (s *RedisStore) BreakerOpen() bool {
	if s.breaker == nil {
		return false
	}
	s.breaker.mu.Lock()
	defer s.breaker.mu.Unlock()
	return !s.breaker.until.IsZero()
}

// allow says whether a command may go to Redis, and whether it is the probe.
func (b *breaker) allow() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.until.IsZero():
		return false, nil
	case b.probing || b.now().Before(b.until):
		return false, ErrBreakerOpen
	}
	b.probing = true
	return true, nil
}

// done counts a command's outcome: an answer from Redis (a value, nil or an
// error reply) closes the breaker; an outage counts towards opening it; a
// caller's cancellation says nothing about Redis.
func (b *breaker) done(probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch {
	case err == nil || !isUnavailable(err) && !errors.Is(err, context.Canceled):
		if !b.until.IsZero() {
			b.log.Info("Redis answers again; tracking resumes")
		}
		b.failed, b.until = 0, time.Time{}
	case isUnavailable(err):
		b.failed++
		if probe || b.until.IsZero() && b.failed >= breakerFailures {
			if !probe {
				b.log.Warn("Redis keeps failing: store calls fail at once for a while, diagnosis goes on",
					"failures", b.failed, "retry_in", breakerOpenFor, "err", err)
			}
			b.until = b.now().Add(breakerOpenFor)
		}
	}
}

// DialHook leaves dialing alone: a failed dial fails its command.
func (b *breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// inside marks the context of a command the breaker let through: the
// handshake of a connection dialed for it (HELLO, AUTH, SELECT) passes the
// hooks too, and is part of that command, not another one to refuse.
type inside struct{}

// ProcessHook guards one command.
func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(inside{}) != nil {
			return next(ctx, cmd)
		}
		probe, err := b.allow()
		if err != nil {
			cmd.SetErr(err)
			return err
		}
		err = next(context.WithValue(ctx, inside{}, true), cmd)
		b.done(probe, err)
		return err
	}
}

// ProcessPipelineHook guards a pipeline (or transaction) as one command.
func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(inside{}) != nil {
			return next(ctx, cmds)
		}
		probe, err := b.allow()
		if err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		err = next(context.WithValue(ctx, inside{}, true), cmds)
		b.done(probe, err)
		return err
	}
}
