package bot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// Tests of what a review of whole upgrades played in the shell found.

// A failed modules preparation is not the end of the upgrade: republishing
// the modules listed before it is not "all clear", reminders go on, the
// status says what to do, and the progress of the preparation run again
// is recorded.
func TestFailedPreparationIsNotDone(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	paste := func(ts, text string) string {
		return RenderText(msg(t, b, "C1", "U1", ts, text).Reply)
	}
	cmd(t, b, "C1", "U1", "track qa 11.31.0 self-managed")
	paste("1.1", producerPaste)
	mustSay(t, paste("1.2", "There was an error preparing your modules."), "Recorded for qa")
	done := text(cmd(t, b, "C1", "U1", "done Billing_CS"))
	status := text(cmd(t, b, "C1", "U1", "status qa"))
	for what, out := range map[string]string{"done": done, "status": status} {
		if strings.Contains(out, "All clear") || strings.Contains(out, "took") {
			t.Errorf("%s after a failed preparation says it is over:\n%s", what, out)
		}
	}
	mustSay(t, status, "preparation failed", "The modules preparation failed", "run the preparation again")
	mustSay(t, done, "the modules preparation failed")
	st, err := store.Status(ctx, "T1", "qa", ReminderModules)
	if err != nil {
		t.Fatal(err)
	}
	if finished(st) {
		t.Error("a failed preparation counts as finished: its all-clear may be posted")
	}
	if r := b.reminder(st, nil, b.now(), time.Hour, 0); r == nil {
		t.Error("no reminder for a failed preparation")
	} else {
		mustSay(t, RenderText(r), "a modules preparation that failed and must run again")
	}
	mustSay(t, paste("1.3", "We are now preparing your modules - 10% (We expect them to be ready at 19:40)"), "Recorded for qa")
	mustSay(t, text(cmd(t, b, "C1", "U1", "status qa")), "modules preparation running", "10%", "No modules to republish yet: the modules preparation is still running.")
}

// The Configuration Tool's counter reads as progress, not as a second module.
func TestModuleCounterIsProgress(t *testing.T) {
	b, _ := newTestBot(t)
	out := RenderText(msg(t, b, "C1", "U1", "1.1", "Preparing Module Database 5 of 30: Directory").Reply)
	mustSay(t, out, "Module: Directory", "Progress: module 5 of 30")
	if strings.Count(out, "Module:") != 1 {
		t.Errorf("two lines labelled Module:\n%s", out)
	}
}

// An undo's reply counts the modules Service Center counted and nobody
// named, as the status does.
func TestUndoCountsUnnamed(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0 cloud")
	msg(t, b, "C1", "U1", "1.1", "40 modules prepared successfully, 2 modules failed and 0 modules skipped.")
	cmd(t, b, "C1", "U2", "failed Billing_CS")
	out := text(cmd(t, b, "C1", "U2", "undo"))
	mustSay(t, out, "U2 undid a change on prod", "0 to republish, and 2 more modules that Service Center counted and nobody has named yet")
}

// Every time a reply shows is in the bot's zone, named.
func TestTimesInOneZone(t *testing.T) {
	zone, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, Zone: zone})
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed Billing_CS")
	local := testNow.In(zone).Format("15:04 MST")
	for _, c := range []string{"status prod", "history prod"} {
		out := text(cmd(t, b, "C1", "U1", c))
		if strings.Contains(out, "UTC") {
			t.Errorf("%s shows a time in UTC, not in %s:\n%s", c, zone, out)
		}
		if c == "status prod" {
			mustSay(t, out, "Last update: "+testNow.In(zone).Format("Mon 2 Jan ")+local)
		}
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "history prod")), testNow.In(zone).Format("2 Jan 15:04 MST"))
}

// History lines say each time's own zone abbreviation, day first: an
// upgrade can cross a clock change, and "03-04" reads 3 April in Lisbon.
func TestHistoryAcrossAClockChange(t *testing.T) {
	zone, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	now := time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC) // 00:30 WEST on the 25th
	clock := func() time.Time { return now }
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "h.db"), progress.BoltOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: clock, Zone: zone})
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	now = now.Add(time.Hour) // 01:30 WEST
	cmd(t, b, "C1", "U1", "failed Orders")
	now = now.Add(time.Hour) // 01:30 WET, the clocks gone back
	cmd(t, b, "C1", "U1", "done Orders")
	mustSay(t, text(cmd(t, b, "C1", "U1", "history prod")), "25 Oct 00:30 WEST", "25 Oct 01:30 WEST U1 1 module reported (failed): Orders", "25 Oct 01:30 WET U1 republished: Orders")
}

// More modules named failed or skipped than Service Center counted: the
// progress counts them as named, so it agrees with the list.
func TestProgressCountsWhatIsNamed(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "40 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	cmd(t, b, "C1", "U1", "failed A_CS B_CS")
	cmd(t, b, "C1", "U1", "skipped C_CS")
	mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "40 of 43 modules ok", "To republish (3)")
	cmd(t, b, "C1", "U1", "done A_CS")
	mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "41 of 43 modules ok", "To republish (2)")
}

// A status of every environment followed, and App Home, stay within what
// one Slack message (view) holds: the environments that do not fit are
// named, each once, instead of being cut off.
func TestManyEnvironmentsFit(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBot(t)
	var names []string
	for i := range 60 {
		names = append(names, fmt.Sprintf("Module_With_A_Long_Name_%02d", i))
	}
	for i := range 20 {
		env := fmt.Sprintf("env%02d", i)
		cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
		resp := b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "f" + env, Text: "failed " + env + ": " + strings.Join(names, " ")})
		if out := text(resp); !strings.Contains(out, "60 failed modules") {
			t.Fatalf("failed: %s", out)
		}
	}
	for _, c := range []struct {
		name   string
		r      *Reply
		blocks int
	}{
		{"status", cmd(t, b, "C1", "U1", "status").Reply, messageBlocks + 1},
		{"home", b.Home(ctx, "T1", nil), homeBlocks},
	} {
		text := RenderText(c.r)
		if len(c.r.Blocks) > c.blocks || c.name == "status" && len(text) > messageChars+200 {
			t.Errorf("%s: %d blocks, %d characters", c.name, len(c.r.Blocks), len(text))
		}
		_, more, found := strings.Cut(text, "more environments not shown here: ")
		if !found {
			t.Errorf("%s names no environment left out:\n%s", c.name, text)
		}
		for i := range 20 {
			env := fmt.Sprintf("env%02d", i)
			if shown, named := strings.Contains(text, "== "+env+" "), strings.Contains(more, env); shown == named {
				t.Errorf("%s: %s shown %v, named among the others %v", c.name, env, shown, named)
			}
		}
	}
}

