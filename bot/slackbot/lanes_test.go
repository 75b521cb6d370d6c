package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"

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
		{blocked("message", classEvent, 10), true}, // 4 jobs, 40 bytes
		{blocked("message", classEvent, 1), false}, // a 5th event
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
	l.shutdown(5 * time.Second) // done is told before completed is counted
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

// Three commands sent to one channel in a burst run in the order
// received: the module named by the second is recorded on the environment
// the first created, and the schedule is set last.
func TestCommandsInOneChannelRunInOrder(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) { o.Workers = 8 }})
	cmds := []string{"track prod 11.31.0", "failed Billing_CS", "remind @every 2s"}
	for i, text := range cmds {
		req := slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, text, h.fake.ResponseURL(fmt.Sprint("burst", i)), fmt.Sprint("trig", i)))
		if code, body := h.do(req); code != http.StatusOK || body != "" {
			t.Fatalf("%s: %d %q", text, code, body)
		}
	}
	h.waitJobs(3)
	st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
	if err != nil || len(st.Modules) != 1 || st.Modules[0].Name != "Billing_CS" {
		t.Errorf("after the burst prod has modules %+v (%v), want Billing_CS", st.Modules, err)
	}
	for _, c := range h.fake.Calls("response_url", "chat.postMessage") {
		mustNotContain(t, c.Path, c.Field("text")+c.Field("blocks"), "isn't tracked", "not tracked", "Unknown environment")
	}
}

func mustNotContain(t *testing.T, what, s string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(s, u) {
			t.Errorf("%s has %q:\n%s", what, u, s)
		}
	}
}

// blockingCore holds every answer until gate is closed, telling entered.
type blockingCore struct {
	*bot.Bot
	entered chan struct{}
	gate    chan struct{}
}

func (b blockingCore) Answer(ctx context.Context, r *bot.Reading) bot.Response {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.gate
	return b.Bot.Answer(ctx, r)
}

// boundSetup holds a channel's work (one running, the rest waiting) until
// the bound of 10 jobs is reached.
func boundSetup(t *testing.T, mode Mode) (*harness, blockingCore) {
	t.Helper()
	bc := blockingCore{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	h := start(t, setup{mode: mode, wrap: func(b *bot.Bot) Core { bc.Bot = b; return bc }, opts: func(o *Options) {
		o.Workers, o.MaxQueue = 1, 10
	}})
	h.track("prod")
	return h, bc
}

func paste(i int) map[string]any {
	return slackfake.Message(channel, ana, fmt.Sprintf("1700007000.%06d", i), "There was an error preparing your modules.")
}

// Over HTTP, events above the bound get 503 with Retry-After (Slack
// resends them), a slash command then takes the reserve, and beyond it the
// user is told to try again in the response itself. Once the work drains,
// every event taken is answered, the refusals are counted and the episode
// logged once.
func TestBoundRefusesOverHTTP(t *testing.T) {
	h, bc := boundSetup(t, ModeHTTP)
	h.postEvent("EvB0", paste(0), 0)
	waitFor(t, "the first paste being answered", bc.entered)
	for i := 1; i < 10; i++ {
		h.postEvent(fmt.Sprint("EvB", i), paste(i), 0)
	}
	for i := 10; i < 12; i++ {
		resp, err := http.DefaultClient.Do(slackfake.EventRequest(h.events(), secret, slackfake.EventCallback(fmt.Sprint("EvB", i), paste(i)), 0))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("event above the bound: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// Silent chat costs nothing and is acknowledged at the bound.
	h.postEvent("EvChat", slackfake.Message(channel, ana, "1700007001.000000", "lunch at noon?"), 0)
	if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "failed Orders", h.fake.ResponseURL("reserve"), "t1"))); code != http.StatusOK || body != "" {
		t.Errorf("a command within the reserve: %d %q", code, body)
	}
	code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "status", h.fake.ResponseURL("busy"), "t2")))
	var busy map[string]string
	if code != http.StatusOK || json.Unmarshal([]byte(body), &busy) != nil || busy["response_type"] != "ephemeral" || busy["text"] != busyText {
		t.Errorf("a command beyond the reserve: %d %q, want the busy ephemeral", code, body)
	}
	// A click beyond the reserve is acknowledged and told by its response_url
	// (the first call to one: the channel's work is still held).
	click := slackfake.BlockActions(channel, ana, "1700007000.000000", "", false, json.RawMessage("[]"), "mark_done:0", "x", h.fake.ResponseURL("click-busy"), "t3")
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, click)); code != http.StatusOK {
		t.Errorf("a click beyond the reserve: %d", code)
	}
	if c := h.fake.WaitCalls(1, 10*time.Second, "response_url")[0]; c.Path != "/response/click-busy" || c.Field("text") != busyText {
		t.Errorf("the first response_url call: %s %q, want the refused click told %q", c.Path, c.Field("text"), busyText)
	}
	close(bc.gate)
	h.waitJobs(11)
	threads := map[string]bool{}
	for _, p := range h.fake.Calls("chat.postMessage") {
		if ts := p.Field("thread_ts"); ts != "" {
			threads[ts] = true
		}
	}
	if len(threads) != 10 || threads[paste(10)["ts"].(string)] {
		t.Errorf("replies in %d threads, want one to each of the 10 pastes taken: %v", len(threads), threads)
	}
	var refused []float64
	for _, kind := range []string{"message", "command", "action"} {
		refused = append(refused, h.counter("upgradebot_requests_refused_total", "kind", kind))
	}
	if !slices.Equal(refused, []float64{2, 1, 1}) {
		t.Errorf("refusals counted (events, commands, clicks): %v, want 2, 1, 1", refused)
	}
	logs := h.logs.String()
	if strings.Count(logs, "refusing Slack requests") != 1 || strings.Count(logs, "taking Slack requests again") != 1 || !strings.Contains(logs, "refused=4") {
		t.Errorf("the episode was not logged once at each end:\n%s", logs)
	}
}

