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

// text renders every part of a response as the shell would show it.
func text(r Response) string {
	var b strings.Builder
	b.WriteString(RenderText(r.Reply))
	b.WriteString(RenderText(r.Announce))
	b.WriteString(RenderText(r.Update))
	if r.File != nil {
		b.Write(r.File.Content)
	}
	return b.String()
}

func TestCommands(t *testing.T) {
	b, store := newTestBot(t)
	steps := []struct {
		user, cmd   string
		announce    bool // the change is posted for the channel
		private     bool // the answer is for the caller only
		contains    []string
		notContains []string
	}{
		{"U1", "track prod 11.31.0 cloud", true, false, []string{"follow", "prod", "11.31.0", "cloud"}, nil},
		{"U1", "track prod", false, true, []string{"already follows prod"}, nil},
		{"U1", "track", false, true, []string{"Usage: /upgrade track <env>"}, nil},
		{"U1", "track prod 11.x", false, true, []string{"neither a version"}, nil},
		{"U1", "failed Billing_CS, Orders\n\"Customer Portal\"", true, false, []string{"3 failed modules", "Billing_CS", "Orders", "Customer Portal", "3 to republish"}, nil},
		{"U2", "skipped 2020-10-28 19:23:00\tUpgrade Failure: Upgrade failed for Employees\tCompilerService", true, false, []string{"1 skipped module", "Employees"}, []string{"CompilerService"}},
		{"U1", "failed Orders", false, true, []string{"Already on prod's list"}, nil},
		{"U1", "status", false, true, []string{"prod", "To republish (4)", "Billing_CS", "Customer Portal", "Employees", "Share in channel"}, nil},
		{"U1", "done orders", true, false, []string{"republished", "Orders", "3 left"}, nil},
		{"U1", "done Nope", false, true, []string{`Not on prod's list, so nothing recorded: "Nope"`}, nil},
		{"U2", "done orders", false, true, []string{"Orders was marked republished on prod already by U1"}, []string{"Not on"}},
		{"U1", "republished all", false, true, []string{"Mark every module on prod's list republished (3 modules)?"}, []string{"All clear"}},
		{"U1", "republished all --yes", true, false, []string{"Billing_CS", "All clear on prod"}, nil},
		{"U3", "undo", false, true, []string{"no change to undo"}, nil},
		{"U1", "undo Billing_CS", false, true, []string{`I don't know the undo code "Billing_CS"`}, nil},
		{"U1", "undo a b", false, true, []string{"Give the code printed beside an Undo button", "Usage: /upgrade undo"}, nil},
		{"U1", "undo", true, false, []string{"undid a change on prod (republished all: Billing_CS, Customer Portal, Employees).", "Back on the list: ", "Billing_CS", "3 to republish"}, nil},
		{"U1", "undo", false, true, []string{"undone already, by U1"}, nil},
		{"U1", "done all --yes", true, false, []string{"All clear on prod"}, nil},
		{"U1", "done all --yes", false, true, []string{"no modules to republish"}, nil},
		{"U1", "history", false, true, []string{"History of prod", "followed in C1", "3 modules reported (failed): Billing_CS, Orders, Customer Portal", "republished: Orders", "undo of republished all"}, []string{"Nope", "add:"}},
		{"U1", "export prod csv", false, true, []string{"time,actor,action", "upgrade-prod-"}, nil},
		{"U1", "export", false, true, []string{"# ", "prod"}, nil},
		{"U1", "envs", false, true, []string{"prod", "11.31.0", "followed in 1 channel"}, []string{"channel(s)"}},
		{"U1", "diagnose There was an error preparing your modules.", false, true, []string{"The modules preparation step itself failed"}, []string{"self-managed"}},
		{"U1", "diagnose hello", false, true, []string{"don't recognize"}, nil},
		{"U1", "statsu", false, true, []string{"Did you mean status?", "Usage: /upgrade status"}, nil},
		{"U1", "fixed Orders", false, true, []string{"Did you mean done?", "Usage: /upgrade done"}, nil}, // not "failed", two letters off
		{"U1", "xyzzyplugh", false, true, []string{"I don't know the command", "/upgrade help"}, nil},
		{"U1", "help done", false, true, []string{"Mark modules republished", "/upgrade done Billing_CS", "republished"}, nil},
		{"U1", "reset prod", false, true, []string{"Start a new upgrade of prod?"}, nil},
		{"U1", "reset prod --yes", true, false, []string{"new upgrade of prod"}, nil},
		{"U1", "untrack prod qa", false, true, []string{"Untrack one environment at a time: `/upgrade untrack prod`, then `/upgrade untrack qa`."}, nil},
		{"U1", "untrack prod", true, false, []string{"stopped following prod"}, nil},
		{"U1", "untrack prod", false, true, []string{"This channel does not follow prod, so there is nothing to stop here"}, nil},
		{"U1", "status", false, true, []string{"This channel follows no environment. Name one, e.g. `/upgrade status prod`, or ask in its channel:", "prod — followed in no channel", "/upgrade track <env> here follows one"}, nil},
		{"U1", "history staging", false, true, []string{"No environment named staging is tracked in this workspace", "/upgrade track staging"}, nil},
	}
	for i, s := range steps {
		resp := b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: s.user, ID: fmt.Sprint("cmd", i), Text: s.cmd})
		out := text(resp)
		if s.announce && resp.Announce.Empty() {
			t.Errorf("%q: nothing announced; got %s", s.cmd, out)
		}
		if s.private && (resp.Reply.Empty() || !resp.Private) {
			t.Errorf("%q: want a private answer, got %+v", s.cmd, resp)
		}
		for _, c := range s.contains {
			if !strings.Contains(out, c) {
				t.Errorf("%q: output lacks %q:\n%s", s.cmd, c, out)
			}
		}
		for _, c := range s.notContains {
			if strings.Contains(out, c) {
				t.Errorf("%q: output has %q:\n%s", s.cmd, c, out)
			}
		}
	}
	// The history outlived the reset and the untrack; what changed nothing
	// (failed Orders again, done Nope, the second done all) is not in it.
	h, err := store.History(context.Background(), "T1", "prod")
	if err != nil || len(h) != 9 {
		t.Errorf("history: %d entries, %v", len(h), err)
	}
}

func TestCommandRetryIsIdempotent(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track qa")
	c := Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "same-id", Text: "failed A B"}
	first := b.HandleCommand(context.Background(), c)
	second := b.HandleCommand(context.Background(), c)
	if first.Announce.Empty() || !second.Announce.Empty() || !second.Reply.Empty() {
		t.Errorf("a retried command must change and announce once: %+v / %+v", first, second)
	}
	st, _ := store.Status(context.Background(), "T1", "qa", -1)
	if st.ModuleCount != 2 {
		t.Errorf("%d modules, want 2", st.ModuleCount)
	}
}

func TestAdminsOnly(t *testing.T) {
	b, _ := newTestBot(t)
	b.admins = []string{"UADMIN"}
	cmd(t, b, "C1", "U1", "track qa")
	for _, c := range []string{"reset qa", "reset qa --yes", "untrack qa", "remind @daily"} {
		resp := cmd(t, b, "C1", "U1", c)
		if !resp.Announce.Empty() || !strings.Contains(text(resp), "Only upgradebot admins") {
			t.Errorf("%q by a non-admin: %s", c, text(resp))
		}
	}
	resp := cmd(t, b, "C1", "UADMIN", "reset qa --yes")
	if resp.Announce.Empty() {
		t.Fatalf("admin reset refused: %s", text(resp))
	}
	// Undoing an admin's reset is for admins too.
	undo := button(t, resp.Announce, ActionUndo)
	for _, step := range []struct{ user, want string }{{"U1", "Only upgradebot admins may undo"}, {"UADMIN", "UADMIN undid a change on qa"}} {
		user, want := step.user, step.want
		r := b.HandleAction(context.Background(), Action{Workspace: "T1", Channel: "C1", User: user, ID: "a-" + user, ActionID: undo.ActionID, Value: undo.Value})
		if !strings.Contains(text(r), want) {
			t.Errorf("Undo of the reset by %s: %s", user, text(r))
		}
	}
	// Everyone may still ask for a reminder now and use the other commands.
	if resp := cmd(t, b, "C1", "U1", "failed X"); resp.Announce.Empty() {
		t.Errorf("failed by a non-admin refused: %s", text(resp))
	}
}

