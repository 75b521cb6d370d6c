package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot"
	"github.com/upgradebot/upgradebot/progress"
)

// t0 is a Wednesday.
var t0 = time.Date(2024, 11, 20, 10, 0, 0, 0, time.UTC)

func summaries(posts []post) []string {
	var out []string
	for _, p := range posts {
		out = append(out, p.channel+": "+p.reply.Summary)
	}
	return out
}

// runReplica runs s until the returned stop is called; stop waits (bounded) for Run to return.
func runReplica(t *testing.T, s *Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Three replicas on one Redis, started at different moments, post every
// occurrence of an @every 2s schedule exactly once: at each occurrence the
// running replicas wake together and race for its claim.
func TestReplicasPostEachOccurrenceOnce(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS", "Orders")
	opts := Options{PollInterval: time.Second, MinInterval: time.Second}
	// The schedule is set through a replica that does not run, so no
	// running replica has a pending wake-up besides its clock.
	set(t, f.replica("admin", opts, nil), "C1", "@every 2s")
	replicas := []*Scheduler{f.replica("r1", opts, &fakePoster{}), f.replica("r2", opts, &fakePoster{}), f.replica("r3", opts, &fakePoster{})}
	var stops []func()
	const last = 12
	for k := 0; k <= last; k++ {
		if k%4 == 0 && len(stops) < len(replicas) {
			stops = append(stops, runReplica(t, replicas[len(stops)]))
		}
		clock.awaitWaiters(len(stops)) // every running replica is done with its step
		clock.Set(t0.Add(time.Duration(k) * 2 * time.Second))
	}
	clock.awaitWaiters(len(stops))
	for _, stop := range stops {
		stop()
	}
	perOcc := map[int][]string{}
	for _, p := range f.rec.all() {
		if !strings.HasPrefix(p.reply.Summary, "Reminder: prod") {
			t.Errorf("unexpected post %q", p.reply.Summary)
		}
		k := int(p.at.Sub(t0) / (2 * time.Second))
		perOcc[k] = append(perOcc[k], p.by)
	}
	for k := 1; k <= last; k++ {
		if n := len(perOcc[k]); n != 1 {
			t.Errorf("occurrence %d posted %d times, by %v", k, n, perOcc[k])
		}
	}
	if len(perOcc) != last {
		t.Errorf("posts at %d occurrences, want %d: %v", len(perOcc), last, perOcc)
	}
	t.Logf("posted by %v", perOcc)
}

// A channel with nothing outstanding gets nothing; once the work is done,
// a channel that was reminded gets one all-clear, then nothing.
func TestNothingOutstandingAndAllClear(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	f.track("C2", "qa")
	m := &countMetrics{}
	s := f.replica("r1", Options{PollInterval: time.Second, Metrics: m}, &fakePoster{})
	set(t, s, "C1", "@every 10m")
	set(t, s, "C2", "@every 10m")

	stepAt(t, s, clock, t0.Add(time.Second))
	stepAt(t, s, clock, t0.Add(10*time.Minute))
	posts := f.rec.all()
	if len(posts) != 1 || posts[0].channel != "C1" || !strings.HasPrefix(posts[0].reply.Summary, "Reminder: prod") {
		t.Fatalf("after the first occurrence: %v", summaries(posts))
	}
	clock.Set(t0.Add(15 * time.Minute))
	f.apply("prod", progress.Change{Kind: progress.ChangeDone, All: true})
	for i := 2; i <= 5; i++ {
		stepAt(t, s, clock, t0.Add(time.Duration(i)*10*time.Minute))
	}
	posts = f.rec.all()
	if len(posts) != 2 || posts[1].channel != "C1" || !strings.HasPrefix(posts[1].reply.Summary, "All clear: prod") {
		t.Fatalf("want one reminder then one all-clear in C1, got %v", summaries(posts))
	}
	if m.posted.Load() != 2 || m.missed.Load() != 0 {
		t.Errorf("metrics posted %d missed %d", m.posted.Load(), m.missed.Load())
	}
	// New work re-opens it: reminded again, then a new all-clear.
	clock.Set(t0.Add(55 * time.Minute))
	f.apply("prod", progress.Change{Kind: progress.ChangeAddModules, Reason: progress.ReasonSkipped, Modules: []string{"Orders"}})
	stepAt(t, s, clock, t0.Add(60*time.Minute))
	clock.Set(t0.Add(65 * time.Minute))
	f.apply("prod", progress.Change{Kind: progress.ChangeDone, Modules: []string{"Orders"}})
	stepAt(t, s, clock, t0.Add(70*time.Minute))
	stepAt(t, s, clock, t0.Add(80*time.Minute))
	got := summaries(f.rec.all())
	if len(got) != 4 || !strings.HasPrefix(got[2], "C1: Reminder: prod") || !strings.HasPrefix(got[3], "C1: All clear") {
		t.Errorf("posts: %v", got)
	}
}

// A channel following several environments gets one reminder for them
// all at each occurrence, an owner of modules in each named in one post;
// an environment snoozed there is left out, and one finished since gets
// its all-clear in the same post.
func TestOneReminderPerChannel(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			clock := newFakeClock(t0)
			f := newFixture(t, st.open(t, clock.Now), clock)
			ctx := context.Background()
			for _, env := range []string{"dev", "qa", "prod"} {
				f.track("C1", env, env+"_Core")
				if _, err := f.first.SetOwner(ctx, ws, env, "U7", "", []string{env + "_Core"}); err != nil {
					t.Fatal(err)
				}
			}
			s := f.replica("r1", Options{PollInterval: time.Second}, &fakePoster{})
			set(t, s, "C1", "@every 10m")
			stepAt(t, s, clock, t0.Add(time.Second))
			stepAt(t, s, clock, t0.Add(10*time.Minute))
			posts := f.rec.all()
			if len(posts) != 1 || posts[0].reply.Summary != "Reminder: dev, prod, qa have work outstanding" {
				t.Fatalf("want one post for the three environments, got %v", summaries(posts))
			}
			out := bot.RenderText(posts[0].reply)
			for _, env := range []string{"U7: dev_Core", "U7: qa_Core", "U7: prod_Core"} {
				if !strings.Contains(out, env) {
					t.Errorf("the reminder lacks %s:\n%s", env, out)
				}
			}
			clock.Set(t0.Add(12 * time.Minute))
			f.apply("dev", progress.Change{Kind: progress.ChangeDone, All: true})
			b := bot.New(bot.Options{Store: f.first, Now: clock.Now})
			if r := b.HandleCommand(ctx, bot.Command{Workspace: ws, Channel: "C1", User: "U1", ID: "snooze1", Text: "snooze qa 1h"}); !strings.Contains(bot.RenderText(r.Announce), "snoozed") {
				t.Fatalf("snooze: %s %s", bot.RenderText(r.Reply), bot.RenderText(r.Announce))
			}
			stepAt(t, s, clock, t0.Add(20*time.Minute))
			posts = f.rec.all()
			if len(posts) != 2 {
				t.Fatalf("want a second post, got %v", summaries(posts))
			}
			out = bot.RenderText(posts[1].reply)
			if !strings.Contains(out, "All clear") || !strings.Contains(out, "prod_Core") || strings.Contains(out, "qa_Core") {
				t.Errorf("want dev's all-clear and prod's reminder, qa snoozed:\n%s", out)
			}
		})
	}
}

