package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
)

// buttonCommands maps each button of a response to its Command.
func buttonCommands(r Response) map[string]string {
	got := map[string]string{}
	for _, reply := range []*Reply{r.Reply, r.Announce} {
		if reply == nil {
			continue
		}
		for _, bl := range reply.Blocks {
			for _, bt := range bl.Buttons {
				got[bt.Label] = bt.Command
			}
		}
	}
	return got
}

func TestButtonCommands(t *testing.T) {
	made := []struct {
		name string
		bt   Button
		want string
	}{
		{"mark done", MarkDoneButton(0, "qa", "Billing_CS"), "done qa: Billing_CS"},
		{"mark done, no environment", MarkDoneButton(1, "", "Orders"), "done Orders"},
		{"a name with a space", MarkDoneButton(0, "qa", "Customer Portal"), `done qa: "Customer Portal"`},
		{"a name with a comma", MarkDoneButton(0, "", "A,B"), `done "A,B"`},
		{"a module named all", MarkDoneButton(0, "qa", "All"), `done qa: "All"`},
		{"status", ShowStatusButton(0, "qa"), "status qa"},
		{"status of every environment", ShowStatusButton(0, ""), "status"},
	}
	for _, tc := range made {
		if tc.bt.Command != tc.want {
			t.Errorf("%s: Command %q, want %q", tc.name, tc.bt.Command, tc.want)
		}
	}

	// The buttons of the core's replies, by label.
	replies := []struct {
		name  string
		setup []string // commands run first in channel C1
		run   func(*testing.T, *Bot) Response
		want  map[string]string
	}{
		{"a diagnosis", []string{"track qa"}, func(t *testing.T, b *Bot) Response { return msg(t, b, "C1", "U1", "1.1", producerPaste) },
			map[string]string{"Mark Billing_CS republished": "done qa: Billing_CS", "Show status": "status qa", "Undo": "undo " + undoCode(replyKey(Message{Channel: "C1", TS: "1.1"}))}},
		{"status shares every environment", []string{"track qa", "track dev"}, func(t *testing.T, b *Bot) Response { return cmd(t, b, "C1", "U1", "status") },
			map[string]string{"Share in channel": "status"}},
		{"status of one environment shares it", []string{"track qa", "track dev"}, func(t *testing.T, b *Bot) Response { return cmd(t, b, "C1", "U1", "status qa") },
			map[string]string{"Share in channel": "status qa"}},
		{"choosing an environment: record, with the message's key", []string{"track qa", "track prod"}, func(t *testing.T, b *Bot) Response { return msg(t, b, "C1", "U1", "1.1", producerPaste) },
			map[string]string{"qa": "record " + replyKey(Message{Channel: "C1", TS: "1.1"}) + ":qa", "prod": "record " + replyKey(Message{Channel: "C1", TS: "1.1"}) + ":prod"}},
	}
	for _, tc := range replies {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTestBot(t)
			for _, c := range tc.setup {
				cmd(t, b, "C1", "U1", c)
			}
			if got := buttonCommands(tc.run(t, b)); !maps.Equal(got, tc.want) {
				t.Errorf("buttons %q, want %q", got, tc.want)
			}
		})
	}
}

// TestButtonCommandsDoTheSame clicks each button of a diagnosis on one bot
// and runs its command on another set up alike: the outcomes match.
func TestButtonCommandsDoTheSame(t *testing.T) {
	ctx := context.Background()
	setup := func() (*Bot, Response) {
		b, _ := newTestBot(t)
		cmd(t, b, "C1", "U1", "track qa")
		return b, msg(t, b, "C1", "U1", "1.1", producerPaste)
	}
	_, resp := setup()
	n := 0
	for _, bl := range resp.Reply.Blocks {
		for _, bt := range bl.Buttons {
			n++
			clicked, _ := setup()
			typed, _ := setup()
			// Undo's command takes back your last change: the paste's author's.
			user := "U2"
			if bt.ActionID == ActionUndo {
				user = "U1"
			}
			click := clicked.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: user, ID: "a1", ActionID: bt.ActionID, Value: bt.Value})
			command := cmd(t, typed, "C1", user, bt.Command)
			// The click also rebuilds the message it was on; no command has one.
			if (click.Update != nil) != (strings.HasPrefix(bt.ActionID, ActionMarkDone) || bt.ActionID == ActionUndo) {
				t.Errorf("%s: the click rebuilt the message: %v", bt.Label, click.Update != nil)
			}
			click.Update = nil
			if text(click) != text(command) {
				t.Errorf("%s: clicked\n%s\ntyped %q\n%s", bt.Label, text(click), bt.Command, text(command))
			}
			// Both leave the same state: Billing_CS listed unless marked done or undone.
			after := func(b *Bot) string { return text(cmd(t, b, "C1", "U1", "status qa")) }
			if a, b := after(clicked), after(typed); a != b || strings.Contains(a, "Billing_CS") != (bt.ActionID == ActionShowStatus) {
				t.Errorf("%s: status after the click\n%s\nafter the command\n%s", bt.Label, a, b)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d buttons, want mark done, show status and undo", n)
	}
}