func TestSeveralEnvironments(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track dev")
	cmd(t, b, "C1", "U1", "track prod")
	ctx := context.Background()
	// Unnamed: the bot asks which, with one button per environment.
	resp := msg(t, b, "C1", "U1", "1.1", producerPaste)
	var choice *Button
	for _, bl := range resp.Reply.Blocks {
		for i, bt := range bl.Buttons {
			if bt.Label == "prod" {
				choice = &bl.Buttons[i]
			}
		}
	}
	if choice == nil {
		t.Fatalf("no environment choice in %s", RenderText(resp.Reply))
	}
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 0 {
		t.Fatal("recorded before the choice")
	}
	click := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "a1", ActionID: choice.ActionID, Value: choice.Value})
	if !strings.Contains(text(click), "Recorded for") {
		t.Errorf("choice: %s", text(click))
	}
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Name != "Billing_CS" {
		t.Errorf("after the choice: %+v", st)
	}
	// Named with a prefix: recorded at once.
	msg(t, b, "C1", "U1", "1.2", "dev: "+strings.Replace(producerPaste, "Billing_CS", "Orders", 2))
	if st, _ := store.Status(ctx, "T1", "dev", -1); st.ModuleCount != 1 || st.Modules[0].Name != "Orders" {
		t.Errorf("dev after the prefixed paste: %+v", st)
	}
	// done settles the environment from the module when only one lists it.
	if resp := cmd(t, b, "C1", "U1", "done Orders"); !strings.Contains(text(resp), "on dev") {
		t.Errorf("done Orders: %s", text(resp))
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "done Ghost")), "No environment this channel follows (dev, prod) lists \"Ghost\"")
	// Listed by both: which one is asked, not denied.
	for _, env := range []string{"dev", "prod"} {
		cmd(t, b, "C1", "U1", "failed "+env+": Shared_CS")
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "done Shared_CS")), "dev and prod list \"Shared_CS\": say which, e.g. `/upgrade done dev: Shared_CS`")
	// Republished on one of them already: done says by whom, there.
	cmd(t, b, "C1", "U1", "done dev: Shared_CS")
	cmd(t, b, "C1", "U1", "done prod: Shared_CS")
	mustSay(t, text(cmd(t, b, "C1", "U1", "done Shared_CS")), `No environment this channel follows (dev, prod) lists "Shared_CS"`)
	cmd(t, b, "C1", "U1", "failed dev: Solo_CS")
	cmd(t, b, "C1", "U1", "done dev: Solo_CS")
	mustSay(t, text(cmd(t, b, "C1", "U2", "done Solo_CS")), "Solo_CS was marked republished on dev already by U1")
	// Asked which, the example is the command given, with the environment named
	// as it reads it: one with modules left (prod; dev has none).
	mustSay(t, text(cmd(t, b, "C1", "U1", "snooze 1h")), "say which, e.g. `/upgrade snooze prod 1h`")
	mustSay(t, text(cmd(t, b, "C1", "U1", "failed Ghost")), "say which, e.g. `/upgrade failed prod: Ghost`")
	// Names on the lines below the command: the example is one line, as it is typed.
	mustSay(t, text(cmd(t, b, "C1", "U1", "skipped\nPortal_UI\n\"Invoices UI\"")), "say which, e.g. `/upgrade skipped prod: Portal_UI \"Invoices UI\"`")
	// A button click marks a module republished.
	resp = msg(t, b, "C1", "U1", "1.3", "prod: "+strings.Replace(producerPaste, "Billing_CS", "Directory", 2))
	var mark *Button
	for _, bl := range resp.Reply.Blocks {
		for i, bt := range bl.Buttons {
			if strings.HasPrefix(bt.ActionID, ActionMarkDone) {
				mark = &bl.Buttons[i]
			}
		}
	}
	if mark == nil || !strings.Contains(mark.Label, "Directory") {
		t.Fatalf("no mark button: %s", RenderText(resp.Reply))
	}
	if out := text(b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U3", ID: "a2", ActionID: mark.ActionID, Value: mark.Value})); !strings.Contains(out, "republished") {
		t.Errorf("mark: %s", out)
	}
}

// A hard wrap inside a number or a time (a terminal or log viewer cutting
// every 80 columns) joins its digits: the whole percent and time are
// recorded and shown, not the part before the break.
func TestHardWrappedNumbersAreWhole(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	msg(t, b, "C1", "U1", "2.1", "We are now preparing your modules - 6\n7% (We expect them to be ready at 18:\n21)")
	st, _ := store.Status(context.Background(), "T1", "prod", 0)
	if st.Preparation.Percent == nil || *st.Preparation.Percent != 67 || st.Preparation.Expected != "18:21" {
		t.Errorf("after the wrapped banner: %+v, want 67%% expected at 18:21", st.Preparation)
	}
	out := text(msg(t, b, "C1", "U1", "2.2", "The 1-Click Publish started by ana.silva at 2026-03-02 10:15 can't proceed becau\nse there is an ongoing Modules upgrade, started by Compiler Service at 2026-03-0\n2 09:00, that is locking 'Orders_Core' module."))
	mustSay(t, out, "2026-03-02 09:00")
}

func TestStatusMessagesAreQuiet(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	resp := msg(t, b, "C1", "U1", "2.1", "We are now preparing your modules - 45% (We expect them to be ready at 23:10)")
	if resp.React == "" || resp.Announce != nil || (resp.Reply != nil && !resp.Private) {
		t.Errorf("a status message must be recorded quietly: %+v", resp)
	}
	st, _ := store.Status(context.Background(), "T1", "prod", 0)
	if st.State != progress.StatePreparing || st.Preparation.Percent == nil || *st.Preparation.Percent != 45 {
		t.Errorf("state after progress banner: %+v", st)
	}
	// A paste in a channel that follows nothing is still explained.
	resp = msg(t, b, "C9", "U1", "2.2", producerPaste)
	if !strings.Contains(text(resp), "Not tracked") {
		t.Errorf("untracked channel: %s", text(resp))
	}
	// Ordinary chat gets nothing; a mention gets a hint.
	if resp := msg(t, b, "C1", "U1", "2.3", "lunch?"); !resp.Reply.Empty() || resp.React != "" {
		t.Errorf("chat answered: %+v", resp)
	}
	if resp := msg(t, b, "C1", "U1", "2.4", "<@UBOT> hello"); !strings.Contains(text(resp), "help") {
		t.Errorf("mention: %s", text(resp))
	}
	if resp := msg(t, b, "C1", "U1", "2.5", "<@UBOT> status"); !strings.Contains(text(resp), "prod") || !resp.Private {
		t.Errorf("mention command: %+v", resp)
	}
}

func TestStatusOf5000Modules(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track big")
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("Module_%04d_With_A_Longish_Name", i)
	}
	if _, err := store.Apply(context.Background(), "T1", "big", progress.Change{Kind: progress.ChangeAddModules, Key: "k", Reason: progress.ReasonFailed, Modules: names}); err != nil {
		t.Fatal(err)
	}
	resp := cmd(t, b, "C1", "U1", "status big")
	if out := RenderText(resp.Reply); !strings.Contains(out, "more not shown") {
		t.Errorf("does not say how many were left out")
	}
	lists := 0
	for _, bl := range resp.Reply.Blocks {
		if bl.Kind == ListBlock {
			lists++
			n := 0
			for _, l := range bl.Lines {
				n += len(l.PlainText()) + 24
			}
			if n > maxListChars || len(bl.Lines) == 0 {
				t.Errorf("module list of %d lines, %d characters", len(bl.Lines), n)
			}
		}
	}
	if lists != 1 {
		t.Errorf("%d module lists, want 1", lists)
	}
}

