package bot

import (
	"fmt"
	"time"

	"context"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
	"strings"
	"testing"
)

// button finds a reply's button by action id.
func button(t *testing.T, r *Reply, actionID string) Button {
	t.Helper()
	for _, bl := range r.Blocks {
		for _, bt := range bl.Buttons {
			if bt.ActionID == actionID {
				return bt
			}
		}
	}
	t.Fatalf("no %s button in %s", actionID, RenderText(r))
	return Button{}
}

// reset and done all ask first; the button runs the command it prints.
func TestConfirmations(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ ask, command, announced string }{
		{"reset prod", "reset prod --yes", "started a new upgrade of prod"},
		{"done all", "done prod: all --yes", "All clear on prod"},
		{"done prod: all", "done prod: all --yes", "All clear on prod"},
	} {
		t.Run(tc.ask, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			cmd(t, b, "C1", "U1", "failed A B")
			ask := cmd(t, b, "C1", "U1", tc.ask)
			if !ask.Announce.Empty() || !ask.Private {
				t.Fatalf("%q did not ask first: %s", tc.ask, text(ask))
			}
			if st, _ := store.Status(ctx, "T1", "prod", 0); st.ModuleCount != 2 {
				t.Fatalf("asking changed the list: %d modules", st.ModuleCount)
			}
			bt := button(t, ask.Reply, ActionConfirm)
			if bt.Command != tc.command || bt.Value != tc.command {
				t.Errorf("button command %q, value %q; want %q", bt.Command, bt.Value, tc.command)
			}
			click := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "a1", ActionID: bt.ActionID, Value: bt.Value, Message: "q1"})
			if !strings.Contains(text(click), tc.announced) || click.Update == nil {
				t.Errorf("the click: %s", text(click))
			}
			if st, _ := store.Status(ctx, "T1", "prod", 0); st.ModuleCount != 0 {
				t.Errorf("after the click: %d modules", st.ModuleCount)
			}
			// A second click on the same question (a double click, a stale
			// copy) after a module was reported: confirmed once, C kept.
			cmd(t, b, "C1", "U1", "failed C")
			again := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "a2", ActionID: bt.ActionID, Value: bt.Value, Message: "q1"})
			if !again.Announce.Empty() {
				t.Errorf("confirmed twice: %s", text(again))
			}
			if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Name != "C" {
				t.Errorf("after the second click: %+v", st.Modules)
			}
		})
	}
	b, _ := newTestBot(t)
	if r := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "a1", ActionID: ActionConfirm, Value: "reset prod"}); !strings.Contains(text(r), "out of date") {
		t.Errorf("a confirmation without --yes: %s", text(r))
	}
}

// Undo of a paste after one of its modules was republished: the rest is
// taken back, the module republished since is left and the reply says so.
func TestUndoLeavesWhatChangedSince(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	paste := producerPaste + "\n" + strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")
	reply := msg(t, b, "C1", "U1", "1.1", paste)
	cmd(t, b, "C1", "U2", "done Billing_CS")
	undo := button(t, reply.Reply, ActionUndo)
	r := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U3", ID: "a1", ActionID: undo.ActionID, Value: undo.Value})
	out := text(r)
	for _, want := range []string{"U3 undid a change on prod", "Off the list again: Orders_CS", "left as it is: Billing_CS", "Undone by U3"} {
		if !strings.Contains(out, want) {
			t.Errorf("undo lacks %q:\n%s", want, out)
		}
	}
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("after undo: %d modules", st.ModuleCount)
	}
	// U2's own last change is still theirs to undo.
	if r := cmd(t, b, "C1", "U2", "undo"); !strings.Contains(text(r), "Back on the list: Billing_CS") {
		t.Errorf("U2's undo: %s", text(r))
	}
}