// eachStore runs a test of the core on the embedded store and on Redis
// (database 7, a prefix of its own; skipped without Redis unless CI is set).
func eachStore(t *testing.T, run func(t *testing.T, b *Bot, store progress.Store)) {
	t.Run("bolt", func(t *testing.T) {
		b, store := newTestBot(t)
		run(t, b, store)
	})
	t.Run("redis", func(t *testing.T) {
		opts := redistest.Options(t, 7)
		client := redis.NewClient(opts)
		t.Cleanup(func() { client.Close() })
		store, err := progress.NewRedisStore(client, progress.RedisOptions{Prefix: redistest.Prefix(t, opts), Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		run(t, botOn(store), store)
	})
}

// botOn is a bot on store, as newTestBot makes it.
func botOn(store progress.Store) *Bot {
	return New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, BotUserID: "UBOT"})
}

// producers is a paste of the producer error for each module named.
func producers(mods ...string) string {
	var lines []string
	for _, m := range mods {
		lines = append(lines, strings.ReplaceAll(producerPaste, "Billing_CS", m))
	}
	return strings.Join(lines, "\n")
}

// buttonsOf are a reply's buttons by label.
func buttonsOf(r *Reply) map[string]Button {
	out := map[string]Button{}
	if r != nil {
		for _, bl := range r.Blocks {
			for _, bt := range bl.Buttons {
				out[bt.Label] = bt
			}
		}
	}
	return out
}

func click(b *Bot, id string, bt Button) Response {
	return b.HandleAction(context.Background(), Action{Workspace: "T1", Channel: "C1", User: "U2", ID: id, ActionID: bt.ActionID, Value: bt.Value})
}

// Error Log rows recorded after the choice of environment get the reply
// they get in a channel following one: what is held back (a failed module
// beyond Service Center's count) is not also said to be recorded, and the
// consumers the rows show are named.
func TestChosenEnvironmentReplyAsRecorded(t *testing.T) {
	rows := "Upgrade Failure: Upgrade failed for Claims_Core\n" + errorLogRow("Claims_Portal", "Claims_Core")
	replies := map[string]string{}
	for _, envs := range []string{"prod", "prod qa"} {
		b, _ := newTestBot(t)
		for _, env := range strings.Fields(envs) {
			cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
		}
		msg(t, b, "C1", "U1", "1.1", "prod: 20 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		cmd(t, b, "C1", "U1", "failed prod: Mail_Core")
		r := msg(t, b, "C1", "U1", "1.2", rows)
		if envs != "prod" {
			choice, ok := buttonsOf(r.Reply)["prod"]
			if !ok {
				t.Fatalf("no choice of environment:\n%s", text(r))
			}
			r = Response{Reply: click(b, "c1", choice).Update}
		}
		var said []string
		for _, l := range strings.Split(text(r), "\n") {
			l = strings.Replace(l, "; 2 on the list", "", 1) // the count as it was, said only at once
			if strings.Contains(l, "Recorded for") || strings.Contains(l, "Not recorded for") || strings.Contains(l, "Their consumers") {
				said = append(said, strings.TrimSpace(l))
			}
		}
		replies[envs] = strings.Join(said, "\n")
	}
	one, two := replies["prod"], replies["prod qa"]
	mustSay(t, one, "Their consumers in these rows: Claims_Portal", "Not recorded for prod: Service Center counted 1 failed module there")
	if one != two {
		t.Errorf("after the choice of environment the reply says\n%s\nin a channel following prod only\n%s", two, one)
	}
	if strings.Count(two, "(Claims_Core)") != 2 { // recorded once as a producer, held back once as failed
		t.Errorf("Claims_Core said recorded more than once:\n%s", two)
	}
}

// A reply rebuilt once the upgrade is done leaves out what is recorded only
// while it is open, and still tells the rest apart: a change held back is
// matched by its own place in the message, not by where it stands once
// the others are left out.
func TestRebuiltReplyAfterDoneKeepsHeldApart(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "20 modules prepared successfully, 2 modules failed and 0 modules skipped.")
	cmd(t, b, "C1", "U1", "failed prod: Billing_CS Zeta_CS")
	cmd(t, b, "C1", "U1", "done prod: Billing_CS")
	r := msg(t, b, "C1", "U1", "1.2", "Producer 'Alpha_CS' was published with a different Platform Server version. Please republish 'Alpha_CS' to prevent runtime errors.\nUpgrade Failure: Upgrade failed for Billing_CS")
	mustSay(t, text(r), "Recorded for prod", "Alpha_CS", "Not recorded for prod: Billing_CS was marked republished")
	mark, ok := buttonsOf(r.Reply)["Mark Alpha_CS republished"]
	if !ok {
		t.Fatalf("no Mark Alpha_CS republished:\n%s", text(r))
	}
	cmd(t, b, "C1", "U1", "done prod: Zeta_CS")
	out := RenderText(click(b, "m1", mark).Update)
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Recorded for prod") && strings.Contains(l, "Billing_CS") {
			t.Errorf("the rebuilt reply says the held-back Billing_CS was recorded:\n%s", out)
		}
	}
	mustSay(t, out, "Not recorded for prod: Billing_CS was marked republished")
}