// ReadOnly reads a command's name as the command runs it, whatever space
// follows it: a change is never taken for a read-only command and run
// outside its channel's order.
func TestReadOnly(t *testing.T) {
	b, _ := newTestBot(t)
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"", true},
		{"status prod", true},
		{"STATUS\tprod", true},
		{"help done", true},
		{"nonsense", true},
		{"failed Billing_CS", false},
		{"failed\tBilling_CS", false},
		{"  Reset\nprod --yes", false},
		{"done\u00a0Billing_CS", false},
	} {
		if got := b.ReadOnly(tc.text); got != tc.want {
			t.Errorf("ReadOnly(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// "failed prod Billing_CS" in a channel following prod records no module
// named prod: it says how to name the environment.
func TestEnvironmentNamedWithoutColon(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	for _, c := range []string{"failed prod Billing_CS Orders", "skipped PROD Billing_CS"} {
		mustSay(t, text(cmd(t, b, "C1", "U1", c)), "is an environment this channel follows, not a module", ": Billing_CS", "Nothing was recorded")
	}
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("recorded %+v", st.Modules)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "failed prod: Billing_CS Orders")), "2 failed modules on prod")
	// done too, also in a channel following several environments.
	cmd(t, b, "C1", "U1", "track dev")
	cmd(t, b, "C1", "U1", "failed dev: Billing_Core")
	for _, c := range []string{"done dev Billing_Core", "done prod Orders", "failed DEV Billing_Core \"Men's Portal\""} {
		env := strings.ToLower(strings.Fields(c)[1])
		want := "write `/upgrade " + strings.Fields(c)[0] + " " + env + ": " + strings.Join(strings.Fields(c)[2:], " ") + "`. Nothing was recorded."
		mustSay(t, text(cmd(t, b, "C1", "U1", c)), env+" is an environment this channel follows, not a module: "+want)
	}
	// An environment followed elsewhere, or named as environments are, is no module either.
	cmd(t, b, "C2", "U1", "track qa")
	for _, c := range []string{"failed staging Billing_CS", "skipped qa Orders_UI", "done uat2 Billing_Core"} {
		env := strings.Fields(c)[1]
		mustSay(t, text(cmd(t, b, "C1", "U1", c)), env+" is an environment's name, not a module, and this channel does not follow it: in a channel that does, write `/upgrade "+
			strings.Fields(c)[0]+" "+env+": "+strings.Fields(c)[2]+"`.", "Nothing was recorded.")
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "failed prod: staging New_Core")), "2 failed modules on prod")
	mustSay(t, text(cmd(t, b, "C1", "U1", "done prod:New_Core")), "republished New_Core on prod") // no space after the colon
	for env, n := range map[string]int{"dev": 1, "prod": 3} {
		if st, _ := store.Status(ctx, "T1", env, -1); st.ModuleCount != n {
			t.Errorf("%s lists %+v, want %d modules", env, st.Modules, n)
		}
	}
}

// Commands typed by a team that chats in Portuguese, Spanish, Dutch,
// French or German: "and" between names is no module, and "in" with a
// followed environment at the end names it, as "on prod" does.
func TestCommandWordsOfOtherLanguages(t *testing.T) {
	const env = "is an environment this channel follows, not a module: write `/upgrade failed "
	for _, tc := range []struct {
		envs          []string
		command, says string
		modules       string // the first environment's list after it
	}{
		{[]string{"prd"}, "failed Gestão_Clientes, Relatórios_Core e Faturação_CS", "3 failed modules on prd", "Faturação_CS|Gestão_Clientes|Relatórios_Core"},
		{[]string{"prd"}, "failed A_CS y B_CS", "2 failed modules", "A_CS|B_CS"},
		{[]string{"prd"}, "skipped A_CS en B_CS", "2 skipped modules", "A_CS|B_CS"},
		{[]string{"prd"}, "failed A_CS et B_CS und C_CS i D_CS", "4 failed modules", "A_CS|B_CS|C_CS|D_CS"},
		{[]string{"prd"}, "failed A_CS E_CS E B_CS", "4 failed modules", "A_CS|B_CS|E|E_CS"}, // a capital letter: a name
		{[]string{"prd"}, "failed Faturação_CS no prd", "prd " + env + "prd: Faturação_CS`", ""},
		{[]string{"prd"}, "failed Faturação_CS, Vendas_CS en prd", "prd " + env + "prd: Faturação_CS Vendas_CS`", ""},
		{[]string{"prd"}, "failed Faturação_CS op prd", "prd " + env + "prd: Faturação_CS`", ""},
		{[]string{"prd"}, "failed Faturação_CS em produção", "prd " + env + "prd: Faturação_CS`", ""},
		{[]string{"prd"}, "failed Faturação_CS on prd", "prd " + env + "prd: Faturação_CS`", ""},
		{[]string{"hml", "prd"}, "failed Faturação_CS no hml", "hml " + env + "hml: Faturação_CS`", ""},
		{[]string{"hml", "prd"}, "failed Gestão_Clientes e Faturação_CS", "say which, e.g. `/upgrade failed hml: Gestão_Clientes e Faturação_CS`", ""},
		{[]string{"hml", "prd"}, "failed hml: Gestão_Clientes e Faturação_CS", "2 failed modules on hml", "Faturação_CS|Gestão_Clientes"},
		// "pro", "pre", "des", "hom" start English names: only a whole name is an environment's.
		{[]string{"prod"}, "failed Pro_Portal Billing_CS", "2 failed modules on prod", "Billing_CS|Pro_Portal"},
		{[]string{"prod"}, "failed Pre_Checkout, Billing_CS", "2 failed modules on prod", "Billing_CS|Pre_Checkout"},
		{[]string{"prod"}, "skipped Des_Lib Orders_Core", "2 skipped modules on prod", "Des_Lib|Orders_Core"},
		{[]string{"prod"}, "failed Hom-Lib Orders_Core", "2 failed modules on prod", "Hom-Lib|Orders_Core"},
		{[]string{"prod"}, "failed pre Orders_Core", "pre is an environment's name, not a module", ""},
		{[]string{"prod"}, "failed hml_eu Orders_Core", "hml_eu is an environment's name, not a module", ""},
	} {
		t.Run(tc.command, func(t *testing.T) {
			b, store := newTestBot(t)
			for _, e := range tc.envs {
				cmd(t, b, "C1", "U1", "track "+e+" 11.31.0")
			}
			mustSay(t, text(cmd(t, b, "C1", "U1", tc.command)), tc.says)
			st, _ := store.Status(context.Background(), "T1", tc.envs[0], -1)
			var names []string
			for _, m := range st.Modules {
				names = append(names, m.Name)
			}
			slices.Sort(names)
			if got := strings.Join(names, "|"); got != tc.modules {
				t.Errorf("%s lists %s, want %s", tc.envs[0], got, tc.modules)
			}
		})
	}
}

// Environment names are ASCII, so a team tracks producao; typed with its
// accents in a command, it is that one, while a name that folds to none
// tracked is refused as before.
func TestAccentedEnvironmentInCommands(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track producao 11.31.0")
	cmd(t, b, "C1", "U1", "track hml 11.31.0")
	for _, tc := range []struct{ command, says string }{
		{"failed produção: Faturação_CS Vendas_CS", "2 failed modules on producao"},
		{"status Produção", "producao"},
		{"done produção: Vendas_CS", "republished Vendas_CS on producao"},
		{"take produção: Faturação_CS", "Faturação_CS"},
		{"snooze produção 1h", "producao"},
		{"history produção", "producao"},
		{"track produção 11.31.0", "This channel already follows producao."},
		{"status produçao", "producao"},
		{"status homologação", `That environment name, "homologação", may contain only ASCII letters (no accents)`},
	} {
		out := text(cmd(t, b, "C1", "U1", tc.command))
		mustSay(t, out, tc.says)
		if tc.says == "producao" && strings.Contains(out, "ASCII") {
			t.Errorf("%s: refused:\n%s", tc.command, out)
		}
	}
	st, _ := store.Status(context.Background(), "T1", "producao", -1)
	owners, _ := store.ModuleOwners(context.Background(), "T1", "producao")
	if len(st.Modules) != 1 || st.Modules[0].Name != "Faturação_CS" || owners[moduleKey("Faturação_CS")] != "U1" {
		t.Errorf("producao lists %+v (owners %v), want Faturação_CS taken by U1", st.Modules, owners)
	}
}