// The digest and envs of a workspace with hundreds of environments stay
// within what one message holds and count the environments left out.
func TestDigestAndEnvsOfManyEnvironments(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBot(t)
	const n = 200
	for i := range n {
		env := fmt.Sprintf("environment-with-a-long-name-%03d", i)
		cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
		cmd(t, b, "C1", "U1", "failed "+env+": Billing_CS")
	}
	digest, err := b.Digest(ctx, nil, testNow, time.UTC, DefaultStall)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*Reply{"digest": digest, "envs": cmd(t, b, "C1", "U1", "envs").Reply} {
		text := RenderText(r)
		if len(r.Blocks) > messageBlocks || len(text) > messageChars {
			t.Errorf("%s: %d blocks, %d characters", name, len(r.Blocks), len(text))
		}
		shown := strings.Count(text, "environment-with-a-long-name-")
		var left int
		if _, after, ok := strings.Cut(text, "… and "); !ok || shown == n {
			t.Errorf("%s shows %d of %d environments and counts none left out", name, shown, n)
		} else if _, err := fmt.Sscanf(after, "%d more environments not shown here", &left); err != nil || shown+left != n {
			t.Errorf("%s shows %d and counts %d left out (%v), of %d", name, shown, left, err, n)
		}
	}
}

// An environment untracked in every channel is no one's work: the digest
// leaves it out of its count and charts and names it once at the end, and
// envs says it is followed nowhere.
func TestDigestLeavesOutEnvironmentsNobodyFollows(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed prod: Billing_CS")
	cmd(t, b, "C2", "U1", "track prdo 11.31.0")
	cmd(t, b, "C2", "U1", "failed prdo: Orders_CS")
	cmd(t, b, "C2", "U1", "untrack prdo")
	digest, err := b.Digest(ctx, nil, testNow, time.UTC, DefaultStall)
	if err != nil {
		t.Fatal(err)
	}
	out := text(Response{Reply: digest})
	mustSay(t, out, "Followed in no channel, so left out: prdo.")
	if digest.Summary != "Upgrade digest: 1 environment, 1 with work outstanding: prod" {
		t.Errorf("summary %q counts the untracked environment", digest.Summary)
	}
	if strings.Contains(out, "• prdo") || strings.Count(out, "Orders_CS") > 0 {
		t.Errorf("the untracked environment is listed as work:\n%s", out)
	}
	if len(digest.Files) != 1 || !strings.Contains(digest.Files[0].Title, "prod") {
		t.Errorf("charts %+v, want prod's only", digest.Files)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "envs")), "prdo — no news of the preparation yet, 1 to republish, PS 11.31.0, followed in no channel")
}

// A long history shows its newest entries, as many as a Slack section
// holds, and counts the older ones.
func TestHistoryShowsTheNewest(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	long := strings.Repeat("Module_With_A_Long_Name_", 3)
	for i := range 25 {
		b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("h", i),
			Text: fmt.Sprintf("failed %s%02dA %s%02dB %s%02dC", long, i, long, i, long, i)})
	}
	r := cmd(t, b, "C1", "U1", "history").Reply
	out := RenderText(r)
	mustSay(t, out, long+"24C", "older entries")
	for _, bl := range r.Blocks {
		if n := len(RenderText(&Reply{Blocks: []Block{bl}})); n > 3000 {
			t.Errorf("a block of %d characters", n)
		}
	}
}

// A button's label fits Slack's 75 characters and still says what it does.
func TestMarkButtonLabel(t *testing.T) {
	long := strings.Repeat("M0000_Producer_Core", 5)
	l := MarkDoneButton(0, "prod", long).Label
	if n := len([]rune(l)); n > 75 || !strings.HasSuffix(l, " republished") || !strings.HasPrefix(l, "Mark M0000_Producer_Core") {
		t.Errorf("label %q (%d characters)", l, n)
	}
	if l := MarkDoneButton(0, "prod", "Billing_CS").Label; l != "Mark Billing_CS republished" {
		t.Errorf("label %q", l)
	}
}

// A producer error pasted long after the preparation's last news is
// listed: a preparation quiet that long is stuck, not running.
func TestProducerListedOnceThePreparationIsQuiet(t *testing.T) {
	now := testNow
	b, store := newClockBot(t, func() time.Time { return now })
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "We are now preparing your modules - 30% (We expect them to be ready at 11:00)")
	mustSay(t, RenderText(msg(t, b, "C1", "U1", "1.2", producerPaste).Reply), "Nothing to record yet for prod")
	now = now.Add(3 * 24 * time.Hour)
	mustSay(t, RenderText(msg(t, b, "C1", "U1", "1.3", producerPaste).Reply), "Recorded for prod")
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 {
		t.Errorf("listed after three quiet days: %+v", st.Modules)
	}
}

// "There were errors preparing some modules." alone leaves work of an
// unknown size: not over, reminded, and the status asks for the names.
func TestErrorsWithoutCountsAreOutstanding(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.")
	status := text(cmd(t, b, "C1", "U1", "status prod"))
	mustSay(t, status, "none is named or counted yet", "/upgrade failed prod: <module>")
	if strings.Contains(status, "took") || strings.Contains(status, "No modules to republish") {
		t.Errorf("the status reads as over:\n%s", status)
	}
	st, _ := store.Status(context.Background(), "T1", "prod", ReminderModules)
	if r := b.reminder(st, nil, b.now(), time.Hour, 0); r == nil {
		t.Error("no reminder")
	} else {
		mustSay(t, RenderText(r), "modules that failed the preparation, not named or counted yet")
	}
}

// An environment chosen with a button leaves out the producers its
// running preparation may yet prepare, as a prefix does.
func TestChosenEnvironmentWhilePreparing(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track dev")
	cmd(t, b, "C1", "U1", "track prod")
	msg(t, b, "C1", "U1", "1.1", "prod: We are now preparing your modules - 40% (We expect them to be ready at 18:21)")
	choose := button(t, msg(t, b, "C1", "U1", "1.2", producerPaste).Reply, ActionChooseEnv+":prod")
	resp := click(b, "c1", choose)
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("listed while the preparation runs: %+v", st.Modules)
	}
	if resp.Update != nil {
		mustSay(t, RenderText(resp.Update), "Nothing to record yet for prod")
	}
	if resp.Reply != nil && strings.Contains(RenderText(resp.Reply), "Already recorded") {
		t.Errorf("the click says %s", RenderText(resp.Reply))
	}
}

