package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// clockBot is a bot on a fresh embedded store whose clock the test moves.
func clockBot(t testing.TB) (*Bot, progress.Store, *time.Time) {
	t.Helper()
	now := testNow // a Wednesday
	clock := func() time.Time { return now }
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: clock}), store, &now
}

// mentions counts each user's mentions in a reply.
func mentionCounts(r *Reply) map[string]int {
	n := map[string]int{}
	for _, bl := range r.Blocks {
		lines := bl.Lines
		for _, f := range bl.Fields {
			lines = append(lines, f.Value)
		}
		for _, l := range lines {
			for _, s := range l {
				if s.Style == Mention {
					n[s.Text]++
				}
			}
		}
	}
	return n
}

func TestTakeAndRelease(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		run := func(user, text string) Response {
			return b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: user, ID: fmt.Sprint(user, text), Text: text})
		}
		run("U0", "track prod 11.31.0")
		run("U0", "failed A B C D E")
		steps := []struct {
			user, cmd string
			changed   bool
			want      []string
		}{
			{"U1", "take A b", true, []string{"U1 took A, B on prod."}},
			{"U2", "take B C Nope", true, []string{"U2 took B, C on prod.", "Taken over from U1", "Not on the list: Nope"}},
			{"U1", "take", false, []string{"Name at least one module", "Usage: /upgrade take"}},
			{"U2", "release D", false, []string{"Nobody has taken those modules of prod."}},
			{"U2", "release all", true, []string{"U2 released B, C on prod"}},
			{"U2", "release all", false, []string{"You have no modules of prod to release."}},
			{"U2", "take prod: C D", true, []string{"U2 took C, D on prod."}},
		}
		for _, s := range steps {
			resp := run(s.user, s.cmd)
			if got := slices.Equal(resp.Changed, []string{"prod"}); got != s.changed {
				t.Errorf("%s: Changed = %v, want prod: %v", s.cmd, resp.Changed, s.changed)
			}
			mustSay(t, text(resp), s.want...)
			// The notification's text shows no mention's markup: no raw user id either.
			if resp.Announce != nil && strings.Contains(resp.Announce.Summary, s.user) {
				t.Errorf("%s: the summary names %s: %q", s.cmd, s.user, resp.Announce.Summary)
			}
		}
		// Status names owners; a reminder mentions each owner once, then who has nothing.
		mustSay(t, text(run("U0", "status")), "A — failed, reported by U0, taken by U1", "C — failed, reported by U0, taken by U2")
		r, _, err := b.ScheduledReminder(context.Background(), "T1", "C1", testNow, testNow, time.Hour)
		if err != nil || r == nil {
			t.Fatalf("reminder: %v %v", r, err)
		}
		mustSay(t, RenderText(r), "U1: A\n", "U2: C, D\n", "Nobody has taken B, E yet: /upgrade take prod: B takes one.")
		if m := mentionCounts(r); m["U1"] != 1 || m["U2"] != 1 || m["U0"] > 1 {
			t.Errorf("reminder mentions %v, want U1 and U2 once each, the reporter U0 at most once:\n%s", m, RenderText(r))
		}
		// The change record names them.
		csv := string(run("U0", "export prod csv").File.Content)
		if !strings.Contains(csv, "\nA,") || !strings.Contains(strings.SplitN(csv[strings.Index(csv, "\nA,")+1:], "\n", 2)[0], ",U1,") {
			t.Errorf("the change record does not name A's owner:\n%s", csv)
		}
		// Republished modules lose their owner; a reset releases everything.
		// Undoing either gives the modules back their owners.
		run("U2", "done C")
		if o, _ := store.ModuleOwners(context.Background(), "T1", "prod"); o["c"] != "" || o["d"] != "U2" {
			t.Errorf("owners after done C: %v", o)
		}
		mustSay(t, text(run("U2", "undo")), "Back on the list: C")
		if o, _ := store.ModuleOwners(context.Background(), "T1", "prod"); o["c"] != "U2" {
			t.Errorf("owners after undoing done C: %v", o)
		}
		// The history says who took and released what, for a postmortem
		// after done has released them; what a change did to owners is not
		// a release, and a take repeated changes nothing.
		mustSay(t, text(run("U2", "take D")), "U2 took D on prod.")
		mustSay(t, text(run("U0", "history prod")), "U1 took: A, B", "U2 took: B, C", "U2 released: B, C", "U2 took: C, D")
		h, err := store.History(context.Background(), "T1", "prod")
		if err != nil {
			t.Fatal(err)
		}
		var owning []string
		for _, e := range h {
			if e.Action == progress.ActionTake || e.Action == progress.ActionRelease {
				owning = append(owning, e.Actor+" "+e.Detail)
			}
		}
		if want := []string{"U1 took: A, B", "U2 took: B, C", "U2 released: B, C", "U2 took: C, D"}; !slices.Equal(owning, want) {
			t.Errorf("takes and releases in the history: %q, want %q", owning, want)
		}
		run("U0", "reset prod --yes")
		if o, _ := store.ModuleOwners(context.Background(), "T1", "prod"); len(o) != 0 {
			t.Errorf("owners after reset: %v", o)
		}
		run("U0", "undo")
		if o, _ := store.ModuleOwners(context.Background(), "T1", "prod"); o["a"] != "U1" || o["c"] != "U2" || o["d"] != "U2" || len(o) != 3 {
			t.Errorf("owners after undoing the reset: %v, want a: U1, c and d: U2", o)
		}
	})
}