// A track from another channel that would change what an environment
// tracked already says asks first: the channels following it rely on it.
func TestTrackAsksBeforeChanging(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track qa 11.31.0 cloud")
	resp := cmd(t, b, "C2", "U2", "track qa 11.30.0 self-managed")
	mustSay(t, text(resp), "qa is tracked already (target Platform Server 11.31.0, cloud), followed in 1 channel.",
		"Change it to target Platform Server 11.30.0, self-managed for every channel that follows it?", "/upgrade track qa")
	if !resp.Private || !resp.Announce.Empty() {
		t.Errorf("the question is for the caller only: %+v", resp)
	}
	if e, _ := store.Environment(ctx, "T1", "qa"); e.Version != "11.31.0" || e.InstallType != progress.InstallCloud || len(e.Channels) != 1 {
		t.Errorf("changed before the answer: %+v", e)
	}
	confirm := button(t, resp.Reply, ActionConfirm).Command
	if confirm != "track qa 11.30.0 self-managed --yes" {
		t.Errorf("the button's command: %q", confirm)
	}
	mustSay(t, text(cmd(t, b, "C2", "U2", confirm)), "U2 set this channel to follow qa (target Platform Server 11.30.0), self-managed")
	if e, _ := store.Environment(ctx, "T1", "qa"); e.Version != "11.30.0" || e.InstallType != progress.InstallSelfManaged {
		t.Errorf("after the answer: %+v", e)
	}
	// Once the upgrade has news, the question says its state carries over
	// (once it is done, a newer target starts the next upgrade: TestNextUpgrade).
	msg(t, b, "C2", "U2", "7.1", "There were errors preparing some modules.")
	mustSay(t, text(cmd(t, b, "C2", "U2", "track qa 11.35.0")), "Its state (", ") and list carry over; a new upgrade starts with /upgrade reset qa")
	// The same values, or none, follow without asking.
	mustSay(t, text(cmd(t, b, "C3", "U3", "track qa 11.30")), "U3 set this channel to follow qa")
	mustSay(t, text(cmd(t, b, "C4", "U3", "track qa")), "U3 set this channel to follow qa")
}

// done with a word that is no module name records the rest as a plain
// done does: its reply says once what it did not take, and keeps its Undo
// button.
func TestDoneWithWordsThatAreNoNames(t *testing.T) {
	for _, extra := range []string{"", "✅", "#42"} {
		t.Run(extra, func(t *testing.T) {
			eachStore(t, func(t *testing.T, b *Bot, _ progress.Store) {
				cmd(t, b, "C1", "U1", "track prod 11.31.0")
				cmd(t, b, "C1", "U1", "failed A_Core, B_Core")
				r := cmd(t, b, "C1", "U1", strings.TrimSpace("done A_Core "+extra))
				out := text(r)
				mustSay(t, out, "U1 republished A_Core on prod: 1 left.")
				want := 0
				if extra != "" {
					want = 1
				}
				if n := strings.Count(out, "Not module names, so not recorded: "+extra); n != want {
					t.Errorf("the note on %q %d times, want %d:\n%s", extra, n, want, out)
				}
				button(t, r.Announce, ActionUndo)
			})
		})
	}
}

// Each refusal says what was wrong: the reason it was refused, not another.
func TestRefusalsSayWhy(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	long := strings.Repeat("X", 201)
	for _, tc := range []struct{ command, says string }{
		{`failed "Billing_` + long + `"`, "can be a module name (longer than 200 characters, more than a module name has)"},
		{"failed Billing_" + long, "can be a module name (longer than 200 characters, more than a module name has)"},
		{"failed Orders_UI: it failed twice", "No environment named orders_ui is tracked in this workspace, so nothing was recorded. If Orders_UI is a module, write it without the colon after it: `/upgrade failed Orders_UI` (a comment goes in parentheses)."},
		{"done Orders_UI: it is fine now", "If Orders_UI is a module, write it without the colon after it: `/upgrade done Orders_UI`"},
		{"track ambiente_ção 11.31.0", `That environment name, "ambiente_ção", may contain only ASCII letters (no accents), digits, "-", "_" and ".". An environment's name is one word, such as prod or prod-eu: ` + "`/upgrade envs` lists the tracked ones."},
	} {
		mustSay(t, text(cmd(t, b, "C1", "U1", tc.command)), tc.says)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("a refused command recorded %d modules", st.ModuleCount)
	}
}

// The help says which commands are the admins', as the refusals do, and
// what of them everyone may do.
func TestHelpSaysWhoMay(t *testing.T) {
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, Admins: []string{"UBOSS"}})
	mustSay(t, text(cmd(t, b, "C1", "U1", "help")), "(admins; remind now: everyone)")
	mustSay(t, text(cmd(t, b, "C1", "U1", "help remind")), "Only upgradebot admins (UBOSS) may use it, except /upgrade remind now, which everyone may.")
	mustSay(t, text(cmd(t, b, "C1", "U1", "help reset")), "Only upgradebot admins (UBOSS) may use it.")
	mustSay(t, text(cmd(t, b, "C1", "U1", "help track")), "--yes confirms")
	if strings.Contains(text(cmd(t, b, "C1", "U1", "help status")), "admins") {
		t.Error("help status says it is the admins'")
	}
	cmd(t, b, "C1", "UBOSS", "track prod 11.31.0")
	mustSay(t, text(cmd(t, b, "C1", "U1", "remind off")), "Only upgradebot admins may use `/upgrade remind` here (`/upgrade remind now` is for everyone).")
	mustSay(t, text(cmd(t, b, "C1", "U1", "reset prod")), "Only upgradebot admins may use `/upgrade reset` here. Ask one of them to do it: UBOSS")
}

// A module typed with other separators than a listed one: done and take
// suggest the listed name; failed and skipped warn that it looks alike.
func TestNamesWrittenOtherwise(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track dev 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "Upgrade Failure: Upgrade failed for Customer Portal\nUpgrade Failure: Upgrade failed for Billing_CS")
	for _, tc := range []struct{ command, want string }{
		{"done customer portal", `Did you mean "Customer Portal"? /upgrade done dev: "Customer Portal"`},
		{"done Customer_Portal", `Did you mean "Customer Portal"? /upgrade done dev: "Customer Portal"`},
		{"take billing-cs", `Did you mean "Billing_CS"? /upgrade take dev: Billing_CS`},
		{`skipped "Billing CS"`, `:warning: Billing CS looks like Billing_CS, already listed: if it is the same module, /upgrade undo takes this back.`},
	} {
		mustSay(t, text(cmd(t, b, "C1", "U1", tc.command)), tc.want)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "envs")), "dev — no news of the preparation yet, 3 to republish, PS 11.31.0")
	// Counted and not named: said apart, as status and the digest say them.
	msg(t, b, "C1", "U1", "1.2", "26 modules prepared successfully, 3 modules failed and 2 modules skipped.")
	mustSay(t, text(cmd(t, b, "C1", "U1", "envs")), "3 to republish, 2 not named, PS 11.31.0")
}

// failed of a module marked republished says so, as a paste does.
func TestFailedAgainSaysItWasRepublished(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed Billing_CS Orders_Core")
	cmd(t, b, "C1", "U1", "done Billing_CS")
	mustSay(t, text(cmd(t, b, "C1", "U2", "failed Billing_CS")), "Billing_CS was marked republished by U1", "it is listed again.")
}