// A snooze's confirmation says when that environment's next reminder is:
// snoozed at 08:30 for an hour, the day's 09:00 reminder is skipped, so
// the next is the following working day's; another environment of the
// channel is still reminded at 09:00.
func TestSnoozeSaysTheNextReminder(t *testing.T) {
	start := time.Date(2024, 11, 20, 8, 30, 0, 0, time.UTC) // Wednesday
	z := newSnoozing(t, start, "0 9 * * 1-5", "qa")
	if out, want := z.snooze("snooze prod 1h"), "prod's next reminder here: Thu 21 Nov 09:00"; !strings.Contains(out, want) {
		t.Errorf("snooze says:\n%s\nwant %q", out, want)
	}
	stepAt(t, z.s, z.clock, start)
	stepAt(t, z.s, z.clock, start.Add(30*time.Minute))
	if got := z.f.rec.all(); len(got) != 1 || !strings.HasPrefix(got[0].reply.Summary, "Reminder: qa") {
		t.Errorf("at 09:00: %v, want qa's reminder only", summaries(got))
	}
}

// A schedule set through one replica is followed by another.
func TestScheduleChangeFollowedByOtherReplica(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	opts := Options{PollInterval: time.Second}
	a := f.replica("a", opts, &fakePoster{})
	b := f.replica("b", opts, &fakePoster{})
	stepAt(t, b, clock, t0) // b runs with the default schedule

	t1 := t0.Add(time.Minute)
	clock.Set(t1)
	set(t, a, "C1", "@every 10m")
	stepAt(t, b, clock, t1.Add(2*time.Second))
	if next := b.Next(context.Background(), ws, "C1", time.Time{}); !strings.Contains(next, "this channel's schedule: @every 10m") {
		t.Errorf("b.Next = %q", next)
	}
	stepAt(t, b, clock, t1.Add(10*time.Minute))
	if got := f.rec.all(); len(got) != 1 || got[0].by != "b" {
		t.Fatalf("want one post by b, got %v", got)
	}

	t2 := t1.Add(11 * time.Minute)
	clock.Set(t2)
	if desc := set(t, a, "C1", "off"); !strings.Contains(desc, "turned this channel's reminders off") {
		t.Errorf("off: %q", desc)
	}
	stepAt(t, b, clock, t2.Add(2*time.Second))
	stepAt(t, b, clock, t1.Add(20*time.Minute))
	stepAt(t, b, clock, t1.Add(30*time.Minute))
	if got := f.rec.all(); len(got) != 1 {
		t.Errorf("posts after off: %v", summaries(got))
	}
	if next := b.Next(context.Background(), ws, "C1", time.Time{}); !strings.HasPrefix(next, "Reminders are off in this channel") {
		t.Errorf("b.Next after off = %q", next)
	}
}

// With every replica down, an occurrence inside the grace period is posted
// once when one comes back; an older one is skipped and counted.
func TestMissedOccurrences(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	opts := Options{PollInterval: time.Second, Grace: 30 * time.Minute}
	a := f.replica("a", opts, &fakePoster{})
	set(t, a, "C1", "@every 1h")
	stepAt(t, a, clock, t0.Add(time.Minute))
	// a stops; nobody runs at t0+1h and t0+2h.

	mb := &countMetrics{}
	opts.Metrics = mb
	b := f.replica("b", opts, &fakePoster{})
	stepAt(t, b, clock, t0.Add(2*time.Hour+10*time.Minute))
	posts := f.rec.all()
	if len(posts) != 1 || posts[0].by != "b" {
		t.Fatalf("want the occurrence within the grace period posted once, got %v", summaries(posts))
	}
	if mb.missed.Load() != 1 || mb.posted.Load() != 1 {
		t.Errorf("b: missed %d posted %d, want 1 and 1", mb.missed.Load(), mb.posted.Load())
	}

	mc := &countMetrics{}
	opts.Metrics = mc
	c := f.replica("c", opts, &fakePoster{})
	stepAt(t, c, clock, t0.Add(2*time.Hour+11*time.Minute))
	stepAt(t, c, clock, t0.Add(2*time.Hour+40*time.Minute))
	if got := f.rec.all(); len(got) != 1 {
		t.Errorf("a later replica posted again: %v", summaries(got))
	}
	if mc.missed.Load() != 0 || mc.posted.Load() != 0 {
		t.Errorf("c: missed %d posted %d, want 0 and 0", mc.missed.Load(), mc.posted.Load())
	}
}

// A channel that starts following an environment while a replica runs is
// not reminded of an occurrence from before it followed (the 09:00 one, at
// 09:30), only of the next.
func TestNewFollowerGetsNoEarlierOccurrence(t *testing.T) {
	start := time.Date(2024, 11, 20, 8, 0, 0, 0, time.UTC) // Wednesday
	clock := newFakeClock(start)
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	s := f.replica("", Options{}, &fakePoster{})
	stepAt(t, s, clock, start) // running, polled; nothing followed yet
	stepAt(t, s, clock, start.Add(90*time.Minute))
	f.track("C1", "prod", "Billing_CS", "Orders") // 09:30
	stepAt(t, s, clock, start.Add(90*time.Minute+6*time.Second))
	if got := f.rec.all(); len(got) != 0 {
		t.Fatalf("reminded at 09:30 of the 09:00 occurrence, before the channel followed: %v", summaries(got))
	}
	stepAt(t, s, clock, start.Add(25*time.Hour)) // Thursday 09:00
	if got := f.rec.all(); len(got) != 1 || got[0].channel != "C1" {
		t.Errorf("want one reminder in C1 on Thursday, got %v", summaries(got))
	}
}