func TestSnooze(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	n := 0
	run := func(text string) Response {
		n++
		return b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("c", n), Text: text})
	}
	reminded := func(at time.Time) bool {
		t.Helper()
		r, _, err := b.ScheduledReminder(ctx, "T1", "C1", at, at, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return r != nil
	}
	run("track prod")
	run("failed A")
	if !reminded(*now) {
		t.Fatal("no reminder before the snooze")
	}
	for _, bad := range []string{"snooze", "snooze prod 2h", "snooze a b c"} {
		mustSay(t, text(run(bad)), "Usage: /upgrade snooze")
	}
	mustSay(t, text(run("snooze off")), "not snoozed")

	// The reminder's button snoozes for an hour.
	r, _, _ := b.ScheduledReminder(ctx, "T1", "C1", *now, *now, time.Hour)
	bt := buttonsOf(r)["Snooze 1 hour"]
	if bt.Command != "snooze prod 1h" {
		t.Fatalf("snooze button %+v", bt)
	}
	resp := click(b, "k1", bt)
	mustSay(t, text(resp), "U2 snoozed prod's reminders in this channel until Wed 25 Nov 10:30 UTC")
	if !slices.Equal(resp.Changed, []string{"prod"}) {
		t.Errorf("Changed = %v", resp.Changed)
	}
	mustSay(t, text(run("status")), "Reminders snoozed here until Wed 25 Nov 10:30 UTC by U2 (a recorded change ends it)")
	if reminded(now.Add(59 * time.Minute)) {
		t.Error("reminded during the snooze")
	}
	if !reminded(now.Add(61 * time.Minute)) {
		t.Error("not reminded after the snooze")
	}

	// Until tomorrow: a Friday's snooze lasts to Monday; a recorded change ends it.
	*now = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	mustSay(t, text(run("snooze prod tomorrow")), "until Mon 30 Nov 08:00 UTC")
	if reminded(now.Add(time.Hour)) {
		t.Error("reminded during the snooze")
	}
	*now = now.Add(time.Minute)
	run("failed B")
	if !reminded(now.Add(time.Hour)) {
		t.Error("a recorded change did not end the snooze")
	}
	if strings.Contains(text(run("status")), "snoozed") {
		t.Error("status still shows the snooze")
	}
	run("snooze 1h")
	mustSay(t, text(run("snooze off")), "turned the snooze of prod's reminders off")
	if !reminded(*now) {
		t.Error("snooze off did not end it")
	}
}