// Slips of a tired hand, each once taken literally: an environment among
// the names, "done prod all", an all-clear confirmed on an empty list, an
// example carrying --yes, names spread over environments, "prod.".
func TestSlipsOfTheHand(t *testing.T) {
	b, store := newTestBot(t)
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track dev 11.31.0")
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	for _, tc := range []struct{ command, want string }{
		{"failed prod", "prod is an environment this channel follows, not a module: write `/upgrade failed prod: <module>`. Nothing was recorded. (A module of that name: `/upgrade failed prod: prod`.)"},
		{"skipped Orders_UI on prod", "write `/upgrade skipped prod: Orders_UI`"},
		{"done A_CS in prod", "write `/upgrade done prod: A_CS`"},
	} {
		mustSay(t, text(cmd(t, b, "C1", "U1", tc.command)), tc.want, "Nothing was recorded")
	}
	for _, env := range []string{"dev", "prod"} {
		if st, _ := store.Status(ctx, "T1", env, -1); st.ModuleCount != 0 {
			t.Errorf("%s lists %+v after the refused commands", env, st.Modules)
		}
	}
	cmd(t, b, "C1", "U1", "failed prod: A_CS")
	cmd(t, b, "C1", "U1", "failed dev: D_CS")
	cmd(t, b, "C1", "U1", "done dev: D_CS")
	// The example names the environment with modules left, and confirms nothing.
	out := text(cmd(t, b, "C1", "U1", "done all --yes"))
	mustSay(t, out, "e.g. `/upgrade done prod: all`")
	if strings.Contains(out, "--yes") {
		t.Errorf("the example confirms: %s", out)
	}
	// With no news of the preparation, done all on an empty list closes the
	// upgrade (README): asked first, as it is with --yes.
	mustSay(t, text(cmd(t, b, "C1", "U1", "done dev: all")), "Nothing is listed on dev and no outcome of its modules preparation is recorded. Record its upgrade as done")
	if st, _ := store.Status(ctx, "T1", "dev", 0); st.Environment.State == progress.StateDone {
		t.Errorf("dev done before the confirmation: %+v", st.Environment)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "done dev: all --yes")), "U1 recorded the upgrade of dev as done, with nothing listed to republish.")
	// "done prod all" and "all." mean done all.
	mustSay(t, text(cmd(t, b, "C1", "U1", "done prod all")), "Mark every module on prod's list republished")
	mustSay(t, text(cmd(t, b, "C1", "U1", "done prod: all.")), "Mark every module on prod's list republished")
	// Names spread over environments: which lists which, and one command each.
	cmd(t, b, "C1", "U1", "failed prod: P_CS")
	mustSay(t, text(cmd(t, b, "C1", "U1", "done P_CS, D_CS")),
		`"P_CS": prod; "D_CS": dev (republished)`, "e.g. `/upgrade done prod: P_CS`")
	// Among other names, an environment's name may be a module's.
	mustSay(t, text(cmd(t, b, "C1", "U1", "failed Billing_CS Prod")), "This channel follows dev, prod: say which, e.g. `/upgrade failed prod: Billing_CS Prod`")
	// "prod." is prod.
	mustSay(t, text(cmd(t, b, "C1", "U1", "status prod.")), "prod")
	cmd(t, b, "C1", "U1", "track prod. 11.31.0")
	if envs, _ := store.ChannelEnvironments(ctx, "T1", "C1"); len(envs) != 2 {
		t.Errorf("environments after track prod.: %+v", envs)
	}
	// One word too many in track says which.
	mustSay(t, text(cmd(t, b, "C1", "U1", "track qa 11.31.0 self managed")), "self-managed")
}

// done all before the preparation's outcome marks nothing, says why, and
// covers nothing its summary counts later: no false all-clear.
func TestDoneAllBeforeTheOutcome(t *testing.T) {
	for _, tc := range []struct{ name, news, want string }{
		{"running", "We are now preparing your modules - 40% (We expect them to be ready at 18:21)", "Nothing to mark yet: prod's modules preparation is still running."},
		{"failed", "There was an error preparing your modules.", "prod's modules preparation failed, so there is nothing to mark republished until it runs again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod 11.31.0")
			msg(t, b, "C1", "U1", "1.1", tc.news)
			mustSay(t, text(cmd(t, b, "C1", "U1", "done all")), tc.want)
			mustSay(t, text(cmd(t, b, "C1", "U1", "done all --yes")), tc.want)
			out := text(msg(t, b, "C1", "U1", "1.2", "26 modules prepared successfully, 1 modules failed and 0 modules skipped."))
			if strings.Contains(out, "All clear") {
				t.Errorf("the summary after done all is an all-clear:\n%s", out)
			}
			mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "1 not named")
		})
	}
}

// export and history read their words wherever they stand, and say what a
// word they cannot take is, rather than take it for an environment.
func TestExportAndHistoryWords(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	for _, tc := range []struct{ text, want string }{
		{"export pdf", `"pdf" is not a format I export: use md (Markdown), csv or xlsx (Excel).`},
		{"export prod docx", `"docx" is not a format I export`},
		{"history prod foo", "Give one environment, and optionally all."},
		{"history untracked", "No environment named untracked is tracked in this workspace: `/upgrade envs` lists those that are"},
	} {
		mustSay(t, text(cmd(t, b, "C1", "U1", tc.text)), tc.want)
	}
	if r := cmd(t, b, "C1", "U1", "history all prod"); r.File == nil {
		t.Errorf("history all prod gave no file:\n%s", text(r))
	}
}

// Without admins set, the help says everyone may, for now.
func TestHelpWithoutAdmins(t *testing.T) {
	b, _ := newTestBot(t)
	mustSay(t, text(cmd(t, b, "C1", "U1", "help reset")), "Only upgradebot admins (UPGRADEBOT_ADMINS names none, so for now everyone) may use it.")
}

// An environment's name in quotes, with a space: the reply says what a name is.
func TestTrackQuotedName(t *testing.T) {
	b, _ := newTestBot(t)
	mustSay(t, text(cmd(t, b, "C1", "U1", `track "My Env" 11.31.0`)), "An environment's name is one word, without quotes or spaces: `/upgrade track my-env`, for example.")
}

// A name holding a comma is quoted where names are listed: in plain text
// ("Orders, Billing") it would read as two.
func TestNameWithACommaListed(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track stg 11.31.0")
	mustSay(t, text(cmd(t, b, "C1", "U1", `failed "Men's Portal", "Orders, Billing"`)), `2 failed modules on stg: Men's Portal, "Orders, Billing".`)
}

// namesOf is a directory of people's and channels' names (Names).
type namesOf map[string]string

// Departed: a name "(left)" is a deactivated person's.
func (n namesOf) Departed(_ context.Context, _ string, ids []string) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = strings.HasSuffix(n[id], "(left)")
	}
	return out
}

func (n namesOf) Names(_ context.Context, _ string, ids []string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		if name, ok := n[id]; ok {
			out[id] = name
		}
	}
	return out
}

