package bench

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/load"
)

// backlog sends n pasted errors at once (all answerable, spread over the
// load's channels) while the Web API posts slowly, and waits until some
// were answered and most are still held: a process with a backlog of
// acknowledged work.
func backlog(r *rig, n int) *load.Result {
	r.t.Helper()
	r.fake.SetDelay("chat.postMessage", 400*time.Millisecond)
	res, err := load.Run(context.Background(), load.Options{URL: r.bot.EventsURL(), Secret: faultSecret, Rate: float64(n),
		Duration: time.Second, Concurrency: 16, ErrorShare: 1})
	if err != nil {
		r.t.Fatal(err)
	}
	if res.Acked != res.Sent || len(res.Pastes) == 0 {
		r.t.Fatalf("backlog: %d of %d acknowledged (%v), %d pasted errors", res.Acked, res.Sent, res.Failures, len(res.Pastes))
	}
	r.waitFor("some replies posted", 20*time.Second, func() bool { return len(r.posts("", "")) >= 20 })
	return res
}

// next starts a second process the same way, on the same store, with a
// fast Web API, and waits (up to bound) until every acknowledged pasted
// error has an answer; it returns how many were answered more than once.
func (r *rig) next(res *load.Result, bound time.Duration) (dup int) {
	r.t.Helper()
	r.fake.SetDelay("chat.postMessage", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.startBot(ctx)
	start := time.Now()
	r.waitFor("every acknowledged pasted error answered by the next process", bound, func() bool {
		missing, _ := r.answeredOnce(res.Pastes)
		return missing == 0
	})
	// Work left to do would show in the depth or the journal's count.
	r.waitFor("the next process idle", 10*time.Second, func() bool { return r.handled(0) })
	recovered, _ := r.bot.Metric("upgradebot_journal_recovered_total")
	found, _ := r.bot.Metric("upgradebot_duplicates_suppressed_total", "reason", "recovered")
	_, dup = r.answeredOnce(res.Pastes)
	r.t.Logf("next process: %v recovered (%v of them found already answered in their thread), all %d acknowledged pasted errors answered within %v of its start, %d answered twice",
		recovered, found, len(res.Pastes), time.Since(start).Round(time.Millisecond), dup)
	if recovered == 0 {
		r.t.Errorf("the next process recovered no work")
	}
	return dup
}

// SIGTERM with a backlog of acknowledged events: the process answers what
// it can within its shutdown bound and exits 0; the next process on the
// same store answers the rest at once (the stopped one left its entries),
// and no event is answered twice.
func TestFaultSIGTERMBacklogRecovered(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	r := newRig(t, rigOptions{})
	res := backlog(r, 500)
	depth, _ := r.bot.Metric("upgradebot_work_queue_depth")
	if err := r.bot.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := r.bot.Wait(20 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("after SIGTERM: exit %d, %v; want 0", code, err)
	}
	logs := r.bot.Logs()
	if !strings.Contains(logs, "left unfinished work to the next process") {
		t.Errorf("the stopped process did not say it left work to the next")
	}
	missing, _ := r.answeredOnce(res.Pastes)
	t.Logf("SIGTERM with %v held: %d of %d acknowledged pasted errors unanswered when it exited", depth, missing, len(res.Pastes))
	if missing == 0 {
		t.Fatalf("the backlog was answered before the process stopped: nothing left to recover (make the Web API slower)")
	}
	if dup := r.next(res, 60*time.Second); dup > 0 {
		t.Errorf("%d pasted errors answered twice", dup)
	}
}

// kill -9 mid-work with a backlog: the next process answers every
// acknowledged event. With Redis it takes the dead process's entries once
// they went unkept for the minimum idle time (1 minute); the embedded
// store's next process takes them at open. A post made just before the
// kill and not yet recorded is found in its thread and not repeated; at
// most one reply may be repeated (a post in flight when the process died).
func TestFaultKill9MidWorkRecovered(t *testing.T) {
	faultsOn(t)
	t.Parallel() // the Redis case mostly waits for the minimum idle time
	for _, store := range []string{"redis", "bolt"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			o := rigOptions{}
			bound := 20 * time.Second
			if store == "bolt" {
				o.dataFile = filepath.Join(t.TempDir(), "upgradebot.db")
			} else {
				bound = 100 * time.Second // MinIdle (1 minute) and a keeping period (15 s)
			}
			r := newRig(t, o)
			res := backlog(r, 500)
			r.bot.Kill()
			missing, _ := r.answeredOnce(res.Pastes)
			if missing == 0 {
				t.Fatalf("the backlog was answered before the kill: nothing left to recover")
			}
			t.Logf("kill -9 (%s): %d of %d acknowledged pasted errors unanswered", store, missing, len(res.Pastes))
			if dup := r.next(res, bound); dup > 1 {
				t.Errorf("%d pasted errors answered twice; at most one may be", dup)
			}
		})
	}
}