// An environment tracked days ahead of its upgrade: its status says it is
// followed with no news; once news comes, the upgrade runs from it.
func TestUpgradeRunsFromItsFirstNews(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	run := func(i int, c string) Response {
		return b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint(i), Text: c})
	}
	run(0, "track prod 11.31.0")
	*now = now.Add(48 * time.Hour)
	mustSay(t, text(run(1, "status prod")), "Upgrade: followed since Wed 25 Nov 09:30 UTC, no news of it yet")
	b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: "We are now preparing your modules. 10% complete."})
	*now = now.Add(time.Hour)
	run(2, "failed A")
	mustSay(t, text(run(3, "status prod")), "Upgrade: since Fri 27 Nov 09:30 UTC, running for 1h")
	// Reported and republished with no news of the preparation: news all the same.
	run(4, "track qa 11.31.0")
	run(5, "failed qa: A")
	run(6, "done qa: A")
	mustSay(t, text(run(7, "status qa")), "Upgrade: since Fri 27 Nov 10:30 UTC")
}

// App Home and the living status show the incident header and the owners.
func TestHomeAndLivingStatus(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	for i, c := range []string{"track prod 11.31.0 from 11.14.0", "failed A B", "take A"} {
		b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint(i), Text: c})
	}
	*now = now.Add(3*time.Hour + 10*time.Minute)
	home := RenderText(b.Home(ctx, "T1", nil))
	mustSay(t, home, "== prod: Platform Server 11.14.0 → 11.31.0 ==", "Upgrade: since Wed 25 Nov 09:30 UTC, running for 3h 10m", "A — failed, reported by U1, taken by U1")
	m, err := b.LivingStatus(ctx, "T1", "C1", "prod")
	r := m.Reply
	if err != nil || m.Version != now.UnixNano() || !m.Stale.IsZero() {
		t.Fatalf("LivingStatus: %v, %+v", err, m)
	}
	mustSay(t, RenderText(r), "== prod: Platform Server 11.14.0 → 11.31.0 ==", "taken by U1", "Kept up to date by upgradebot")
	if strings.Contains(RenderText(r), "[") {
		t.Errorf("the living status has buttons:\n%s", RenderText(r))
	}
}

// A pasted preparation summary is a milestone once; a response says which environment it changed.
func TestMilestones(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "t", Text: "track prod"})
	summary := "26 modules prepared successfully, 1 modules failed and 3 modules skipped."
	*now = now.Add(time.Minute)
	resp := b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: summary})
	if !slices.Equal(resp.Changed, []string{"prod"}) || resp.Milestone == nil {
		t.Fatalf("summary: Changed %v, Milestone %v", resp.Changed, resp.Milestone)
	}
	mustSay(t, RenderText(resp.Milestone), ":checkered_flag: prod: preparation finished with errors · 4 not named (failed or skipped)")
	*now = now.Add(time.Minute)
	resp = b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.2", Text: summary})
	if resp.Milestone != nil {
		t.Errorf("the same summary again is a milestone: %s", RenderText(resp.Milestone))
	}
	if resp := b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.3", Text: "hello"}); len(resp.Changed) != 0 {
		t.Errorf("chat changed %v", resp.Changed)
	}
}

// A list emptied while the preparation runs, or with modules Service
// Center counted still unnamed, is no all-clear milestone; emptied once
// the counts are covered, it is.
func TestAllClearMilestone(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, news string
		want       bool
	}{
		{"preparing", "We are now preparing your modules - 40% (We expect them to be ready at 18:21)", false},
		{"unnamed left", "26 modules prepared successfully, 2 modules failed and 0 modules skipped.", false},
		{"counts covered", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, now := clockBot(t)
			b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "t", Text: "track prod"})
			b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: tc.news})
			b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "f", Text: "failed Billing_CS"})
			*now = now.Add(time.Minute)
			resp := b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "d", Text: "done Billing_CS"})
			got := resp.Milestone != nil && strings.Contains(RenderText(resp.Milestone), "All clear")
			if got != tc.want {
				t.Errorf("all-clear milestone %v, want %v: %s", got, tc.want, RenderText(resp.Milestone))
			}
			if reply := RenderText(resp.Announce); strings.Contains(reply, "All clear") != tc.want {
				t.Errorf("the reply's all-clear, want %v: %s", tc.want, reply)
			}
		})
	}
}