// Exports are read outside Slack, where an id means nothing: they name
// people and channels, and keep the ids nobody names. A module whose
// name looks like an id stays as it is.
func TestExportNamesPeopleAndChannels(t *testing.T) {
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	names := namesOf{"U1": "Ana Silva", "U2": "Bruno Costa", "U3": "Carla Dias", "C1": "#upgrade-prod"}
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, BotUserID: "UBOT", Names: names})
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	b.Answer(context.Background(), b.Read(Message{Workspace: "T1", Channel: "C1", User: "U2", TS: "1700000001.000100", Text: producerPaste}))
	cmd(t, b, "C1", "U3", "take Billing_CS")
	cmd(t, b, "C1", "U9", "failed U2")
	cmd(t, b, "C1", "U9", "done U2")
	for _, c := range []struct {
		command string
		want    []string
	}{
		{"export prod", []string{
			"| Ana Silva | followed in #upgrade-prod, version 11.31.0 |",
			"| Billing_CS | reported | producer-not-prepared | open | Bruno Costa |",
			"| Carla Dias |", // the owner
			"| message in #upgrade-prod at 1700000001.000100 |",
			"| U2 | failed | failed | republished | U9 |", // a module named like an id; someone nobody names
			"| Carla Dias | took: Billing_CS |",
		}},
		{"export prod excel", nil}, // a workbook: its cells are read in progress's tests
		{"export prod csv", []string{"Billing_CS,reported,producer-not-prepared,open,Bruno Costa,", ",Ana Silva,track,\"followed in #upgrade-prod, version 11.31.0\","}},
		{"history prod all", []string{",Ana Silva,track,\"followed in #upgrade-prod, version 11.31.0\",", ",Carla Dias,take,took: Billing_CS,", ",U9,add,1 module reported (failed): U2,command"}},
	} {
		r := cmd(t, b, "C1", "U1", c.command)
		if r.File == nil {
			t.Fatalf("%s: no file:\n%s", c.command, text(r))
		}
		got := string(r.File.Content)
		if c.want == nil {
			if r.File.Type != "xlsx" || !strings.HasSuffix(r.File.Name, ".xlsx") || !strings.HasPrefix(got, "PK") {
				t.Errorf("%s: a %s file %s, want a workbook", c.command, r.File.Type, r.File.Name)
			}
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: no %q in\n%s", c.command, w, got)
			}
		}
		for _, id := range []string{"U1", "U3", "C1"} {
			if strings.Contains(got, id+" ") || strings.Contains(got, id+",") || strings.Contains(got, " "+id+" |") {
				t.Errorf("%s: %s is named by its id:\n%s", c.command, id, got)
			}
		}
	}
}

// A file of an environment (its record, its chart) is shared with the
// whole channel it is asked in: only where the environment is followed,
// or in a direct message; elsewhere the asker is told where to ask.
func TestFilesSharedOnlyWhereFollowed(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed Billing_CS")
	for _, command := range []string{"export prod", "export prod xlsx", "history prod all", "chart prod"} {
		for _, c := range []struct {
			channel string
			direct  bool
			shared  bool
		}{{"C1", false, true}, {"C2", false, false}, {"D1", true, true}} {
			r := b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: c.channel, User: "U2", ID: c.channel + command, Text: command, Direct: c.direct})
			if got := r.File != nil; got != c.shared {
				t.Errorf("%s in %s: a file %v, want %v:\n%s", command, c.channel, got, c.shared, RenderText(r.Reply))
			}
			if !c.shared {
				mustSay(t, text(r), "prod is not followed in this channel, so I don't share its files here", "ask in a channel that follows prod, or in a direct message with me")
			}
		}
	}
	// Read privately, history and status still answer anywhere.
	mustSay(t, text(cmd(t, b, "C2", "U2", "history prod")), "History of prod")
}

// In a channel that follows nothing, a command names the workspace's
// environments and where each is followed, not a made-up example that
// would be tracked as a new environment if followed.
func TestNoEnvironmentHereNamesThoseTracked(t *testing.T) {
	b, _ := newTestBot(t)
	mustSay(t, text(cmd(t, b, "C9", "U1", "status")), "No environment is tracked here yet. Start with `/upgrade track <env> [version]`")
	cmd(t, b, "C1", "U1", "track stg 11.31.0")
	cmd(t, b, "C2", "U1", "track stg")
	out := text(cmd(t, b, "C9", "U2", "done Orders"))
	mustSay(t, out, "Name one, e.g. `/upgrade done stg: Orders`", "stg — followed in #C1, #C2")
	if strings.Contains(out, "prod") {
		t.Errorf("a made-up environment suggested:\n%s", out)
	}
}

// The command alone answers with what a newcomer needs, not the reference.
func TestCommandAloneGetsStarted(t *testing.T) {
	b, _ := newTestBot(t)
	out := text(cmd(t, b, "C1", "U1", ""))
	mustSay(t, out, "Paste an upgrade error", "/upgrade status", "/upgrade take <module>", "/upgrade done <module>", "/upgrade help lists every command")
	if n := strings.Count(out, "\n"); n > 8 {
		t.Errorf("%d lines for the command alone:\n%s", n, out)
	}
}

// A module name one letter off (two in a longer name) gets a suggestion
// when one listed module is that near; nothing is recorded.
func TestModuleTypoSuggested(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed Billing_CS Orders_Core Invoices_UI")
	for _, c := range []struct{ cmd, want string }{
		{"done Biling_CS", `Did you mean "Billing_CS"? /upgrade done prod: Billing_CS`},
		{"done Orders_Cor", `Did you mean "Orders_Core"? /upgrade done prod: Orders_Core`},
		{"take Order_Core", `Did you mean "Orders_Core"? /upgrade take prod: Orders_Core`},
	} {
		out := text(cmd(t, b, "C1", "U2", c.cmd))
		mustSay(t, out, c.want)
	}
	if out := text(cmd(t, b, "C1", "U2", "done Payments")); strings.Contains(out, "Did you mean") {
		t.Errorf("a name far from every listed one got a suggestion:\n%s", out)
	}
}

// Greetings and questions, punctuated or not, get the three commands;
// help's and status's other names run them.
func TestWordsThatMeanACommand(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track stg")
	for _, c := range []struct{ text, want string }{
		{"Hi!", "Paste an upgrade error"},
		{"what?", "Paste an upgrade error"},
		{"commands", "/upgrade reset <env>"}, // the whole reference
		{"--help", "/upgrade reset <env>"},
		{"list", "stg"},
	} {
		mustSay(t, text(cmd(t, b, "C1", "U1", c.text)), c.want)
	}
}

// A mention followed by a mistyped command gets what the command would
// say; a sentence to the bot gets the hint, not "I don't know the command".
func TestMentionWithAMistypedCommand(t *testing.T) {
	b, _ := newTestBot(t)
	for _, c := range []struct{ text, want, not string }{
		{"<@UBOT> stauts", "Did you mean status?", ""},
		{"<@UBOT> hi", "Paste an upgrade error", ""},
		{"<@UBOT> can you help with this?", "I read OutSystems modules-preparation errors", "I don't know the command"},
	} {
		out := text(msg(t, b, "C1", "U1", "1700000000.000100", c.text))
		mustSay(t, out, c.want)
		if c.not != "" && strings.Contains(out, c.not) {
			t.Errorf("%q: %s", c.text, out)
		}
	}
}