// A blocked publish held as older (of the run that failed) does not make
// the preparation running: the producer named with it is listed.
func TestHeldBannerDoesNotHoldProducers(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "There was an error preparing your modules.")
	blocked := "The 1-Click Publish started by ana.silva at 2024-03-12 10:15:02 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01:44, that is locking 'Orders_CS' module."
	out := RenderText(msg(t, b, "C1", "U1", "1.2", blocked+"\n\n"+producerPaste).Reply)
	if strings.Contains(out, "Nothing to record yet") {
		t.Errorf("a held message made the preparation running:\n%s", out)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 {
		t.Errorf("the producer is not listed: %+v", st.Modules)
	}
}

// A message that lists again a module marked republished (an Error Log row
// pasted again, perhaps from before) is held back, saying who marked it
// republished and when, even when it would reopen an upgrade all clear;
// Record anyway lists it again.
func TestReportedAgainAfterRepublish(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "40 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		msg(t, b, "C1", "U1", "1.2", "2026-12-07 07:00:00 Upgrade Failure: Upgrade failed for Billing_CS")
		mustSay(t, text(cmd(t, b, "C1", "U2", "done Billing_CS")), "All clear on prod")
		for i, paste := range []string{"2026-12-07 07:00:00 Upgrade Failure: Upgrade failed for Billing_CS", producerPaste} {
			r := msg(t, b, "C1", "U3", fmt.Sprintf("1.%d", 3+i), paste)
			mustSay(t, text(r), "Not recorded for prod: Billing_CS was marked republished by U2", "is this message older than that?", "[Record anyway]")
			if out := text(r); strings.Contains(out, "no longer all clear") || strings.Contains(out, "Recorded for prod") {
				t.Errorf("the module was listed again without asking:\n%s", out)
			}
			if st, _ := store.Status(context.Background(), "T1", "prod", 0); st.State != progress.StateDone || st.ModuleCount != 0 {
				t.Fatalf("after %q: %s with %d modules, want done with none", paste, st.State, st.ModuleCount)
			}
			if i == 1 {
				mustSay(t, text(click(b, "a1", buttonsOf(r.Reply)["Record anyway"])), "recorded anyway for prod", "Billing_CS")
			}
		}
		mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "failed 1 of 1 left")
	})
}

// Error Log rows that name a producer's consumers say so, with the command
// that lists them, unless they are listed already.
func TestErrorLogNamesConsumers(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	out := RenderText(msg(t, b, "C1", "U1", "1.1", errorLogRow("Orders_UI", "Orders_Core")+"\n"+errorLogRow("Invoices_UI", "Billing_CS")).Reply)
	mustSay(t, out, "Their consumers in these rows: Orders_UI, Invoices_UI", "/upgrade skipped prod: Orders_UI Invoices_UI")
	cmd(t, b, "C1", "U1", "skipped Orders_UI Invoices_UI")
	if out := RenderText(msg(t, b, "C1", "U1", "1.2", errorLogRow("Orders_UI", "Orders_Core")).Reply); strings.Contains(out, "Their consumers") {
		t.Errorf("consumers listed already are offered again:\n%s", out)
	}
}

// "Upgrade Failure: Upgrade failed for prod" names an environment, not a module: held, with
// "Record anyway", as is a lower-case name of another of the workspace's
// environments; any other name is recorded. Without the Error Log's prefix,
// "upgrade failed for prod" is chat, no finding (diagnosis' corpus).
func TestEnvironmentNameIsNoModule(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		cmd(t, b, "C2", "U1", "track qa 11.31.0")
		for i, c := range []struct {
			text string
			held string // the name held back, or "" when recorded
		}{
			{"Upgrade Failure: Upgrade failed for prod", "prod"},
			{"Upgrade Failure: Upgrade failed for PROD", "PROD"},
			{"Upgrade Failure: Upgrade failed for qa", "qa"},
			{"upgrade failed for orders", ""},
			{"Upgrade Failure: Upgrade failed for Qa_Core", ""},
		} {
			out := RenderText(msg(t, b, "C1", "U1", fmt.Sprintf("1.%d", i+1), c.text).Reply)
			if c.held != "" {
				mustSay(t, out, "Not recorded for prod: "+c.held+" is the name of an environment here", "Record anyway")
			} else if strings.Contains(out, "name of an environment") || !strings.Contains(out, "Recorded for prod") {
				t.Errorf("%q: not recorded:\n%s", c.text, out)
			}
		}
		st, err := store.Status(context.Background(), "T1", "prod", -1)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range st.Modules {
			names = append(names, m.Name)
		}
		if strings.Join(names, ",") != "orders,Qa_Core" {
			t.Errorf("prod lists %v, want orders and Qa_Core", names)
		}
	})
}

// Module names are never plain text, which Slack's mrkdwn could format
// ("_Core_" in italics, "*Orders*" in bold): in held lines they are code,
// in history verbatim (code when mrkdwn could format it).
func TestNamesAreNeverFormatted(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		const name = "Orders*2"
		replies := map[string]*Reply{
			"held": msg(t, b, "C1", "U1", "1.1", "I guess the upgrade failed for "+name+", can someone look?").Reply,
		}
		cmd(t, b, "C1", "U1", `failed "`+name+`"`)
		replies["history"] = cmd(t, b, "C1", "U1", "history prod").Reply
		for what, r := range replies {
			out := RenderText(r)
			if !strings.Contains(out, name) {
				t.Fatalf("%s does not name %s:\n%s", what, name, out)
			}
			for _, bl := range r.Blocks {
				for _, l := range bl.Lines {
					for _, s := range l {
						if s.Style == Plain && strings.Contains(s.Text, name) {
							t.Errorf("%s: %q is plain text, which mrkdwn formats", what, s.Text)
						}
					}
				}
			}
		}
	})
}