// A snooze holds back "remind now" too, and is only for an environment
// the channel follows.
func TestSnoozeHoldsRemindNowToo(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	n := 0
	run := func(channel, text string) Response {
		n++
		return b.HandleCommand(ctx, Command{Workspace: "T1", Channel: channel, User: "U1", ID: fmt.Sprint("c", n), Text: text})
	}
	run("C1", "track prod")
	run("C1", "track qa")
	run("C1", "failed prod: A")
	run("C1", "failed qa: B")
	run("C2", "track staging")
	run("C2", "failed staging: S")
	run("C1", "snooze prod 1h")
	r, err := b.ChannelReminder(ctx, "T1", "C1", *now, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("reminder %v, %v", r, err)
	}
	if out := RenderText(r); strings.Contains(out, "prod") || !strings.Contains(out, "qa") {
		t.Errorf("remind now with prod snoozed:\n%s", out)
	}
	run("C1", "snooze qa 1h")
	if r, err := b.ChannelReminder(ctx, "T1", "C1", *now, time.Hour); err != nil || r != nil {
		t.Errorf("remind now with both snoozed: %s, %v", RenderText(r), err)
	}
	mustSay(t, text(run("C1", "snooze staging 1h")), "This channel does not follow staging", "track staging")
	// remind now, with nothing to post, says which environment is snoozed and which has nothing.
	run("C1", "track dev")
	out := RenderText(b.nothingToRemind(ctx, Command{Workspace: "T1", Channel: "C1"}))
	mustSay(t, out, "Nothing is outstanding in dev.", "prod's reminders are snoozed here until", "/upgrade snooze qa off")
}

// Releasing a module someone else took names them, as taking it over does.
func TestReleaseNamesTheOwner(t *testing.T) {
	b, _, _ := clockBot(t)
	ctx := context.Background()
	as := func(user, command string) string {
		return text(b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: user, ID: user + command, Text: command}))
	}
	as("U1", "track prod")
	as("U1", "failed Orders_UI Billing_CS")
	as("U1", "take Orders_UI")
	mustSay(t, as("U2", "release Orders_UI"), "U2 released Orders_UI", "Held until now by U1")
	as("U2", "take Billing_CS")
	if out := as("U2", "release Billing_CS"); strings.Contains(out, "Held until now by") {
		t.Errorf("releasing one's own module names an owner:\n%s", out)
	}
}

// A reminder names every owner and counts every module nobody took, also
// beyond the modules it shows.
func TestReminderOwnersBeyondTheModulesShown(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	var mods []string
	for i := 1; i <= 20; i++ {
		mods = append(mods, fmt.Sprintf("M%02d", i))
	}
	cmd(t, b, "C1", "U1", "failed "+strings.Join(mods, " "))
	r, err := b.ChannelReminder(context.Background(), "T1", "C1", testNow, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("reminder: %v, %v", r, err)
	}
	mustSay(t, RenderText(r), "Nobody has taken M01, M02, M03, M04, M05, M06, M07, M08 … and 12 more yet")
	cmd(t, b, "C1", "U2", "take M20")
	r, err = b.ChannelReminder(context.Background(), "T1", "C1", testNow, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("reminder: %v, %v", r, err)
	}
	mustSay(t, RenderText(r), "U2: M20\n", "Nobody has taken M01, M02, M03, M04, M05, M06, M07, M08 … and 11 more yet")
}

// take refuses "all" with the reason, and names what is not on the list.
func TestTakeRefusals(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed Billing_CS")
	for _, tc := range []struct{ command, want string }{
		{"take all", "there is no `take all`"},
		{"take prod: all", "there is no `take all`"},
		{"take customer portal", `Not on prod's list: "customer" and "portal". ` + "`/upgrade status prod`" + " shows the list (a name with spaces goes in quotes)."},
	} {
		mustSay(t, text(cmd(t, b, "C1", "U1", tc.command)), tc.want)
	}
}

// A report of a module listed already records nothing: a colleague's
// snooze holds, and the last update stays the last change's.
func TestNothingRecordedKeepsTheSnooze(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed X_Core")
	cmd(t, b, "C1", "U1", "snooze prod 1h")
	*now = now.Add(time.Minute)
	mustSay(t, text(cmd(t, b, "C1", "U2", "failed prod: X_Core")), "Already on prod's list: nothing changed.")
	if r, err := b.ChannelReminder(ctx, "T1", "C1", *now, time.Hour); err != nil || r != nil {
		t.Errorf("the snooze ended with nothing recorded: %s, %v", RenderText(r), err)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "Reminders snoozed here", "by U1")
}

