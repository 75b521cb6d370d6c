package slackbot

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// fakeClock runs timers when the test moves it, in the test's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock by d, running each timer due on the way at its time.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.stopped = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

// timedAPI notes the clock's time of each edit and post.
type timedAPI struct {
	LivingAPI
	clock *fakeClock
	mu    sync.Mutex
	edits []time.Time
}

func (a *timedAPI) Update(ctx context.Context, channel, ts string, r *bot.Reply) error {
	a.mu.Lock()
	a.edits = append(a.edits, a.clock.Now())
	a.mu.Unlock()
	return a.LivingAPI.Update(ctx, channel, ts, r)
}

// leaseCounter counts the claims of status messages' leases and of the workspace's edits.
type leaseCounter struct {
	progress.Store
	mu            sync.Mutex
	leases, slots int
	envReads      int
}

func (s *leaseCounter) Claim(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	switch {
	case strings.HasPrefix(key, "living-lease:"):
		s.leases++
	case strings.HasPrefix(key, "living-rate:"):
		s.slots++
	}
	s.mu.Unlock()
	return s.Store.Claim(ctx, ws, key, token, ttl)
}

func (s *leaseCounter) Environment(ctx context.Context, ws, env string) (progress.Environment, error) {
	s.mu.Lock()
	s.envReads++
	s.mu.Unlock()
	return s.Store.Environment(ctx, ws, env)
}

func (s *leaseCounter) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.envReads
}

func (s *leaseCounter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leases
}

func (s *leaseCounter) slotClaims() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slots
}

type livingRig struct {
	t      *testing.T
	leases *leaseCounter
	fake   *slackfake.Server
	clock  *fakeClock
	api    *timedAPI
	core   *bot.Bot
	living *Living
	n      int
}

// newLivingRig returns the living messages on a fake Slack; opts change
// the core's options (web is the rig's Web API client).
func newLivingRig(t *testing.T, perMinute int, opts ...func(o *bot.Options, web *API)) *livingRig {
	ta := newTestAPI(t)
	clock := &fakeClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	o := bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: clock.Now}
	for _, opt := range opts {
		opt(&o, ta.API)
	}
	core := bot.New(o)
	api := &timedAPI{LivingAPI: ta.API, clock: clock}
	leases := &leaseCounter{Store: store}
	l := NewLiving(LivingOptions{API: api, Core: core, Store: leases, Clock: clock, PerMinute: perMinute})
	t.Cleanup(l.Close)
	return &livingRig{t: t, leases: leases, fake: ta.fake, clock: clock, api: api, core: core, living: l}
}

// run runs a command in channel as the transport would, telling the living messages what changed.
func (r *livingRig) run(ch, text string) bot.Response { return r.runAs(ana, ch, text) }

// runAs is run for user.
func (r *livingRig) runAs(user, ch, text string) bot.Response {
	r.n++
	resp := r.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: ch, User: user, ID: fmt.Sprint("c", r.n), Text: text})
	r.living.Changed(context.Background(), slackfake.TeamID, ch, resp.Changed, resp.Following)
	return resp
}

func (r *livingRig) count(method string) int { return len(r.fake.Calls(method)) }

// TestLivingFollowersOfAChange: a change edits the status message in
// every channel that follows its environment, with the channels the
// request read (a round trip fewer for each paste recorded), or read when
// the response does not say them.
func TestLivingFollowersOfAChange(t *testing.T) {
	const qa, ops = "C0QA", "C0OPS"
	paste := func(r *livingRig) bot.Response {
		return r.core.Answer(context.Background(), r.core.Read(bot.Message{Workspace: slackfake.TeamID, Channel: channel, User: ana, TS: "1772445600.000100", Text: producerPaste}))
	}
	for _, c := range []struct {
		name      string
		change    func(r *livingRig) bot.Response
		following bool // the transport passes Response.Following
		reads     int  // the environment's reads by Changed
	}{
		{"a pasted error", paste, true, 0},
		{"a command", func(r *livingRig) bot.Response {
			return r.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: qa, User: ana, ID: "c-failed", Text: "failed Orders_CS"})
		}, true, 0},
		{"a pasted error, the followers not said", paste, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newLivingRig(t, 0)
			r.run(channel, "track prod 11.31.0")
			r.run(qa, "track prod")
			r.run(ops, "track prod")
			r.clock.Advance(time.Minute)
			edited := func(ch string) int {
				n := 0
				for _, call := range r.fake.Calls("chat.update") {
					if call.Field("channel") == ch {
						n++
					}
				}
				return n
			}
			before := map[string]int{channel: edited(channel), qa: edited(qa), ops: edited(ops)}
			resp := c.change(r)
			following := resp.Following
			if !c.following {
				following = nil
			}
			reads := r.leases.reads()
			r.living.Changed(context.Background(), slackfake.TeamID, channel, resp.Changed, following)
			if got := r.leases.reads() - reads; got != c.reads {
				t.Errorf("Changed read the environment %d times; want %d (following %v)", got, c.reads, following)
			}
			r.clock.Advance(time.Minute)
			for _, ch := range []string{channel, qa, ops} {
				if edited(ch) == before[ch] {
					t.Errorf("the status message in %s was not edited", ch)
				}
			}
		})
	}
}

func lastText(calls []slackfake.Call) string {
	if len(calls) == 0 {
		return ""
	}
	return decoded(calls[len(calls)-1].Field("blocks"))
}