// An environment followed without a target version: a message naming one
// offers it as the target (a button running track), and records nothing
// more until it is clicked; once there is a target, nothing is offered.
func TestTargetVersionOffered(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		ctx := context.Background()
		cmd(t, b, "C1", "U1", "track prod")
		const paste = "Upgrade Failure: Upgrade failed for Employees\tCompilerService\tSRV01\tDetail\nDevelopment purpose\nVersion 11.31.0 (Build 22500)"
		r := msg(t, b, "C1", "U1", "1.1", paste).Reply
		mustSay(t, RenderText(r), "prod has no target version yet, and this message names Platform Server 11.31.0: /upgrade track prod 11.31.0", "Recorded for prod")
		bt := button(t, r, ActionTarget)
		if bt.Command != "track prod 11.31.0" || bt.Label != "Make 11.31.0 the target" {
			t.Fatalf("button %q runs %q", bt.Label, bt.Command)
		}
		if st, err := store.Environment(ctx, "T1", "prod"); err != nil || st.Version != "" {
			t.Fatalf("target before the click: %q, %v", st.Version, err)
		}
		out := RenderText(click(b, "a1", bt).Reply)
		if st, err := store.Environment(ctx, "T1", "prod"); err != nil || st.Version != "11.31.0" {
			t.Fatalf("target after the click: %q, %v\n%s", st.Version, err, out)
		}
		// With a target: the same version says nothing more, another is held back.
		if out := RenderText(msg(t, b, "C1", "U1", "1.2", paste).Reply); strings.Contains(out, "target version yet") {
			t.Errorf("offered again:\n%s", out)
		}
		other := strings.Replace(paste, "11.31.0", "11.12.1", 1)
		mustSay(t, RenderText(msg(t, b, "C1", "U1", "1.3", other).Reply), "this message names Platform Server 11.12.1, but prod's target is 11.31.0")
	})
}

// A module recorded nowhere (no environment followed here, or the message
// is about one followed elsewhere) gets no button marking it republished.
func TestNoMarkButtonWhenNotRecorded(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C2", "U1", "track prod 11.31.0")
		for i, c := range []struct{ channel, text, says string }{
			{"C1", "prod: Upgrade Failure: Upgrade failed for X_Core", "Not recorded"},
			{"C1", "Upgrade Failure: Upgrade failed for X_Core", "Not tracked"},
		} {
			text := c.text
			r := msg(t, b, c.channel, "U1", fmt.Sprintf("1.%d", i+1), text).Reply
			mustSay(t, RenderText(r), c.says)
			for _, bl := range r.Blocks {
				for _, bt := range bl.Buttons {
					if strings.HasPrefix(bt.ActionID, ActionMarkDone) {
						t.Errorf("%q: a %q button, though nothing was recorded:\n%s", text, bt.Label, RenderText(r))
					}
				}
			}
		}
	})
}

// A paste starting with an environment's name tracked nowhere ("staging:")
// is not recorded for this channel's environment; "Note:" is no name.
func TestUntrackedEnvironmentPrefix(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		for i, tc := range []struct {
			prefix   string
			recorded bool
		}{
			{"staging", false}, {"DEV2", false}, {"prod-eu", false}, {"Note", true},
			{"Production", true}, {"PRD", true}, {"prd1", false}, // prod in other words, or another prod
		} {
			text := tc.prefix + ": Upgrade Failure: Upgrade failed for Mod" + fmt.Sprint(i)
			out := RenderText(msg(t, b, "C1", "U1", fmt.Sprintf("1.%d", i+1), text).Reply)
			if tc.recorded {
				mustSay(t, out, "Recorded for prod")
				continue
			}
			mustSay(t, out, "Not recorded: this is about "+strings.ToLower(tc.prefix)+", which is not tracked. /upgrade track "+strings.ToLower(tc.prefix)+" here")
			if strings.Contains(out, "Recorded for prod") || strings.Contains(out, "Mark ") {
				t.Errorf("%q recorded for prod:\n%s", text, out)
			}
		}
		st, err := store.Status(context.Background(), "T1", "prod", -1)
		if err != nil || len(st.Modules) != 3 || st.Modules[0].Name != "Mod3" {
			t.Errorf("prod lists %+v (%v), want Mod3, Mod4 and Mod5", st.Modules, err)
		}
		// "prod:" and "Production:" lines are one environment.
		mustSay(t, RenderText(msg(t, b, "C1", "U1", "2.1", "prod: Upgrade Failure: Upgrade failed for ModA\nProduction: Upgrade Failure: Upgrade failed for ModB").Reply), "Recorded for prod")
	})
}

// Lines starting with different environments in one paste are not
// recorded for one of them: the reply asks for them one by one.
func TestSeveralEnvironmentPrefixes(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track qa 11.31.0")
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		for i, text := range []string{
			"prod: Status update:\nqa: There were errors preparing some modules. 26 modules prepared successfully, 1 modules failed and 0 modules skipped.\nprod: We are now preparing your modules - 40% (We expect them to be ready at 18:21)",
			"qa: Upgrade Failure: Upgrade failed for A_Core\nstaging: Upgrade Failure: Upgrade failed for B_Core",
		} {
			out := RenderText(msg(t, b, "C1", "U1", fmt.Sprintf("1.%d", i+1), text).Reply)
			mustSay(t, out, "Not recorded: the lines of this message start with 2 environments", "Paste each environment's messages on their own")
		}
		for _, env := range []string{"qa", "prod"} {
			if st, err := store.Status(context.Background(), "T1", env, -1); err != nil || st.State != progress.StateFollowing || len(st.Modules) > 0 {
				t.Errorf("%s: %s with %d modules (%v), want nothing recorded", env, st.State, len(st.Modules), err)
			}
		}
		// One environment on several lines is one environment.
		mustSay(t, RenderText(msg(t, b, "C1", "U1", "2.1", "qa: Upgrade Failure: Upgrade failed for A_Core\nqa: Upgrade Failure: Upgrade failed for B_Core").Reply), "Recorded for qa")
	})
}

// Service Center's ready banner pasted after the all clear says what is
// recorded (the environment is finished either way): it is acknowledged
// as known, not held back as older with a Record anyway button.
func TestReadyAfterDoneIsKnown(t *testing.T) {
	const ready = "This environment is ready (Release Notes)\nNo further actions are required."
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		ctx := context.Background()
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		msg(t, b, "C1", "U1", "1.2", "Upgrade Failure: Upgrade failed for Billing_CS")
		mustSay(t, text(cmd(t, b, "C1", "U1", "done Billing_CS")), "All clear on prod")
		n := len(historyOf(t, store, "prod"))
		r := msg(t, b, "C1", "U1", "1.3", ready)
		out := text(r)
		mustSay(t, out, "Already recorded for prod: done")
		if strings.Contains(out, "older") || strings.Contains(out, "Not recorded") || buttonCommands(r)["Record anyway"] != "" {
			t.Errorf("the ready banner after done is held back:\n%s", out)
		}
		st, err := store.Status(ctx, "T1", "prod", 0)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != progress.StateDone || len(historyOf(t, store, "prod")) != n {
			t.Errorf("after the ready banner: %s, %d history entries (want done, %d)", st.State, len(historyOf(t, store, "prod")), n)
		}
	})
}