// An edited paste: what it recorded is undone, the new text recorded; a
// deleted one offers Undo and changes nothing until clicked.
func TestEditAndDelete(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: producerPaste}
	b.HandleMessage(ctx, m)
	m.Text, m.Edited = strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS"), "1.2"
	edit := b.HandleEdit(ctx, m)
	if edit.Private || !strings.Contains(text(edit), "was edited") {
		t.Errorf("edit: %s", text(edit))
	}
	list := func() string {
		st, _ := store.Status(ctx, "T1", "prod", -1)
		var names []string
		for _, m := range st.Modules {
			names = append(names, m.Name)
		}
		return strings.Join(names, ",")
	}
	if got := list(); got != "Orders_CS" {
		t.Errorf("after the edit: %q", got)
	}
	del := b.HandleDelete(ctx, m)
	if !strings.Contains(text(del), "was deleted") || list() != "Orders_CS" {
		t.Errorf("delete: %s; list %q", text(del), list())
	}
	undo := button(t, del.Reply, ActionUndo)
	b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "a2", ActionID: undo.ActionID, Value: undo.Value})
	if got := list(); got != "" {
		t.Errorf("after Undo of the deleted paste: %q", got)
	}
	if r := b.HandleDelete(ctx, m); !r.Reply.Empty() {
		t.Errorf("a deletion after Undo: %s", text(r))
	}
	h, _ := store.History(ctx, "T1", "prod")
	var actions []string
	for _, e := range h {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "track add undo add undo" {
		t.Errorf("history %q", got)
	}
}

// valuesDown is a store whose Values under prefix cannot be read.
type valuesDown struct {
	progress.Store
	prefix string
}

func (s valuesDown) Value(ctx context.Context, workspace, key string) ([]byte, bool, error) {
	if strings.HasPrefix(key, s.prefix) {
		return nil, false, fmt.Errorf("read %s: %w", key, progress.ErrUnavailable)
	}
	return s.Store.Value(ctx, workspace, key)
}

// A store error reading what a reply recorded is said as one: not "can no
// longer be undone", and an edit is not recorded over what it cannot undo.
func TestUndoStoreError(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: producerPaste}
	undo := button(t, b.HandleMessage(ctx, m).Reply, ActionUndo)
	down := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: valuesDown{store, "undo:"}, Now: func() time.Time { return testNow }, BotUserID: "UBOT"})
	click := down.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "a1", ActionID: undo.ActionID, Value: undo.Value})
	if got := text(click); !strings.Contains(got, "Tracking is unavailable") || !click.Private {
		t.Errorf("Undo with the store down: %s", got)
	}
	m.Text, m.Edited = strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS"), "1.2"
	edit := down.HandleEdit(ctx, m)
	if got := text(edit); !strings.Contains(got, "Tracking is unavailable") || !edit.Private {
		t.Errorf("edit with the store down: %s", got)
	}
	st, _ := store.Status(ctx, "T1", "prod", -1)
	if len(st.Modules) != 1 || st.Modules[0].Name != "Billing_CS" {
		t.Errorf("after the edit with the store down: %+v", st.Modules)
	}
}

// An edit of the text of a message with a screenshot keeps what the
// screenshot showed: the transport sends the new text only, the core
// answers it with the screenshot already read.
func TestEditKeepsScreenshots(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	shot := ImageText{Name: "shot.png", Text: strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")}
	imageMsg(t, b, "1.1", producerPaste, shot)
	edit := b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Edited: "1.2", Text: "see the screenshot"})
	if got := text(edit); !strings.Contains(got, "shot.png") || !strings.Contains(got, "Orders_CS") {
		t.Errorf("the edit's reply lost the screenshot:\n%s", got)
	}
	st, _ := store.Status(ctx, "T1", "prod", -1)
	if len(st.Modules) != 1 || st.Modules[0].Name != "Orders_CS" {
		t.Errorf("after the edit: %+v", st.Modules)
	}
}

// A quiet screenshot (a status, answered with a reaction) is kept for an
// edit of the text too; an edit's reply stays private when the core says so.
func TestEditKeepsQuietScreenshot(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed Billing_CS") // listed: the clean summary leaves prod ready, not done
	imageMsg(t, b, "1.1", "", ImageText{Name: "shot.png", Text: "26 modules prepared successfully, 1 modules failed and 0 modules skipped."})
	b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Edited: "1.2", Text: "prod is ready"})
	if st, _ := store.Status(ctx, "T1", "prod", 0); st.State != progress.StateFinishedWithErrors {
		t.Errorf("after the edit: %s", st.State)
	}
	down := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: valuesDown{store, "reply:"}, Now: func() time.Time { return testNow }, BotUserID: "UBOT"})
	if edit := down.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Edited: "1.3", Text: "prod is ready!"}); !edit.Private {
		t.Errorf("a store error published: %s", text(edit))
	}
}