func TestLivingMessage(t *testing.T) {
	r := newLivingRig(t, 0)
	// Following an environment posts its status message and pins it.
	r.run(channel, "track prod 11.31.0 from 11.14.0")
	r.clock.Advance(0)
	posts := r.fake.Calls("chat.postMessage")
	if len(posts) != 1 || r.count("pins.add") != 1 {
		t.Fatalf("%d posts, %d pins, want 1 each", len(posts), r.count("pins.add"))
	}
	ts := posts[0].Answer["ts"].(string)
	if !r.fake.Pinned(channel, ts) {
		t.Fatal("the status message is not pinned")
	}
	mustContain(t, "status message", decoded(posts[0].Field("blocks")), "prod: Platform Server 11.14.0 → 11.31.0", "since Mon 2 Mar 10:00 UTC")
	if got := r.living.Thread(context.Background(), slackfake.TeamID, channel, "prod"); got != ts {
		t.Errorf("Thread = %q, want %q", got, ts)
	}

	// A burst of 30 changes, one every 200 ms: edits at most every 5 s,
	// and the last state shows within 10 s of the last change. A change
	// within 5 s of an edit waits without taking the lease to learn it.
	start, leases := r.clock.Now(), r.leases.count()
	for i := 1; i <= 30; i++ {
		r.run(channel, fmt.Sprintf("failed M%02d", i))
		r.clock.Advance(200 * time.Millisecond)
	}
	last := r.clock.Now().Add(-200 * time.Millisecond)
	r.clock.Advance(10 * time.Second)
	edits := r.api.edits
	if len(edits) < 1 || len(edits) > 3 {
		t.Fatalf("%d edits for a 6 s burst, want 1 to 3 (one per 5 s)", len(edits))
	}
	if n := r.leases.count() - leases; n > len(edits)+1 {
		t.Errorf("the lease taken %d times for %d edits in a burst of 30 changes", n, len(edits))
	}
	for i := 1; i < len(edits); i++ {
		if gap := edits[i].Sub(edits[i-1]); gap < 5*time.Second {
			t.Errorf("edits %v apart, want at least 5 s", gap)
		}
	}
	if edits[0].Before(start) || edits[len(edits)-1].Sub(last) > 10*time.Second {
		t.Errorf("last edit %v after the last change, want within 10 s", edits[len(edits)-1].Sub(last))
	}
	if r.count("chat.update") != len(edits) {
		t.Errorf("Slack saw %d chat.update calls, the API made %d", r.count("chat.update"), len(edits))
	}
	mustContain(t, "last edit", lastText(r.fake.Calls("chat.update")), "To republish (30)", "M30")

	// Owners and the snooze show in it.
	r.run(channel, "take M01")
	r.run(channel, "snooze prod 1h")
	r.clock.Advance(10 * time.Second)
	mustContain(t, "edit after take", lastText(r.fake.Calls("chat.update")), "taken by <@"+ana+">", "Reminders snoozed here until")
	// The message shows the snooze's end without a change; a change meanwhile is not held back.
	updates := r.count("chat.update")
	r.clock.Advance(10 * time.Minute)
	r.run(channel, "take M02")
	r.clock.Advance(10 * time.Second)
	if r.count("chat.update") != updates+1 {
		t.Fatalf("a change during the snooze: %d edits, want 1", r.count("chat.update")-updates)
	}
	r.clock.Advance(time.Hour)
	if r.count("chat.update") != updates+2 || strings.Contains(lastText(r.fake.Calls("chat.update")), "snoozed") {
		t.Errorf("the snooze's end: %d edits (want 1), last:\n%s", r.count("chat.update")-updates-1, lastText(r.fake.Calls("chat.update")))
	}

	// Unpinned by people: edited, never pinned again.
	r.fake.Unpin(channel, ts)
	updates = r.count("chat.update")
	r.run(channel, "failed N1")
	r.clock.Advance(10 * time.Second)
	if r.count("chat.update") != updates+1 || r.count("pins.add") != 1 || r.count("chat.postMessage") != 1 {
		t.Errorf("after unpinning: %d updates (want %d), %d pins (want 1), %d posts (want 1)", r.count("chat.update"), updates+1, r.count("pins.add"), r.count("chat.postMessage"))
	}

	// Deleted: the next change posts and pins a new one.
	r.fake.Delete(channel, ts)
	r.run(channel, "failed N2")
	r.clock.Advance(10 * time.Second)
	posts = r.fake.Calls("chat.postMessage")
	if len(posts) != 2 || r.count("pins.add") != 2 {
		t.Fatalf("after deletion: %d posts, %d pins; want 2 each", len(posts), r.count("pins.add"))
	}
	ts2 := posts[1].Answer["ts"].(string)
	if ts2 == ts || !r.fake.Pinned(channel, ts2) || r.living.Thread(context.Background(), slackfake.TeamID, channel, "prod") != ts2 {
		t.Errorf("the new message %s is not the pinned, recorded one", ts2)
	}
	mustContain(t, "new message", decoded(posts[1].Field("blocks")), "N2", "taken by …")
	// Posted again, it mentions nobody: an edit right after shows the owners.
	if b := decoded(posts[1].Field("blocks")); strings.Contains(b, "<@") {
		t.Errorf("the message posted again mentions someone:\n%s", b)
	}
	if u := r.fake.Calls("chat.update"); u[len(u)-1].Field("ts") != ts2 || !strings.Contains(lastText(u), "taken by <@"+ana+">") {
		t.Errorf("no edit of the new message shows its owners; last edit:\n%s", lastText(u))
	}

	// A change that shows nothing new edits nothing.
	updates = r.count("chat.update")
	r.run(channel, "failed N2")
	r.clock.Advance(10 * time.Second)
	if r.count("chat.update") != updates {
		t.Errorf("an edit that changes nothing was sent")
	}
}

// Untracked: the channel's message says so once and is kept up to date no
// more; following again posts a new one.
func TestLivingUntrack(t *testing.T) {
	r := newLivingRig(t, 0)
	ctx := context.Background()
	r.run(channel, "track prod")
	r.run(channel, "failed A")
	r.clock.Advance(10 * time.Second)
	ts := r.living.Thread(ctx, slackfake.TeamID, channel, "prod")
	if ts == "" {
		t.Fatal("no status message")
	}
	edits := func() (n int) {
		for _, c := range r.fake.Calls("chat.update") {
			if c.Field("ts") == ts {
				n++
			}
		}
		return n
	}
	before := edits()
	r.run(channel, "untrack prod")
	r.clock.Advance(10 * time.Second)
	if edits() != before+1 {
		t.Fatalf("%d edits after the untrack, want 1", edits()-before)
	}
	mustContain(t, "ended message", lastText(r.fake.Calls("chat.update")), "This channel no longer follows", "prod", "track prod", "A")
	if got := r.living.Thread(ctx, slackfake.TeamID, channel, "prod"); got != "" {
		t.Errorf("Thread = %q after the untrack, want none", got)
	}
	// Changes made in a channel that still follows it edit it no more.
	r.run("C0OTHER", "track prod")
	r.run("C0OTHER", "failed B")
	r.clock.Advance(10 * time.Second)
	if r.living.Thread(ctx, slackfake.TeamID, "C0OTHER", "prod") == "" {
		t.Fatal("the other channel has no status message")
	}
	if edits() != before+1 {
		t.Errorf("the ended message was edited again (%d edits)", edits()-before-1)
	}
	// Following again posts and pins a new one.
	posts, pins := r.count("chat.postMessage"), r.count("pins.add")
	r.run(channel, "track prod")
	r.clock.Advance(10 * time.Second)
	ts2 := r.living.Thread(ctx, slackfake.TeamID, channel, "prod")
	if ts2 == "" || ts2 == ts || r.count("chat.postMessage") != posts+1 || r.count("pins.add") != pins+1 {
		t.Errorf("after tracking again: message %q (was %q), %d posts and %d pins, want 1 each", ts2, ts, r.count("chat.postMessage")-posts, r.count("pins.add")-pins)
	}
}