// A post that fails once (a 429 the Poster gave up on) is retried with
// backoff and posted once; the other replica does not post it.
func TestTransientFailureRetried(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	opts := Options{PollInterval: time.Second, Grace: 30 * time.Minute}
	pa := &fakePoster{fail: func(n int) error {
		if n == 1 {
			return errRateLimited
		}
		return nil
	}}
	pb := &fakePoster{}
	ma, mb := &countMetrics{}, &countMetrics{}
	opts.Metrics = ma
	a := f.replica("a", opts, pa)
	opts.Metrics = mb
	b := f.replica("b", opts, pb)
	set(t, a, "C1", "@every 1h")
	stepAt(t, b, clock, t0.Add(time.Second))
	occ := t0.Add(time.Hour)

	stepAt(t, a, clock, occ)                  // fails, keeps the claim
	stepAt(t, b, clock, occ.Add(time.Second)) // claimed by a: waits
	if n := len(f.rec.all()); n != 0 {
		t.Fatalf("%d posts before the retry", n)
	}
	stepAt(t, a, clock, occ.Add(3*time.Second)) // retry succeeds
	stepAt(t, b, clock, occ.Add(2*time.Minute))
	stepAt(t, b, clock, occ.Add(31*time.Minute)) // b's look after the grace period
	posts := f.rec.all()
	if len(posts) != 1 || posts[0].by != "a" {
		t.Fatalf("want one post by a, got %v", posts)
	}
	if pa.attempts.Load() != 2 || pb.attempts.Load() != 0 {
		t.Errorf("attempts a=%d b=%d, want 2 and 0", pa.attempts.Load(), pb.attempts.Load())
	}
	if ma.posted.Load() != 1 || ma.missed.Load()+mb.missed.Load() != 0 {
		t.Errorf("metrics a posted %d, missed %d+%d", ma.posted.Load(), ma.missed.Load(), mb.missed.Load())
	}
}

// A post awaiting its retry is not made once the channel's reminders are
// turned off, and its claim is freed.
func TestNoRetryAfterRemindOff(t *testing.T) {
	start := time.Date(2024, 11, 20, 8, 0, 0, 0, time.UTC) // Wednesday
	clock := newFakeClock(start)
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	f.track("C1", "prod", "Billing_CS")
	p := &fakePoster{fail: func(n int) error {
		if n == 1 {
			return errRateLimited
		}
		return nil
	}}
	s := f.replica("", Options{}, p)
	stepAt(t, s, clock, start)
	occ := start.Add(time.Hour)
	stepAt(t, s, clock, occ) // 09:00: the post fails, to be retried
	set(t, s, "C1", "off")
	stepAt(t, s, clock, occ.Add(time.Minute))
	if got := f.rec.all(); len(got) != 0 {
		t.Errorf("posted after remind off: %v", summaries(got))
	}
	if held, err := f.first.Held(context.Background(), ws, occKey(ws, "C1", allEnvs, occ)); err != nil || held {
		t.Errorf("the occurrence's claim: held %v, err %v; want freed", held, err)
	}
}

// A post awaiting its retry leaves out an environment the channel untracked
// meanwhile; another environment the channel follows is still reminded.
func TestNoRetryAfterUntrack(t *testing.T) {
	start := time.Date(2024, 11, 20, 8, 0, 0, 0, time.UTC) // Wednesday
	clock := newFakeClock(start)
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	f.track("C1", "prod", "Billing_CS")
	f.track("C1", "qa", "Orders")
	p := &fakePoster{fail: func(n int) error {
		if n <= 1 {
			return errRateLimited
		}
		return nil
	}}
	s := f.replica("", Options{}, p)
	stepAt(t, s, clock, start)
	stepAt(t, s, clock, start.Add(time.Hour)) // 09:00: the channel's post fails, to be retried
	if _, err := f.first.Untrack(context.Background(), ws, "prod", "C1", "U1"); err != nil {
		t.Fatal(err)
	}
	stepAt(t, s, clock, start.Add(time.Hour+time.Minute))
	if got := f.rec.all(); len(got) != 1 || !strings.HasPrefix(got[0].reply.Summary, "Reminder: qa") {
		t.Errorf("want only qa's reminder after C1 untracked prod, got %v", summaries(got))
	}
}

// A failed scheduled post, through the grace period after its occurrence:
// one that keeps failing is tried with backoff and given up when the grace
// period ends, and counted; one Slack refused for its token or rights
// (bot.ErrRefused: an app uninstalled, a token revoked) is tried once and
// counted as missed, instead of dozens of times an hour; one Slack may have
// made (bot.ErrMaybePosted) is tried once: again could post it twice.
func TestFailedPostRetries(t *testing.T) {
	for _, c := range []struct {
		name                     string
		err                      error
		minAttempts, maxAttempts int32
		missed                   int32
	}{
		{"failing", errRateLimited, 4, 100, 1},
		{"refused", fmt.Errorf("slack chat.postMessage: token_revoked: %w", bot.ErrRefused), 1, 1, 1},
		{"maybe posted", fmt.Errorf("slack chat.postMessage: http_500: %w", bot.ErrMaybePosted), 1, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock(t0)
			env := newRedisEnv(t, clock.Now)
			f := newFixture(t, env.store, clock)
			f.track("C1", "prod", "Billing_CS")
			m := &countMetrics{}
			p := &fakePoster{fail: func(int) error { return c.err }}
			s := f.replica("a", Options{PollInterval: time.Hour, Grace: 5 * time.Minute, Lease: 3 * time.Minute, Metrics: m}, p)
			set(t, s, "C1", "@every 1h")
			occ := t0.Add(time.Hour)
			for at := occ; at.Before(occ.Add(7 * time.Minute)); at = at.Add(10 * time.Second) {
				stepAt(t, s, clock, at)
			}
			if n := p.attempts.Load(); n < c.minAttempts || n > c.maxAttempts || m.missed.Load() != c.missed || m.posted.Load() != 0 {
				t.Errorf("attempts %d (want %d to %d), missed %d (want %d), posted %d", n, c.minAttempts, c.maxAttempts, m.missed.Load(), c.missed, m.posted.Load())
			}
			if left := len(s.items); left != 0 {
				t.Errorf("%d items left after the grace period", left)
			}
		})
	}
}

