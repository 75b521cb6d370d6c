package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/progress"
)

// background sends ordinary traffic (chat and re-deliveries, no pasted
// errors unless errShare > 0) to the bot for d, and returns its result
// when done.
func background(r *rig, rate float64, d time.Duration, errShare float64) func() *load.Result {
	done := make(chan *load.Result, 1)
	go func() {
		res, err := load.Run(context.Background(), load.Options{URL: r.bot.EventsURL(), Secret: faultSecret, Rate: rate,
			Duration: d, Concurrency: 16, ErrorShare: errShare, RedeliverShare: 0.01})
		if err != nil {
			r.t.Error(err)
		}
		done <- res
	}()
	return func() *load.Result { return <-done }
}

// checkAcks fails when a background request was not acknowledged with 200,
// or took Slack's 3 seconds or more.
func checkAcks(t *testing.T, res *load.Result, allowFailures bool) {
	t.Helper()
	if res == nil {
		t.Fatal("no background result")
	}
	if !allowFailures && res.FailureCount()+res.Unsent > 0 {
		t.Errorf("background load: %d of %d not acknowledged with 200 (%v, first: %s)", res.FailureCount()+res.Unsent, res.Sent, res.Failures, res.FirstFailure)
	}
	if mx := res.Quantile(1); mx >= 3*time.Second {
		t.Errorf("background load: an acknowledgement took %v (p99 %v); Slack gives up at 3 s", mx, res.Quantile(0.99))
	}
	t.Logf("background load: %d acknowledged, p50 %v, p99 %v, max %v", res.Acked, res.Quantile(0.5), res.Quantile(0.99), res.Quantile(1))
}

// Redis stops during load and starts again: the bot does not crash,
// diagnosis keeps answering, tracking commands say tracking is
// unavailable, /readyz says degraded; once Redis is back, every module
// a reply said was recorded is in the store.
func TestFaultRedisStopsDuringLoad(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	r := newRig(t, rigOptions{})
	const ch = "C0OUTAGE"
	r.track(ch, "prod")
	bg := background(r, 200, 24*time.Second, 0)

	type paste struct{ ts, module, phase string }
	var pastes []paste
	send := func(phase string, n int) {
		for i := range n {
			p := paste{ts: fmt.Sprintf("17000%05d.%06d", len(pastes), i), module: fmt.Sprintf("Mod%s_%d", phase, i), phase: phase}
			pastes = append(pastes, p)
			r.message(ch, p.ts, producerPaste(p.module))
		}
	}
	answered := func(phase string) func() bool {
		return func() bool {
			for _, p := range pastes {
				if p.phase == phase && len(r.posts(ch, p.ts)) == 0 {
					return false
				}
			}
			return true
		}
	}

	// Before: recorded and answered, once the background load is handled.
	r.waitFor("the background load to be handled", 10*time.Second, func() bool {
		return r.handled(100)
	})
	send("A", 10)
	r.waitFor("the answers before the outage", 20*time.Second, answered("A"))

	// Redis goes away (saving its data, as a server with persistence would).
	if err := r.redis.Stop(); err != nil {
		t.Fatal(err)
	}
	r.waitFor("/readyz to say degraded", 10*time.Second, func() bool {
		code, status := r.readiness()
		return code == http.StatusOK && status == "degraded"
	})
	send("B", 10)
	r.waitFor("the answers during the outage", 20*time.Second, answered("B"))
	for _, p := range pastes {
		if p.phase == "B" {
			got := text(r.posts(ch, p.ts)[0])
			if !strings.Contains(got, "hasn't been prepared") && !strings.Contains(got, "producer") {
				t.Errorf("answer during the outage is not the diagnosis: %s", truncate(got, 300))
			}
			if strings.Contains(got, "Recorded for") {
				t.Errorf("an answer during the outage says it recorded: %s", truncate(got, 300))
			}
		}
	}
	for i, cmd := range []string{"status", "failed prod: Orders_UI", "done prod: ModA_1"} {
		id := fmt.Sprint("outage-cmd-", i)
		r.slash(ch, cmd, id)
		r.waitFor("the answer to /upgrade "+cmd, 15*time.Second, func() bool { return len(r.responses(id)) > 0 || len(r.fake.Calls("chat.postEphemeral")) > i })
		var got string
		if rs := r.responses(id); len(rs) > 0 {
			got = text(rs[0])
		}
		if !strings.Contains(got, "Tracking is unavailable right now") {
			t.Errorf("/upgrade %s during the outage answered %q, want the 'unavailable' message", cmd, truncate(got, 300))
		}
	}
	if !r.bot.Running() {
		t.Fatal("upgradebot exited during the Redis outage")
	}

	// Redis is back.
	if err := r.redis.Start(); err != nil {
		t.Fatal(err)
	}
	r.waitFor("/readyz to say ok again", 15*time.Second, func() bool {
		code, status := r.readiness()
		return code == http.StatusOK && status == "ok"
	})
	send("C", 10)
	r.waitFor("the answers after the outage", 20*time.Second, answered("C"))
	checkAcks(t, bg(), false)

	// Nothing acknowledged as recorded is missing.
	have := r.modules("prod")
	recorded := 0
	for _, p := range pastes {
		replies := r.posts(ch, p.ts)
		if len(replies) != 1 {
			t.Errorf("pasted error %s (%s) got %d answers, want 1", p.ts, p.phase, len(replies))
			continue
		}
		if strings.Contains(text(replies[0]), "Recorded for") {
			recorded++
			if !have[p.module] {
				t.Errorf("%s was acknowledged as recorded (phase %s) but is not on prod's list after the outage", p.module, p.phase)
			}
		} else if p.phase != "B" {
			t.Errorf("pasted error in phase %s was not recorded: %s", p.phase, truncate(text(replies[0]), 300))
		}
	}
	if recorded != 20 {
		t.Errorf("%d answers said recorded, want 20 (phases A and C)", recorded)
	}
	if !r.bot.Running() {
		t.Error("upgradebot is not running after the outage")
	}
}