// A rendering older than the one shown never replaces it.
func TestLivingOlderStateDoesNotOverwrite(t *testing.T) {
	r := newLivingRig(t, 0)
	r.run(channel, "track prod")
	r.clock.Advance(0)
	k := livingKey{slackfake.TeamID, channel, "prod"}
	rec, err := r.living.record(context.Background(), k)
	if err != nil || rec.TS == "" {
		t.Fatalf("record %+v, %v", rec, err)
	}
	// Another replica showed a state read after this clock's now.
	rec.Version = r.clock.Now().Add(time.Hour).UnixNano()
	rec.Hash = "other"
	js := fmt.Sprintf(`{"ts":%q,"pinned":true,"version":%d,"hash":"other","edited":"2026-03-02T10:00:00Z"}`, rec.TS, rec.Version)
	if err := r.living.o.Store.PutValue(context.Background(), k.workspace, recordKey(k), []byte(js), time.Hour); err != nil {
		t.Fatal(err)
	}
	r.run(channel, "failed A")
	r.clock.Advance(10 * time.Second)
	if n := r.count("chat.update"); n != 0 {
		t.Errorf("%d edits with an older state", n)
	}
}

// A workspace edits at most PerMinute messages a minute, all channels together; the rest wait.
func TestLivingWorkspaceRate(t *testing.T) {
	r := newLivingRig(t, 3)
	chans := []string{"C1", "C2", "C3", "C4", "C5"}
	for _, ch := range chans {
		r.run(ch, "track prod")
	}
	r.clock.Advance(30 * time.Second)
	if n := r.count("chat.postMessage"); n != 3 {
		t.Fatalf("%d messages posted in the first minute, want 3", n)
	}
	// With every slot taken, 25 changes in 25 s cost no scan of the slots
	// each, nor a lease: the workspace's edits wait, trying the slots once
	// per MinInterval (5 s).
	leases, slots := r.leases.count(), r.leases.slotClaims()
	for i := range 25 {
		r.run(chans[i%len(chans)], fmt.Sprintf("failed M%02d", i))
		r.clock.Advance(time.Second)
	}
	if n := r.leases.slotClaims() - slots; n > 6*3 {
		t.Errorf("%d claims of the 3 slots for 25 changes in 25 s, want at most one scan per 5 s (18)", n)
	}
	if n := r.leases.count() - leases; n > 6 {
		t.Errorf("the lease taken %d times in 25 s while the slots were all taken, want at most one per 5 s", n)
	}
	if n := r.count("chat.postMessage") + r.count("chat.update"); n != 3 {
		t.Fatalf("%d posts and edits in the first minute, want 3", n)
	}
	// The slots free a minute after they were taken: in the next two
	// minutes, the two messages waiting are posted, at 3 edits a minute.
	r.clock.Advance(2 * time.Minute)
	if n := r.count("chat.postMessage"); n != 5 {
		t.Fatalf("%d messages posted after three minutes, want 5", n)
	}
	if n := r.count("chat.postMessage") + r.count("chat.update"); n > 9 {
		t.Fatalf("%d posts and edits in three minutes, want at most 9", n)
	}
}

// startLiving starts the HTTP transport with living messages (edits 10 ms
// apart; clock nil: the system's) and gives a slash command sender.
func startLiving(t *testing.T, clock Clock) (*harness, *Living, func(text string)) {
	var living *Living
	h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) {
		living = NewLiving(LivingOptions{API: o.API, Core: o.Core.(LivingCore), Store: o.Store, MinInterval: 10 * time.Millisecond, Clock: clock})
		o.Living = living
	}})
	command := func(text string) {
		t.Helper()
		if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, text, h.fake.ResponseURL(text), "trig-"+text))); code != http.StatusOK {
			t.Fatalf("%s: %d %s", text, code, body)
		}
	}
	return h, living, command
}

// In Slack: announcements go in the living message's thread, a milestone also in the channel.
func TestLivingThreadReplies(t *testing.T) {
	h, living, command := startLiving(t, nil)
	command("track prod")
	h.fake.WaitCalls(1, 5*time.Second, "pins.add")
	posts := h.fake.WaitCalls(2, 5*time.Second, "chat.postMessage")
	ts := ""
	for _, p := range posts {
		if strings.Contains(p.Field("blocks"), "Kept up to date") {
			ts = p.Answer["ts"].(string)
		}
	}
	if ts == "" {
		t.Fatalf("no status message among %d posts", len(posts))
	}
	for deadline := time.Now().Add(5 * time.Second); living.Thread(context.Background(), slackfake.TeamID, channel, "prod") != ts; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the status message's record was not kept")
		}
	}
	command("failed Billing_CS")
	edit := h.fake.WaitCalls(1, 5*time.Second, "chat.update")[0]
	if edit.Field("ts") != ts || !strings.Contains(edit.Field("blocks"), "Billing_CS") {
		t.Errorf("the status message was not edited: %s", decoded(edit.Field("blocks")))
	}
	command("done Billing_CS")
	posts = h.fake.WaitCalls(4, 5*time.Second, "chat.postMessage")
	var threaded []slackfake.Call
	for _, p := range posts {
		if p.Field("thread_ts") == ts {
			threaded = append(threaded, p)
		}
	}
	if len(threaded) != 2 {
		t.Fatalf("%d replies in the status message's thread, want 2", len(threaded))
	}
	mustContain(t, "failed", decoded(threaded[0].Field("blocks")), "reported 1 failed module")
	mustContain(t, "done", decoded(threaded[1].Field("blocks")), "prod's list is empty")
	if threaded[0].Field("reply_broadcast") == "true" || threaded[1].Field("reply_broadcast") != "true" {
		t.Errorf("broadcast: %q, %q; want only the all clear in the channel", threaded[0].Field("reply_broadcast"), threaded[1].Field("reply_broadcast"))
	}
	// The milestone brings the chart into the thread.
	if up := h.fake.WaitCalls(1, 5*time.Second, "files.completeUploadExternal")[0]; up.Field("thread_ts") != ts {
		t.Errorf("chart uploaded in %q, want the thread %s", up.Field("thread_ts"), ts)
	}
	// The bot removed from the channel: the announcement goes by the command's response_url.
	h.fake.SetGone(channel, "not_in_channel")
	command("failed Orders_CS")
	for _, r := range h.fake.WaitCalls(1, 5*time.Second, "response_url") {
		mustContain(t, "the announcement by response_url", r.Field("blocks"), "Orders_CS")
	}
}

// A paste in the thread of an environment's status message (where its
// milestones go too), in a channel following several, is that one's.
func TestLivingThreadPasteIsItsEnvironments(t *testing.T) {
	h, living, command := startLiving(t, nil)
	command("track dev")
	command("track test")
	ts := ""
	for deadline := time.Now().Add(5 * time.Second); ts == ""; ts = living.Thread(context.Background(), slackfake.TeamID, channel, "test") {
		if time.Now().After(deadline) {
			t.Fatal("no status message of test")
		}
		time.Sleep(5 * time.Millisecond)
	}
	posted := len(h.fake.Calls("chat.postMessage"))
	h.postEvent("EvInStatusThread", slackfake.InThread(slackfake.Message(channel, ana, "1700000100.000100", "Upgrade Failure: Upgrade failed for Billing_CS"), ts), 0)
	for _, p := range h.fake.WaitCalls(posted+1, 5*time.Second, "chat.postMessage")[posted:] {
		if p.Field("thread_ts") == ts && strings.Contains(p.Field("blocks"), "Billing_CS") {
			mustContain(t, "the paste's reply", decoded(p.Field("blocks")), "Recorded for *test*")
			return
		}
	}
	t.Fatal("no reply in the status message's thread")
}