// ErrChannelGone pauses the channel's reminders, and Next says why.
func TestChannelGonePauses(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	f.track("C1", "qa", "Orders")
	p := &fakePoster{fail: func(int) error { return fmt.Errorf("slack: not_in_channel: %w", bot.ErrChannelGone) }}
	s := f.replica("a", Options{PollInterval: time.Second}, p)
	set(t, s, "C1", "@every 10m")
	stepAt(t, s, clock, t0.Add(10*time.Minute))
	ctx := context.Background()
	cs, err := f.first.ChannelSettings(ctx, ws, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if !cs.Paused || !strings.Contains(cs.PauseReason, "removed from this channel") || cs.Schedule != "@every 10m" {
		t.Errorf("settings after channel gone: %+v", cs)
	}
	next := s.Next(ctx, ws, "C1", time.Time{})
	if !strings.HasPrefix(next, "Reminders paused: I was removed from this channel") || !strings.Contains(next, "/upgrade remind on") {
		t.Errorf("Next = %q", next)
	}
	before := p.attempts.Load()
	stepAt(t, s, clock, t0.Add(10*time.Minute+2*time.Second))
	stepAt(t, s, clock, t0.Add(20*time.Minute))
	stepAt(t, s, clock, t0.Add(30*time.Minute))
	if p.attempts.Load() != before || before > 2 {
		t.Errorf("attempts %d then %d: a paused channel was posted to", before, p.attempts.Load())
	}
	// Status there says why (bot.cmdStatus shows Next).
	b := bot.New(bot.Options{Store: f.first, Schedules: s})
	resp := b.HandleCommand(ctx, bot.Command{Workspace: ws, Channel: "C1", User: "U1", ID: "c1", Text: "status"})
	if text := bot.RenderText(resp.Reply); !strings.Contains(text, "Reminders paused: I was removed") {
		t.Errorf("status does not say reminders are paused:\n%s", text)
	}
	// So does track there.
	resp = b.HandleCommand(ctx, bot.Command{Workspace: ws, Channel: "C1", User: "U1", ID: "c2", Text: "track uat"})
	if text := bot.RenderText(resp.Announce); !strings.Contains(text, "Reminders paused: I was removed") {
		t.Errorf("track does not say reminders are paused:\n%s", text)
	}
	// The advice resumes the channel's own schedule ("default" would drop it).
	set(t, s, "C1", "on")
	if cs, err := f.first.ChannelSettings(ctx, ws, "C1"); err != nil || cs.Paused || cs.Schedule != "@every 10m" {
		t.Errorf("settings after `remind on`: %+v, %v; want @every 10m, not paused", cs, err)
	}
	if next := s.Next(ctx, ws, "C1", time.Time{}); !strings.HasPrefix(next, "Next reminder:") {
		t.Errorf("Next after resume = %q", next)
	}
}

// A claim whose holder died (its lease runs out) is taken over within the
// grace period, on Redis (where the lease runs out in real time) and on the
// embedded store (on the test's clock).
func TestCrashedHolderTakenOver(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			clock := newFakeClock(t0)
			f := newFixture(t, st.open(t, clock.Now), clock)
			f.track("C1", "prod", "Billing_CS")
			s := f.replica("b", Options{PollInterval: time.Second, Lease: 2 * time.Second}, &fakePoster{})
			set(t, s, "C1", "@every 10m")
			occ := t0.Add(10 * time.Minute)
			key := occKey(ws, "C1", allEnvs, occ)
			ctx := context.Background()
			// A replica claimed it with a one-second lease, then died.
			clock.Set(occ)
			if ok, err := f.first.Claim(ctx, ws, key, progress.NewToken(), time.Second); err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
			stepAt(t, s, clock, occ)
			if n := len(f.rec.all()); n != 0 {
				t.Fatalf("posted while another replica held the claim")
			}
			clock.Set(occ.Add(2 * time.Second))
			waitFor(t, 5*time.Second, "the dead replica's lease to expire", func() bool {
				held, err := f.first.Held(ctx, ws, key)
				return err == nil && !held
			})
			stepAt(t, s, clock, occ.Add(2*time.Second))
			if got := f.rec.all(); len(got) != 1 {
				t.Fatalf("want the occurrence taken over and posted once, got %v", summaries(got))
			}
		})
	}
}

// testStores open the stores the scheduler runs on; replicas of a test share one.
var testStores = []struct {
	name string
	open func(t *testing.T, now func() time.Time) func() progress.Store
}{
	{"redis", func(t *testing.T, now func() time.Time) func() progress.Store { return newRedisEnv(t, now).store }},
	{"bolt", func(t *testing.T, now func() time.Time) func() progress.Store {
		s := boltStore(t, now)
		return func() progress.Store { return s }
	}},
}

// doneMarkRig is C1 following prod on @every 1h and replica a, whose done
// marks fail while st.down is set (a's options: o).
func doneMarkRig(t *testing.T, o Options) (*fakeClock, *fixture, *Scheduler, *doneMarkDown) {
	clock := newFakeClock(t0)
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	f.track("C1", "prod", "Billing_CS")
	set(t, f.replica("", Options{}, nil), "C1", "@every 1h")
	a := f.replica("", o, &fakePoster{})
	st := &doneMarkDown{Store: a.o.Store}
	a.o.Store = st
	return clock, f, a, st
}

// A post whose done mark could not be written before its lease ran out
// gets it once the store is back, by claiming the occurrence anew: the
// replica that waited for the claim does not post it again.
func TestDoneMarkKeptAfterLeaseLoss(t *testing.T) {
	clock, f, a, st := doneMarkRig(t, Options{})
	b := f.replica("", Options{}, &fakePoster{})
	stepAt(t, a, clock, t0.Add(time.Minute))
	stepAt(t, b, clock, t0.Add(time.Minute))
	occ := t0.Add(time.Hour)
	st.down = true
	stepAt(t, a, clock, occ) // posted; the done mark fails
	stepAt(t, b, clock, occ) // a holds the claim: b looks again later
	st.down = false
	stepAt(t, a, clock, occ.Add(4*time.Minute)) // the 3-minute lease ran out
	stepAt(t, b, clock, occ.Add(4*time.Minute))
	stepAt(t, b, clock, occ.Add(30*time.Minute))
	if got := f.rec.all(); len(got) != 1 {
		t.Errorf("occurrence posted %d times: %v", len(got), summaries(got))
	}
}

// When another replica took the claim of a post whose done mark could not
// be written in time, the occurrence is posted twice; the first poster says so.
func TestDoneMarkTakenOverWarns(t *testing.T) {
	events := make(logEvents, 64)
	clock, f, a, st := doneMarkRig(t, Options{Logger: slog.New(events)})
	b := f.replica("", Options{}, &fakePoster{})
	stepAt(t, a, clock, t0.Add(time.Minute))
	stepAt(t, b, clock, t0.Add(time.Minute))
	occ := t0.Add(time.Hour)
	st.down = true
	stepAt(t, a, clock, occ)
	stepAt(t, b, clock, occ)
	st.down = false
	stepAt(t, b, clock, occ.Add(4*time.Minute)) // b takes the expired claim and posts
	stepAt(t, a, clock, occ.Add(4*time.Minute))
	events.awaitLog(t, "a scheduled post was handled, but its claim ran out and another replica took it: the occurrence may be posted twice")
	if len(a.items) != 0 {
		t.Errorf("a still has %d items", len(a.items))
	}
}