// The order to republish: producers not prepared, then failed modules,
// then skipped and reported ones, each group as listed; learned producer →
// consumer pairs still go first.
func TestRepublishOrderFailedFirst(t *testing.T) {
	m := func(name string, r progress.Reason, producer bool) progress.Module {
		return progress.Module{Name: name, Reason: r, Producer: producer}
	}
	for _, tc := range []struct {
		mods  []progress.Module
		edges []progress.Edge
		want  []string
	}{
		{[]progress.Module{m("Inv_UI", progress.ReasonSkipped, false), m("Ord_UI", progress.ReasonSkipped, false), m("Ord_Core", progress.ReasonFailed, false)}, nil,
			[]string{"Ord_Core", "Inv_UI", "Ord_UI"}},
		{[]progress.Module{m("Ui", progress.ReasonNotUpgraded, false), m("Lib", progress.ReasonFailed, true), m("Core", progress.ReasonFailed, false), m("P", progress.ReasonProducerNotPrepared, false)}, nil,
			[]string{"Lib", "P", "Core", "Ui"}},
		{[]progress.Module{m("A_Core", progress.ReasonFailed, false), m("B_Core", progress.ReasonFailed, false)}, []progress.Edge{{Producer: "b_core", Consumer: "a_core"}},
			[]string{"B_Core", "A_Core"}},
	} {
		got, _ := republishOrder(tc.mods, tc.edges)
		var names []string
		for _, g := range got {
			names = append(names, g.Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("order %v, want %v", names, tc.want)
		}
	}
}

// The progress bar is full only when nothing is left, empty only when
// nothing is done.
func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{{0, "░░░░░░░░░░"}, {0.01, "█░░░░░░░░░"}, {0.5, "█████░░░░░"}, {46.0 / 47, "█████████░"}, {1, "██████████"}} {
		if got := ProgressBar(tc.f); got != tc.want {
			t.Errorf("ProgressBar(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

// A channel reminded of the work gets its all-clear from remind now too,
// once, when another channel's command finished the upgrade.
func TestRemindNowPostsThePendingAllClear(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	cmd(t, b, "A", "U1", "track prod 11.31.0")
	msg(t, b, "A", "U1", "1.1", "There were errors preparing some modules.\n30 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	cmd(t, b, "A", "U1", "failed Billing_CS")
	cmd(t, b, "B", "U2", "track prod")
	if r, err := b.ChannelReminder(ctx, "T1", "B", *now, time.Hour); err != nil || r == nil {
		t.Fatalf("B's reminder: %v, %v", r, err)
	}
	mustSay(t, text(cmd(t, b, "A", "U1", "done Billing_CS")), "All clear on prod")
	r, err := b.ChannelReminder(ctx, "T1", "B", *now, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("B's remind now after the all-clear in A: %v, %v", r, err)
	}
	mustSay(t, RenderText(r), "All clear on prod")
	if r, err := b.ChannelReminder(ctx, "T1", "B", *now, time.Hour); err != nil || r != nil {
		t.Errorf("the all-clear posted twice: %s, %v", RenderText(r), err)
	}
}

// A reminder while the preparation runs again says to hold the publishes,
// and offers no button marking a module republished.
func TestReminderWhilePreparing(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "There was an error preparing your modules.")
	msg(t, b, "C1", "U1", "1.2", producerPaste)
	cmd(t, b, "C1", "U2", "take Billing_CS")
	msg(t, b, "C1", "U1", "1.3", "We are now preparing your modules - 5% (We expect them to be ready at 23:00)")
	r, err := b.ChannelReminder(ctx, "T1", "C1", *now, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("reminder: %v, %v", r, err)
	}
	mustSay(t, RenderText(r), "The modules preparation is running: hold the publishes until it ends")
	if m := mentionCounts(r); m["U2"] > 0 {
		t.Errorf("the owner is pinged while nobody can publish:\n%s", RenderText(r))
	}
	for label := range buttonsOf(r) {
		if strings.HasPrefix(label, "Mark ") {
			t.Errorf("button %q while the preparation runs", label)
		}
	}
}

// status says a preparation with no news for hours may be stuck, as the
// reminders do.
func TestStatusSaysThePreparationIsQuiet(t *testing.T) {
	b, _, now := clockBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "We are now preparing your modules - 30% (We expect them to be ready at 10:00)")
	if out := text(cmd(t, b, "C1", "U1", "status prod")); strings.Contains(out, "No news of the preparation") {
		t.Errorf("a fresh banner said to be quiet:\n%s", out)
	}
	*now = now.Add(8 * time.Hour)
	mustSay(t, text(cmd(t, b, "C1", "U1", "status")), "No news of the preparation for 8h")
	*now = now.Add(-7 * time.Hour) // an hour after the banner: not yet
	if out := text(cmd(t, b, "C1", "U1", "status prod ")); strings.Contains(out, "No news") {
		t.Errorf("quiet after an hour:\n%s", out)
	}
	// A module reported, or a publish blocked, meanwhile is no news of it.
	*now = now.Add(90 * time.Minute)
	cmd(t, b, "C1", "U2", "failed prod: Orders_Core")
	msg(t, b, "C1", "U2", "1.2", "The 1-Click Publish started by ana.silva at 2024-03-12 10:15:02 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01:44, that is locking 'Orders_CS' module.")
	*now = now.Add(time.Hour)
	mustSay(t, text(cmd(t, b, "C1", "U1", "status prod  ")), "No news of the preparation for 3h")
	if r, _, err := b.ScheduledReminder(context.Background(), "T1", "C1", *now, *now, time.Hour); err != nil || !strings.Contains(RenderText(r), "last reported running 3h") {
		t.Errorf("the reminder (err %v):\n%s", err, RenderText(r))
	}
}

// "Snooze until tomorrow" reads days as the channel's reminders do: in a
// channel reminded at 09:00 Pacific, Thursday 17:30 there (already Friday in
// UTC) snoozes until Friday, not the weekend through, said in that zone.
func TestSnoozeTomorrowInTheChannelsZone(t *testing.T) {
	now := time.Date(2024, 11, 8, 1, 30, 0, 0, time.UTC) // Thursday 17:30 PST
	b, store := newClockBot(t, func() time.Time { return now })
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed Billing_CS")
	// As `remind CRON_TZ=America/Los_Angeles 0 9 * * 1-5` sets it (the test bot has no scheduler).
	if err := store.SetChannelSettings(context.Background(), "T1", "C1", progress.ChannelSettings{Schedule: "CRON_TZ=America/Los_Angeles 0 9 * * 1-5"}); err != nil {
		t.Fatal(err)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "snooze prod tomorrow")), "until Fri 8 Nov 08:00 PST") // in the zone of the channel's reminders
}

// "until" and "for" read as they are meant: "snooze prod until tomorrow",
// "snooze for 1h".
func TestSnoozeUntilReads(t *testing.T) {
	b, _, _ := clockBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed A")
	for _, c := range []string{"snooze prod until tomorrow", "snooze until tomorrow", "snooze for 1h", "snooze prod for 1h"} {
		mustSay(t, text(cmd(t, b, "C1", "U1", c)), "U1 snoozed prod's reminders in this channel until")
	}
}

// App Home shows upgrades under way first: a workspace's finished and
// retired environments, which only grow over the months, never push the
// live upgrade out of the view; those no channel follows are only named.
func TestHomeShowsUpgradesUnderWayFirst(t *testing.T) {
	b, _ := newTestBot(t)
	ctx := context.Background()
	run := func(ch, text string) {
		b.HandleCommand(ctx, Command{Workspace: "T1", Channel: ch, User: "U1", ID: ch + text, Text: text})
	}
	for i := range 25 {
		env := fmt.Sprintf("dev%02d", i)
		run("C"+env, "track "+env+" 11.12.0")
		run("C"+env, "failed "+env+": Orders_CS")
		run("C"+env, "done "+env+": all --yes")
		if i%2 == 0 {
			run("C"+env, "untrack "+env)
		}
	}
	run("CPROD", "track zprod 11.13.0")
	run("CPROD", "failed zprod: Billing_CS")
	home := RenderText(b.Home(ctx, "T1", nil))
	mustSay(t, home, "== zprod → Platform Server 11.13.0 ==", "Billing_CS", "No channel follows these any more: dev00, dev02")
	if p, d := strings.Index(home, "zprod"), strings.Index(home, "dev01"); d >= 0 && p > d {
		t.Errorf("a finished upgrade shown before the one under way:\n%s", home)
	}
	if strings.Contains(home, "== dev00") {
		t.Errorf("an environment no channel follows is shown whole:\n%s", home)
	}
	// So does the example of a command in a channel that follows nothing.
	out := RenderText(b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "CNONE", User: "U1", ID: "s", Text: "status"}).Reply)
	mustSay(t, out, "e.g. `/upgrade status zprod`")
}