// A newer target for an environment whose upgrade is done starts its next
// upgrade (asked first): the old state and list would hold back every
// paste of the new one. The next upgrade starts from the last target,
// also after a plain reset, so an upgrade that came from Platform Server
// 10 does not ask to republish everything again; the reset's undo puts
// the old version back. Someone who may not reset is told who can.
func TestNextUpgrade(t *testing.T) {
	ctx := context.Background()
	for _, viaReset := range []bool{false, true} {
		t.Run(map[bool]string{false: "track", true: "reset"}[viaReset], func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod 11.12.0 from 10.0.1")
			cmd(t, b, "C1", "U1", "failed Billing_CS")
			cmd(t, b, "C1", "U1", "done all --yes")
			if e, _ := store.Environment(ctx, "T1", "prod"); e.State != progress.StateDone {
				t.Fatalf("set-up: %+v", e)
			}
			if viaReset {
				r := cmd(t, b, "C1", "U1", "reset prod --yes")
				mustSay(t, text(r), "It runs Platform Server 11.12.0, the last upgrade's target")
				if e, _ := store.Environment(ctx, "T1", "prod"); e.FromVersion != "11.12.0" {
					t.Errorf("after the reset, upgraded from %q, want 11.12.0", e.FromVersion)
				}
				// Its undo puts the old version back; done again, it is reset again.
				mustSay(t, text(b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "undo1", Text: "undo"})), "undid")
				if e, _ := store.Environment(ctx, "T1", "prod"); e.FromVersion != "10.0.1" || e.State != progress.StateDone {
					t.Errorf("after the reset's undo: from %q, state %s; want 10.0.1, done", e.FromVersion, e.State)
				}
				b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "reset2", Text: "reset prod --yes"})
				cmd(t, b, "C1", "U1", "track prod 11.13.0 --yes")
			} else {
				q := cmd(t, b, "C1", "U1", "track prod 11.13.0")
				mustSay(t, text(q), "prod's upgrade to Platform Server 11.12.0 is done. Start its next upgrade, to 11.13.0 (from 11.12.0)?")
				if e, _ := store.Environment(ctx, "T1", "prod"); e.Version != "11.12.0" {
					t.Errorf("changed before the answer: %+v", e)
				}
				a := cmd(t, b, "C1", "U1", button(t, q.Reply, ActionConfirm).Command)
				mustSay(t, text(a), "U1 started the next upgrade of prod (target Platform Server 11.13.0), upgraded from 11.12.0.", "Its upgrade to Platform Server 11.12.0 was done")
			}
			e, _ := store.Environment(ctx, "T1", "prod")
			if e.Version != "11.13.0" || e.FromVersion != "11.12.0" || e.State != progress.StateFollowing {
				t.Errorf("the next upgrade: %s → %s, %s; want 11.12.0 → 11.13.0, following", e.FromVersion, e.Version, e.State)
			}
			out := text(msg(t, b, "C1", "U2", "9.1", "Producer module 'Orders_CS' hasn't been prepared for the current OutSystems environment version."))
			mustSay(t, out, "Recorded for prod")
			if strings.Contains(out, "Republish all applications now") {
				t.Errorf("the next upgrade asks to republish everything:\n%s", out)
			}
		})
	}
	// With admins, someone else is told an admin starts it, --yes or not: a
	// new target on the finished upgrade would keep it done, refusing the next one's news.
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, Admins: []string{"UBOSS"}})
	cmd(t, b, "C1", "UBOSS", "track prod 11.12.0")
	cmd(t, b, "C1", "UBOSS", "done all --yes")
	for _, c := range []string{"track prod 11.13.0", "track prod 11.13.0 --yes"} {
		out := text(cmd(t, b, "C1", "U2", c))
		mustSay(t, out, "prod's upgrade to Platform Server 11.12.0 is done, and only upgradebot admins start its next one (to 11.13.0). Ask one of them to do it: UBOSS")
		if strings.Contains(out, "To follow it here") {
			t.Errorf("told how to follow prod in a channel that follows it:\n%s", out)
		}
	}
	// From a channel that does not follow it: how to follow it as it is.
	mustSay(t, text(cmd(t, b, "C2", "U2", "track prod 11.13.0")), "only upgradebot admins start its next one", "To follow it here as it is: /upgrade track prod.")
	if e, _ := store.Environment(ctx, "T1", "prod"); e.Version != "11.12.0" || e.State != progress.StateDone {
		t.Errorf("after a non-admin's track: target %s, state %s; want 11.12.0, done", e.Version, e.State)
	}
}

// A second click on "Start the next upgrade", or a click after someone
// else started it, says it was started already, and by whom, and changes
// nothing (it said "This channel already follows prod", or set the target
// the other person had chosen).
func TestNextUpgradeStartedAlready(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, meanwhile string // what U2 types after U1 is asked, if anything
		first           bool   // U1 clicks once before the click looked at
		want            []string
		target          string
	}{
		{"double click", "", true, []string{"prod's next upgrade was already started since this question, by U1 (Wed 25 Nov 09:32 UTC): nothing changed. /upgrade status prod shows where it stands."}, "11.13.0"},
		{"started by someone else", "track prod 11.13.0 --yes", false, []string{"already started since this question, by U2 (Wed 25 Nov 09:32 UTC): nothing changed."}, "11.13.0"},
		{"to another target", "track prod 11.14.0 --yes", false, []string{"by U2", "its target is Platform Server 11.14.0, and /upgrade track prod 11.13.0 changes it."}, "11.14.0"},
		{"reset, then the click", "reset prod --yes", false, []string{"by U2", "its target is Platform Server 11.12.0, and /upgrade track prod 11.13.0 changes it."}, "11.12.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := testNow
			b, store := newClockBot(t, func() time.Time { return now })
			cmd(t, b, "C1", "U1", "track prod 11.12.0 from 11.11.0")
			cmd(t, b, "C1", "U1", "failed Billing_CS")
			cmd(t, b, "C1", "U1", "done all --yes")
			now = now.Add(time.Minute)
			q := cmd(t, b, "C1", "U1", "track prod 11.13.0")
			asked := fmt.Sprintf("%d.000100", now.Unix()) // the question's ts
			bt := button(t, q.Reply, ActionConfirm)
			click := func(id string) Response {
				return b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: id, ActionID: bt.ActionID, Value: bt.Value, Message: asked})
			}
			now = now.Add(time.Minute)
			if c.meanwhile != "" {
				cmd(t, b, "C2", "U2", c.meanwhile)
			}
			if c.first {
				mustSay(t, text(click("first")), "U1 started the next upgrade of prod")
			}
			before, _ := store.History(ctx, "T1", "prod")
			now = now.Add(time.Second)
			out := text(click("again"))
			mustSay(t, out, c.want...)
			if strings.Contains(out, "already follows") {
				t.Errorf("the click says it already follows prod:\n%s", out)
			}
			e, _ := store.Environment(ctx, "T1", "prod")
			after, _ := store.History(ctx, "T1", "prod")
			if e.Version != c.target || e.State == progress.StateDone || len(after) != len(before) {
				t.Errorf("after the click: target %s, %s, %d history entries; want %s, not done, %d", e.Version, e.State, len(after), c.target, len(before))
			}
		})
	}
}

// A "Reset prod" or "Mark all republished" question answered after
// someone else reset prod acts on nothing: it would reset or clear the new
// upgrade, which nobody asked about.
func TestConfirmAfterAnotherReset(t *testing.T) {
	ctx := context.Background()
	for _, asked := range []string{"reset prod", "done all"} {
		t.Run(asked, func(t *testing.T) {
			now := testNow
			b, store := newClockBot(t, func() time.Time { return now })
			cmd(t, b, "C1", "U1", "track prod 11.31.0")
			cmd(t, b, "C1", "U1", "failed Old_Core")
			now = now.Add(time.Minute)
			q := cmd(t, b, "C1", "U1", asked)
			ts := fmt.Sprintf("%d.000100", now.Unix())
			bt := button(t, q.Reply, ActionConfirm)
			now = now.Add(time.Minute)
			cmd(t, b, "C2", "U2", "track prod")
			cmd(t, b, "C2", "U2", "reset prod --yes")
			cmd(t, b, "C2", "U2", "failed New_Core")
			out := text(b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "x", ActionID: bt.ActionID, Value: bt.Value, Message: ts}))
			mustSay(t, out, "prod's next upgrade was already started since this question, by U2", "nothing changed")
			if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Name != "New_Core" {
				t.Errorf("after the click: %d listed %v; want New_Core still listed", st.ModuleCount, st.Modules)
			}
		})
	}
}

// --yes confirms done and reset; typed after the modules of failed,
// skipped, take or release out of habit, it names no module "yes".
func TestYesIsNoModule(t *testing.T) {
	b, store := newTestBot(t)
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	for _, tc := range []struct{ command, want string }{
		{"failed Orders_Core --yes", "U1 reported 1 failed module on prod: Orders_Core. 1 to republish."},
		{"skipped prod: --YES Claims_Core", "U1 reported 1 skipped module on prod: Claims_Core. 2 to republish."},
		{"take Orders_Core --yes", "U1 took Orders_Core on prod."},
		{"release Orders_Core --yes", "U1 released Orders_Core on prod: anyone may take it."},
		// A keyboard's smart dashes, one dash, a full stop.
		{"failed Orders_Core —yes", "Already on prod's list: nothing changed."},
		{"failed Orders_Core –yes", "Already on prod's list: nothing changed."},
		{"failed Orders_Core -yes", "Already on prod's list: nothing changed."},
		{"failed Orders_Core --yes.", "Already on prod's list: nothing changed."},
	} {
		out := text(cmd(t, b, "C1", "U1", tc.command))
		mustSay(t, out, tc.want)
		if strings.Contains(strings.ToLower(out), "yes") {
			t.Errorf("%s: %q names yes", tc.command, out)
		}
	}
	if listed := strings.Join(listedIn(t, store, "prod"), "|"); listed != "Claims_Core|Orders_Core" {
		t.Errorf("prod lists %s", listed)
	}
	if owners, err := store.ModuleOwners(ctx, "T1", "prod"); err != nil || len(owners) != 0 {
		t.Errorf("owners after take and release: %v, %v", owners, err)
	}
}