// Daylight-saving changes neither skip nor double a daily reminder, with
// the schedule in the default zone or in CRON_TZ, on Redis and on the
// embedded store.
func TestDaylightSavingOneReminderPerDay(t *testing.T) {
	cases := []struct {
		name, zone, spec, from string
		want                   []string // posts, UTC
	}{
		{"new york spring 02:30", "America/New_York", "30 2 * * *", "2024-03-08T12:00:00Z",
			[]string{"2024-03-09T07:30:00Z", "2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"}},
		{"new york fall 01:30", "UTC", "CRON_TZ=America/New_York 30 1 * * *", "2024-11-01T12:00:00Z",
			[]string{"2024-11-02T05:30:00Z", "2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}},
		{"lisbon spring 01:00", "Europe/Lisbon", "0 1 * * *", "2024-03-29T12:00:00Z",
			[]string{"2024-03-30T01:00:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z"}},
		{"lisbon fall 01:30", "UTC", "CRON_TZ=Europe/Lisbon 30 1 * * *", "2024-10-25T12:00:00Z",
			[]string{"2024-10-26T00:30:00Z", "2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"}},
	}
	for _, st := range testStores {
		for _, tc := range cases {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				from, _ := time.Parse(time.RFC3339, tc.from)
				clock := newFakeClock(from)
				f := newFixture(t, st.open(t, clock.Now), clock)
				f.track("C1", "prod", "Billing_CS")
				s := f.replica("", Options{Zone: mustZone(t, tc.zone), PollInterval: time.Hour, Stall: 1000 * time.Hour}, &fakePoster{})
				set(t, s, "C1", tc.spec)
				for at := from; at.Before(from.Add(3 * 24 * time.Hour)); at = at.Add(10 * time.Minute) {
					stepAt(t, s, clock, at)
				}
				var got []string
				for _, p := range f.rec.all() {
					got = append(got, p.at.UTC().Format(time.RFC3339))
				}
				if strings.Join(got, " ") != strings.Join(tc.want, " ") {
					t.Errorf("posts at\n  %v\nwant\n  %v", got, tc.want)
				}
			})
		}
	}
}

func TestSetRefuses(t *testing.T) {
	clock := newFakeClock(t0)
	s := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	sc := s.replica("", Options{MinInterval: 15 * time.Minute}, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		spec string
		is   error
		want string
	}{
		{"@every 5m", ErrTooFrequent, "shortest interval allowed here is 15m"},
		{"*/5 * * * *", ErrTooFrequent, "every 5m"},
		{"0 9,10 * * *", nil, ""},
		{"0 9 * *", ErrInvalidSpec, "5 fields"},
		{"@every 2 days", ErrInvalidSpec, "not a duration"},
		{"CRON_TZ=Nowhere/Land 0 9 * * *", ErrInvalidSpec, "unknown time zone"},
	} {
		_, err := sc.Set(ctx, ws, "C1", tc.spec, "U1")
		if tc.is == nil {
			if err != nil {
				t.Errorf("Set(%q): %v", tc.spec, err)
			}
			continue
		}
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Example:") {
			t.Errorf("Set(%q) = %v, want %v mentioning %q and an example", tc.spec, err, tc.is, tc.want)
		}
	}
	cs, err := s.first.ChannelSettings(ctx, ws, "C1")
	if err != nil || cs.Schedule != "0 9,10 * * *" {
		t.Errorf("refused schedules must not be stored: %+v %v", cs, err)
	}
	// Through the command, the refusal is the user's error message.
	b := bot.New(bot.Options{Store: s.first, Schedules: sc})
	resp := b.HandleCommand(ctx, bot.Command{Workspace: ws, Channel: "C1", User: "U1", ID: "x", Text: "remind @every 1m"})
	if text := bot.RenderText(resp.Reply); !resp.Private || !strings.Contains(text, "shortest interval allowed") {
		t.Errorf("remind @every 1m:\n%s", text)
	}
}

func TestSetDescribesAndNext(t *testing.T) {
	clock := newFakeClock(t0) // Wednesday 10:00 UTC
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	s := f.replica("", Options{Zone: mustZone(t, "Europe/Lisbon")}, nil)
	ctx := context.Background()
	if next := s.Next(ctx, ws, "C1", time.Time{}); next != "" {
		t.Errorf("Next of a channel following nothing = %q", next)
	}
	desc := set(t, s, "C1", "0 9 * * 1-5")
	if want := "set this channel's reminders to 0 9 * * 1-5 (Europe/Lisbon); next: Thu 21 Nov 09:00"; !strings.HasPrefix(desc, want) {
		t.Errorf("Set = %q, want prefix %q", desc, want)
	}
	if !strings.Contains(desc, "follows no environment yet") {
		t.Errorf("Set in a channel following nothing should say so: %q", desc)
	}
	f.track("C1", "prod", "A")
	if next, want := s.Next(ctx, ws, "C1", time.Time{}), "Next reminder: Thu 21 Nov 09:00 Europe/Lisbon (this channel's schedule: 0 9 * * 1-5)"; !strings.HasPrefix(next, want) {
		t.Errorf("Next = %q, want prefix %q", next, want)
	}
	// After a snooze ending at 09:30 on Thursday, the reminder of 09:00 is skipped: the next is Friday's.
	snoozeEnd := time.Date(2024, 11, 21, 9, 30, 0, 0, time.UTC)
	if next, want := s.Next(ctx, ws, "C1", snoozeEnd), "Next reminder: Fri 22 Nov 09:00 Europe/Lisbon"; !strings.HasPrefix(next, want) {
		t.Errorf("Next after %s = %q, want prefix %q", snoozeEnd, next, want)
	}
	desc = set(t, s, "C1", "CRON_TZ=America/New_York 30 8 * * *")
	if want := "set this channel's reminders to 30 8 * * * (America/New_York); next: Wed 20 Nov 08:30"; !strings.HasPrefix(desc, want) {
		t.Errorf("Set = %q, want prefix %q", desc, want)
	}
	desc = set(t, s, "C1", "default")
	if want := "restored this channel's default reminders, 0 9 * * 1-5 (Europe/Lisbon); next: Thu 21 Nov 09:00"; !strings.HasPrefix(desc, want) {
		t.Errorf("Set default = %q", desc)
	}
	if next := s.Next(ctx, ws, "C1", time.Time{}); !strings.Contains(next, "(the default schedule: 0 9 * * 1-5)") {
		t.Errorf("Next = %q", next)
	}
	set(t, s, "C1", "@every 2h")
	set(t, s, "C1", "off")
	if desc := set(t, s, "C1", "on"); !strings.HasPrefix(desc, "turned this channel's reminders on: @every 2h") || !strings.Contains(desc, "next: Wed 20 Nov 12:00") {
		t.Errorf("on = %q", desc)
	}
}

