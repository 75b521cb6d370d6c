package slackbot

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
)

// testLanes starts lanes with o's sizes (a minute per job) and stops them
// when the test ends.
func testLanes(t *testing.T, o laneOptions) *lanes {
	t.Helper()
	o.timeout = time.Minute
	if o.maxJobs == 0 {
		o.maxJobs, o.maxBytes = 1000, 1<<20
	}
	l := newLanes(context.Background(), o)
	l.start()
	t.Cleanup(func() { l.shutdown(5 * time.Second) })
	return l
}

// waitFor fails the test when ch gives nothing within 10 s (something
// that should have happened did not: a deadlock, not slowness).
func waitFor[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", what)
		var zero T
		return zero
	}
}

// The jobs of one lane run one at a time in the order submitted, whatever
// the number of workers; the jobs of several lanes interleave.
func TestLanesOrderWithinALane(t *testing.T) {
	for _, workers := range []int{1, 4, 16} {
		l := testLanes(t, laneOptions{workers: workers})
		const perLane = 200
		keys := []string{"T1/C1", "T1/C2", "T2/C1"}
		var mu sync.Mutex
		got := map[string][]int{}
		var inFlight [3]atomic.Int32
		var overlap atomic.Bool
		var wg sync.WaitGroup
		for i := range perLane {
			for k, key := range keys {
				wg.Add(1)
				ok := l.submit(job{key: key, kind: "message", run: func(context.Context) {
					if inFlight[k].Add(1) > 1 {
						overlap.Store(true)
					}
					mu.Lock()
					got[key] = append(got[key], i)
					mu.Unlock()
					inFlight[k].Add(-1)
				}, done: func(bool) { wg.Done() }})
				if !ok {
					t.Fatal("a job was refused under the bound")
				}
			}
		}
		wg.Wait()
		for _, key := range keys {
			if !slices.IsSorted(got[key]) || len(got[key]) != perLane {
				t.Errorf("%d workers: lane %s ran %d jobs, in order %v", workers, key, len(got[key]), slices.IsSorted(got[key]))
			}
		}
		if overlap.Load() {
			t.Errorf("%d workers: two jobs of one lane ran at once", workers)
		}
	}
}

// Lanes run in parallel: a job of one lane waits for a job of another lane
// to start, which needs a second worker; read-only work (no lane) runs
// while every lane worker is busy.
func TestLanesRunInParallel(t *testing.T) {
	l := testLanes(t, laneOptions{workers: 2, freeWorkers: 1})
	bStarted, release := make(chan struct{}), make(chan struct{})
	aDone, freeDone := make(chan struct{}), make(chan struct{})
	l.submit(job{key: "T/A", run: func(context.Context) { <-bStarted; <-release }, done: func(bool) { close(aDone) }})
	l.submit(job{key: "T/B", run: func(context.Context) { close(bStarted); <-release }})
	waitFor(t, "the second lane's job starting while the first runs", bStarted)
	l.submit(job{key: "", run: func(context.Context) {}, done: func(bool) { close(freeDone) }})
	waitFor(t, "read-only work running while the lane workers are busy", freeDone)
	close(release)
	waitFor(t, "the first lane's job ending", aDone)
}