// A long paste in a channel with several environments is recorded in full
// by its choice button: the button carries a short key, not the changes.
func TestChooseEnvironmentLongPaste(t *testing.T) {
	var mods []string
	for i := range 120 {
		mods = append(mods, fmt.Sprintf("Customer_Portal_Module_%03d_CS", i))
	}
	paste := producers(mods...)
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		ctx := context.Background()
		cmd(t, b, "C1", "U1", "track dev")
		cmd(t, b, "C1", "U1", "track prod")
		m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "7.1", Text: paste}
		if old, _ := json.Marshal(planParts(b.Read(m).parts)); len(old) <= 2000 {
			t.Fatalf("the planned changes take %d bytes; the test needs more than a button held (2,000)", len(old))
		}
		resp := b.HandleMessage(ctx, m)
		choice, ok := buttonsOf(resp.Reply)["prod"]
		if !ok {
			t.Fatalf("no choice of prod in\n%s", RenderText(resp.Reply))
		}
		for label, bt := range buttonsOf(resp.Reply) {
			if len(bt.Value) > 100 {
				t.Errorf("button %s carries %d bytes: %s", label, len(bt.Value), bt.Value)
			}
		}
		got := click(b, "a1", choice)
		if got.Private || got.Update == nil || !strings.Contains(RenderText(got.Update), "Recorded for prod: 120 modules to republish") {
			t.Fatalf("choice:\n%s", text(got))
		}
		st, err := store.Status(ctx, "T1", "prod", -1)
		if err != nil || st.ModuleCount != len(mods) {
			t.Fatalf("prod lists %d modules (%v), want %d", st.ModuleCount, err, len(mods))
		}
		if dev, _ := store.Status(ctx, "T1", "dev", -1); dev.ModuleCount != 0 {
			t.Errorf("dev lists %d modules, want none", dev.ModuleCount)
		}
		// The rebuilt message has no choice left, and marks prod's modules.
		after := buttonsOf(got.Update)
		if _, ok := after["dev"]; ok {
			t.Errorf("the choice is still offered:\n%s", RenderText(got.Update))
		}
		if bt, ok := after["Mark "+mods[0]+" republished"]; !ok || bt.Command != "done prod: "+mods[0] {
			t.Errorf("no button marking %s on prod: %+v", mods[0], after)
		}
	})
}

