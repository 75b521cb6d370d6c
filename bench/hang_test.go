package bench

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/internal/redistest"
)

// readyProbe is one /readyz request: when, how long it took, what it said.
type readyProbe struct {
	at     time.Time
	took   time.Duration
	code   int
	status string
}

// pollReady asks /readyz every 100 ms until stop is closed, then returns
// what it saw.
func pollReady(r *rig, stop <-chan struct{}) <-chan []readyProbe {
	out := make(chan []readyProbe, 1)
	go func() {
		var ps []readyProbe
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				out <- ps
				return
			case <-tick.C:
			}
			start := time.Now()
			code, status := r.readiness()
			ps = append(ps, readyProbe{at: start, took: time.Since(start), code: code, status: status})
		}
	}()
	return out
}

// Redis hangs (SIGSTOP: connections stay open, nothing answers) for 8 s
// during a steady stream of pasted errors (10 a second) and slash
// commands: diagnosis replies go on during the hang, /readyz answers
// within 1 s throughout (200 "degraded" while the store is unreachable),
// tracking commands say tracking is unavailable, and once Redis resumes
// every pasted error is answered exactly once and every reply that says
// "Recorded for" is in the store.
func TestFaultRedisHangs(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	r := newRig(t, rigOptions{})
	const ch = "C0HANG"
	const hang = 8 * time.Second
	r.track(ch, "prod")

	stopPoll := make(chan struct{})
	probes := pollReady(r, stopPoll)
	type paste struct {
		ts, module string
		sent       time.Time
	}
	var pastes []paste
	type command struct {
		id, text string
		sent     time.Time
	}
	var commands []command
	var paused, resumed time.Time
	tick := time.NewTicker(100 * time.Millisecond)
	start := time.Now()
	for i := 0; ; i++ {
		now := <-tick.C
		switch el := now.Sub(start); {
		case paused.IsZero() && el >= 2*time.Second:
			if err := r.redis.Pause(); err != nil {
				t.Fatal(err)
			}
			paused = time.Now()
			t.Cleanup(func() { _ = r.redis.Resume() })
		case !paused.IsZero() && resumed.IsZero() && now.Sub(paused) >= hang:
			if err := r.redis.Resume(); err != nil {
				t.Fatal(err)
			}
			resumed = time.Now()
		}
		if !resumed.IsZero() && now.Sub(resumed) >= 3*time.Second {
			break
		}
		p := paste{ts: fmt.Sprintf("1700200%03d.%06d", i/1000, i), module: fmt.Sprintf("Hang_%d", i)}
		p.sent = time.Now()
		r.message(ch, p.ts, producerPaste(p.module))
		pastes = append(pastes, p)
		if i%10 == 5 {
			c := command{id: fmt.Sprint("hang-cmd-", i), text: []string{"help", "status", "failed prod: Cmd_" + fmt.Sprint(i)}[(i/10)%3]}
			c.sent = time.Now()
			r.slash(ch, c.text, c.id)
			commands = append(commands, c)
		}
	}
	tick.Stop()

	// A command's answer: its response (help, status, "unavailable"), or,
	// for a `failed` that was recorded, the announcement in the channel.
	answers := func(c command) []slackfake.Call {
		out := r.responses(c.id)
		if _, mod, ok := strings.Cut(c.text, "prod: "); ok {
			for _, p := range r.posts(ch, "-") {
				if strings.Contains(text(p), "`"+mod+"`") {
					out = append(out, p)
				}
			}
		}
		return out
	}
	answered := func() bool {
		for _, p := range pastes {
			if len(r.posts(ch, p.ts)) == 0 {
				return false
			}
		}
		for _, c := range commands {
			if len(answers(c)) == 0 {
				return false
			}
		}
		return true
	}
	r.waitFor("every pasted error and command answered after the hang", 30*time.Second, answered)
	r.waitFor("/readyz to say ok after the hang", 15*time.Second, func() bool {
		code, status := r.readiness()
		return code == http.StatusOK && status == "ok"
	})
	// A marker: once a paste sent now is answered, a second answer to an
	// earlier one would have been posted too.
	marker := paste{ts: "1700299999.000001", module: "Hang_marker"}
	r.message(ch, marker.ts, producerPaste(marker.module))
	r.waitFor("the marker paste's answer", 20*time.Second, func() bool { return len(r.posts(ch, marker.ts)) > 0 })
	close(stopPoll)
	ps := <-probes

	// /readyz: answered within 1 s throughout, degraded during the hang.
	var during, all []time.Duration
	degraded := 0
	for _, p := range ps {
		all = append(all, p.took)
		if p.at.After(paused) && p.at.Before(resumed) {
			during = append(during, p.took)
			if p.code == http.StatusOK && p.status == "degraded" {
				degraded++
			}
		}
		if p.code != http.StatusOK || p.took >= time.Second {
			t.Errorf("/readyz at %v into the run: %d %q after %v; want 200 within 1 s", p.at.Sub(start).Round(time.Millisecond), p.code, p.status, p.took)
		}
	}
	var recovered time.Duration // from SIGCONT to the first /readyz saying ok
	for _, p := range ps {
		if p.at.After(resumed) && p.status == "ok" {
			recovered = p.at.Add(p.took).Sub(resumed)
			break
		}
	}
	if degraded == 0 {
		t.Errorf("/readyz never said degraded during the hang (%d probes)", len(during))
	}

	// Pasted errors: exactly once each; some answered during the hang.
	var missing, doubled, inHang, sentInHang int
	var lateInHang []time.Duration // from sending to the answer, for pastes sent during the hang
	recordedOK := true
	have := r.modules("prod")
	for _, p := range pastes {
		replies := r.posts(ch, p.ts)
		switch {
		case len(replies) == 0:
			missing++
			continue
		case len(replies) > 1:
			doubled++
		}
		at := replies[0].At
		if at.After(paused) && at.Before(resumed) {
			inHang++
		}
		if p.sent.After(paused) && p.sent.Before(resumed) {
			sentInHang++
			lateInHang = append(lateInHang, at.Sub(p.sent))
		}
		if strings.Contains(text(replies[0]), "Recorded for") && !have[p.module] {
			recordedOK = false
			t.Errorf("the answer to %s says recorded, but %s is not on prod's list", p.ts, p.module)
		}
	}
	if missing+doubled > 0 {
		t.Errorf("of %d pasted errors, %d unanswered and %d answered more than once", len(pastes), missing, doubled)
	}
	if inHang == 0 {
		t.Errorf("no pasted error was answered during the %v hang", hang)
	}
	unavailable := 0
	for _, c := range commands {
		rs := answers(c)
		if len(rs) != 1 {
			t.Errorf("/upgrade %s got %d answers, want 1", c.text, len(rs))
			continue
		}
		if strings.Contains(text(rs[0]), "Tracking is unavailable right now") {
			unavailable++
			if c.text == "help" {
				t.Errorf("/upgrade help said tracking is unavailable")
			}
		}
	}
	if unavailable == 0 {
		t.Errorf("no tracking command said tracking is unavailable during the hang")
	}
	// The breaker says when it opens and when Redis answers again, not at every call.
	logs := r.bot.Logs()
	opened, closed := strings.Count(logs, "Redis keeps failing"), strings.Count(logs, "Redis answers again")
	if opened < 1 || opened > 3 || closed < 1 {
		t.Errorf("the log says %d times that the breaker opened and %d that Redis answers again; want once or twice per episode", opened, closed)
	}
	t.Logf("Redis hung %v: /readyz %d probes during the hang, p50 %v, p99 %v, max %v (whole run: max %v, %d probes); "+
		"%d of %d pasted errors sent during the hang, answered after p50 %v, max %v; %d answers posted during the hang; "+
		"%d pasted errors in all, %d unanswered, %d doubled; %d of %d commands said tracking is unavailable; recorded replies in the store: %v; "+
		"/readyz ok again %v after Redis resumed",
		hang, len(during), latencies(during).Quantile(0.5), latencies(during).Quantile(0.99), latencies(during).Quantile(1), latencies(all).Quantile(1), len(all),
		sentInHang, len(pastes), latencies(lateInHang).Quantile(0.5), latencies(lateInHang).Quantile(1), inHang,
		len(pastes), missing, doubled, unavailable, len(commands), recordedOK, recovered.Round(time.Millisecond))
}