// An Undo button's printed command does what the button does: it takes
// back that reply's change, not the user's last one.
func TestUndoCode(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	first := cmd(t, b, "C1", "U1", "failed Billing_CS")
	cmd(t, b, "C1", "U1", "failed Orders_CS")
	command := button(t, first.Announce, ActionUndo).Command
	if !strings.HasPrefix(command, "undo ") {
		t.Fatalf("Undo's command %q", command)
	}
	mustSay(t, text(cmd(t, b, "C1", "U2", strings.ToUpper(command))), "U2 undid a change on prod", "Off the list again: Billing_CS")
	st, _ := store.Status(ctx, "T1", "prod", -1)
	if len(st.Modules) != 1 || st.Modules[0].Name != "Orders_CS" {
		t.Errorf("after %s: %+v", command, st.Modules)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "undo")), "U1 undid a change on prod", "Off the list again: Orders_CS")
}

// An undo typed, with the code or as the last change, rebuilds the reply
// whose Undo button it stands for (Edit), as a click would.
func TestUndoTypedRebuildsTheReply(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"code", "last change"} {
		t.Run(how, func(t *testing.T) {
			b, _ := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: producerPaste}
			typed := button(t, b.HandleMessage(ctx, m).Reply, ActionUndo).Command
			if how == "last change" {
				typed = "undo"
			}
			resp := cmd(t, b, "C1", "U1", typed)
			mustSay(t, text(resp), "U1 undid a change on prod", "Off the list again: Billing_CS")
			if resp.Edit == nil || resp.Edit.Message.Channel != "C1" || resp.Edit.Message.TS != "1.1" {
				t.Fatalf("%s: Edit %+v; want the paste's reply rebuilt", typed, resp.Edit)
			}
			mustSay(t, RenderText(resp.Edit.Reply), "Undone by U1")
			for _, bt := range buttonsOf(resp.Edit.Reply) {
				if bt.ActionID == ActionUndo {
					t.Errorf("the rebuilt reply still offers Undo")
				}
			}
			// Undone already: nothing to rebuild.
			if again := cmd(t, b, "C1", "U1", typed); again.Edit != nil {
				t.Errorf("a second %s rebuilt the reply again", typed)
			}
		})
	}
}

// --yes confirms in any position and case; done all with nothing to do
// says so at once instead of asking.
func TestConfirmedAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args, rest string
		yes        bool
	}{
		{"prod --yes", "prod", true}, {"prod --YES", "prod", true}, {"--yes prod", "prod", true},
		{"prod: all --Yes", "prod: all", true}, {`prod: "Customer  Portal" --yes`, `prod: "Customer  Portal"`, true},
		{"prod", "prod", false}, {"prod --yesterday", "prod --yesterday", false},
	} {
		if rest, yes := confirmed(tc.args); rest != tc.rest || yes != tc.yes {
			t.Errorf("confirmed(%q) = %q, %v; want %q, %v", tc.args, rest, yes, tc.rest, tc.yes)
		}
	}
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed A")
	mustSay(t, text(cmd(t, b, "C1", "U1", "reset --YES prod")), "started a new upgrade of prod")
	// Nothing listed and no news: done all closes the new upgrade, once confirmed.
	mustSay(t, text(cmd(t, b, "C1", "U1", "done all")), "Nothing is listed on prod", "[Mark all republished]")
}

// A change made before a reset is not undone into the new upgrade: a
// module the reset cleared is absent, as the "done" left it, so the
// store's undo alone would put it back.
func TestUndoBeforeReset(t *testing.T) {
	ctx := context.Background()
	now := testNow
	b, store := newClockBot(t, func() time.Time { return now })
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed Billing_CS Orders_CS")
	now = now.Add(time.Minute)
	done := button(t, cmd(t, b, "C1", "U1", "done Billing_CS").Announce, ActionUndo).Command
	now = now.Add(time.Minute)
	cmd(t, b, "C1", "U2", "reset prod --yes")
	now = now.Add(time.Minute)
	for _, typed := range []string{done, "undo"} {
		mustSay(t, text(cmd(t, b, "C1", "U1", typed)), "made before prod's upgrade was started again", "nothing changed")
	}
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("after the undo of a change made before the reset: %+v", st.Modules)
	}
	// The reset itself is undone as before, and with it the upgrade's
	// start: the change made before it can be undone again.
	mustSay(t, text(cmd(t, b, "C1", "U2", "undo")), "U2 undid a change on prod", "Back on the list: Orders_CS")
	mustSay(t, text(cmd(t, b, "C1", "U1", done)), "U1 undid a change on prod", "Back on the list: Billing_CS")
}