// faultyAPI stands in front of the fake Web API: the first attempt of each
// chat.postMessage (same channel, thread and text) gets a 429 with
// Retry-After: 1; the second, in turn, is made but answered 500 (Slack
// failed after posting: the bot must not post it again), or answered
// after more than 3 seconds.
type faultyAPI struct {
	proxy *httputil.ReverseProxy
	slow  time.Duration

	mu       sync.Mutex
	attempts map[string]int
	seconds  int
	injected map[string]int
}

func newFaultyAPI(target string, slow time.Duration) *faultyAPI {
	u, _ := url.Parse(target)
	return &faultyAPI{proxy: httputil.NewSingleHostReverseProxy(u), slow: slow, attempts: map[string]int{}, injected: map[string]int{}}
}

func (f *faultyAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/api/chat.postMessage" {
		f.proxy.ServeHTTP(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	key := form.Get("channel") + "|" + form.Get("thread_ts") + "|" + form.Get("text")
	f.mu.Lock()
	f.attempts[key]++
	n := f.attempts[key]
	fail := false
	if n >= 2 {
		delete(f.attempts, key) // the next post with the same text (a later reminder) meets the faults again
		f.seconds++
		fail = f.seconds%2 == 1
	}
	f.mu.Unlock()
	count := func(what string) {
		f.mu.Lock()
		f.injected[what]++
		f.mu.Unlock()
	}
	switch {
	case n == 1:
		count("429")
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
	case fail:
		count("500")
		f.proxy.ServeHTTP(httptest.NewRecorder(), req) // posted, but the bot is not told
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "<html>server error</html>")
	default:
		count("slow")
		select {
		case <-time.After(f.slow):
		case <-req.Context().Done():
			return
		}
		req.ContentLength = int64(len(body))
		f.proxy.ServeHTTP(w, req)
	}
}

func (f *faultyAPI) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.injected {
		out[k] = v
	}
	return out
}