// A choice whose message is no longer kept says what to do instead.
func TestChooseEnvironmentExpired(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  string
	}{
		{"a key not kept", `{"env":"prod","key":"AAAAAAAAAAAAAAAAAAAA"}`, "That choice has expired: I keep a message's changes for 14 days. To record it for prod, paste the message again starting with `prod:`"},
		{"a button from before keys", `{"env":"prod","p":{"k":"msg:C1:1.1","c":[]}}`, "That button is out of date; paste the message again starting with `prod:`"},
	}
	eachStore(t, func(t *testing.T, b *Bot, _ progress.Store) {
		cmd(t, b, "C1", "U1", "track dev")
		cmd(t, b, "C1", "U1", "track prod")
		for _, tc := range cases {
			got := click(b, tc.name, Button{ActionID: ActionChooseEnv + ":prod", Value: tc.value})
			if !got.Private || got.Update != nil || !strings.Contains(text(got), tc.want) {
				t.Errorf("%s: %+v\n%s", tc.name, got, text(got))
			}
		}
	})
}

// The kept message expires with its time: the choice then says so.
func TestChooseEnvironmentExpiresInTime(t *testing.T) {
	now := testNow
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	bt := botOn(store)
	cmd(t, bt, "C1", "U1", "track dev")
	cmd(t, bt, "C1", "U1", "track prod")
	choice := buttonsOf(msg(t, bt, "C1", "U1", "1.1", producerPaste).Reply)["prod"]
	now = now.Add(keepFor)
	if got := click(bt, "a1", choice); !strings.Contains(text(got), "That choice has expired") {
		t.Errorf("after %v: %s", keepFor, text(got))
	}
}

// Two clicks on two buttons of one message, the second from the copy of
// the message shown before the first: each click rebuilds the message from
// the state, so neither button comes back.
func TestClicksRebuildTheMessage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		envs  []string // followed in C1
		paste string
		first string // the environment chosen first, if asked
	}{
		{"environment known", []string{"prod"}, producers("Billing_CS", "Orders_CS", "Users_CS"), ""},
		{"environment chosen", []string{"dev", "prod"}, producers("Billing_CS", "Orders_CS", "Users_CS"), "prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
				for _, env := range tc.envs {
					cmd(t, b, "C1", "U1", "track "+env)
				}
				shown := msg(t, b, "C1", "U1", "8.1", tc.paste).Reply
				if tc.first != "" {
					shown = click(b, "choose", buttonsOf(shown)[tc.first]).Update
				}
				stale := buttonsOf(shown)
				first := click(b, "a1", stale["Mark Billing_CS republished"])
				second := click(b, "a2", stale["Mark Orders_CS republished"])
				for i, resp := range []Response{first, second} {
					if resp.Announce.Empty() || resp.Update == nil {
						t.Fatalf("click %d: %+v", i+1, resp)
					}
				}
				if _, back := buttonsOf(first.Update)["Mark Billing_CS republished"]; back {
					t.Errorf("after the first click:\n%s", RenderText(first.Update))
				}
				got := buttonsOf(second.Update)
				for _, gone := range []string{"Mark Billing_CS republished", "Mark Orders_CS republished"} {
					if _, back := got[gone]; back {
						t.Errorf("%s came back:\n%s", gone, RenderText(second.Update))
					}
				}
				if _, ok := got["Mark Users_CS republished"]; !ok {
					t.Errorf("Users_CS lost its button:\n%s", RenderText(second.Update))
				}
				mustSay(t, RenderText(second.Update), "Recorded for prod: 3 modules to republish", "Republished since: Billing_CS", "Orders_CS marked republished by U2")
				if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 {
					t.Errorf("prod lists %d modules, want Users_CS alone", st.ModuleCount)
				}
			})
		})
	}
}

func mustSay(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%q missing from\n%s", w, out)
		}
	}
}

// "Share in channel" shares every environment the status showed.
func TestShareEveryEnvironment(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, _ progress.Store) {
		for _, env := range []string{"dev", "prod", "qa"} {
			cmd(t, b, "C1", "U1", "track "+env)
		}
		for _, tc := range []struct {
			status string
			want   []string
		}{
			{"status", []string{"dev", "prod", "qa"}},
			{"status qa", []string{"qa"}},
		} {
			share := buttonsOf(cmd(t, b, "C1", "U1", tc.status).Reply)["Share in channel"]
			got := click(b, "share-"+tc.status, share)
			if got.Announce.Empty() || got.Reply != nil {
				t.Fatalf("%s: share: %+v", tc.status, got)
			}
			var headers []string
			for _, bl := range got.Announce.Blocks {
				if bl.Kind == HeaderBlock {
					headers = append(headers, bl.Text)
				}
			}
			if !slices.Equal(headers, tc.want) {
				t.Errorf("%s: shared %q, want %q", tc.status, headers, tc.want)
			}
			if _, ok := buttonsOf(got.Announce)["Share in channel"]; ok || !strings.Contains(text(got), "Shared by U2") {
				t.Errorf("%s: shared\n%s", tc.status, text(got))
			}
		}
	})
}