// In Socket Mode an event above the bound is read but not acknowledged,
// and a slash command beyond the reserve is acknowledged with the busy
// ephemeral as the ack's payload.
func TestBoundLeavesSocketEnvelopesUnacknowledged(t *testing.T) {
	h, bc := boundSetup(t, ModeSocket)
	h.fake.WaitConnected(1, 5*time.Second)
	send := func(i int) string {
		return h.fake.Send("events_api", json.RawMessage(slackfake.EventCallback(fmt.Sprint("EvS", i), paste(i))), 0)
	}
	h.fake.WaitAck(send(0), 3*time.Second)
	waitFor(t, "the first paste being answered", bc.entered)
	for i := 1; i < 10; i++ {
		h.fake.WaitAck(send(i), 3*time.Second)
	}
	refused := send(10)
	reserve := h.fake.Send("slash_commands", slackfake.SlashCommandJSON(slackfake.SlashCommand(channel, ana, "failed Orders", h.fake.ResponseURL("r"), "t1")), 0)
	if _, payload := h.fake.WaitAck(reserve, 3*time.Second); len(payload) != 0 && string(payload) != "null" {
		t.Errorf("a command within the reserve was acknowledged with %s", payload)
	}
	// The reader handles envelopes in order: the event before was handled.
	if h.fake.Acked(refused) {
		t.Error("an event above the bound was acknowledged")
	}
	busy := h.fake.Send("slash_commands", slackfake.SlashCommandJSON(slackfake.SlashCommand(channel, ana, "status", h.fake.ResponseURL("b"), "t2")), 0)
	_, payload := h.fake.WaitAck(busy, 3*time.Second)
	mustContain(t, "busy ack", string(payload), `"response_type":"ephemeral"`, "too busy")
	close(bc.gate)
	h.waitJobs(11)
	if e := h.counter("upgradebot_requests_refused_total", "kind", "message"); e != 1 {
		t.Errorf("%v events refused, want 1", e)
	}
}