// A milestone reached again within homeChartEvery is posted without a
// second chart (pastes swinging an upgrade's state drew one each); another
// milestone still brings its chart.
func TestMilestoneChartOncePerWindow(t *testing.T) {
	for _, failFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "uploaded", true: "first upload failed"}[failFirst], func(t *testing.T) { milestoneCharts(t, failFirst) })
	}
}

// milestoneCharts: with failFirst, the first chart's upload fails, which
// gives its claim back: the all clear reached again brings it.
func milestoneCharts(t *testing.T, failFirst bool) {
	h, living, command := startLiving(t, nil)
	allClear := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			got := 0
			for _, p := range h.fake.Calls("chat.postMessage") {
				if strings.Contains(p.Field("blocks"), "prod's list is empty") { // no outcome known: not yet "All clear"
					got++
				}
			}
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d all-clear posts, want %d", got, n)
			}
		}
	}
	command("track prod")
	h.fake.WaitCalls(1, 5*time.Second, "pins.add")
	for deadline := time.Now().Add(5 * time.Second); living.Thread(context.Background(), slackfake.TeamID, channel, "prod") == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no status message")
		}
	}
	if failFirst {
		h.fake.Queue("files.getUploadURLExternal", slackfake.Response{Body: map[string]any{"ok": false, "error": "missing_scope", "needed": "files:write"}})
	}
	command("failed A")
	command("done A")
	allClear(1)
	// Sent to the channel for the milestone, the announcement's notification says the milestone first.
	for _, p := range h.fake.Calls("chat.postMessage") {
		if strings.Contains(p.Field("blocks"), "prod's list is empty") && !strings.HasPrefix(p.Field("text"), "prod's list is empty") {
			t.Errorf("the milestone's post is notified as %q", p.Field("text"))
		}
	}
	h.fake.WaitCalls(1, 5*time.Second, "files.getUploadURLExternal")
	if !failFirst {
		h.fake.WaitCalls(1, 5*time.Second, "files.completeUploadExternal")
	}
	command("failed B")
	command("done B")
	allClear(2)
	// The marker: another milestone, in the same channel's line, whose
	// chart is then the second upload (none came between).
	h.postEvent("Ev-failed", slackfake.Message(channel, ana, "1700000100.000100", "There was an error preparing your modules."), 0)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(lastText(h.fake.Calls("chat.postMessage")), "preparation failed"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no milestone for the failed preparation")
		}
	}
	h.waitIdle()
	if n := len(h.fake.Calls("files.completeUploadExternal")); n != 2 {
		t.Errorf("%d charts uploaded, want 2: one for each milestone (the all clear again only when its first failed)", n)
	}
}

// /upgrade chart uploads the PNG (files.getUploadURLExternal, the upload,
// files.completeUploadExternal) in the status message's thread, with its alt text.
func TestChartUpload(t *testing.T) {
	h, living, command := startLiving(t, nil)
	command("track prod")
	command("failed A B")
	h.fake.WaitCalls(1, 5*time.Second, "pins.add")
	ts := ""
	for deadline := time.Now().Add(5 * time.Second); ts == ""; time.Sleep(5 * time.Millisecond) {
		if ts = living.Thread(context.Background(), slackfake.TeamID, channel, "prod"); time.Now().After(deadline) {
			t.Fatal("no status message")
		}
	}
	command("chart")
	h.fake.WaitCalls(1, 5*time.Second, "files.getUploadURLExternal")
	h.fake.WaitCalls(1, 5*time.Second, "upload")
	done := h.fake.WaitCalls(1, 5*time.Second, "files.completeUploadExternal")[0]
	if done.Field("thread_ts") != ts || done.Field("channel_id") != channel {
		t.Errorf("chart uploaded to %s/%s, want the status message's thread %s", done.Field("channel_id"), done.Field("thread_ts"), ts)
	}
	get := h.fake.Calls("files.getUploadURLExternal")[0]
	if !strings.HasPrefix(get.Field("filename"), "burndown-prod-") || get.Field("alt_txt") == "" || get.Field("length") == "0" {
		t.Errorf("getUploadURLExternal: %v", get.Form)
	}
	// An upload Slack refuses: the asker is told, by the command's response_url.
	told := len(h.fake.Calls("response_url"))
	h.fake.Queue("files.completeUploadExternal", slackfake.Response{Body: map[string]any{"ok": false, "error": "not_in_channel"}})
	command("chart prod")
	rs := h.fake.WaitCalls(told+2, 5*time.Second, "response_url") // the reply, then the note
	mustContain(t, "the answer to a refused chart", rs[len(rs)-1].Field("text"), "I could not upload burndown-prod-", "invite it with /invite @upgradebot")
}

// Two replicas sharing Redis, each told of half the changes of a burst,
// post and pin one message and edit it at most once per 5 s between them.
func TestLivingReplicas(t *testing.T) {
	stores := redisStores(t, 2)
	ta := newTestAPI(t)
	clock := &fakeClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	api := &timedAPI{LivingAPI: ta.API, clock: clock}
	var cores []*bot.Bot
	var livings []*Living
	for _, s := range stores {
		c := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: s, Now: clock.Now})
		l := NewLiving(LivingOptions{API: api, Core: c, Store: s, Clock: clock})
		t.Cleanup(l.Close)
		cores, livings = append(cores, c), append(livings, l)
	}
	for i := range 31 {
		text := fmt.Sprintf("failed M%02d", i)
		if i == 0 {
			text = "track prod"
		}
		r := i % 2
		resp := cores[r].HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: fmt.Sprint(t.Name(), i), Text: text})
		livings[r].Changed(context.Background(), slackfake.TeamID, channel, resp.Changed, resp.Following)
		clock.Advance(300 * time.Millisecond)
	}
	clock.Advance(15 * time.Second)
	if p, n := len(ta.fake.Calls("chat.postMessage")), len(ta.fake.Calls("pins.add")); p != 1 || n != 1 {
		t.Fatalf("%d posts, %d pins; want one each", p, n)
	}
	for i := 1; i < len(api.edits); i++ {
		if gap := api.edits[i].Sub(api.edits[i-1]); gap < 5*time.Second {
			t.Errorf("edits %v apart, want at least 5 s", gap)
		}
	}
	mustContain(t, "last edit", lastText(ta.fake.Calls("chat.update")), "To republish (30)", "M30")
}