// A message is recorded for the environment chosen first: a choice from a
// stale copy of the question records nothing more and shows the first.
func TestSecondChoiceShowsTheFirst(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track dev")
		cmd(t, b, "C1", "U1", "track prod")
		question := buttonsOf(msg(t, b, "C1", "U1", "9.1", producerPaste).Reply)
		if first := click(b, "c1", question["prod"]); first.Update == nil {
			t.Fatalf("first choice: %s", text(first))
		}
		second := click(b, "c2", question["dev"])
		if !second.Private || second.Update == nil {
			t.Fatalf("second choice: %+v", second)
		}
		mustSay(t, text(second), "This message is already recorded for prod. To record it for dev too, paste it again starting with `dev:`.", "Recorded for prod: 1 module to republish (Billing_CS)")
		if st, _ := store.Status(context.Background(), "T1", "dev", -1); st.ModuleCount != 0 {
			t.Errorf("dev lists %d modules after the stale choice", st.ModuleCount)
		}
		if _, ok := buttonsOf(second.Update)["dev"]; ok {
			t.Errorf("the question came back:\n%s", RenderText(second.Update))
		}
	})
}

// A question of environment offers no Mark button, since nothing is
// recorded yet: the choice rebuilds the reply with one, which works. The
// choice can be typed too (the shell's only way for a shared file).
func TestMarkButtonAfterTheChoice(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track dev")
		cmd(t, b, "C1", "U1", "track prod")
		question := buttonsOf(msg(t, b, "C1", "U1", "9.2", producerPaste).Reply)
		if _, ok := question["Mark Billing_CS republished"]; ok {
			t.Errorf("the question offers a Mark button: %v", question)
		}
		mark, ok := buttonsOf(click(b, "c1", question["prod"]).Update)["Mark Billing_CS republished"]
		if !ok {
			t.Fatal("no Mark button after the choice")
		}
		got := click(b, "m1", mark)
		if got.Update == nil {
			t.Fatalf("no rebuilt message: %s", text(got))
		}
		mustSay(t, RenderText(got.Update), "Recorded for prod", "Billing_CS marked republished by U2")

		// Typed: the rebuilt reply is the answer; a second choice shows the first.
		key := replyKey(Message{Channel: "C1", TS: "9.3"})
		msg(t, b, "C1", "U1", "9.3", strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS"))
		typed := cmd(t, b, "C1", "U1", "record "+key+":dev")
		if typed.Reply == nil || typed.Update != nil {
			t.Fatalf("record %s:dev: %+v", key, typed)
		}
		mustSay(t, RenderText(typed.Reply), "Recorded for dev")
		if st, _ := store.Status(context.Background(), "T1", "dev", -1); st.ModuleCount != 1 {
			t.Errorf("dev lists %d modules after the typed choice, want 1", st.ModuleCount)
		}
		mustSay(t, text(cmd(t, b, "C1", "U1", "record "+key+":prod")), "This message is already recorded for dev.")
		mustSay(t, text(cmd(t, b, "C1", "U1", "record nosuchkey:prod")), "That choice has expired")
	})
}

// A screenshot read after the question was answered records for the
// environment chosen, and its reply does not ask again.
func TestLateScreenshotAfterTheChoice(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		ctx := context.Background()
		cmd(t, b, "C1", "U1", "track dev")
		cmd(t, b, "C1", "U1", "track prod")
		m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "9.3", Text: producerPaste, Images: []ImageText{{Name: "s.png", Pending: true}}}
		reading := b.Read(m)
		question := buttonsOf(b.Answer(ctx, reading).Reply)
		click(b, "c1", question["prod"])
		late := b.Answer(ctx, reading.WithImages([]ImageText{{Name: "s.png", Text: summaryText}}))
		if _, asked := buttonsOf(late.Reply)["dev"]; asked || late.Reply == nil {
			t.Fatalf("the late reply asks again:\n%s", text(late))
		}
		mustSay(t, text(late), "Recorded for prod: preparation finished: 26 prepared")
		if st, _ := store.Status(ctx, "T1", "prod", -1); st.Counts.Prepared == nil || *st.Counts.Prepared != 26 {
			t.Errorf("prod's counts: %+v", st.Counts)
		}
	})
}