func historyOf(t *testing.T, store progress.Store, env string) []progress.HistoryEntry {
	t.Helper()
	h, err := store.History(context.Background(), "T1", env)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The version offered as the target is one the environment is upgraded
// to: newer than its "from" version (when known) and 11.12 or later, the
// first with the modules preparation; otherwise nothing is offered.
func TestTargetVersionOfferedOnlyNewer(t *testing.T) {
	for _, tc := range []struct {
		track, version, offer string
	}{
		{"track uat from 11.14.0", "11.14.0", ""}, // the version upgraded from
		{"track uat from 11.14.0", "11.14", ""},   // the same release
		{"track uat from 11.14.0", "11.13.2", ""}, // older still
		{"track uat from 11.14.0", "11.31.0", "11.31.0"},
		{"track uat from 11.9.0", "11.12.0", "11.12.0"}, // 9 < 12, as numbers
		{"track uat from 10.0.1", "11.18.1", "11.18.1"},
		{"track uat", "11.10.0", ""}, // no modules preparation before 11.12
		{"track uat", "11.12.0", "11.12.0"},
	} {
		t.Run(tc.track+" "+tc.version, func(t *testing.T) {
			eachStore(t, func(t *testing.T, b *Bot, _ progress.Store) {
				cmd(t, b, "C1", "U1", tc.track)
				r := msg(t, b, "C1", "U1", "1.1", "uat: Producer 'Billing_CS' was published with a different Platform Server version. Please republish 'Billing_CS' to prevent runtime errors.\nVersion "+tc.version+" (Build 30000)")
				got := ""
				for label, command := range buttonCommands(r) {
					if strings.HasPrefix(label, "Make ") {
						got = strings.TrimPrefix(command, "track uat ")
					}
				}
				if out := text(r); got != tc.offer || (tc.offer == "") == strings.Contains(out, "has no target version yet") {
					t.Errorf("offered %q, want %q:\n%s", got, tc.offer, out)
				}
			})
		})
	}
}

// track refuses a target that is not newer than the version the
// environment is upgraded from, given together or one after the other,
// and says what to type.
func TestTrackTargetNotNewerThanFrom(t *testing.T) {
	for _, tc := range []struct {
		commands []string
		refused  bool
	}{
		{[]string{"track uat 11.14.0 from 11.14.0"}, true},
		{[]string{"track uat 11.13.0 from 11.14.0"}, true},
		{[]string{"track uat from 11.14.0", "track uat 11.14.0"}, true}, // the button's command
		{[]string{"track uat 11.31.0", "track uat from 11.31.0"}, true},
		{[]string{"track uat 11.31.0 from 11.14.0"}, false},
		{[]string{"track uat 11.12.0 from 11.9.0"}, false},
		{[]string{"track uat from 11.14.0", "track uat 11.31.0"}, false},
	} {
		t.Run(strings.Join(tc.commands, "; "), func(t *testing.T) {
			eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
				var r Response
				for _, c := range tc.commands {
					r = cmd(t, b, "C1", "U1", c)
				}
				out := text(r)
				e, err := store.Environment(context.Background(), "T1", "uat")
				if err != nil && !errors.Is(err, progress.ErrNotFound) {
					t.Fatal(err)
				}
				if !tc.refused {
					if r.Announce == nil || e.Version == "" || e.FromVersion == "" {
						t.Errorf("not tracked: target %q from %q\n%s", e.Version, e.FromVersion, out)
					}
					return
				}
				mustSay(t, out, "is not newer than", "/upgrade track uat")
				if r.Announce != nil || e.Version != "" && e.FromVersion != "" {
					t.Errorf("recorded: target %q from %q\n%s", e.Version, e.FromVersion, out)
				}
			})
		})
	}
}

// A target older than 11.12 (whose upgrades prepare no modules) is
// refused, and says where the version upgraded from goes; 11.12 and a
// from below it are taken.
func TestTrackTargetBeforeModulesPreparation(t *testing.T) {
	for _, tc := range []struct {
		command string
		refused bool
	}{
		{"track qa 11.5", true},
		{"track qa 9.1 cloud", true},
		{"track qa 11.11.3", true},
		{"track qa 11.12", false},
		{"track qa 11.31.0 from 11.5", false},
		{"track qa 11.31.0 from 10.0", false},
	} {
		b, store := newTestBot(t)
		r := cmd(t, b, "C1", "U1", tc.command)
		_, err := store.Environment(context.Background(), "T1", "qa")
		if tracked := err == nil; tracked == tc.refused {
			t.Errorf("%s: tracked %v, want %v:\n%s", tc.command, tracked, !tc.refused, text(r))
		}
		if tc.refused {
			mustSay(t, text(r), "is older than 11.12, the first version whose upgrade prepares the modules", "/upgrade track qa <version> from ")
		}
	}
}

// What done says is left adds up with the status: the modules Service
// Center counted and nobody named are left too.
func TestDoneCountsTheUnnamed(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 2 modules skipped.")
		msg(t, b, "C1", "U1", "1.2", "Upgrade Failure: Upgrade failed for A_Core")
		cmd(t, b, "C1", "U1", "skipped B_Core")
		mustSay(t, text(cmd(t, b, "C1", "U1", "done A_Core")), "republished A_Core on prod: 1 left on the list, and 1 that Service Center counted and nobody named.")
		mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "skipped 1 of 1 left · 1 not named (skipped)")
		// A module not named yet may be one of those counted: the reply says how to name it.
		mustSay(t, text(cmd(t, b, "C1", "U1", "done Invoices_UI")), `Not on prod's list, so nothing recorded: "Invoices_UI".`,
			"Service Center counted 1 skipped module that nobody has named: if it is one of them, name it first with /upgrade skipped prod: Invoices_UI, then mark it republished.")
	})
}