// /upgrade remind now works without Run and without a Poster (the shell).
func TestNowWithoutRun(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	mods := []string{"M1", "M2", "M3", "M4", "M5", "M6", "M7"}
	f.track("C1", "prod", mods...)
	f.track("C1", "qa")
	f.track("C2", "qa")
	s := f.replica("", Options{}, nil)
	ctx := context.Background()
	if err := s.Run(ctx); err == nil {
		t.Error("Run without a Poster should refuse")
	}
	r, err := s.Now(ctx, ws, "C1")
	if err != nil || r == nil {
		t.Fatalf("Now: %v %v", r, err)
	}
	text := bot.RenderText(r)
	for _, want := range []string{"Reminder: prod (Platform Server 11.31.0) still has 7 modules to republish.", "== prod → Platform Server 11.31.0 ==", "1. M1", "[Mark M1 republished]", "[Show status]"} {
		if !strings.Contains(text, want) {
			t.Errorf("reminder lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "qa") {
		t.Errorf("qa has nothing outstanding but is in the reminder:\n%s", text)
	}
	var buttons []bot.Button
	for _, bl := range r.Blocks {
		buttons = append(buttons, bl.Buttons...)
	}
	if len(buttons) != 8 {
		t.Fatalf("%d buttons, want 5 mark buttons, show status and two snoozes", len(buttons))
	}
	seen := map[string]bool{}
	for i, bt := range buttons {
		if seen[bt.ActionID] {
			t.Errorf("duplicate action id %s", bt.ActionID)
		}
		seen[bt.ActionID] = true
		var v struct{ Env, Module string }
		if err := json.Unmarshal([]byte(bt.Value), &v); err != nil || v.Env != "prod" || (i < 5 && v.Module != mods[i]) {
			t.Errorf("button %d value %s", i, bt.Value)
		}
	}
	// A mark button does what it says.
	b := bot.New(bot.Options{Store: f.first, Schedules: s})
	resp := b.HandleAction(ctx, bot.Action{Workspace: ws, Channel: "C1", User: "U2", ID: "a1", ActionID: buttons[0].ActionID, Value: buttons[0].Value})
	if resp.Announce == nil || !strings.Contains(bot.RenderText(resp.Announce), "republished M1 on prod") {
		t.Errorf("mark button: %+v", resp)
	}
	// Through the command, as the shell runs it.
	resp = b.HandleCommand(ctx, bot.Command{Workspace: ws, Channel: "C1", User: "U1", ID: "n1", Text: "remind now"})
	if resp.Announce == nil || !strings.Contains(bot.RenderText(resp.Announce), "6 modules to republish") {
		t.Errorf("remind now: %+v", resp)
	}
	if r, err := s.Now(ctx, ws, "C2"); r != nil || err != nil {
		t.Errorf("Now with nothing outstanding = %v, %v", r, err)
	}
	resp = b.HandleCommand(ctx, bot.Command{Workspace: ws, Channel: "C2", User: "U1", ID: "n2", Text: "remind now"})
	if resp.Announce != nil || !strings.Contains(bot.RenderText(resp.Reply), "Nothing is outstanding") {
		t.Errorf("remind now with nothing outstanding: %+v", resp)
	}
}

// Many environments in one channel stay within Block Kit's limits.
func TestNowWithinSlackLimits(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	var mods []string
	for i := range 60 {
		mods = append(mods, fmt.Sprintf("Module_With_A_Long_Name_%02d", i))
	}
	for i := range 8 {
		f.track("C1", fmt.Sprintf("env%d", i), mods...)
	}
	s := f.replica("", Options{}, nil)
	r, err := s.Now(context.Background(), ws, "C1")
	if err != nil || r == nil {
		t.Fatal(r, err)
	}
	blocks := slackbot.RenderBlocks(r)
	if len(blocks) > slackbot.MaxBlocks {
		t.Errorf("%d blocks", len(blocks))
	}
	text := bot.RenderText(r)
	if !strings.Contains(text, "… and 45 more: /upgrade status env0 shows more, /upgrade export env0 every module.") {
		t.Errorf("lacks the count of env0's modules not listed:\n%s", text)
	}
	// Slack refuses a message of more than about 12,000 characters: the
	// environments that do not fit are named, each of them once.
	if len(text) > 10000 {
		t.Errorf("%d characters", len(text))
	}
	_, more, _ := strings.Cut(text, "… and outstanding work on ")
	for i := range 8 {
		env := fmt.Sprintf("env%d", i)
		if shown, named := strings.Contains(text, "Reminder: "+env+" "), strings.Contains(more, env); shown == named {
			t.Errorf("%s shown %v, named among the others %v", env, shown, named)
		}
	}
	if strings.Contains(text, "more blocks not shown") {
		t.Errorf("blocks were cut")
	}
}

// A preparation reported running with no update for longer than the stall time is outstanding.
func TestStalledPreparation(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod")
	pct := 40
	f.apply("prod", progress.Change{Kind: progress.ChangePreparing, Preparation: progress.Preparation{Percent: &pct}})
	s := f.replica("a", Options{PollInterval: time.Second, Stall: 2 * time.Hour}, &fakePoster{})
	set(t, s, "C1", "@every 1h")
	stepAt(t, s, clock, t0.Add(time.Hour))
	stepAt(t, s, clock, t0.Add(2*time.Hour))
	if got := f.rec.all(); len(got) != 0 {
		t.Fatalf("a preparation updated within the stall time is not outstanding: %v", summaries(got))
	}
	stepAt(t, s, clock, t0.Add(3*time.Hour))
	got := f.rec.all()
	if len(got) != 1 {
		t.Fatalf("want one reminder of the stalled preparation, got %v", summaries(got))
	}
	text := bot.RenderText(got[0].reply)
	for _, want := range []string{"a preparation with no update for 3h", "last reported running 3h ago", "40% ████░░░░░░"} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, text)
		}
	}
}

// The digest channel gets every environment's state on the digest schedule.
func TestDigest(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS", "Orders")
	f.track("C2", "qa")
	s := f.replica("a", Options{PollInterval: time.Second, DigestChannel: "CDIGEST", DigestSchedule: "@every 1h"}, &fakePoster{})
	stepAt(t, s, clock, t0.Add(time.Minute))
	stepAt(t, s, clock, t0.Add(time.Hour))
	var digests []post
	for _, p := range f.rec.all() {
		if p.channel == "CDIGEST" {
			digests = append(digests, p)
		}
	}
	if len(digests) != 2 { // the one due at t0 (within the grace period), then t0+1h
		t.Fatalf("digests: %v", summaries(f.rec.all()))
	}
	text := bot.RenderText(digests[1].reply)
	for _, want := range []string{"Upgrade digest: 2 environments, 1 with work outstanding", "• prod → 11.31.0: no news of the preparation yet, 2 modules to republish", "• qa → 11.31.0: no news of the preparation yet"} {
		if !strings.Contains(digests[1].reply.Summary+"\n"+text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
}

// Run waits for a post in progress when stopped.
func TestShutdownWaitsForPost(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	p := &fakePoster{block: make(chan struct{}), started: make(chan struct{}, 1)}
	events := make(logEvents, 16)
	s := f.replica("a", Options{Logger: slog.New(events)}, p)
	// Set through a replica that does not run: Run must wake by the clock alone.
	set(t, f.replica("admin", Options{}, nil), "C1", "@every 1s")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Run(ctx) }()
	clock.awaitWaiters(1)
	clock.Set(t0.Add(time.Second))
	select {
	case <-p.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no post started")
	}
	cancel()
	events.awaitLog(t, "stopping: a scheduled post in progress may finish")
	select {
	case <-stopped:
		t.Fatal("Run returned while a post was in progress")
	default:
	}
	close(p.block)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the post finished")
	}
	if got := f.rec.all(); len(got) != 1 {
		t.Errorf("posts: %v", summaries(got))
	}
	// The done mark was written: a new replica does not post it again.
	stepAt(t, f.replica("b", Options{}, &fakePoster{}), clock, t0.Add(1500*time.Millisecond))
	if got := f.rec.all(); len(got) != 1 {
		t.Errorf("posts after another replica's step: %v", summaries(got))
	}
}