// A reply rebuilt after its undo no longer says it recorded anything, nor
// that the modules it had listed were republished since.
func TestUndoneReplyRecordsNothing(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: producerPaste})
	resp := cmd(t, b, "C1", "U1", "undo")
	if resp.Edit == nil {
		t.Fatal("the undo did not rebuild the reply")
	}
	out := RenderText(resp.Edit.Reply)
	mustSay(t, out, "Undone by U1")
	for _, bad := range []string{"Recorded for prod", "Republished since"} {
		if strings.Contains(out, bad) {
			t.Errorf("the reply rebuilt after its undo says %q:\n%s", bad, out)
		}
	}
}

// A paste naming a module already listed records nothing: it says so, and
// leaves the author's last change (what undo takes back) as it was.
func TestPasteAgainRecordsNothing(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	msg(t, b, "C1", "U1", "1.1", producerPaste)
	again := msg(t, b, "C1", "U1", "1.2", producerPaste)
	out := text(again)
	mustSay(t, out, "Already on prod's list: Billing_CS")
	if strings.Contains(out, "Recorded for prod") || strings.Contains(out, "[Undo]") {
		t.Errorf("a paste that recorded nothing says it did, or offers Undo:\n%s", out)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "undo")), "U1 undid a change on prod", "Off the list again: Billing_CS")
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("after undo: %+v", st.Modules)
	}
}

// fakeSchedules takes any schedule (the scheduler package renders with
// the bot, so it cannot be used here).
type fakeSchedules struct{}

func (fakeSchedules) Set(_ context.Context, _, _, spec, _ string) (string, error) {
	return "set this channel's reminders to " + spec, nil
}
func (fakeSchedules) Next(context.Context, string, string, time.Time) string { return "" }
func (fakeSchedules) Now(context.Context, string, string) (*Reply, error) {
	return nil, nil
}

// A plain undo takes back the user's last change here only: after a
// change undo does not take back (track, untrack, remind, take, release,
// snooze) it says so and changes nothing, and the change before stays
// undoable with its code. A command that changed nothing (a track that
// asks first, or of what the channel follows already) is no change.
func TestUndoAfterAChangeItDoesNotTakeBack(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		then  []string
		last  string // what undo names as the last change; "" when it undoes failed
		about string // what it says to do instead
	}{
		{"track", []string{"track prod 11.31.0 --yes"}, "(track prod 11.31.0)", "untrack prod"},
		{"track another", []string{"track qa"}, "(track qa)", "untrack qa"},
		{"untrack", []string{"untrack prod"}, "(untrack prod)", "track prod"},
		{"remind", []string{"remind @every 4h"}, "(remind @every 4h)", "remind <schedule>"},
		{"remind off", []string{"remind off"}, "(remind off)", "remind <schedule>"},
		{"take", []string{"take Billing_CS"}, `(take "Billing_CS" on prod)`, "release"},
		{"release", []string{"take Billing_CS", "release Billing_CS"}, `(release "Billing_CS" on prod)`, "take"},
		{"snooze", []string{"snooze prod 1h"}, "(snooze prod 1h)", "snooze"},
		{"track that asks", []string{"track prod 11.31.0"}, "", ""},
		{"track as it is", []string{"track prod"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
				b.SetSchedules(fakeSchedules{})
				cmd(t, b, "C1", "U1", "track prod 11.30.0 cloud")
				failed := cmd(t, b, "C1", "U1", "failed Billing_CS")
				for _, c := range tc.then {
					cmd(t, b, "C1", "U1", c)
				}
				undo := cmd(t, b, "C1", "U1", "undo")
				listed := func() int {
					st, err := store.Status(ctx, "T1", "prod", -1)
					if err != nil {
						t.Fatal(err)
					}
					return st.ModuleCount
				}
				if tc.last == "" {
					mustSay(t, text(undo), "U1 undid a change on prod", "Off the list again: Billing_CS")
					if n := listed(); n != 0 {
						t.Errorf("after undo: %d modules", n)
					}
					return
				}
				if !undo.Private || !undo.Announce.Empty() || undo.Edit != nil {
					t.Errorf("undo after %s changed something: %s", tc.name, text(undo))
				}
				mustSay(t, text(undo), "Your last change here "+tc.last, "is not one undo takes back", tc.about)
				if n := listed(); n != 1 {
					t.Errorf("undo after %s: %d modules, want Billing_CS still listed", tc.name, n)
				}
				// The failed report is still there to undo, by its code.
				code := button(t, failed.Announce, ActionUndo).Command
				mustSay(t, text(cmd(t, b, "C1", "U1", code)), "U1 undid a change on prod", "Off the list again: Billing_CS")
			})
		})
	}
}