// A rebuilt reply says "Republished since" only of modules the record says
// were republished: a module held back (another version) never was.
func TestHeldModuleNotRepublished(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, _ progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		cmd(t, b, "C1", "U1", "track qa 11.31.0")
		question := buttonsOf(msg(t, b, "C1", "U1", "7.1", "Version 11.10.0 (Build 22500)\n2020-10-28 19:23:00 Upgrade Failure: Upgrade failed for Employees").Reply)
		got := click(b, "c1", question["prod"])
		if got.Update == nil {
			t.Fatalf("no rebuilt reply: %s", text(got))
		}
		out := RenderText(got.Update)
		mustSay(t, out, "Not recorded for prod")
		if strings.Contains(out, "Republished since") {
			t.Errorf("a module held back is said republished:\n%s", out)
		}
		cmd(t, b, "C1", "U1", "failed prod: Orders_CS")
		cmd(t, b, "C1", "U1", "done prod: Orders_CS")
		q2 := buttonsOf(msg(t, b, "C1", "U1", "7.2", "Upgrade Failure: Upgrade failed for Orders_CS").Reply)
		mustSay(t, RenderText(click(b, "c2", q2["prod"]).Update), "Orders_CS")
	})
}

// A choice of environment undone lets the message be recorded for another:
// the pick was wrong, and a shared file cannot be pasted again with a prefix.
func TestChoiceUndoneThenAnother(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track dev")
		cmd(t, b, "C1", "U1", "track prod")
		question := buttonsOf(msg(t, b, "C1", "U1", "8.1", producerPaste).Reply)
		cmd(t, b, "C1", "U1", question["dev"].Command)
		mustSay(t, text(cmd(t, b, "C1", "U1", "undo")), "undid a change on dev")
		mustSay(t, text(cmd(t, b, "C1", "U1", question["prod"].Command)), "Recorded for prod")
		for env, want := range map[string]int{"dev": 0, "prod": 1} {
			if st, _ := store.Status(context.Background(), "T1", env, -1); st.ModuleCount != want {
				t.Errorf("%s lists %d modules, want %d", env, st.ModuleCount, want)
			}
		}
	})
}

// A colleague choosing the environment of someone's paste records it as
// the author's report, and either of them can take it back with undo.
func TestChoiceByAColleagueIsTheAuthorsReport(t *testing.T) {
	for _, undoer := range []string{"U1", "U2"} {
		eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
			ctx := context.Background()
			cmd(t, b, "C1", "U1", "track dev")
			cmd(t, b, "C1", "U1", "track test")
			resp := msg(t, b, "C1", "U1", "7.1", "Upgrade Failure: Upgrade failed for Billing_CS")
			click(b, "a1", buttonsOf(resp.Reply)["dev"]) // by U2
			st, err := store.Status(ctx, "T1", "dev", -1)
			if err != nil || len(st.Modules) != 1 || st.Modules[0].ReportedBy != "U1" {
				t.Fatalf("dev lists %+v (%v); want Billing_CS reported by U1, the author", st.Modules, err)
			}
			cmd(t, b, "C1", undoer, "undo")
			if st, _ := store.Status(ctx, "T1", "dev", 0); st.ModuleCount != 0 {
				t.Errorf("undo by %s left %d modules on dev", undoer, st.ModuleCount)
			}
		})
	}
}

// A channel that follows no environment gets the diagnosis, and no button
// marking a module republished: there is no list to take it off.
func TestNoMarkButtonWithoutAnEnvironment(t *testing.T) {
	b, _ := newTestBot(t)
	for i, paste := range []string{producerPaste, "Why do we get Producer module 'X' hasn't been prepared when the preparation finished?"} {
		r := msg(t, b, "C9", "U1", fmt.Sprintf("1.%d", i), paste)
		mustSay(t, RenderText(r.Reply), "A producer module has not been compiled")
		for label := range buttonsOf(r.Reply) {
			if strings.HasPrefix(label, "Mark ") {
				t.Errorf("%q: button %q in a channel that follows nothing", paste, label)
			}
		}
	}
}