// A status message Slack refuses to edit for good (its channel archived)
// is tried once per change, not every few seconds: other channels' messages
// keep their edits. One it refuses for a while (rate limits) is tried again.
func TestLivingRefusedForGood(t *testing.T) {
	r := newLivingRig(t, 0)
	r.run(channel, "track prod")
	r.clock.Advance(0)
	r.run("C0OTHER", "track qa")
	r.clock.Advance(0)
	r.fake.SetGone(channel, "is_archived")
	r.run(channel, "failed A")
	before := r.count("chat.update")
	r.clock.Advance(10 * time.Minute)
	if n := r.count("chat.update") - before; n != 1 {
		t.Errorf("%d edits of the archived channel's message in 10 minutes, want 1", n)
	}
	r.run("C0OTHER", "failed B")
	r.clock.Advance(10 * time.Second)
	mustContain(t, "the other channel's message", lastText(r.fake.Calls("chat.update")), "B")
	// The archived channel's message is not tried at each change of the hour after.
	before = r.count("chat.update")
	for _, m := range []string{"failed A2", "failed A3"} {
		r.run(channel, m)
		r.clock.Advance(10 * time.Minute)
	}
	if n := r.count("chat.update") - before; n != 0 {
		t.Errorf("%d edits tried in the archived channel within the hour after Slack said so, want 0", n)
	}

	// Back in reach: the try an hour after the last refusal shows every change since.
	r.fake.SetGone(channel, "")
	r.fake.Queue("chat.update", slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}},
		slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}},
		slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}},
		slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}})
	r.run(channel, "failed Cmodule")
	r.clock.Advance(time.Hour)
	var shown string
	for _, c := range r.fake.Calls("chat.update") {
		if c.Answer != nil && c.Answer["ok"] == true && c.Field("channel") == channel {
			shown = decoded(c.Field("blocks"))
		}
	}
	mustContain(t, "the message after the rate limit", shown, "A3", "Cmodule")
}

// A change no process edited its status message for (the process stopped
// with the edit waiting, or crashed) shows after the next process's Sweep
// at start-up; a channel with no status message gets none posted.
func TestLivingSweepAtStart(t *testing.T) {
	r := newLivingRig(t, 0)
	r.run(channel, "track prod 11.31.0 from 11.14.0")
	r.clock.Advance(0)
	ctx := context.Background()
	r.clock.Advance(time.Minute)
	// Changed by a process that stopped before editing the message.
	for i, c := range [][2]string{{channel, "failed Billing_CS"}, {"C0OTHER", "track qa"}} {
		if resp := r.core.HandleCommand(ctx, bot.Command{Workspace: slackfake.TeamID, Channel: c[0], User: ana, ID: fmt.Sprint("stopped", i), Text: c[1]}); len(resp.Changed) == 0 {
			t.Fatalf("%q changed nothing: %s", c[1], bot.RenderText(resp.Reply))
		}
	}
	r.clock.Advance(time.Second)
	posts, updates := r.count("chat.postMessage"), r.count("chat.update")
	next := NewLiving(LivingOptions{API: r.api, Core: r.core, Store: r.leases, Clock: r.clock})
	t.Cleanup(next.Close)
	next.Sweep(ctx, slackfake.TeamID)
	r.clock.Advance(10 * time.Second)
	if r.count("chat.update") != updates+1 || r.count("chat.postMessage") != posts {
		t.Fatalf("after the sweep: %d edits (want 1), %d posts (want 0)", r.count("chat.update")-updates, r.count("chat.postMessage")-posts)
	}
	mustContain(t, "the swept message", lastText(r.fake.Calls("chat.update")), "Billing_CS")
	// An hour later, with no change since, a sweep edits nothing, though
	// the message's "running for" would read differently.
	r.clock.Advance(time.Hour)
	next.Sweep(ctx, slackfake.TeamID)
	r.clock.Advance(10 * time.Second)
	if n := r.count("chat.update") - updates; n != 1 {
		t.Errorf("a sweep of a current message edited it: %d edits in all, want 1", n)
	}
}

// The next process sweeps at start: the change the last one made without
// editing the status message (it stopped first) shows.
func TestLivingSweptByTheNextProcess(t *testing.T) {
	first, _, command := startLiving(t, nil)
	command("track prod")
	first.fake.WaitCalls(1, 5*time.Second, "pins.add")
	if resp := first.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: "unedited", Text: "failed Billing_CS"}); len(resp.Changed) == 0 {
		t.Fatalf("nothing changed: %s", bot.RenderText(resp.Reply))
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	updates := len(first.fake.Calls("chat.update"))
	start(t, setup{mode: ModeHTTP, fake: first.fake, store: first.store.Store, opts: func(o *Options) {
		o.Living = NewLiving(LivingOptions{API: o.API, Core: o.Core.(LivingCore), Store: o.Store, MinInterval: 10 * time.Millisecond})
	}})
	calls := first.fake.WaitCalls(updates+1, 5*time.Second, "chat.update")
	mustContain(t, "the status message after the next start", lastText(calls), "Billing_CS")
}

// A status message edit Slack rate-limits for longer than the edit may
// wait is not tried again, nor any edit of the workspace, before the
// Retry-After has passed: each try would spend one of its edits.
func TestLivingHonoursRetryAfter(t *testing.T) {
	r := newLivingRig(t, 0)
	r.api.LivingAPI = NewAPI(APIOptions{BotToken: botToken, URL: r.fake.APIURL(), Backoff: 20 * time.Millisecond}) // MaxRetryAfter: 1 min
	r.run(channel, "track prod 11.31.0 from 11.14.0")
	r.clock.Advance(10 * time.Second)
	limited := slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "45"}}
	r.fake.Queue("chat.update", limited, limited)
	updates, slots := r.count("chat.update"), r.leases.slotClaims()
	r.run(channel, "failed Billing_CS")
	r.clock.Advance(44 * time.Second) // the edit waits 30 s at most: Slack asked for 45
	if n := r.count("chat.update") - updates; n != 1 {
		t.Errorf("%d chat.update calls (%d edits spent) within the 45 s Slack asked to wait, want 1", n, r.leases.slotClaims()-slots)
	}
	r.clock.Advance(2 * time.Second)
	if n := r.count("chat.update") - updates; n != 2 {
		t.Errorf("%d chat.update calls once the 45 s passed, want 2", n)
	}
}