// The hint after a done of an unnamed module names the group Service
// Center counted: following it leaves the record consistent.
func TestDoneHintNamesTheCountedGroup(t *testing.T) {
	for _, tc := range []struct{ counts, want string }{
		{"29 modules prepared successfully, 1 modules failed and 0 modules skipped.", "Service Center counted 1 failed module that nobody has named: if it is one of them, name it first with /upgrade failed dev: Foo_Core, then mark it republished."},
		{"29 modules prepared successfully, 0 modules failed and 1 modules skipped.", "Service Center counted 1 skipped module that nobody has named: if it is one of them, name it first with /upgrade skipped dev: Foo_Core, then mark it republished."},
		{"28 modules prepared successfully, 1 modules failed and 1 modules skipped.", "Service Center counted 2 failed or skipped modules that nobody has named: if it is one of them, name it first with /upgrade failed dev: Foo_Core (or skipped), then mark it republished."},
	} {
		b, _ := newTestBot(t)
		cmd(t, b, "C1", "U1", "track dev 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n"+tc.counts)
		mustSay(t, text(cmd(t, b, "C1", "U1", "done Foo_Core")), tc.want)
	}
}

// Service Center's Error Log grid pasted with its header is read row by
// row, as its export is: a "This Module…" row takes its Module column.
func TestPastedErrorLogGrid(t *testing.T) {
	const notUpgraded = "This Module hasn't been upgraded to the current environment version. Please publish the module."
	grid := "Time of Log\tMessage\tModule\tApplication\tUsername\n" +
		"2026-12-06 10:12:01\t" + notUpgraded + "\tInvoices_UI\tInvoices\t\n" +
		"2026-12-06 10:12:02\t" + notUpgraded + "\tOrders_UI\tOrders\t\n"
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		mustSay(t, RenderText(msg(t, b, "C1", "U1", "1.1", grid).Reply), "Recorded for prod", "Invoices_UI", "Orders_UI")
		// After a line or two of its own, the grid is read all the same, and so are they.
		out := RenderText(msg(t, b, "C1", "U1", "1.2", "prod:\nError Log from SC:\nThere were errors preparing some modules.\n"+
			strings.ReplaceAll(strings.ReplaceAll(grid, "Invoices", "Billing"), "Orders", "Sales")).Reply)
		mustSay(t, out, "Billing_UI", "Sales_UI", "Some modules failed the modules preparation step")
		st, err := store.Status(context.Background(), "T1", "prod", -1)
		if err != nil || len(st.Modules) != 4 {
			t.Errorf("prod lists %+v (%v), want Invoices_UI, Orders_UI, Billing_UI and Sales_UI", st.Modules, err)
		}
	})
}

// The grid followed by more text (the banner quoted below it, after an
// empty line or not) is still read row by row, and the text after it as
// text: a "This Module…" row keeps its Module column. A quoted cell of
// several lines (an Excel copy's stack) is no end of the grid.
func TestPastedErrorLogGridThenText(t *testing.T) {
	const notUpgraded = "This Module hasn't been upgraded to the current environment version. Please publish the module. Alternatively, run another environment upgrade."
	const banner = "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."
	grid := "Time of Log\tModule\tMessage\tSource\tServer\t\n" +
		"2020-10-28 19:25:10\tInvoices_UI\t" + notUpgraded + "\tDeployService\tPRDFWS01\tDetail\n" +
		"2020-10-28 19:25:11\tOrders_UI\tProducer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.\tDeployService\tPRDFWS01\tDetail\n"
	stacked := "Time of Log\tModule\tMessage\tStack\n" +
		"2020-10-28 19:25:10\tInvoices_UI\t" + notUpgraded + "\t\"   at OutSystems.A()\n   at OutSystems.B()\n   at OutSystems.C()\"\n" +
		"2020-10-28 19:25:11\tSales_UI\t" + notUpgraded + "\t\n"
	for name, tc := range map[string]struct {
		paste string
		want  []string // the modules listed
	}{
		"after an empty line":   {grid + "\nand the banner on the home page says:\n" + banner, []string{"Invoices_UI", "Billing_CS"}},
		"right after the rows":  {grid + banner, []string{"Invoices_UI", "Billing_CS"}},
		"a cell of three lines": {stacked + "\n" + banner, []string{"Invoices_UI", "Sales_UI"}},
	} {
		t.Run(name, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod 11.31.0")
			out := text(msg(t, b, "C1", "U1", "1.1", tc.paste))
			if strings.Contains(out, "Which module") {
				t.Errorf("asks which module:\n%s", out)
			}
			st, _ := store.Status(context.Background(), "T1", "prod", -1)
			var names []string
			for _, m := range st.Modules {
				names = append(names, m.Name)
			}
			slices.Sort(names)
			if want := slices.Sorted(slices.Values(tc.want)); !slices.Equal(names, want) || st.Counts.Failed == nil || *st.Counts.Failed != 1 {
				t.Errorf("prod lists %v, failed %v; want %v and the banner's counts:\n%s", names, st.Counts.Failed, want, out)
			}
		})
	}
}

// A grid pasted in Slack comes with Slack's escapes and links in its
// cells, as the rest of the message does: its Module column is read as
// shown (R&D_Tools, not R&amp;D_Tools; Billing.io, not refused as a link).
// An uploaded file's cells are the file's, not escaped: kept as they are.
func TestPastedErrorLogGridCellsUnescaped(t *testing.T) {
	const notUpgraded = "This Module hasn't been upgraded to the current environment version. Please publish the module. Alternatively, run another environment upgrade."
	grid := "Time of Log\tModule\tMessage\tSource\tServer\t\n" +
		"2020-10-28 19:25:10\tR&amp;D_Tools\t" + notUpgraded + "\tDeployService\tPRDFWS01\tDetail\n" +
		"2020-10-28 19:25:11\t<http://Billing.io|Billing.io>\t" + notUpgraded + "\tDeployService\tPRDFWS01\tDetail\n" +
		"2020-10-28 19:25:12\tR&amp;D_UI\tProducer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.\tDeployService\tPRDFWS01\tDetail\n"
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	out := text(msg(t, b, "C1", "U1", "1.1", grid))
	mustSay(t, out, "consumers in these rows: R&D_UI")
	if strings.Contains(out, "&amp;") || strings.Contains(out, "may not contain") {
		t.Errorf("reply:\n%s", out)
	}
	st, _ := store.Status(context.Background(), "T1", "prod", -1)
	var names []string
	for _, m := range st.Modules {
		names = append(names, m.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"Billing.io", "Billing_CS", "R&D_Tools"}) {
		t.Errorf("prod lists %v, want Billing.io, Billing_CS and R&D_Tools:\n%s", names, out)
	}
	// The same rows in a shared file are the file's own text.
	b, store = newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	imageMsg(t, b, "2.1", "", b.ReadFile("errors.txt", []byte(strings.ReplaceAll(grid, "<http://Billing.io|Billing.io>", "Billing.io"))))
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); !slices.ContainsFunc(st.Modules, func(m progress.Module) bool { return m.Name == "R&amp;D_Tools" }) {
		t.Errorf("the file's module was changed: %+v", st.Modules)
	}
}