// An edit that takes back what a paste recorded says what a later change
// kept, as a typed undo does.
func TestEditSaysWhatItLeft(t *testing.T) {
	ctx := context.Background()
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: "Upgrade Failure: Upgrade failed for B_Core"}
		b.HandleMessage(ctx, m)
		cmd(t, b, "C1", "U2", "done B_Core")
		m.Text, m.Edited = "sorry, wrong channel", "1.2"
		mustSay(t, text(b.HandleEdit(ctx, m)), "what it recorded was undone", ":warning: Changed since by a later change, so left as it is: B_Core.")
	})
}

// Undoing a paste leaves the modules a colleague reported since with an
// identical paste: their report stands.
func TestUndoLeavesAColleaguesReport(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		first := msg(t, b, "C1", "U1", "1.1", producerPaste)
		msg(t, b, "C1", "U2", "1.2", producerPaste)
		undo, ok := buttonsOf(first.Reply)["Undo"]
		if !ok {
			t.Fatalf("no Undo on the first paste's reply:\n%s", text(first))
		}
		got := click(b, "u1", undo)
		if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 {
			t.Errorf("the undo took back U2's report: %d modules listed\n%s", st.ModuleCount, text(got))
		}
		mustSay(t, text(got), "Billing_CS")
	})
}

// Undoing a done leaves a module a colleague confirmed republished since.
func TestUndoDoneLeavesAColleaguesConfirmation(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		cmd(t, b, "C1", "U1", "skipped Reports_UI Billing_CS")
		cmd(t, b, "C1", "U1", "done Reports_UI")
		mustSay(t, text(cmd(t, b, "C1", "U3", "done prod: Reports_UI")), "Reports_UI was marked republished on prod already by U1")
		out := text(cmd(t, b, "C1", "U1", "undo"))
		mustSay(t, out, "Reports_UI")
		if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Name != "Billing_CS" {
			t.Errorf("after the undo, the list: %+v\n%s", st.Modules, out)
		}
	})
}

// An undo whose modules all changed since (reported again by a colleague)
// changes nothing, and says so to its user alone.
func TestUndoOfWhatChangedSinceIsNotAnnounced(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		cmd(t, b, "C1", "U1", "failed Billing_CS Orders_Core")
		cmd(t, b, "C1", "U1", "done Billing_CS")
		cmd(t, b, "C1", "U2", "failed Billing_CS")
		r := cmd(t, b, "C1", "U1", "undo")
		if r.Announce != nil || r.Reply == nil {
			t.Fatalf("an undo that changed nothing was announced:\n%s", text(r))
		}
		mustSay(t, text(r), "Nothing undone on prod: Billing_CS changed since by a later change, so it stays as it is.")
		if st, _ := store.Status(context.Background(), "T1", "prod", 0); st.ModuleCount != 2 {
			t.Errorf("%d listed, want 2", st.ModuleCount)
		}
	})
}