// Modules taken by someone who has since left the workspace (deactivated,
// as Slack says) are anyone's again in reminders: months later the
// reminder does not keep naming a person who cannot republish them.
func TestReminderFreesModulesOfPeopleWhoLeft(t *testing.T) {
	b, names := botWithOneWhoLeft(t)
	ctx := context.Background()
	r, _, err := b.ScheduledReminder(ctx, "T1", "C1", testNow, testNow, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("reminder: %v %v", r, err)
	}
	out := RenderText(r)
	mustSay(t, out, "U1: C\n", "Nobody has taken A, B yet", "Among them, modules taken by people who have left the workspace (ULEFT).")
	if strings.Contains(out, "ULEFT: A") {
		t.Errorf("the reminder still gives A and B to someone who left:\n%s", out)
	}
	// Snoozed, the reminder is only asked whether there is work: Slack is not asked who left.
	asked := names.departed
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "snooze", Text: "snooze prod 1h"})
	if r, _, err := b.ScheduledReminder(ctx, "T1", "C1", testNow, testNow, time.Hour); err != nil || r != nil || names.departed != asked {
		t.Errorf("snoozed: reminder %v, %v; %d more Departed calls, want none", r, err, names.departed-asked)
	}
}

// botWithOneWhoLeft is a bot whose prod lists A, B and C, followed in C1:
// ULEFT, who has left the workspace since, took A and B, U1 took C.
func botWithOneWhoLeft(t *testing.T) (*Bot, *countedNames) {
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	names := &countedNames{namesOf: namesOf{"U1": "Ana Silva", "ULEFT": "Rui Costa (left)"}}
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, BotUserID: "UBOT", Names: names})
	for i, c := range []struct{ user, text string }{
		{"U1", "track prod 11.31.0"}, {"U1", "failed A B C"}, {"ULEFT", "take A B"}, {"U1", "take C"},
	} {
		b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: c.user, ID: fmt.Sprint(i), Text: c.text})
	}
	return b, names
}