// What is held is bounded in jobs and in bytes; commands and clicks have a
// reserve above it, owed work is never refused. Refusals are counted per
// job and the episode reported once when it starts and once when half the
// bound is free again.
func TestLanesBound(t *testing.T) {
	var refused []string
	var episodes []int // -1 start, n ≥ 0: ended after n refusals
	var mu sync.Mutex
	release := make(chan struct{})
	l := testLanes(t, laneOptions{workers: 1, maxJobs: 4, maxBytes: 100, reserve: 0.5,
		refused: func(j job) { mu.Lock(); refused = append(refused, j.kind); mu.Unlock() },
		episode: func(start bool, n int) {
			mu.Lock()
			defer mu.Unlock()
			if start {
				episodes = append(episodes, -1)
			} else {
				episodes = append(episodes, n)
			}
		}})
	var wg sync.WaitGroup
	blocked := func(kind string, c class, bytes int64) job {
		return job{key: "T/C", kind: kind, class: c, bytes: bytes, run: func(context.Context) { <-release }, done: func(bool) { wg.Done() }}
	}
	steps := []struct {
		j    job
		want bool
	}{
		{blocked("message", classEvent, 10), true},
		{blocked("message", classEvent, 10), true},
		{blocked("message", classEvent, 85), false}, // 105 bytes
		{blocked("message", classEvent, 10), true},
		{blocked("message", classEvent, 10), true},  // 4 jobs, 40 bytes
		{blocked("message", classEvent, 1), false},  // a 5th event
		{blocked("command", classInteractive, 1), true},
		{blocked("action", classInteractive, 1), true}, // the reserve: 2 more
		{blocked("action", classInteractive, 1), false},
		{blocked("screenshot", classOwed, 500), true},
	}
	for i, s := range steps {
		if s.want {
			wg.Add(1)
		}
		if got := l.submit(s.j); got != s.want {
			t.Errorf("step %d (%s, %d bytes): taken %v, want %v", i, s.j.kind, s.j.bytes, got, s.want)
		}
	}
	if l.jobs != 7 || l.bytes != 542 {
		t.Errorf("held %d jobs, %d bytes; want 7, 542", l.jobs, l.bytes)
	}
	close(release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(refused, []string{"message", "message", "action"}) || !slices.Equal(episodes, []int{-1, 3}) {
		t.Errorf("refused %v, episodes %v; want 3 refusals in one episode", refused, episodes)
	}
	if l.jobs != 0 || l.bytes != 0 {
		t.Errorf("held %d jobs, %d bytes after the work ended", l.jobs, l.bytes)
	}
}

// A job that panics is reported; its worker goes on with the next job.
func TestLanesWorkerSurvivesAPanic(t *testing.T) {
	panics := make(chan any, 1)
	l := testLanes(t, laneOptions{workers: 1, panicked: func(_ job, p any, _ []byte) { panics <- p }})
	ran := make(chan bool, 2)
	l.submit(job{key: "T/C", run: func(context.Context) { panic("boom") }, done: func(r bool) { ran <- r }})
	next := make(chan struct{})
	l.submit(job{key: "T/C", run: func(context.Context) { close(next) }, done: func(r bool) { ran <- r }})
	waitFor(t, "the job after the panic", next)
	if p := waitFor(t, "the panic reported", panics); p != "boom" {
		t.Errorf("panic %v", p)
	}
	if !waitFor(t, "done", ran) || !waitFor(t, "done", ran) {
		t.Error("a job that ran was reported as dropped")
	}
	if l.completed.Load() != 2 {
		t.Errorf("%d completed, want 2", l.completed.Load())
	}
}

// Shutdown lets queued work finish within the grace period, then cancels
// what is running and drops what is still queued (done(false)); submitting
// after shutdown is refused.
func TestLanesShutdown(t *testing.T) {
	l := newLanes(context.Background(), laneOptions{workers: 1, maxJobs: 10, maxBytes: 100, timeout: time.Minute})
	l.start()
	var ran atomic.Int32
	for range 3 {
		l.submit(job{key: "T/C", run: func(context.Context) { ran.Add(1) }})
	}
	if dropped := l.shutdown(5 * time.Second); dropped != 0 || ran.Load() != 3 {
		t.Fatalf("graceful: %d dropped, %d ran", dropped, ran.Load())
	}
	if l.submit(job{key: "T/C", run: func(context.Context) {}}) {
		t.Error("a job was taken after shutdown")
	}

	l = newLanes(context.Background(), laneOptions{workers: 1, freeWorkers: 1, maxJobs: 10, maxBytes: 100, timeout: time.Minute})
	l.start()
	cancelled := make(chan struct{})
	started := make(chan struct{})
	l.submit(job{key: "T/C", run: func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(cancelled)
	}})
	<-started
	var droppedDone atomic.Int32
	for _, key := range []string{"T/C", "T/D"} {
		l.submit(job{key: key, run: func(context.Context) { t.Error("a dropped job ran") }, done: func(ran bool) {
			if !ran {
				droppedDone.Add(1)
			}
		}})
	}
	if dropped := l.shutdown(100 * time.Millisecond); dropped != 2 || droppedDone.Load() != 2 {
		t.Errorf("%d dropped (%d told), want 2", dropped, droppedDone.Load())
	}
	select {
	case <-cancelled:
	default:
		t.Error("the running job's context was not cancelled")
	}
	if l.jobs != 0 {
		t.Errorf("%d jobs still held after shutdown", l.jobs)
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