// A reset is not undone once the new upgrade recorded news: the two
// upgrades' lists and counts would mix.
func TestResetUndoAfterNewsRefused(t *testing.T) {
	b, store, now := clockBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n26 modules prepared successfully, 2 modules failed and 0 modules skipped.")
	cmd(t, b, "C1", "U1", "failed X_Core Y_Core")
	cmd(t, b, "C1", "U1", "reset prod --yes")
	*now = now.Add(time.Minute)
	msg(t, b, "C1", "U2", "1.2", "There were errors preparing some modules.\n30 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	mustSay(t, text(cmd(t, b, "C1", "U1", "undo")), "prod's new upgrade has news since the reset", "nothing changed")
	if st, _ := store.Status(context.Background(), "T1", "prod", 0); st.ModuleCount != 0 || *st.Counts.Prepared != 30 {
		t.Errorf("after the refused undo: %d listed, %d prepared; want 0 and 30", st.ModuleCount, *st.Counts.Prepared)
	}
}

// A teammate undid what a paste recorded (another environment's error);
// its author's edit, a note that says so, does not record it again: it is
// held back, with Record anyway. A paste its author struck through is
// taken back as an edit into plain chat is.
func TestEditAfterTeammatesUndoOrStruckThrough(t *testing.T) {
	ctx := context.Background()
	list := func(store progress.Store) string {
		st, _ := store.Status(ctx, "T1", "prod", -1)
		var names []string
		for _, m := range st.Modules {
			names = append(names, m.Name)
		}
		return strings.Join(names, ",")
	}
	t.Run("undone by a teammate", func(t *testing.T) {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod")
		m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: producerPaste}
		undo := button(t, b.HandleMessage(ctx, m).Reply, ActionUndo)
		b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "a1", ActionID: undo.ActionID, Value: undo.Value})
		m.Text, m.Edited = "[wrong channel, this is dev's, ignore] "+producerPaste, "1.2"
		edit := b.HandleEdit(ctx, m)
		if got := list(store); got != "" {
			t.Fatalf("the edit recorded again what U2 undid: %q", got)
		}
		if !strings.Contains(text(edit), "undone by U2") {
			t.Errorf("the edit's reply does not say why nothing was recorded: %s", text(edit))
		}
		anyway := button(t, edit.Reply, ActionRecord+":anyway")
		b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "a2", ActionID: anyway.ActionID, Value: anyway.Value})
		if got := list(store); got != "Billing_CS" {
			t.Errorf("Record anyway: listed %q", got)
		}
	})
	for _, tc := range []struct{ name, edit, listed string }{
		{"struck through", "~" + producerPaste + "~ wrong environment, sorry", ""},
		{"struck through whole, over lines", "~" + strings.Replace(producerPaste, " The Preparation", "\nThe Preparation", 1) + "~", ""},
		{"struck over lines, a note after", "~" + strings.Replace(producerPaste, " The Preparation", "\nThe Preparation", 1) + "~ wrong environment, sorry", ""},
		{"struck over lines, a note before", "wrong environment, sorry:\n~" + strings.Replace(producerPaste, " The Preparation", "\nThe Preparation", 1) + "~", ""},
		{"tildes of a comment", "Failed again after ~20 min of preparation:\n" + producerPaste + "\nRetrying now, ETA ~ 1h", "Billing_CS"},
		{"a path and thanks", "from ~/logs/upgrade.log:\n" + producerPaste + "\nthanks~", "Billing_CS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			m := Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: producerPaste}
			b.HandleMessage(ctx, m)
			m.Text, m.Edited = tc.edit, "1.2"
			edit := b.HandleEdit(ctx, m)
			if got := list(store); got != tc.listed {
				t.Errorf("after the edit, listed %q; want %q\n%s", got, tc.listed, text(edit))
			}
			if tc.listed == "" && !strings.Contains(text(edit), "no longer shows an upgrade error") {
				t.Errorf("the edit's reply: %s", text(edit))
			}
		})
	}
}

// A held-back paste recorded anyway, from its reply or from its edit's
// (held back again), then deleted: its reply does not say nothing is
// recorded; it says what was recorded anyway stays, and where its Undo is
// (a deletion names the version it deleted).
func TestRecordedAnywayThenDeleted(t *testing.T) {
	ctx := context.Background()
	for _, edited := range []bool{false, true} {
		b, _ := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod")
		msg(t, b, "C1", "U1", "1.0", "26 modules prepared successfully, 1 modules failed and 3 modules skipped.")
		m := Message{Workspace: "T1", Channel: "C1", User: "U2", TS: "2.0", Text: "10 modules prepared successfully, 7 modules failed and 5 modules skipped."}
		held := b.HandleMessage(ctx, m)
		if edited {
			m.Text, m.Edited = "10 modules prepared successfully, 6 modules failed and 5 modules skipped.", "2.5"
			held = b.HandleEdit(ctx, m)
		}
		anyway := button(t, held.Reply, ActionRecord+":anyway")
		b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U3", ID: "a1", ActionID: anyway.ActionID, Value: anyway.Value})
		del := b.HandleDelete(ctx, m)
		if del.Edit == nil {
			t.Fatalf("edited %v: the deleted paste's reply is not updated", edited)
		}
		got := text(Response{Reply: del.Edit.Reply})
		mustSay(t, got, "What U3 recorded anyway from it for prod stays until someone clicks Undo")
		if strings.Contains(got, "nothing it said is recorded") {
			t.Errorf("edited %v: the reply says nothing is recorded:\n%s", edited, got)
		}
	}
}