// Two long names that differ only at their end keep their buttons apart.
func TestMarkButtonsOfLongNamesDiffer(t *testing.T) {
	const stem = "Contoso_Customer_Onboarding_Integration_Services_Core_API_"
	a, b := MarkDoneButton(0, "prod", stem+"Orders"), MarkDoneButton(1, "prod", stem+"Invoices")
	if a.Label == b.Label {
		t.Errorf("both buttons read %q", a.Label)
	}
	for _, bt := range []Button{a, b} {
		if n := utf8.RuneCountInString(bt.Label); n > 75 || !strings.HasPrefix(bt.Label, "Mark Contoso_") || !strings.HasSuffix(bt.Label, " republished") {
			t.Errorf("label %q (%d characters)", bt.Label, n)
		}
	}
}

// A button the bot no longer knows, or one out of date, says what to do instead.
func TestOldButtonsSayWhatToDo(t *testing.T) {
	b, _ := newTestBot(t)
	for _, a := range []Action{
		{ActionID: "gone_button", Value: "{}"},
		{ActionID: ActionConfirm, Value: "reset prod"},
		{ActionID: ActionTarget, Value: "{}"},
	} {
		a.Workspace, a.Channel, a.User, a.ID = "T1", "C1", "U1", a.ActionID
		mustSay(t, text(b.HandleAction(context.Background(), a)), "`/upgrade ")
	}
}

// A Mark button of a reply or reminder from before a reset names the last
// upgrade's module: clicked once the new upgrade lists it again, it is
// refused (as the choice, Record anyway and Undo are); this upgrade's marks.
func TestMarkButtonFromBeforeTheReset(t *testing.T) {
	const refused = "That button came before prod's upgrade was started again"
	for _, tc := range []struct {
		name    string
		old     bool // the button is from before the reset
		inSlack bool // the click names the message holding the button by its Slack ts
		remind  bool // a reminder's button, which names no reply
		age     time.Duration
	}{
		{name: "a reply's, from before", old: true},
		{name: "a reply's, from before, kept no more", old: true, age: keepFor + time.Hour},
		{name: "a reply's, from before, in Slack", old: true, inSlack: true},
		{name: "a reminder's, from before", old: true, inSlack: true, remind: true},
		{name: "a reply's, of this upgrade"},
		{name: "a reply's, of this upgrade, in Slack", inSlack: true},
		{name: "a reminder's, of this upgrade", inSlack: true, remind: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replicas(t, func(t *testing.T, r rig) {
				ctx := context.Background()
				b := r.b1
				var bt Button
				var sent time.Time
				button := func(ts string) {
					sent = r.clock.Now()
					if tc.remind {
						rem, err := b.ChannelReminder(ctx, "T1", "C1", sent, time.Hour)
						if err != nil || rem == nil {
							t.Fatalf("no reminder: %v", err)
						}
						bt = buttonsOf(rem)["Mark Billing_CS republished"]
					} else {
						bt = buttonsOf(msg(t, b, "C1", "U1", ts, producerPaste).Reply)["Mark Billing_CS republished"]
					}
				}
				cmd(t, b, "C1", "U1", "track prod 11.31.0")
				cmd(t, b, "C1", "U1", "failed prod: Billing_CS")
				if tc.old {
					button("1.1")
				}
				r.clock.Add(max(tc.age, time.Hour))
				cmd(t, r.b2, "C2", "U2", "track prod")
				cmd(t, r.b2, "C2", "U2", "reset prod --yes")
				cmd(t, r.b2, "C2", "U2", "failed prod: Billing_CS (again)")
				if !tc.old {
					r.clock.Add(time.Minute)
					button("2.1")
				}
				if bt.Value == "" {
					t.Fatal("no Mark button")
				}
				a := Action{Workspace: "T1", Channel: "C1", User: "U9", ID: "a1", ActionID: bt.ActionID, Value: bt.Value}
				if tc.inSlack {
					a.Message = fmt.Sprintf("%d.%06d", sent.Unix(), 100)
				}
				got := b.HandleAction(ctx, a)
				listed := listedIn(t, r.h1, "prod")
				if tc.old != (len(listed) == 1) {
					t.Errorf("prod lists %v after the click; want Billing_CS kept: %v", listed, tc.old)
				}
				if tc.old != strings.Contains(text(got), refused) {
					t.Errorf("the click got %q; want refused: %v", text(got), tc.old)
				}
			})
		})
	}
}