// A channel out of reach for a while (archived by mistake, the bot removed
// and invited back): its status message shows the last change an hour
// later without another change, and an untrack then track there posts a
// new one.
func TestLivingGoneChannelBack(t *testing.T) {
	r := newLivingRig(t, 0)
	r.run(channel, "track prod")
	r.clock.Advance(0)
	r.fake.SetGone(channel, "is_archived")
	r.run(channel, "failed A")
	r.clock.Advance(time.Minute)
	r.fake.SetGone(channel, "") // unarchived
	r.clock.Advance(5 * time.Minute)
	r.run(channel, "failed Lastmodule")
	r.clock.Advance(time.Hour)
	mustContain(t, "the status message an hour after its channel came back", lastText(r.fake.Calls("chat.update")), "Lastmodule")

	r.fake.SetGone(channel, "not_in_channel")
	r.run(channel, "failed B")
	r.clock.Advance(time.Minute)
	r.fake.SetGone(channel, "") // the bot invited again
	posts := r.count("chat.postMessage")
	r.run(channel, "untrack prod")
	r.clock.Advance(10 * time.Second)
	r.run(channel, "track prod")
	r.clock.Advance(10 * time.Second)
	if r.count("chat.postMessage") == posts {
		t.Errorf("no status message posted by the new track (the last update: %s)", lastText(r.fake.Calls("chat.update")))
	}
}

// People delete the pinned status message: the next announcement goes in
// the channel, not in the deleted message's thread, and the next change
// posts a new status message, which mentions nobody.
func TestLivingDeletedByPeople(t *testing.T) {
	for _, tombstone := range []bool{false, true} { // without replies it is removed; with them it becomes a tombstone
		t.Run(fmt.Sprint("tombstone=", tombstone), func(t *testing.T) {
			h, living, command := startLiving(t, nil)
			command("track prod")
			h.fake.WaitCalls(1, 5*time.Second, "pins.add")
			command("failed Billing_CS")
			command("take Billing_CS") // an owner, whom a post would mention
			h.waitIdle()
			status := living.Thread(context.Background(), slackfake.TeamID, channel, "prod")
			h.fake.Delete(channel, status)
			prev := map[string]any{"type": "message", "user": slackfake.BotUserID, "bot_id": slackfake.BotID, "text": "prod", "ts": status}
			ev := map[string]any{"type": "message", "subtype": "message_deleted", "hidden": true, "channel": channel,
				"ts": "1700009900.000100", "deleted_ts": status, "previous_message": prev}
			if tombstone {
				prev["thread_ts"] = status
				ev = slackfake.Edit(channel, status, "This message was deleted.")
				ev["previous_message"] = prev
				ev["message"].(map[string]any)["subtype"] = "tombstone"
			}
			posts := len(h.fake.Calls("chat.postMessage"))
			h.postEvent("EvStatusDeleted", ev, 0)
			h.waitIdle()
			waitForgotten(t, living, status)
			command("failed Orders_CS")
			calls := h.fake.WaitCalls(posts+2, 5*time.Second, "chat.postMessage") // the announcement, the new status message
			for _, c := range calls[posts:] {
				if c.Field("thread_ts") == status {
					t.Errorf("posted in the deleted status message's thread: %s", decoded(c.Field("blocks")))
				}
			}
			var reposted bool
			for _, c := range calls[posts:] {
				if b := decoded(c.Field("blocks")); strings.Contains(b, "Kept up to date") {
					reposted = true
					if strings.Contains(b, "<@") {
						t.Errorf("the status message posted again mentions someone:\n%s", b)
					}
				}
			}
			if !reposted {
				t.Errorf("no new status message after the change")
			}
		})
	}
}

// A status message deleted while an edit of it is under way (the edit done
// in Slack, its record not yet written) is forgotten all the same, once
// that edit, which would otherwise keep the message as the channel's,
// ended; the channel's line does not wait for it.
func TestLivingDeletedDuringAnEdit(t *testing.T) {
	h, living, command := startLiving(t, nil)
	command("track prod")
	h.fake.WaitCalls(1, 5*time.Second, "pins.add")
	h.waitIdle()
	status := living.Thread(context.Background(), slackfake.TeamID, channel, "prod")
	for deadline := time.Now().Add(5 * time.Second); status == ""; status = living.Thread(context.Background(), slackfake.TeamID, channel, "prod") {
		if time.Now().After(deadline) {
			t.Fatal("no status message")
		}
		time.Sleep(5 * time.Millisecond)
	}

	held := &heldValues{prefix: "living:", released: make(chan struct{})}
	h.store.valueHeld.Store(held)
	updates := len(h.fake.Calls("chat.update"))
	command("failed Billing_CS")
	h.fake.WaitCalls(updates+1, 5*time.Second, "chat.update") // edited in Slack; its record waits
	refused := make(chan struct{}, 1)
	onClaim := func(key string, ok bool) {
		if strings.HasPrefix(key, "living-lease:") && !ok {
			select {
			case refused <- struct{}{}:
			default:
			}
		}
	}
	h.store.onClaim.Store(&onClaim)
	h.fake.Delete(channel, status)
	prev := map[string]any{"type": "message", "user": slackfake.BotUserID, "bot_id": slackfake.BotID, "text": "prod", "ts": status}
	h.postEvent("EvDeletedMidEdit", map[string]any{"type": "message", "subtype": "message_deleted", "hidden": true, "channel": channel,
		"ts": "1700009900.000200", "deleted_ts": status, "previous_message": prev}, 0)
	select {
	case <-refused: // the deletion found the edit holding the message
	case <-time.After(5 * time.Second):
		t.Fatal("the deletion never tried the edit's lease")
	}
	// The channel's line goes on while the edit is held.
	h.postEvent("EvAfterDeletion", slackfake.Message(channel, ana, "1700009900.000300", "There was an error preparing your modules."), 0)
	for deadline := time.Now().Add(5 * time.Second); len(postsIn(h.fake, "1700009900.000300")) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a paste after the deletion waited for the status message's edit")
		}
	}
	close(held.released)
	h.waitIdle()
	waitForgotten(t, living, status)
}

// waitForgotten waits until the channel's status message of prod is no
// longer status: forgotten at once, or, when an edit was under way, in the
// background once it ended.
func waitForgotten(t *testing.T, living *Living, status string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); living.Thread(context.Background(), slackfake.TeamID, channel, "prod") == status; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the deleted status message %s is still the channel's", status)
		}
	}
}

// Shutdown does not wait for a status message's edit Slack holds up (a
// rate limit): it is cancelled after a moment, and left to the next
// change or the next process's sweep.
func TestLivingShutdownCancelsEdits(t *testing.T) {
	h, living, command := startLiving(t, nil)
	command("track prod")
	h.fake.WaitCalls(1, 5*time.Second, "pins.add")
	h.waitIdle()
	for deadline := time.Now().Add(5 * time.Second); living.Thread(context.Background(), slackfake.TeamID, channel, "prod") == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no status message")
		}
	}
	h.fake.SetDelay("chat.update", time.Hour)
	updates := len(h.fake.Calls("chat.update"))
	command("failed Billing_CS")
	h.fake.WaitCalls(updates+1, 5*time.Second, "chat.update") // under way, and held
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second): // the edit's own bound is its 30 s lease
		t.Fatal("shutdown waited for the held edit")
	}
}