// The Error Log page copied whole, its grid's header and the page's
// version line with it: the rows are read one by one and still held back
// when that version is not the target, as without the header.
func TestPastedErrorLogPageKeepsItsVersion(t *testing.T) {
	const row = "2020-10-28 19:23:00\t\tUpgrade Failure: Upgrade failed for Employees\tCompilerService\tSRV01\tDetail\n"
	for name, page := range map[string]string{
		"with the header":    "Error Log\nTime of Log\tModule\tMessage\tSource\tServer\n" + row + "Development purpose\nVersion 11.10.0 (Build 22500)",
		"without the header": "Error Log\n" + row + "Development purpose\nVersion 11.10.0 (Build 22500)",
	} {
		t.Run(name, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod 11.31.0")
			mustSay(t, text(msg(t, b, "C1", "U1", "1.1", page)), "Not recorded for prod: this message names Platform Server 11.10.0, but prod's target is 11.31.0")
			if st, _ := store.Status(context.Background(), "T1", "prod", 0); st.ModuleCount != 0 {
				t.Errorf("recorded %d modules, want none", st.ModuleCount)
			}
		})
	}
}

// A list emptied with no news of the preparation is not all clear: the
// reply says its outcome is not known yet; after the summary, all clear.
func TestAllClearBeforeTheOutcome(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		const unknown = "No outcome of the modules preparation is recorded yet"
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		cmd(t, b, "C1", "U1", "failed A_Core")
		out := text(cmd(t, b, "C1", "U1", "done A_Core"))
		mustSay(t, out, "prod's list is empty: every module reported has been republished.", unknown)
		if strings.Contains(out, "All clear") {
			t.Errorf("all clear before the outcome:\n%s", out)
		}
		cmd(t, b, "C1", "U1", "track qa 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "qa: There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 0 modules skipped.\nUpgrade Failure: Upgrade failed for B_Core")
		if out := text(cmd(t, b, "C1", "U1", "done qa: B_Core")); !strings.Contains(out, "All clear on qa") || strings.Contains(out, unknown) {
			t.Errorf("after the summary:\n%s", out)
		}
	})
}

// A reset says which versions it kept, and how to name the next upgrade's.
func TestResetSaysWhatItKept(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0 from 10.0.1")
		mustSay(t, text(cmd(t, b, "C1", "U1", "reset prod --yes")), "Kept: the target, Platform Server 11.31.0, upgraded from 10.0.1. For an upgrade to another version: /upgrade track prod <version> from 11.31.0 --yes.")
		cmd(t, b, "C1", "U1", "track prod 11.32.0 from 11.31.0 --yes")
		out := text(cmd(t, b, "C1", "U1", "status prod"))
		mustSay(t, out, "11.31.0 → 11.32.0")
		if strings.Contains(out, "republish all applications") {
			t.Errorf("still upgraded from 10:\n%s", out)
		}
	})
}

// A message of a later version than the target says how to make it the
// target; one of an earlier version asks whether it is an older upgrade.
func TestOtherVersionHeld(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track qa 11.14.0")
	later := text(msg(t, b, "C1", "U1", "1.1", "qa: Platform Server Version 11.31.0 (Build 44212)\nThere were errors preparing some modules."))
	mustSay(t, later, "names Platform Server 11.31.0, but qa's target is 11.14.0, an older one: if 11.31.0 is the target, /upgrade track qa 11.31.0 sets it.")
	earlier := text(msg(t, b, "C1", "U1", "1.2", "qa: Platform Server Version 11.13.0 (Build 44212)\nThere were errors preparing some modules."))
	mustSay(t, earlier, "names Platform Server 11.13.0, but qa's target is 11.14.0 — an earlier upgrade, or another environment?")
}

// A module reported after the all-clear reopens the upgrade, and the
// channel that heard the all-clear hears that too.
func TestReopenedAfterAllClear(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track dev 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n29 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		msg(t, b, "C1", "U1", "1.2", "Upgrade Failure: Upgrade failed for A_Core")
		mustSay(t, text(cmd(t, b, "C1", "U1", "done A_Core")), "All clear on dev")
		// Service Center's one failed module is named: another producer not
		// prepared is held back (another environment's?), and recorded anyway.
		held := msg(t, b, "C1", "U2", "1.3", "Producer module 'Zed_Core' hasn't been prepared for the current OutSystems environment version.")
		if held.Milestone != nil {
			t.Errorf("a held report posted a milestone: %s", RenderText(held.Milestone))
		}
		r := click(b, "a1", buttonsOf(held.Reply)["Record anyway"])
		mustSay(t, RenderText(r.Milestone), ":warning: dev: no longer all clear, modules to republish again")
		// A second report while it is open again is no milestone.
		if r := cmd(t, b, "C1", "U2", "failed Yak_Core"); r.Milestone != nil {
			t.Errorf("a second report posted a milestone: %s", RenderText(r.Milestone))
		}
	})
}

// An upgrade from 11.10.0 or earlier: the track reply and the status say
// that OutSystems advises publishing every application; later ones do not.
func TestPublishAllAdvisedFrom1110(t *testing.T) {
	for _, tc := range []struct {
		from    string
		advised bool
	}{{"11.9.2", true}, {"11.10.0", true}, {"11.10", true}, {"11.10.1", false}, {"11.14.0", false}, {"10.0.1", false}, {"", false}} {
		b, _ := newTestBot(t)
		track := strings.TrimSpace("track prod 11.31.0 from " + tc.from)
		if tc.from == "" {
			track = "track prod 11.31.0"
		}
		for _, out := range []string{text(cmd(t, b, "C1", "U1", track)), text(cmd(t, b, "C1", "U1", "status prod"))} {
			if got := strings.Contains(out, "OutSystems advises publishing all applications"); got != tc.advised {
				t.Errorf("from %q: advised %v, want %v:\n%s", tc.from, got, tc.advised, out)
			}
		}
	}
}

