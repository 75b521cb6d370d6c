package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// The fault tests of issue 14's order and bound. They are not parallel:
// the flood would take the two cores from the other tests' timings.

// Three slash commands sent to one channel within a few milliseconds
// (track, failed, remind) run in the order received, in 100 channels at
// once: the module named by failed is recorded on the environment track
// created, every time.
func TestFaultCommandBurstInOrder(t *testing.T) {
	faultsOn(t)
	r := newRig(t, rigOptions{env: map[string]string{"UPGRADEBOT_MIN_REMINDER_INTERVAL": "1s"}})
	const trials = 100
	var wg sync.WaitGroup
	var spread sync.Map // trial → time from the first command sent to the last acknowledged
	for i := range trials {
		wg.Go(func() {
			ch, started := fmt.Sprintf("C0BURST%03d", i), time.Now()
			for j, cmd := range []string{fmt.Sprintf("track burst%d 11.31.0", i), "failed Billing_CS", "remind @every 2s"} {
				r.slash(ch, cmd, fmt.Sprintf("burst-%d-%d", i, j))
			}
			spread.Store(i, time.Since(started))
		})
	}
	wg.Wait()
	r.waitFor("the 300 commands to be handled", 60*time.Second, func() bool {
		n, err := r.bot.Metric("upgradebot_handler_duration_seconds", "kind", "command")
		return err == nil && n >= 3*trials
	})
	store := r.store()
	outOfOrder := 0
	var spreads []time.Duration
	for i := range trials {
		d, _ := spread.Load(i)
		spreads = append(spreads, d.(time.Duration))
		st, err := store.Status(context.Background(), "T0FAKE", fmt.Sprint("burst", i), -1)
		if err != nil || len(st.Modules) != 1 || st.Modules[0].Name != "Billing_CS" {
			outOfOrder++
			if outOfOrder <= 3 {
				t.Errorf("trial %d: burst%d has modules %+v (%v), want Billing_CS", i, i, st.Modules, err)
			}
		}
	}
	slices.Sort(spreads)
	t.Logf("command burst: %d trials, %d out of order; three commands sent within p50 %v, max %v",
		trials, outOfOrder, spreads[trials/2].Round(time.Millisecond), spreads[trials-1].Round(time.Millisecond))
}

// A flood of pasted errors (1,000 events/s for 20 s) while the Web API
// takes 1.5 s per post: once the work held reaches its bound, events are
// refused with 503 and memory stays flat; every event is either refused or
// answered (once the API is fast again), and /upgrade help sent mid-flood
// is answered within 3 s.
func TestFaultFloodIsBounded(t *testing.T) {
	faultsOn(t)
	r := newRig(t, rigOptions{})
	r.fake.SetDelay("chat.postMessage", 1500*time.Millisecond)
	const flood = 20 * time.Second
	started := time.Now()
	done := make(chan *load.Result, 1)
	go func() {
		res, err := load.Run(context.Background(), load.Options{URL: r.bot.EventsURL(), Secret: faultSecret, Rate: 1000,
			Duration: flood, Concurrency: 64, ErrorShare: 1})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()

	// Memory every 250 ms; /upgrade help half-way.
	var rss []int
	var helpLatency time.Duration
	for tick := time.NewTicker(250 * time.Millisecond); time.Since(started) < flood; <-tick.C {
		if st, err := status(r.bot.PID); err == nil {
			rss = append(rss, int(st.VmRSS))
		}
		if helpLatency == 0 && time.Since(started) > flood/2 {
			helpLatency = r.timedHelp()
		}
	}
	res := <-done
	r.fake.SetDelay("chat.postMessage", 0)
	refused := res.Failures["HTTP 503"]
	if res.Acked+refused != res.Sent || res.Unsent > 0 {
		t.Errorf("of %d events, %d acknowledged and %d refused (503); other failures %v, unsent %d", res.Sent, res.Acked, refused, res.Failures, res.Unsent)
	}
	if refused == 0 {
		t.Error("nothing was refused: the bound was never reached")
	}
	if mx := res.Quantile(1); mx >= 3*time.Second {
		t.Errorf("an acknowledgement (or refusal) took %v", mx)
	}
	if helpLatency == 0 || helpLatency >= 3*time.Second {
		t.Errorf("/upgrade help sent mid-flood answered after %v, want under 3 s", helpLatency)
	}
	// The first half ends well after the bound is reached (2,000 jobs: about 2 s).
	half := len(rss) / 2
	ratio := mean(rss[half:]) / mean(rss[len(rss)/4:half])
	if ratio > 1.2 {
		t.Errorf("memory grew during the flood: second half %.1f MiB, first %.1f MiB (ratio %.2f)", mean(rss[half:])/(1<<20), mean(rss[len(rss)/4:half])/(1<<20), ratio)
	}
	refusedMetric, _ := r.bot.Metric("upgradebot_requests_refused_total", "kind", "message")
	r.waitFor("every acknowledged paste to be answered", 90*time.Second, func() bool {
		missing, _ := r.answeredOnce(res.Pastes)
		return missing == 0
	})
	if missing, dup := r.answeredOnce(res.Pastes); missing+dup > 0 {
		t.Errorf("of %d acknowledged pastes, %d unanswered, %d answered twice", len(res.Pastes), missing, dup)
	}
	if logs := r.bot.Logs(); strings.Count(logs, "refusing Slack requests") < 1 {
		t.Error("the refusals were not logged")
	}
	t.Logf("flood: %d events in %v, %d acknowledged (all answered), %d refused with 503 (metric %v); ack max %v; "+
		"RSS %.1f MiB in the first half, %.1f MiB in the second (ratio %.2f); /upgrade help answered in %v; drained %v after the flood",
		res.Sent, flood, res.Acked, refused, refusedMetric, res.Quantile(1).Round(time.Millisecond),
		mean(rss[len(rss)/4:half])/(1<<20), mean(rss[half:])/(1<<20), ratio, helpLatency.Round(time.Millisecond), time.Since(started.Add(flood)).Round(time.Second))
}

// timedHelp sends /upgrade help and returns how long until its answer reached the response_url.
func (r *rig) timedHelp() time.Duration {
	r.t.Helper()
	sent := time.Now()
	code, body, _ := r.do(slackfake.FormRequest(r.bot.EventsURL(), faultSecret, slackfake.SlashCommand("C0HELP", faultUser, "help", r.fake.ResponseURL("flood-help"), "flood-help")))
	if code != http.StatusOK || body != "" {
		r.t.Errorf("/upgrade help mid-flood: %d %q", code, body)
		return 0
	}
	r.waitFor("the answer to /upgrade help", 10*time.Second, func() bool { return len(r.responses("flood-help")) > 0 })
	return r.responses("flood-help")[0].At.Sub(sent)
}

func mean(v []int) float64 {
	sum := 0.0
	for _, x := range v {
		sum += float64(x)
	}
	return sum / float64(max(len(v), 1))
}