// countedNames counts the Departed calls of a namesOf.
type countedNames struct {
	namesOf
	departed int
}

func (c *countedNames) Departed(ctx context.Context, ws string, ids []string) map[string]bool {
	c.departed++
	return c.namesOf.Departed(ctx, ws, ids)
}

// Status, the pinned status message and App Home show the modules of
// someone who has left the workspace as reminders do: anyone's to take,
// with who left named; Names is asked once per rendering, not per module.
func TestStatusFreesModulesOfPeopleWhoLeft(t *testing.T) {
	b, names := botWithOneWhoLeft(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		render func() string
	}{
		{"status", func() string {
			return text(b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "s", Text: "status prod"}))
		}},
		{"status message", func() string {
			m, err := b.LivingStatus(ctx, "T1", "C1", "prod")
			if err != nil {
				t.Fatal(err)
			}
			return RenderText(m.Reply)
		}},
		{"App Home", func() string { return RenderText(b.Home(ctx, "T1", nil)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			asked := names.departed
			out := c.render()
			mustSay(t, out, "C — failed, reported by U1, taken by U1", "Left the workspace: ULEFT. The modules they took are anyone's now: A, B. /upgrade take prod: A takes one.")
			if strings.Contains(out, "taken by ULEFT") {
				t.Errorf("A and B still shown as taken by someone who left:\n%s", out)
			}
			if n := names.departed - asked; n != 1 {
				t.Errorf("%d Departed calls for one rendering, want 1", n)
			}
		})
	}
}