// The Web API answers 429 with Retry-After to every post, then makes it
// but answers 500, or takes 3.5 s: replies and reminders still arrive
// exactly once (a post answered 500 is not made again), and
// acknowledgements stay under 3 seconds.
func TestFaultSlackAPIErrors(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	var api *faultyAPI
	r := newRig(t, rigOptions{
		apiURL: func(fake *slackfake.Server) string {
			api = newFaultyAPI(fake.URL, 3500*time.Millisecond)
			srv := httptest.NewServer(api)
			t.Cleanup(srv.Close)
			return srv.URL + "/api/"
		},
		env: map[string]string{"UPGRADEBOT_MIN_REMINDER_INTERVAL": "5s"},
	})
	const ch, other = "C0REMIND", "C0OTHER"
	const every = 10 * time.Second
	r.track(ch, "prod") // its announcement already went through the faults
	r.slash(ch, "remind @every 10s", "remind")
	store := r.store()
	var cs progress.ChannelSettings
	r.waitFor("the schedule to be stored", 10*time.Second, func() bool {
		var err error
		cs, err = store.ChannelSettings(context.Background(), "T0FAKE", ch)
		return err == nil && cs.Schedule != ""
	})
	anchor := cs.UpdatedAt.Truncate(time.Second)

	bg := background(r, 200, 15*time.Second, 0)
	var tss []string
	for i := range 8 {
		for _, c := range []string{ch, other} {
			ts := fmt.Sprintf("1700100%03d.%06d", i, len(tss))
			tss = append(tss, c+"/"+ts)
			r.message(c, ts, producerPaste(fmt.Sprintf("Slow_%d", i)))
		}
	}
	firstRecorded := time.Now()
	checkAcks(t, bg(), false)
	r.waitFor("every pasted error answered", 60*time.Second, func() bool {
		for _, k := range tss {
			c, ts, _ := strings.Cut(k, "/")
			if len(r.posts(c, ts)) == 0 {
				return false
			}
		}
		return true
	})
	// Reminders by occurrence (the posts arrive within seconds of theirs).
	reminders := func() map[int]int {
		perOcc := map[int]int{}
		for _, p := range r.posts(ch, "-") {
			if strings.HasPrefix(p.Field("text"), "Reminder") {
				perOcc[int(p.At.Sub(anchor)/every)]++
			}
		}
		return perOcc
	}
	// Watch three whole occurrences after the modules were recorded; the
	// fourth one's post is the marker that the third's faults and retries
	// are over, so a second post of any of the three would show by then.
	k0 := int(firstRecorded.Add(time.Second).Sub(anchor)/every) + 1
	marker := anchor.Add(time.Duration(k0+3) * every)
	r.waitFor("the reminder after three occurrences", time.Until(marker)+20*time.Second, func() bool { return reminders()[k0+3] > 0 })

	for _, k := range tss {
		c, ts, _ := strings.Cut(k, "/")
		if n := len(r.posts(c, ts)); n != 1 {
			t.Errorf("pasted error %s got %d answers, want exactly 1", k, n)
		}
	}
	perOcc := reminders()
	for k := k0; k <= k0+2; k++ {
		if perOcc[k] != 1 {
			t.Errorf("reminder occurrence %s: %d posts, want exactly 1 (all: %v)", anchor.Add(time.Duration(k)*every).Format("15:04:05"), perOcc[k], perOcc)
		}
	}
	for k, n := range perOcc {
		if n > 1 {
			t.Errorf("reminder occurrence %d posted %d times", k, n)
		}
	}
	injected := api.counts()
	t.Logf("faults injected: %v; reminders by occurrence: %v", injected, perOcc)
	if injected["429"] == 0 || injected["500"] == 0 || injected["slow"] == 0 {
		t.Errorf("not every fault was exercised: %v", injected)
	}
	r.slash(ch, "remind off", "remind-off")
}

// SIGTERM while replies are in flight: they complete, and the process
// exits 0 within its shutdown bound.
func TestFaultSIGTERMDuringLoad(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	r := newRig(t, rigOptions{})
	r.fake.SetDelay("chat.postMessage", 300*time.Millisecond) // replies take a while
	// 300 events/s, 10% pasted errors: about 30 answers a second to post.
	bg := background(r, 300, 6*time.Second, 0.1)
	r.waitFor("replies in flight after some were posted", 10*time.Second, func() bool {
		posted, inFlight := 0, 0
		for _, c := range r.fake.Calls("chat.postMessage") {
			if c.Ended.IsZero() {
				inFlight++
			} else {
				posted++
			}
		}
		return posted >= 20 && inFlight > 0
	})
	queued, _ := r.bot.Metric("upgradebot_work_queue_depth")
	sent := time.Now()
	if err := r.bot.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := r.bot.Wait(15 * time.Second)
	took := time.Since(sent)
	if err != nil {
		t.Fatalf("no exit within 15 s of SIGTERM: %v", err)
	}
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if took > 12*time.Second {
		t.Errorf("exit %v after SIGTERM; the bound is 10 s of shutdown grace", took)
	}
	res := bg()
	if res.Quantile(1) >= 3*time.Second {
		t.Errorf("an acknowledgement took %v", res.Quantile(1))
	}
	// Every pasted error the bot acknowledged was answered, once.
	missing, dup := r.answeredOnce(res.Pastes)
	if len(res.Pastes) == 0 || missing+dup > 0 {
		t.Errorf("of %d acknowledged pasted errors, %d unanswered and %d answered twice", len(res.Pastes), missing, dup)
	}
	if !strings.Contains(r.bot.Logs(), "shut down") || strings.Contains(r.bot.Logs(), "abandoned") {
		t.Errorf("the log does not say it shut down with everything answered")
	}
	t.Logf("SIGTERM with %v queued: exit %d after %v; %d pasted errors acknowledged, all answered; after SIGTERM: %v",
		queued, code, took.Round(time.Millisecond), len(res.Pastes), res.Failures)
}