// A new run of the preparation after its step failed: a module republished
// before it does not cover the run's count of failed modules, so its
// summary is no all-clear; the unnamed module is a failed one.
func TestNewRunAfterFailedStepNotAllClear(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track test 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "There was an error preparing your modules.")
		cmd(t, b, "C1", "U1", "failed Billing_CS")
		cmd(t, b, "C1", "U1", "done Billing_CS")
		msg(t, b, "C1", "U1", "1.2", "We are now preparing your modules - 10% (We expect them to be ready at 23:00)")
		r := msg(t, b, "C1", "U1", "1.3", "There were errors preparing some modules.\n29 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		out := RenderText(r.Milestone) + text(r)
		if strings.Contains(out, "All clear") {
			t.Errorf("the new run's summary is an all-clear:\n%s", out)
		}
		mustSay(t, out, "test: preparation finished with errors", "1 not named (failed)")
	})
}

// A banner of a new run, recorded anyway after a summary, starts that run:
// the old counts are no longer shown, and its summary is recorded as its
// result without asking again.
func TestNewRunRecordedAnyway(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n30 modules prepared successfully, 2 modules failed and 1 modules skipped.")
		cmd(t, b, "C1", "U1", "failed A_Core B_Core")
		r := msg(t, b, "C1", "U1", "1.2", "We are now preparing your modules - 10% (We expect them to be ready at 23:00)")
		anyway, ok := buttonsOf(r.Reply)["Record anyway"]
		if !ok {
			t.Fatalf("the new run's banner was not held:\n%s", text(r))
		}
		click(b, "a1", anyway)
		if out := text(cmd(t, b, "C1", "U1", "status prod")); strings.Contains(out, "30 prepared") {
			t.Errorf("the old run's counts shown while the new one runs:\n%s", out)
		}
		mustSay(t, text(msg(t, b, "C1", "U1", "1.3", "There were errors preparing some modules.\n32 modules prepared successfully, 1 modules failed and 0 modules skipped.")),
			"Recorded for prod: preparation finished: 32 prepared, 1 failed, 0 skipped")
	})
}

// An upgrade from Platform Server 10 has no summary to wait for: emptying
// its list points to done all, and envs says what the reminders say.
func TestFromPlatformServer10ListEmptied(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track legacy 11.31.0 from 10.0.1")
	cmd(t, b, "C1", "U1", "failed X_Core")
	out := text(cmd(t, b, "C1", "U1", "done X_Core"))
	mustSay(t, out, "upgrades from Platform Server 10 or earlier do not prepare the modules", "/upgrade done legacy: all")
	if strings.Contains(out, "paste its summary") {
		t.Errorf("asks for a summary an upgrade from 10 does not have:\n%s", out)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "envs")), "legacy — no news of the preparation yet, all applications to republish")
}

// The ready banner right after track is all clear without saying that
// modules were reported and republished: none was.
func TestReadyAtOnceAllClearWording(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	r := msg(t, b, "C1", "U1", "1.1", "This environment is ready (Release Notes) No further actions are required.")
	out := text(r) + RenderText(r.Milestone)
	mustSay(t, out, "All clear on prod: nothing is left to republish.")
	if strings.Contains(out, "every module reported") {
		t.Errorf("speaks of modules reported, none was:\n%s", out)
	}
}

// A button offered while the channel followed an environment does nothing
// there once the channel stops following it: a choice records nothing, and
// a target offered does not follow it again (untrack is the admins').
func TestButtonsAfterUntrack(t *testing.T) {
	b, store := newTestBot(t)
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "track qa")
	choose := button(t, msg(t, b, "C1", "U1", "1.1", producerPaste).Reply, ActionChooseEnv+":qa")
	const paste = "qa: Upgrade Failure: Upgrade failed for Employees\tCompilerService\tSRV01\tDetail\nDevelopment purpose\nVersion 11.31.0 (Build 22500)"
	target := button(t, msg(t, b, "C1", "U1", "1.2", paste).Reply, ActionTarget)
	cmd(t, b, "C1", "U1", "untrack qa")
	mustSay(t, text(click(b, "c1", choose)), "This channel no longer follows qa, so nothing was recorded there")
	mustSay(t, text(click(b, "c2", target)), "This channel no longer follows qa, so that button is out of date: `/upgrade track qa 11.31.0` follows it again.")
	if envs, _ := store.ChannelEnvironments(ctx, "T1", "C1"); len(envs) != 1 || envs[0].Name != "prod" {
		t.Errorf("the channel follows %+v", envs)
	}
	if st, _ := store.Status(ctx, "T1", "qa", -1); len(st.Modules) != 1 { // Employees, from the paste before untrack
		t.Errorf("qa lists %+v", st.Modules)
	}
}

// A view of an environment with more modules than a status lists points
// to the export, not to a status that shows the same modules.
func TestMoreModulesThanAStatusLists(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	var names []string
	for i := range 2 * statusModules {
		names = append(names, fmt.Sprintf("M%03d", i))
	}
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "failed-many", Text: "failed prod: " + strings.Join(names, " ")})
	m, err := b.LivingStatus(ctx, "T1", "C1", "prod")
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"pinned": text(Response{Reply: m.Reply}), "status": text(cmd(t, b, "C1", "U1", "status prod"))} {
		mustSay(t, out, "/upgrade export prod lists every module.")
		if strings.Contains(out, "/upgrade status prod shows") {
			t.Errorf("%s points to a status that shows the same:\n%s", name, out)
		}
	}
}

// In a channel following several environments, the commands the bot
// suggests name the environment: typed as shown, they are not refused.
func TestSuggestedCommandsNameTheEnvironment(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track dev 11.31.0")
	cmd(t, b, "C1", "U1", "track test 11.31.0")
	milestone := RenderText(msg(t, b, "C1", "U1", "1.1", "test: 40 modules prepared successfully, 1 modules failed and 0 modules skipped.").Milestone)
	status := text(cmd(t, b, "C1", "U1", "status test"))
	for _, c := range []struct{ name, out, suggested string }{
		{"milestone", milestone, "/upgrade take test: <module>"},
		{"status", status, "/upgrade failed test: <module>"},
	} {
		if !strings.Contains(c.out, c.suggested) {
			t.Errorf("%s does not suggest %q:\n%s", c.name, c.suggested, c.out)
		}
	}
	typed := strings.NewReplacer("/upgrade ", "", "<module>", "Billing_CS").Replace("/upgrade failed test: <module>")
	mustSay(t, text(cmd(t, b, "C1", "U1", typed)), "test")
	if got := text(cmd(t, b, "C1", "U1", "status test")); !strings.Contains(got, "Billing_CS") {
		t.Errorf("the suggested command did not list Billing_CS on test:\n%s", got)
	}
}
