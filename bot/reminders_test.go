package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A channel told "All clear" when its list was cleared (by a command, a
// reminder's button or an undo) does not get the scheduled all-clear as
// well; another channel following the environment, not told, still does.
func TestAllClearAnnouncedNotRepeatedByReminder(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// clear empties prod's list from C1 (prod has Billing_CS to
		// republish, both channels reminded of it) and returns the response.
		clear func(t *testing.T, b *Bot, reminder *Reply, now *time.Time) Response
	}{
		{"command", func(t *testing.T, b *Bot, _ *Reply, _ *time.Time) Response {
			return cmd(t, b, "C1", "U1", "done Billing_CS")
		}},
		{"reminder button", func(t *testing.T, b *Bot, reminder *Reply, _ *time.Time) Response {
			bt, ok := buttonsOf(reminder)["Mark Billing_CS republished"]
			if !ok {
				t.Fatalf("no button to mark Billing_CS republished in the reminder:\n%s", RenderText(reminder))
			}
			return click(b, "k1", bt)
		}},
		{"undo", func(t *testing.T, b *Bot, _ *Reply, now *time.Time) Response {
			// Done, then a module reported again: its undo makes prod done again.
			cmd(t, b, "C1", "U1", "done Billing_CS")
			*now = now.Add(time.Minute)
			cmd(t, b, "C1", "U1", "skipped Orders")
			remind(t, b, "C1", *now)
			remind(t, b, "C2", *now)
			*now = now.Add(time.Minute)
			return cmd(t, b, "C1", "U1", "undo")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, now := clockBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			cmd(t, b, "C2", "U1", "track prod")
			msg(t, b, "C1", "U1", "1.1", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
			cmd(t, b, "C1", "U1", "failed Billing_CS")
			reminder := remind(t, b, "C1", *now)
			remind(t, b, "C2", *now)
			*now = now.Add(time.Hour)

			resp := tc.clear(t, b, reminder, now)
			if told := RenderText(resp.Announce) + RenderText(resp.Milestone); !strings.Contains(told, "All clear") {
				t.Fatalf("the response does not say all clear:\n%s", told)
			}
			next := now.Add(24 * time.Hour)
			if r, _, err := b.ScheduledReminder(ctx, "T1", "C1", next, next, time.Hour); err != nil || r != nil {
				t.Errorf("C1, told already, gets at the next reminder %q (err %v), want nothing", summary(r), err)
			}
			if r, _, err := b.ScheduledReminder(ctx, "T1", "C2", next, next, time.Hour); err != nil || !strings.HasPrefix(summary(r), "All clear") {
				t.Errorf("C2, not told, gets at the next reminder %q (err %v), want its all-clear", summary(r), err)
			}
		})
	}
}

// remind is channel's scheduled reminder of prod at now, posted: it must be one.
func remind(t *testing.T, b *Bot, channel string, now time.Time) *Reply {
	t.Helper()
	r, posted, err := b.ScheduledReminder(context.Background(), "T1", channel, now, now, time.Hour)
	if err != nil || r == nil || !strings.HasPrefix(r.Summary, "Reminder: prod") {
		t.Fatalf("%s's reminder: %q, err %v", channel, summary(r), err)
	}
	if err := posted(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func summary(r *Reply) string {
	if r == nil {
		return ""
	}
	return r.Summary
}

// announcedSchedules announces a next reminder for every channel.
type announcedSchedules struct{ fakeSchedules }

func (announcedSchedules) Next(context.Context, string, string, time.Time) string {
	return "Next reminder: soon"
}

// A status announces the channel's next reminder only when it would remind
// of an environment shown: not of one snoozed here, nor of one the
// channel does not follow (which it says instead).
func TestStatusNextReminder(t *testing.T) {
	b, _ := newTestBot(t)
	b.SetSchedules(announcedSchedules{})
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed Billing_CS")
	cmd(t, b, "C2", "U1", "track qa 11.31.0")
	for _, step := range []struct {
		channel, command string
		has              bool
		says             string
	}{
		{"C1", "status", true, ""},
		{"C2", "status prod", false, "This channel does not follow prod, so its reminders are not posted here; /upgrade track prod follows it here."},
		{"C2", "status qa", true, ""}, // "if anything is still outstanding then", the scheduler's line says
		{"C1", "snooze prod 1h", false, ""},
		{"C1", "status", false, "Reminders snoozed here until"},
	} {
		got := text(cmd(t, b, step.channel, "U1", step.command))
		if strings.HasPrefix(step.command, "snooze") {
			continue
		}
		if strings.Contains(got, "Next reminder: soon") != step.has {
			t.Errorf("%s in %s: next reminder shown %v, want %v:\n%s", step.command, step.channel, !step.has, step.has, got)
		}
		if step.says != "" {
			mustSay(t, got, step.says)
		}
	}
}

// An all-clear that does not fit in a channel's reminder, full of other
// environments' work, is not counted as outstanding work nor noted as
// posted: the next reminder with room (the others snoozed) posts it.
func TestAllClearThatDoesNotFitWaits(t *testing.T) {
	b, _ := newTestBot(t)
	ctx := context.Background()
	for _, env := range []string{"a", "b", "c", "d", "z"} {
		cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
	}
	cmd(t, b, "C1", "U1", "failed z: Zmod")
	msg(t, b, "C1", "U1", "1.1", "z: 20 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	if r, err := b.ChannelReminder(ctx, "T1", "C1", testNow, time.Hour); err != nil || !strings.HasPrefix(summary(r), "Reminder: z") {
		t.Fatalf("reminded of z: %v %v", summary(r), err)
	}
	long := strings.Repeat("Very_Long_Module_Name_Of_The_Portal_", 3)
	for _, env := range []string{"a", "b", "c", "d"} {
		for i := range 15 {
			cmd(t, b, "C1", "U1", fmt.Sprintf("failed %s: %s%s_%02d", env, long, env, i))
		}
	}
	cmd(t, b, "C2", "U1", "track z")
	cmd(t, b, "C2", "U1", "done z: Zmod") // all clear in C2; C1 awaits its own
	r, posted, err := b.ScheduledReminder(ctx, "T1", "C1", testNow, testNow, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("reminder: %v %v", r, err)
	}
	if out := RenderText(r); strings.Contains(out, "not shown here: c, d, z") || strings.Contains(r.Summary, "5 environments") {
		t.Errorf("z, all clear, is counted as outstanding work:\n%s\n%s", r.Summary, out)
	}
	shown := strings.Contains(r.Summary, "All clear")
	if err := posted(ctx); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"a", "b", "c", "d"} {
		cmd(t, b, "C1", "U1", "snooze "+env+" 1h")
	}
	r, _, _ = b.ScheduledReminder(ctx, "T1", "C1", testNow, testNow, time.Hour)
	if later := r != nil && strings.Contains(r.Summary, "All clear: z"); shown || !later {
		t.Errorf("z's all-clear shown in the full reminder %v, in the next one %v (%v): want it in the next one", shown, later, summary(r))
	}
}

// A channel reminded with remind now gets its all-clear, as one reminded
// on schedule does.
func TestRemindNowThenAllClear(t *testing.T) {
	b, _ := newTestBot(t)
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C2", "U1", "track prod")
	msg(t, b, "C1", "U1", "1.1", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	cmd(t, b, "C1", "U1", "failed Billing_CS")
	if r, err := b.ChannelReminder(ctx, "T1", "C2", testNow, time.Hour); err != nil || r == nil {
		t.Fatalf("remind now in C2: %v, %v", r, err)
	}
	cmd(t, b, "C1", "U1", "done Billing_CS") // the all-clear is said in C1
	r, posted, err := b.ScheduledReminder(ctx, "T1", "C2", testNow, testNow, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("C2's next reminder: %v, %v; want its all-clear", r, err)
	}
	mustSay(t, RenderText(r), "All clear on prod")
	if err := posted(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := b.ScheduledReminder(ctx, "T1", "C2", testNow, testNow, time.Hour); again != nil {
		t.Errorf("the all-clear again:\n%s", RenderText(again))
	}
}

// A channel reminded of the work gets its all-clear when the upgrade is
// over: an emptied list with no outcome of the preparation yet does not
// take it up (it waits for the summary).
func TestAllClearWaitsForTheOutcome(t *testing.T) {
	b, _ := newTestBot(t)
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C2", "U1", "track prod")
	cmd(t, b, "C2", "U1", "failed Billing_CS")
	if r, posted, err := b.ScheduledReminder(ctx, "T1", "C2", testNow, testNow, time.Hour); err != nil || r == nil {
		t.Fatalf("C2's reminder: %v, %v", r, err)
	} else if err := posted(ctx); err != nil {
		t.Fatal(err)
	}
	cmd(t, b, "C1", "U1", "done Billing_CS")
	if r, _, _ := b.ScheduledReminder(ctx, "T1", "C2", testNow, testNow, time.Hour); r != nil {
		t.Errorf("before the outcome, C2 got:\n%s", RenderText(r))
	}
	msg(t, b, "C1", "U1", "1.1", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	r, _, err := b.ScheduledReminder(ctx, "T1", "C2", testNow, testNow, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("after the summary, C2's all-clear: %v, %v", r, err)
	}
	mustSay(t, RenderText(r), "All clear on prod")
}

// A reminded channel that emptied the list before the outcome was known is
// told so, not all clear: when the summary, pasted in another channel,
// makes the upgrade done, it gets its all-clear at its next reminder.
func TestAllClearOwedAfterAnEarlyEmptyList(t *testing.T) {
	ctx := context.Background()
	b, _, now := clockBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C2", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed prod: Orders_Core")
	remind(t, b, "C1", *now)
	remind(t, b, "C2", *now)
	*now = now.Add(time.Hour)
	mustSay(t, text(cmd(t, b, "C1", "U1", "done prod: Orders_Core")), "prod's list is empty")
	*now = now.Add(time.Hour)
	mustSay(t, text(msg(t, b, "C2", "U1", "2.1", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.")), "All clear on prod")
	next := now.Add(24 * time.Hour)
	if r, _, err := b.ScheduledReminder(ctx, "T1", "C1", next, next, time.Hour); err != nil || !strings.HasPrefix(summary(r), "All clear") {
		t.Errorf("C1, told only that the list was empty, gets %q (err %v), want its all-clear", summary(r), err)
	}
	if r, _, err := b.ScheduledReminder(ctx, "T1", "C2", next, next, time.Hour); err != nil || r != nil {
		t.Errorf("C2, told already, gets %q (err %v), want nothing", summary(r), err)
	}
}

// A reminder, posted anew each time, pings nobody: its "Last update" names
// no one (status, asked for, still does).
func TestReminderPingsNobody(t *testing.T) {
	b, _, now := clockBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U7", "failed prod: Orders_Core")
	mentions := func(r *Reply) (n int) {
		for _, bl := range r.Blocks {
			for _, f := range bl.Fields {
				for _, s := range f.Value {
					if s.Style == Mention && f.Label == "Last update" {
						n++
					}
				}
			}
		}
		return n
	}
	if n := mentions(remind(t, b, "C1", *now)); n != 0 {
		t.Errorf("the reminder's Last update mentions %d people", n)
	}
	if n := mentions(cmd(t, b, "C1", "U1", "status prod").Reply); n != 1 {
		t.Errorf("status's Last update mentions %d people, want its author", n)
	}
}

// postingSchedules posts a reminder now in any channel but C0QUIET.
type postingSchedules struct{ fakeSchedules }

func (postingSchedules) Now(_ context.Context, _, channel string) (*Reply, error) {
	if channel == "C0QUIET" {
		return nil, nil
	}
	return (&Reply{Summary: "Reminder"}).Section(Line{T("Reminder")}), nil
}

// `remind now`, open to everyone, posts once per channel every few minutes
// (each post mentions the people who took modules); one that posted
// nothing does not count.
func TestRemindNowOncePerChannelEveryFewMinutes(t *testing.T) {
	b, _, now := clockBot(t)
	b.SetSchedules(postingSchedules{})
	for i, step := range []struct {
		channel string
		after   time.Duration
		posted  bool
	}{
		{"C1", 0, true},
		{"C1", time.Minute, false},
		{"C2", 0, true},
		{"C0QUIET", 0, false},
		{"C0QUIET", 0, false}, // nothing to post, again: not "posted less than … ago"
		{"C1", 4 * time.Minute, true},
	} {
		*now = now.Add(step.after)
		resp := b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: step.channel, User: "U1", ID: fmt.Sprint("rn", i), Text: "remind now"})
		if posted := !resp.Announce.Empty(); posted != step.posted {
			t.Errorf("step %d (%s): posted %v, want %v: %s", i, step.channel, posted, step.posted, text(resp))
		}
		if limited := strings.Contains(text(resp), "less than 5 minutes ago: it works again"); limited != (step.channel == "C1" && !step.posted) {
			t.Errorf("step %d (%s): %s", i, step.channel, text(resp))
		}
	}
}

// A button says what it acts on: a reminder of two environments names
// each in the labels they would otherwise share, and the buttons a screen
// reader reads out of context describe their environment, module or
// what they undo (Button.Describe, Slack's accessibility_label).
func TestButtonsSayWhatTheyActOn(t *testing.T) {
	b, _, now := clockBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "track qa")
	cmd(t, b, "C1", "U1", "failed prod: Billing_CS")
	cmd(t, b, "C1", "U1", "failed qa: Invoices")
	r := remind(t, b, "C1", *now)
	labels := map[string]int{}
	for _, bl := range r.Blocks {
		for _, bt := range bl.Buttons {
			labels[bt.Label]++
			if bt.Describe == "" {
				t.Errorf("button %q describes nothing", bt.Label)
			}
		}
	}
	for label, n := range labels {
		if n > 1 {
			t.Errorf("%d buttons labelled %q", n, label)
		}
	}
	bs := buttonsOf(r)
	for label, describe := range map[string]string{
		"Show prod status": "Show prod's status", "Snooze qa 1 hour": "Snooze qa's reminders for 1 hour",
		"Snooze prod until tomorrow": "Snooze prod's reminders until tomorrow", "Mark Invoices republished": "Mark Invoices republished on qa",
	} {
		if bt, ok := bs[label]; !ok || bt.Describe != describe {
			t.Errorf("button %q: %+v, want it described %q", label, bt, describe)
		}
	}
	reply := msg(t, b, "C1", "U1", "1.1", "prod: Producer module 'Orders' hasn't been prepared for the current OutSystems environment version.").Reply
	if bt := buttonsOf(reply)["Undo"]; !strings.HasPrefix(bt.Describe, "Undo: Recorded for prod: 1 module to republish (Orders)") {
		t.Errorf("Undo described %q:\n%s", bt.Describe, RenderText(reply))
	}
}

// Progress is said in words first, the bar after them (a screen reader
// reads it glyph by glyph); the digest's line and the plain text of
// Line.Words go without the bar.
func TestProgressWordsFirst(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	msg(t, b, "C1", "U1", "1.1", "26 modules prepared successfully, 1 modules failed and 3 modules skipped.")
	mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "Progress: 26 of 30 modules ok █████████░\n")
	digest, err := b.Digest(context.Background(), []string{"T1"}, testNow, time.UTC, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if out := RenderText(digest); !strings.Contains(out, "· 26 of 30 modules ok ·") || strings.ContainsAny(out, "█░") {
		t.Errorf("digest:\n%s", out)
	}
}

// The digest's notification names the environments with work
// outstanding, as a reminder's does: it is read alone.
func TestDigestNamesTheBusy(t *testing.T) {
	b, _ := newTestBot(t)
	for _, env := range []string{"prod", "qa", "dev"} {
		cmd(t, b, "C1", "U1", "track "+env)
	}
	cmd(t, b, "C1", "U1", "failed prod: Billing_CS")
	cmd(t, b, "C1", "U1", "skipped qa: Orders")
	digest, err := b.Digest(context.Background(), []string{"T1"}, testNow, time.UTC, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Upgrade digest: 3 environments, 2 with work outstanding: prod, qa"; digest.Summary != want {
		t.Errorf("summary %q, want %q", digest.Summary, want)
	}
}