// The wait is bounded: a post that never finishes is cut at the shutdown
// timeout, and its claim freed for another replica.
func TestShutdownBounded(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	p := &fakePoster{block: make(chan struct{}), started: make(chan struct{}, 1)}
	s := f.replica("a", Options{ShutdownTimeout: 300 * time.Millisecond}, p)
	// Set through a replica that does not run: Run must wake by the clock alone.
	set(t, f.replica("admin", Options{}, nil), "C1", "@every 1s")
	stop := runReplica(t, s)
	clock.awaitWaiters(1)
	clock.Set(t0.Add(time.Second))
	select {
	case <-p.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no post started")
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within its shutdown bound")
	}
	if got := f.rec.all(); len(got) != 0 {
		t.Errorf("posts: %v", summaries(got))
	}
	if held, err := f.first.Held(context.Background(), ws, occKey(ws, "C1", allEnvs, t0.Add(time.Second))); err != nil || held {
		t.Errorf("the cut post's claim is still held (%v, %v)", held, err)
	}
}

// A replica stopping with a post whose done mark is still to be written
// writes it: another replica does not post the occurrence again.
func TestShutdownWritesPendingDoneMark(t *testing.T) {
	clock, f, a, st := doneMarkRig(t, Options{})
	stepAt(t, a, clock, t0.Add(time.Minute))
	occ := t0.Add(time.Hour)
	st.down = true
	stepAt(t, a, clock, occ) // posted; the done mark fails
	st.down = false
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err != nil { // stopped before its next step
		t.Fatal(err)
	}
	b := f.replica("", Options{}, &fakePoster{})
	stepAt(t, b, clock, occ.Add(10*time.Second))
	stepAt(t, b, clock, occ.Add(4*time.Minute)) // past a's lease
	if got := f.rec.all(); len(got) != 1 {
		t.Errorf("occurrence posted %d times: %v", len(got), summaries(got))
	}
}