// The claim resend of issue 14, on the real process: a proxy in front of
// Redis holds the claim of a pasted error's event until the bot, its read
// timed out, resends it; Redis then runs the first attempt, then the
// resend. The resend must win (same token): the paste is answered once.
func TestFaultClaimResent(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	const ch, ts = "C0RESEND", "1700300000.000001"
	var proxy *redistest.ResendProxy
	r := newRig(t, rigOptions{redisURL: func(red *redistest.Server) string {
		proxy = redistest.NewResendProxy(t, red.Addr, "fault:{"+slackfake.TeamID+"}:#claim:slack:msg:"+ch+":"+ts)
		return "redis://" + proxy.Addr + "/1"
	}})
	r.track(ch, "prod")
	// A first paste loads the claim script, so the held command is the claim itself.
	for _, p := range []string{"1700299999.000001", ts, "1700300001.000001"} { // warm-up, the paste, a marker
		r.message(ch, p, producerPaste("Resend_"+p[len(p)-8:]))
		r.waitFor("the answer to "+p, 20*time.Second, func() bool { return len(r.posts(ch, p)) > 0 })
	}
	attempts, first := proxy.Attempts()
	if attempts < 2 || string(first) != ":1\r\n" {
		t.Fatalf("%d attempts at the claim, the first answered %q; want a resend after the first took the claim (:1)", attempts, first)
	}
	if n := len(r.posts(ch, ts)); n != 1 {
		t.Errorf("the paste whose claim was resent got %d answers, want exactly 1", n)
	}
	t.Logf("%d commands named the claim (the first attempt, held past the read timeout and run before the resend, the resend, the done mark); the paste answered once", attempts)
}

// latencies are ds as a load result, for its quantiles.
func latencies(ds []time.Duration) *load.Result {
	s := slices.Clone(ds)
	slices.Sort(s)
	return &load.Result{Latencies: s}
}