// A status message posted just before shutdown, whose pin Slack holds up,
// keeps its record when shutdown cancels the edit: the next change edits
// it rather than post and pin a second one.
func TestLivingPostedBeforeShutdownRecorded(t *testing.T) {
	h, living, command := startLiving(t, nil)
	h.fake.SetDelay("pins.add", time.Hour)
	command("track prod")
	h.fake.WaitCalls(1, 5*time.Second, "pins.add") // posted, its pin held
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if got := living.Thread(context.Background(), slackfake.TeamID, channel, "prod"); got == "" {
		t.Fatal("the status message posted before shutdown is not recorded")
	}
}

// Slack refusing for good to edit a status message that is still there
// (no longer the bot's to edit, or past the workspace's edit window): a
// new one is posted and pinned and the old one unpinned, so the channel
// has one pinned status message; an untrack's last edit refused so posts
// nothing.
func TestLivingUneditable(t *testing.T) {
	refused := func(code string) slackfake.Response {
		return slackfake.Response{Body: map[string]any{"ok": false, "error": code}}
	}
	for _, code := range []string{"cant_update_message", "edit_window_closed"} {
		t.Run(code, func(t *testing.T) {
			r := newLivingRig(t, 0)
			r.run(channel, "track prod")
			r.clock.Advance(0)
			old := r.fake.Calls("chat.postMessage")[0].Answer["ts"].(string)
			r.fake.Queue("chat.update", refused(code))
			r.run(channel, "failed A")
			r.clock.Advance(10 * time.Second)
			posts := r.fake.Calls("chat.postMessage")
			if len(posts) != 2 {
				t.Fatalf("%d posts, want the first and a new one", len(posts))
			}
			now := posts[1].Answer["ts"].(string)
			if r.fake.Pinned(channel, old) || !r.fake.Pinned(channel, now) {
				t.Errorf("pinned: old %v, new %v; want the new one alone", r.fake.Pinned(channel, old), r.fake.Pinned(channel, now))
			}
			r.fake.Queue("chat.update", refused(code))
			r.run(channel, "untrack prod")
			r.clock.Advance(10 * time.Second)
			if n := r.count("chat.postMessage"); n != 2 {
				t.Errorf("%d posts after the untrack's edit was refused, want none new", n)
			}
			if r.fake.Pinned(channel, now) {
				t.Error("the message the untrack could not end is still pinned")
			}
		})
	}
}

// slowPosts moves the clock on during each post, as a real call takes time.
type slowPosts struct {
	LivingAPI
	clock *fakeClock
}

func (a slowPosts) PostMessage(ctx context.Context, channel, threadTS string, broadcast bool, r *bot.Reply) (string, error) {
	a.clock.mu.Lock()
	a.clock.now = a.clock.now.Add(time.Millisecond)
	a.clock.mu.Unlock()
	return a.LivingAPI.PostMessage(ctx, channel, threadTS, broadcast, r)
}

// A post of the status message rate limited (so not posted) is made once
// Slack says.
func TestLivingPostRateLimited(t *testing.T) {
	r := newLivingRig(t, 0)
	r.api.LivingAPI = slowPosts{NewAPI(APIOptions{BotToken: botToken, URL: r.fake.APIURL(), Backoff: 20 * time.Millisecond}), r.clock} // MaxRetryAfter: 1 min
	limited := slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "45"}}
	r.fake.Queue("chat.postMessage", limited)
	r.run(channel, "track prod")
	for i := range 4 { // changes meanwhile do not try it sooner
		r.clock.Advance(6 * time.Second)
		r.run(channel, fmt.Sprint("failed M", i))
	}
	r.clock.Advance(20 * time.Second)
	if n := r.count("chat.postMessage"); n != 1 {
		t.Fatalf("%d posts within the 45 s Slack asked to wait, want 1", n)
	}
	r.clock.Advance(3 * time.Second) // Slack's 45 s, and the second the wait adds
	posts := r.fake.Calls("chat.postMessage")
	if len(posts) != 2 || posts[1].Answer["ok"] != true || !r.fake.Pinned(channel, posts[1].Answer["ts"].(string)) {
		t.Fatalf("once the 45 s passed: %d posts, the last %v; want it posted and pinned", len(posts), posts[len(posts)-1].Answer)
	}
}

// A status message deleted in a channel gone out of reach (archived) is
// posted again an hour later, not at each change.
func TestLivingPostToAGoneChannel(t *testing.T) {
	r := newLivingRig(t, 0)
	r.run(channel, "track prod")
	r.clock.Advance(10 * time.Second)
	r.run("C0OTHER", "track prod")
	r.clock.Advance(10 * time.Second)
	other := r.fake.Calls("chat.postMessage")[1].Answer["ts"].(string)
	r.fake.Delete("C0OTHER", other)
	r.living.Deleted(context.Background(), slackfake.TeamID, "C0OTHER", other)
	r.fake.SetGone("C0OTHER", "is_archived")
	before := r.count("chat.postMessage")
	for i := range 5 {
		r.run(channel, fmt.Sprint("failed M", i))
		r.clock.Advance(10 * time.Second)
	}
	if n := r.count("chat.postMessage") - before; n > 1 {
		t.Errorf("%d posts tried in the archived channel within the hour, want 1 at most", n)
	}
	// Back in reach, followed anew: posted at once, not an hour on.
	r.fake.SetGone("C0OTHER", "")
	r.run("C0OTHER", "untrack prod")
	r.clock.Advance(10 * time.Second)
	before = r.count("chat.postMessage")
	r.run("C0OTHER", "track prod")
	r.clock.Advance(10 * time.Second)
	if n := r.count("chat.postMessage") - before; n != 1 {
		t.Errorf("%d posts after untrack and track in the channel back in reach, want 1", n)
	}
}

// A status message that could not be pinned (no pins:write until the app
// is reinstalled) is pinned by an edit an hour later, not tried at every
// edit; once pinned, one people unpin stays unpinned.
func TestLivingPinRetried(t *testing.T) {
	r := newLivingRig(t, 0)
	r.fake.Queue("pins.add", slackfake.Response{Body: map[string]any{"ok": false, "error": "missing_scope", "needed": "pins:write"}})
	r.run(channel, "track prod")
	r.clock.Advance(0)
	ts := r.fake.Calls("chat.postMessage")[0].Answer["ts"].(string)
	if r.fake.Pinned(channel, ts) {
		t.Fatal("pinned despite the refusal")
	}
	edit := func(i int) {
		r.run(channel, fmt.Sprint("failed M", i))
		r.clock.Advance(10 * time.Second)
	}
	for i := range 3 {
		edit(i)
	}
	if n := r.count("pins.add"); n != 1 {
		t.Errorf("%d pins.add within the hour, want 1", n)
	}
	r.clock.Advance(time.Hour)
	edit(3)
	if !r.fake.Pinned(channel, ts) || r.count("pins.add") != 2 {
		t.Fatalf("after an hour: pinned %v, %d pins.add; want pinned by the second", r.fake.Pinned(channel, ts), r.count("pins.add"))
	}
	r.fake.Unpin(channel, ts)
	r.clock.Advance(2 * time.Hour)
	edit(4)
	if r.fake.Pinned(channel, ts) || r.count("pins.add") != 2 {
		t.Errorf("pinned again after people unpinned it (%d pins.add)", r.count("pins.add"))
	}
}