// The next upgrade, started by a track, is undone as a reset is: state,
// list and versions back. An undo of a reset whose versions were set since
// is refused (it would make up an upgrade nobody ran); a reset of an
// environment no channel follows moves no version and says none moved.
func TestNextUpgradeUndone(t *testing.T) {
	ctx := context.Background()
	done := func(t *testing.T) (*Bot, progress.Store) {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod 11.12.0 from 10.0.1")
		cmd(t, b, "C1", "U1", "failed Billing_CS")
		cmd(t, b, "C1", "U1", "done all --yes")
		return b, store
	}
	env := func(store progress.Store) progress.Environment {
		e, _ := store.Environment(ctx, "T1", "prod")
		return e
	}
	t.Run("track", func(t *testing.T) {
		b, store := done(t)
		r := cmd(t, b, "C1", "U1", "track prod 11.13.0 --yes")
		button(t, r.Announce, ActionUndo)
		mustSay(t, text(cmd(t, b, "C1", "U1", "undo")), "undid")
		if e := env(store); e.State != progress.StateDone || e.Version != "11.12.0" || e.FromVersion != "10.0.1" {
			t.Errorf("after the undo: %s → %s, %s; want 10.0.1 → 11.12.0, done", e.FromVersion, e.Version, e.State)
		}
	})
	t.Run("a version set since the reset", func(t *testing.T) {
		b, store := done(t)
		reset := cmd(t, b, "C1", "U1", "reset prod --yes")
		cmd(t, b, "C1", "U1", "track prod 11.13.0 from 11.12.1 --yes")
		bt := button(t, reset.Announce, ActionUndo)
		undo := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "u", ActionID: bt.ActionID, Value: bt.Value})
		mustSay(t, text(undo), "prod's versions changed since the reset (now 11.12.1 → 11.13.0)")
		if e := env(store); e.State != progress.StateFollowing || e.FromVersion != "11.12.1" || e.Version != "11.13.0" {
			t.Errorf("after the refused undo: %s → %s, %s; want 11.12.1 → 11.13.0, following", e.FromVersion, e.Version, e.State)
		}
	})
	t.Run("followed nowhere", func(t *testing.T) {
		b, store := done(t)
		cmd(t, b, "C1", "U1", "untrack prod")
		out := text(cmd(t, b, "C2", "U1", "reset prod --yes"))
		if strings.Contains(out, "the next upgrade starts from it") {
			t.Errorf("the reply says a version moved:\n%s", out)
		}
		if e := env(store); e.FromVersion != "10.0.1" {
			t.Errorf("upgraded from %q, want 10.0.1 kept", e.FromVersion)
		}
	})
}

// A paste naming a newer target than a done upgrade's is held back with
// the command that starts the next upgrade, and says to paste it again
// after: the track is a new start, which the message came before.
func TestHeldPasteOfTheNextUpgrade(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.12.0")
	cmd(t, b, "C1", "U1", "done all --yes")
	out := text(msg(t, b, "C1", "U2", "5.1", "Upgrading to Platform Server 11.13.0, we got:\nUpgrade Failure: Upgrade failed for Orders_Core"))
	mustSay(t, out, "whose upgrade is done: if 11.13.0 is the next one, /upgrade track prod 11.13.0 starts it; then paste this again.")
	// Where only admins may start it, the hint says so.
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b = New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, Admins: []string{"U1"}})
	cmd(t, b, "C1", "U1", "track prod 11.12.0")
	cmd(t, b, "C1", "U1", "done all --yes")
	out = text(msg(t, b, "C1", "U2", "5.1", "Upgrading to Platform Server 11.13.0, we got:\nUpgrade Failure: Upgrade failed for Orders_Core"))
	mustSay(t, out, "/upgrade track prod 11.13.0 (an upgradebot admin's to run) starts it")
}

// The next upgrade's Undo is refused once it would mix two upgrades or make
// up versions nobody ran: news recorded since (even a year on, when the
// start is known only from the history), versions set since; an
// environment tracked without "upgraded from" gets none from the next
// upgrade, so its undo leaves none.
func TestNextUpgradeUndoGuards(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, from, since, refusal string
		wantFrom                   string
	}{
		{name: "news a year on", from: " from 10.0.1", since: "failed Orders_Core", refusal: "prod's new upgrade has news since the reset"},
		{name: "a newer target since", from: " from 10.0.1", since: "track prod 11.14.0 --yes", refusal: "prod's versions changed since the reset (now 11.12.0 → 11.14.0)"},
		{name: "another from since", from: " from 10.0.1", since: "track prod from 11.12.1 --yes", refusal: "prod's versions changed since the reset (now 11.12.1 → 11.13.0)"},
		{name: "no from", wantFrom: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, store, now := clockBot(t)
			run := func(text string) Response {
				return b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: text, Text: text})
			}
			run("track prod 11.12.0" + tc.from)
			run("done all --yes")
			*now = now.Add(366 * 24 * time.Hour) // the start's own record has expired
			next := run("track prod 11.13.0 --yes")
			if tc.since != "" {
				run(tc.since)
			}
			bt := button(t, next.Announce, ActionUndo)
			out := text(b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "undo", ActionID: bt.ActionID, Value: bt.Value}))
			e, _ := store.Environment(ctx, "T1", "prod")
			if tc.refusal != "" {
				mustSay(t, out, tc.refusal)
				if e.State == progress.StateDone {
					t.Errorf("undone anyway: %+v", e)
				}
				return
			}
			if e.State != progress.StateDone || e.Version != "11.12.0" || e.FromVersion != tc.wantFrom {
				t.Errorf("after the undo: %q → %s, %s; want %q → 11.12.0, done\n%s", e.FromVersion, e.Version, e.State, tc.wantFrom, out)
			}
		})
	}
}

// A message mentioning the bot is a command when its first word is one,
// unless what follows is a product message: a paste addressed to the bot
// whose first word happens to be a command's is diagnosed and recorded.
func TestCommandOrPasteToTheBot(t *testing.T) {
	const summary = "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."
	for _, tc := range []struct {
		text    string
		command bool
	}{
		{"<@UBOT> status prod", true},
		{"<@UBOT> failed Billing_CS Orders_Core", true},
		{"<@UBOT> failed prod: Billing_CS (Upgrade failed for Billing_CS)", true}, // a comment may quote the error
		{"<@UBOT> done all --yes", true},
		{"<@UBOT> diagnose " + summary, true},
		{"<@UBOT> Failed to set permissions for OutSystems services.", false},
		{"<@UBOT> take a look at this:\n" + summary, false},
		{"<@UBOT> take a look (SC says: " + summary + ")", false},
		{"<@UBOT> done with this? (Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.)", false},
	} {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		_, isCmd := b.CommandText(tc.text)
		if isCmd != tc.command {
			t.Errorf("%q: command %v, want %v", tc.text, isCmd, tc.command)
		}
		if !tc.command && strings.Contains(tc.text, summary) {
			mustSay(t, text(msg(t, b, "C1", "U1", "1.1", tc.text)), "Recorded for prod")
			if st, _ := store.Status(context.Background(), "T1", "prod", 0); !st.Counts.Known() {
				t.Errorf("%q: the summary was not recorded", tc.text)
			}
		}
	}
}