// A process posts only to its own workspaces (Posts): the Slack bot
// sharing a store with the shell neither reminds the shell's channel nor
// puts its practice environments in the digest.
func TestPostsOnlyToItsWorkspaces(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	ctx := context.Background()
	if _, err := f.first.Track(ctx, progress.TrackRequest{Workspace: "local", Environment: "practice", Channel: "shell", Version: "11.31.0", Actor: "U1", At: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.first.Apply(ctx, "local", "practice", progress.Change{Kind: progress.ChangeAddModules, Key: "p", Reason: progress.ReasonFailed, Modules: []string{"Test_Module"}, At: t0}); err != nil {
		t.Fatal(err)
	}
	s := f.replica("a", Options{PollInterval: time.Second, DefaultSchedule: "@every 1h", DigestChannel: "CDIGEST", DigestSchedule: "@every 1h",
		Posts: func(w string) bool { return w != "local" }}, &fakePoster{})
	stepAt(t, s, clock, t0.Add(time.Minute))
	stepAt(t, s, clock, t0.Add(time.Hour))
	var channels []string
	for _, p := range f.rec.all() {
		channels = append(channels, p.channel)
		if p.channel == "shell" || strings.Contains(bot.RenderText(p.reply), "practice") {
			t.Errorf("posted the shell's workspace: %s %s", p.channel, bot.RenderText(p.reply))
		}
	}
	if !slices.Contains(channels, "C1") || !slices.Contains(channels, "CDIGEST") {
		t.Errorf("posts to %v; want C1's reminder and the digest", channels)
	}
}

// An occurrence from before the environment was tracked is no miss: on
// start-up the replica has nothing it could have reminded of then.
func TestNoMissBeforeTheUpgradeStarted(t *testing.T) {
	clock := newFakeClock(t0.Add(90 * time.Minute))
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS") // at t0+90m, after the 09:00 and 10:00 occurrences
	m := &countMetrics{}
	b := f.replica("b", Options{PollInterval: time.Second, Grace: 10 * time.Minute, DefaultSchedule: "@every 1h", Metrics: m}, &fakePoster{})
	stepAt(t, b, clock, t0.Add(100*time.Minute))
	stepAt(t, b, clock, t0.Add(2*time.Hour+time.Minute)) // a later marker: the next occurrence posts
	if m.missed.Load() != 0 || m.posted.Load() != 1 {
		t.Errorf("missed %d posted %d, want 0 and 1", m.missed.Load(), m.posted.Load())
	}
}

// An all-clear Slack may have posted (a timeout, a 5xx) counts as posted:
// the next occurrence does not post a second one.
func TestMaybePostedAllClearIsNotRepeated(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
	f.track("C1", "prod", "Billing_CS")
	p := &fakePoster{}
	s := f.replica("", Options{PollInterval: time.Second}, p)
	set(t, s, "C1", "@every 1h")
	stepAt(t, s, clock, t0.Add(time.Second))
	stepAt(t, s, clock, t0.Add(time.Hour)) // the reminder
	clock.Set(t0.Add(90 * time.Minute))
	f.apply("prod", progress.Change{Kind: progress.ChangeDone, All: true})
	maybe := 0
	p.fail = func(int) error {
		if maybe++; maybe == 1 { // Slack took the all-clear, its answer was lost
			return fmt.Errorf("post: %w", bot.ErrMaybePosted)
		}
		return nil
	}
	for i := 2; i <= 4; i++ {
		stepAt(t, s, clock, t0.Add(time.Duration(i)*time.Hour))
	}
	for _, post := range f.rec.all() {
		if strings.HasPrefix(post.reply.Summary, "All clear") {
			t.Errorf("an all-clear posted again at %v after one Slack may have made: %q", post.at.Sub(t0), post.reply.Summary)
		}
	}
}

// A digest due before the first replica started counts as missed only when
// it had something to say: a new install with no environment counts none.
func TestDigestMissedOnlyWhenOwed(t *testing.T) {
	start := time.Date(2024, 11, 20, 0, 5, 0, 0, time.UTC) // the 22:00 digest was due 2 hours ago
	for _, tc := range []struct {
		name  string
		envs  []string
		wantN int32
	}{{"no environment", nil, 0}, {"one environment", []string{"prod"}, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock(start)
			f := newFixture(t, func() progress.Store { return boltStore(t, clock.Now) }, clock)
			for _, e := range tc.envs {
				f.track("C1", e, "Billing_CS")
			}
			m := &countMetrics{}
			s := f.replica("", Options{PollInterval: time.Second, Grace: 30 * time.Minute, Metrics: m,
				DigestChannel: "CDIGEST", DigestSchedule: "0 22 * * *"}, &fakePoster{})
			stepAt(t, s, clock, start)
			stepAt(t, s, clock, start.Add(time.Minute))
			if got := m.missed.Load(); got != tc.wantN {
				t.Errorf("missed %d, want %d", got, tc.wantN)
			}
		})
	}
}

// A snooze that ends as a reminder is due names that reminder as the
// next one, and it is posted; a schedule's zone in lower case ("cron_tz=")
// is the zone "tomorrow" is counted in, as the scheduler reads it.
func TestSnoozeEndingAtAReminder(t *testing.T) {
	start := time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC) // Wednesday; 21:00 in Sydney
	for _, c := range []struct {
		spec, until, next string
		due               time.Time
	}{
		{"0 8 * * *", "until Thu 26 Mar 08:00 UTC", "prod's next reminder here: Thu 26 Mar 08:00", time.Date(2026, 3, 26, 8, 0, 0, 0, time.UTC)},
		// Thursday's 08:00 in Sydney is 21:00 UTC on Wednesday.
		{"cron_tz=Australia/Sydney 0 8 * * *", "until Thu 26 Mar 08:00 AEDT", "prod's next reminder here: Thu 26 Mar 08:00 Australia/Sydney", time.Date(2026, 3, 25, 21, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.spec, func(t *testing.T) {
			z := newSnoozing(t, start, c.spec)
			if out := z.snooze("snooze prod tomorrow"); !strings.Contains(out, c.until) || !strings.Contains(out, c.next) {
				t.Fatalf("snooze says:\n%s\nwant %q and %q", out, c.until, c.next)
			}
			stepAt(t, z.s, z.clock, start)
			stepAt(t, z.s, z.clock, c.due)
			if got := z.f.rec.all(); len(got) != 1 || !strings.HasPrefix(got[0].reply.Summary, "Reminder: prod") {
				t.Errorf("at %s: %v, want prod's reminder once", c.due, summaries(got))
			}
		})
	}
}

// A reminder due while snoozed is skipped even when posted late, after
// the snooze ended (the bot was down when it was due).
func TestLateReminderDueWhileSnoozed(t *testing.T) {
	start := time.Date(2026, 3, 30, 8, 15, 0, 0, time.UTC) // Monday
	z := newSnoozing(t, start, "0 9 * * 1-5")
	stepAt(t, z.s, z.clock, start)
	z.snooze("snooze prod 1h")
	stepAt(t, z.s, z.clock, start.Add(65*time.Minute)) // 09:20: the 09:00 reminder, late, after the snooze's end
	if got := z.f.rec.all(); len(got) != 0 {
		t.Errorf("posted late: %v, want nothing (snoozed at 09:00)", summaries(got))
	}
	stepAt(t, z.s, z.clock, time.Date(2026, 3, 31, 9, 0, 0, 0, time.UTC))
	if got := z.f.rec.all(); len(got) != 1 {
		t.Errorf("Tuesday 09:00: %v, want prod's reminder", summaries(got))
	}
}

// snoozing is a bot and one replica of a channel C1 following prod (with
// Billing_CS to republish) on spec, at start on a fake clock; snooze runs
// a snooze command and returns its announcement.
type snoozing struct {
	f     *fixture
	s     *Scheduler
	clock *fakeClock
	b     *bot.Bot
}

func newSnoozing(t *testing.T, start time.Time, spec string, more ...string) *snoozing {
	clock := newFakeClock(start)
	store := boltStore(t, clock.Now)
	f := newFixture(t, func() progress.Store { return store }, clock)
	f.track("C1", "prod", "Billing_CS")
	for _, env := range more {
		f.track("C1", env, "Orders")
	}
	s := f.replica("r1", Options{}, &fakePoster{})
	set(t, s, "C1", spec)
	b := bot.New(bot.Options{Store: f.first, Now: clock.Now})
	b.SetSchedules(s)
	return &snoozing{f: f, s: s, clock: clock, b: b}
}

func (z *snoozing) snooze(text string) string {
	r := z.b.HandleCommand(context.Background(), bot.Command{Workspace: ws, Channel: "C1", User: "U1", ID: "snooze:" + text, Text: text})
	return bot.RenderText(r.Announce)
}

// claimsAway is a store whose claims fail while away is set: the store is
// unreachable for the scheduler's claims.
type claimsAway struct {
	progress.Store
	away *atomic.Bool
}

func (s claimsAway) Claim(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	if s.away.Load() {
		return false, progress.ErrUnavailable
	}
	return s.Store.Claim(ctx, ws, key, token, ttl)
}

// A reminder due while the store was away past its grace period is
// logged as maybe missed: not counted, as whether another replica posted
// it before the store went away cannot be told (each replica would count it).
func TestMissedWhileTheStoreWasAway(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	away := &atomic.Bool{}
	f := newFixture(t, func() progress.Store { return claimsAway{env.store(), away} }, clock)
	f.track("C1", "prod", "Billing_CS")
	m := &countMetrics{}
	var logs strings.Builder
	s := f.replica("a", Options{PollInterval: time.Minute, Grace: 5 * time.Minute, Metrics: m, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &fakePoster{})
	set(t, s, "C1", "@every 1h")
	occ := t0.Add(time.Hour)
	away.Store(true)
	for at := occ; at.Before(occ.Add(7 * time.Minute)); at = at.Add(10 * time.Second) {
		stepAt(t, s, clock, at)
	}
	if n := len(f.rec.all()); n != 0 || m.missed.Load() != 0 || strings.Count(logs.String(), "may have been missed: the store was away") != 1 {
		t.Errorf("%d posts, %d missed, logs:\n%s\nwant none posted, none counted, one warning", n, m.missed.Load(), logs.String())
	}
}

// A digest whose channel the bot is not in is counted as missed, once
// per occurrence, not retried.
func TestDigestToAChannelGoneIsMissed(t *testing.T) {
	clock := newFakeClock(t0)
	env := newRedisEnv(t, clock.Now)
	f := newFixture(t, env.store, clock)
	f.track("C1", "prod", "Billing_CS")
	m := &countMetrics{}
	p := &fakePoster{fail: func(int) error { return fmt.Errorf("slack chat.postMessage: not_in_channel: %w", bot.ErrChannelGone) }}
	s := f.replica("a", Options{PollInterval: time.Second, DigestChannel: "CDIGEST", DigestSchedule: "@every 1h", Metrics: m}, p)
	stepAt(t, s, clock, t0.Add(time.Minute))
	before := m.missed.Load() // and one due before it started, owed
	stepAt(t, s, clock, t0.Add(time.Hour+time.Minute))
	stepAt(t, s, clock, t0.Add(time.Hour+2*time.Minute))
	if p.attempts.Load() != 2 || m.missed.Load() != before+1 {
		t.Errorf("%d attempts, %d missed for the second occurrence; want 2 attempts in all and 1", p.attempts.Load(), m.missed.Load()-before)
	}
}