// At shutdown the edits still waiting are made, not left to a Sweep: with
// replicas no process may start after this one, and the last change of
// an upgrade would never show.
func TestLivingCloseMakesWaitingEdits(t *testing.T) {
	r := newLivingRig(t, 0)
	r.run(channel, "track prod")
	r.clock.Advance(0)
	updates := r.count("chat.update")
	r.run(channel, "failed Billing_CS")
	r.clock.Advance(time.Second) // within 5 s of the post: the edit waits
	if n := r.count("chat.update"); n != updates {
		t.Fatalf("%d edits before shutdown, want the edit still waiting", n-updates)
	}
	r.living.Close()
	if n := r.count("chat.update"); n != updates+1 || !strings.Contains(lastText(r.fake.Calls("chat.update")), "Billing_CS") {
		t.Errorf("%d edits at shutdown, want 1 showing Billing_CS: %s", n-updates, lastText(r.fake.Calls("chat.update")))
	}
}

// A preparation gone quiet is when nobody changes anything, and when the
// pinned message must say it may be stuck: it is edited at the stall,
// then hourly, without a change.
func TestLivingSaysThePreparationWentQuiet(t *testing.T) {
	r := newLivingRig(t, 0)
	r.run(channel, "track prod")
	r.clock.Advance(0)
	resp := r.core.HandleMessage(context.Background(), bot.Message{Workspace: slackfake.TeamID, Channel: channel, User: ana, TS: "1772445600.000100",
		Text: "We are now preparing your modules - 45% (We expect them to be ready at 23:10)"})
	r.living.Changed(context.Background(), slackfake.TeamID, channel, resp.Changed, resp.Following)
	r.clock.Advance(10 * time.Second)
	updates := r.count("chat.update")
	if strings.Contains(lastText(r.fake.Calls("chat.update")), "No news of the preparation") {
		t.Fatal("a stall said at once")
	}
	r.clock.Advance(bot.DefaultStall)
	if n := r.count("chat.update"); n != updates+1 || !strings.Contains(lastText(r.fake.Calls("chat.update")), "No news of the preparation for 2h") {
		t.Fatalf("%d edits at the stall, want 1 saying so: %s", n-updates, lastText(r.fake.Calls("chat.update")))
	}
	r.clock.Advance(time.Hour)
	if n := r.count("chat.update"); n != updates+2 || !strings.Contains(lastText(r.fake.Calls("chat.update")), "No news of the preparation for 3h") {
		t.Errorf("%d edits an hour later, want 1 more: %s", n-updates-1, lastText(r.fake.Calls("chat.update")))
	}
	// A restart (a deploy at night, minutes later): the next process's
	// sweep takes the hourly edits up, and spends no edit at its start.
	r.clock.Advance(30 * time.Minute) // what it shows has aged: an edit would change it
	edits := r.count("chat.update")
	r.living.Close()
	r.clock.Advance(7 * time.Minute)
	next := NewLiving(LivingOptions{API: r.api, Core: r.core, Store: r.leases, Clock: r.clock})
	t.Cleanup(next.Close)
	next.Sweep(context.Background(), slackfake.TeamID)
	r.clock.Advance(time.Second)
	if n := r.count("chat.update"); n != edits {
		t.Errorf("%d edits at the stop and the restart, want none", n-edits)
	}
	r.clock.Advance(time.Hour)
	if !strings.Contains(lastText(r.fake.Calls("chat.update")), "No news of the preparation for 4h") {
		t.Errorf("after a restart, the message says: %s", lastText(r.fake.Calls("chat.update")))
	}
}

// The next upgrade of an environment, months after the last one ended,
// edits the channel's status message again: its record is kept that long,
// so the channel never has two of the environment's status messages pinned.
func TestLivingNextUpgradeMonthsLater(t *testing.T) {
	for _, gap := range []time.Duration{61 * 24 * time.Hour, 400 * 24 * time.Hour} {
		t.Run(gap.String(), func(t *testing.T) {
			r := newLivingRig(t, 0)
			ctx := context.Background()
			r.run(channel, "track prod 11.12.0")
			r.run(channel, "failed Billing_CS")
			r.clock.Advance(10 * time.Second)
			r.run(channel, "done Billing_CS")
			r.clock.Advance(10 * time.Second)
			ts1 := r.living.Thread(ctx, slackfake.TeamID, channel, "prod")
			if ts1 == "" || !r.fake.Pinned(channel, ts1) {
				t.Fatalf("no pinned status message after the first upgrade: %q", ts1)
			}
			r.clock.Advance(gap)
			r.run(channel, "track prod 11.13.0 --yes")
			r.run(channel, "failed Orders_CS")
			r.clock.Advance(10 * time.Second)
			if ts2 := r.living.Thread(ctx, slackfake.TeamID, channel, "prod"); ts2 != ts1 {
				t.Errorf("the next upgrade's status message is %q, a second one beside %q (still pinned: %v)", ts2, ts1, r.fake.Pinned(channel, ts1))
			}
		})
	}
}

// The status message shows the modules of someone who has left the
// workspace as reminders do: anyone's to take, with who left named. Slack
// is asked who left once per person while its answer is cached, not at
// each edit, nor once per module.
func TestLivingFreesModulesOfPeopleWhoLeft(t *testing.T) {
	r := newLivingRig(t, 0, func(o *bot.Options, web *API) { o.Names = web })
	const rui = "U0RUI"
	r.fake.SetUser(ana, "Ana Silva")
	r.fake.SetUser(rui, "Rui Costa")
	r.fake.SetDeparted(rui)
	r.run(channel, "track prod 11.31.0")
	r.clock.Advance(0) // posted: what follows edits it
	r.run(channel, "failed A B C D")
	r.runAs(rui, channel, "take A B C")
	r.run(channel, "take D")
	r.clock.Advance(10 * time.Second)
	out := lastText(r.fake.Calls("chat.update"))
	mustContain(t, "status message", out, "taken by <@"+ana+">", "Left the workspace: <@"+rui+">. The modules they took are anyone's now: `A`, `B`, `C`.")
	if strings.Contains(out, "taken by <@"+rui+">") {
		t.Errorf("the status message still gives A, B and C to someone who left:\n%s", out)
	}
	for i := range 3 {
		r.run(channel, fmt.Sprint("failed N", i))
		r.clock.Advance(10 * time.Second)
	}
	if n := r.count("chat.update"); n != 4 {
		t.Fatalf("%d edits, want 4", n)
	}
	if n := r.count("users.info"); n != 2 {
		t.Errorf("%d users.info calls over %d edits, want 2 (once per person)", n, r.count("chat.update"))
	}
}
