package slackbot

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
)

// Shutdown lets queued work finish within the grace period, then cancels
// what is running and abandons what is still queued; submitting after
// shutdown is refused.
func TestPoolShutdown(t *testing.T) {
	p := newPool(context.Background(), time.Minute, nil, nil, nil)
	p.start(1)
	var ran atomic.Int32
	for range 3 {
		p.submit(job{run: func(context.Context) { ran.Add(1) }})
	}
	if abandoned := p.shutdown(5 * time.Second); abandoned != 0 || ran.Load() != 3 {
		t.Fatalf("graceful: %d abandoned, %d ran", abandoned, ran.Load())
	}
	if p.submit(job{run: func(context.Context) {}}) {
		t.Error("a job was taken after shutdown")
	}

	p = newPool(context.Background(), time.Minute, nil, nil, nil)
	p.start(1)
	cancelled := make(chan struct{})
	started := make(chan struct{})
	p.submit(job{run: func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(cancelled)
	}})
	<-started
	p.submit(job{run: func(context.Context) { t.Error("an abandoned job ran") }})
	p.submit(job{run: func(context.Context) { t.Error("an abandoned job ran") }})
	if abandoned := p.shutdown(100 * time.Millisecond); abandoned != 2 {
		t.Errorf("%d abandoned, want 2", abandoned)
	}
	select {
	case <-cancelled:
	default:
		t.Error("the running job's context was not cancelled")
	}
}

// A panic in the core is logged, not fatal, and the worker goes on: with
// one worker, the message after the panic is answered.
func TestPanicInCoreIsContained(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, wrap: func(b *bot.Bot) Core { return panickingCore{b} }, opts: func(o *Options) { o.Workers = 1 }})
	h.postEvent("EvPanic", map[string]any{"type": "message", "channel": channel, "user": ana, "ts": "1700004000.000100", "text": "There were errors preparing some modules. boom"}, 0)
	h.postEvent("EvFine", map[string]any{"type": "message", "channel": channel, "user": ana, "ts": "1700004000.000200", "text": "There was an error preparing your modules."}, 0)
	h.waitJobs(2)
	if posts := h.fake.Calls("chat.postMessage"); len(posts) != 1 || posts[0].Field("thread_ts") != "1700004000.000200" {
		t.Errorf("%d replies after a panic, want 1 to the message after it", len(posts))
	}
	mustContain(t, "log", h.logs.String(), "handling a Slack request panicked")
}
