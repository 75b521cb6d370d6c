package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

const (
	notUpgradedPaste = "This Module hasn't been upgraded to the current environment version. Please publish the module. Alternatively, run another environment upgrade."
	prepFailedPaste  = "There was an error preparing your modules."
	preparingPaste   = "We are now preparing your modules - 45% (We expect them to be ready at 2026-11-25 14:30)"
)

var installs = []progress.InstallType{progress.InstallCloud, progress.InstallSelfManaged, progress.InstallUnknown}

// everyKnown is every combination of what a reply may know.
func everyKnown() []known {
	states := []progress.Environment{
		{Name: "prod"},
		{Name: "prod", State: progress.StatePreparing, Preparation: progress.Preparation{Percent: intp(45), Expected: "14:30"}},
		{Name: "prod", State: progress.StateFinishedWithErrors},
		{Name: "prod", State: progress.StateFailed},
		{Name: "prod", FromVersion: "10.0.1"},
	}
	var out []known
	for _, in := range installs {
		for _, env := range states {
			env.InstallType = in
			out = append(out, known{env: env}, known{env: env, internal: true})
		}
	}
	return out
}

// A known issue that a later Platform Server fixes is the cause only while
// the target is older: with the target at the fix or past it, the reply
// rules it out and says to open a case; with no target, or one that may be
// older ("11.13" for a fix in 11.13.2), it gives the known issue's advice.
func TestKnownIssueFixedInTheTarget(t *testing.T) {
	const paste = "Configuration Tool: Unable to obtain the connection string"
	const knownIssue, upgrade = "A known issue of upgrades from Platform Server 10", "Upgrade to Platform Server 11.13.2 or later"
	const ruledOut, support = "The target version has the fix of the known issue behind this message (Platform Server 11.13.2)", "Open a case with OutSystems Support"
	tests := []struct {
		track    string
		ruledOut bool
	}{
		{"track prod self-managed", false},
		{"track prod 11.13.1 self-managed from 10.0.1", false},
		{"track prod 11.13 self-managed", false},
		{"track prod 11.13.2 self-managed", true},
		{"track prod 11.31.0 self-managed from 11.14.0", true},
		{"track prod 11.31.0 self-managed\ntrack qa 11.31.0 self-managed", true}, // before the choice of environment: the same target
		{"track prod 11.31.0 self-managed\ntrack qa 11.12.0 self-managed", false},
	}
	for _, tt := range tests {
		t.Run(tt.track, func(t *testing.T) {
			b, _ := newTestBot(t)
			for _, track := range strings.Split(tt.track, "\n") {
				cmd(t, b, "C1", "U1", track)
			}
			out := text(msg(t, b, "C1", "U1", "1.1", paste))
			shown, hidden := []string{knownIssue, upgrade}, []string{ruledOut, support}
			if tt.ruledOut {
				shown, hidden = hidden, shown
			}
			mustSay(t, out, shown...)
			for _, h := range hidden {
				if strings.Contains(out, h) {
					t.Errorf("%q shown:\n%s", h, out)
				}
			}
		})
	}
}

// A reply shows the causes, steps and links of the installation type
// known, unlabelled; an unknown type shows every type's, labelled.
func TestRepliesFollowTheInstallationType(t *testing.T) {
	b, _ := newTestBot(t)
	for _, entry := range diagnosis.Builtin().Entries() {
		for _, k := range everyKnown() {
			out := RenderText(b.diagnosisReply([]diagnosis.Finding{{ID: entry.ID, Entry: entry}}, k))
			in := diagnosis.Install(k.env.InstallType)
			check := func(what string, only diagnosis.Install, text string, applies bool) {
				text = inlineCode(text).PlainText()
				shown, labelled := strings.Contains(out, text), strings.Contains(out, "["+string(only)+"] "+text)
				switch {
				case only == diagnosis.InstallAny:
				case in == diagnosis.InstallAny && applies && !labelled:
					t.Errorf("%s, unknown type, %s: %s %q is not shown labelled:\n%s", entry.ID, phase(k.env), what, text, out)
				case in != diagnosis.InstallAny && only != in && shown:
					t.Errorf("%s, %s: the %s %s %q is shown:\n%s", entry.ID, in, only, what, text, out)
				case in != diagnosis.InstallAny && labelled:
					t.Errorf("%s, %s: %s %q is labelled although the type is known:\n%s", entry.ID, in, what, text, out)
				}
			}
			for _, n := range append(append([]diagnosis.Note{}, entry.Causes...), entry.Steps...) {
				check("note", n.Only, n.Text, k.about(entry).applies(diagnosis.InstallAny, n.When))
			}
			for _, l := range entry.Links {
				check("link", l.Only, l.Title, true)
			}
			if in == diagnosis.InstallCloud && strings.Contains(out, "Unattended") {
				t.Errorf("%s: a cloud reply speaks of unattended upgrades:\n%s", entry.ID, out)
			}
		}
	}
}

// The replies of a channel, by the installation type of the environment it
// follows: the golden files show them whole.
func TestDiagnosisReplyGoldenByInstallation(t *testing.T) {
	for _, in := range installs {
		name := string(in)
		if in == progress.InstallUnknown {
			name = "unknown"
		}
		t.Run(name, func(t *testing.T) {
			b, _ := newTestBot(t)
			cmd(t, b, "C1", "U1", strings.TrimSpace("track prod 11.31.0 "+string(in)))
			golden(t, "reply-not-upgraded-"+name, msg(t, b, "C1", "U1", "1.1", notUpgradedPaste).Reply)
			golden(t, "reply-preparation-failed-"+name, msg(t, b, "C1", "U1", "1.2", prepFailedPaste).Reply)
		})
	}
}

// "There was an error preparing your modules": every installation type's
// steps end, as the article's do, with contacting Support.
func TestPreparationFailedEndsWithSupport(t *testing.T) {
	b, _ := newTestBot(t)
	entry := diagnosis.Builtin().Entry("modules-preparation-failed")
	for _, in := range installs {
		k := known{env: progress.Environment{InstallType: in}}
		steps := k.notes(entry.Steps, "", false)
		if last := steps[len(steps)-1].PlainText(); !strings.Contains(last, "OutSystems Support") {
			t.Errorf("%q: the last step is %q, want contacting OutSystems Support", in, last)
		}
		out := RenderText(b.diagnosisReply([]diagnosis.Finding{{ID: entry.ID, Entry: entry}}, k))
		if in == progress.InstallSelfManaged && !strings.Contains(out, "If the problem persists, open a case with OutSystems Support") {
			t.Errorf("self-managed, not unattended: no Support step:\n%s", out)
		}
	}
}

// A channel following one cloud environment gets no self-managed advice
// even for a message that records nothing.
func TestCloudChannelGetsNoSelfManagedAdvice(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0 cloud")
	for i, paste := range []string{notUpgradedPaste, producerPaste, prepFailedPaste, "Outdated Service Center: Service Center has not been updated to the last version. That must happen before the upgrade can take place."} {
		out := RenderText(msg(t, b, "C1", "U1", "2."+string(rune('1'+i)), paste).Reply)
		if strings.Contains(out, "self-managed") || strings.Contains(out, "nattended") {
			t.Errorf("cloud reply with self-managed advice:\n%s", out)
		}
	}
}

// In a channel following several environments, the reply is rewritten for
// the installation type of the one chosen.
func TestChoiceRewritesForTheInstallation(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod cloud")
	cmd(t, b, "C1", "U1", "track onprem self-managed")
	resp := msg(t, b, "C1", "U1", "3.1", producerPaste)
	mustSay(t, RenderText(resp.Reply), "[self-managed] An unattended upgrade", "Which environment")
	for env, want := range map[string]string{"prod": "", "onprem": "An unattended upgrade never ran"} {
		b, _ := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod cloud")
		cmd(t, b, "C1", "U1", "track onprem self-managed")
		got := click(b, "a-"+env, buttonsOf(msg(t, b, "C1", "U1", "3.1", producerPaste).Reply)[env])
		out := RenderText(got.Update)
		if got.Update == nil || strings.Contains(out, "[self-managed]") || strings.Contains(out, "Which environment") {
			t.Fatalf("%s: rewritten reply:\n%s", env, out)
		}
		if want == "" && strings.Contains(out, "nattended") || want != "" && !strings.Contains(out, want) {
			t.Errorf("%s: rewritten reply (want %q):\n%s", env, want, out)
		}
	}
}

// The producer and "module not upgraded" replies follow where the
// preparation stands: running (how far, until when), finished, or not
// needed (an upgrade from Platform Server 10).
func TestRepliesFollowThePreparationState(t *testing.T) {
	const checkRunning = "Check in Service Center whether the preparation is still running"
	cases := []struct {
		name  string
		track string
		setup []string
		paste string
		want  []string
		not   []string
	}{
		{"unknown", "track prod 11.31.0 cloud", nil, notUpgradedPaste,
			[]string{checkRunning, "Once the preparation has finished, add it to the list of modules to republish: /upgrade failed prod: <module> if the Error Log lists it, else /upgrade skipped prod: <module>."}, nil},
		{"running", "track prod 11.31.0 cloud", []string{preparingPaste}, notUpgradedPaste,
			[]string{"The modules preparation of prod is running: 45% done; Service Center expects it to end at 2026-11-25 14:30.", "Wait for the preparation to finish", "Nothing to record yet"},
			[]string{checkRunning, "/upgrade failed", "compile this module and failed"}},
		{"running, module counter", "track prod 11.31.0 cloud", []string{"Preparing Module Database 12 of 40: Billing_CS"}, producerPaste,
			[]string{"is running: module 12 of 40.", "Wait for the preparation to finish, then publish the consumer again.",
				"Nothing to record yet for prod: its preparation is still running and may yet prepare Billing_CS."}, []string{checkRunning, "Recorded for", "Mark Billing_CS republished"}},
		{"finished, failed only", "track prod 11.31.0 cloud", []string{"26 modules prepared successfully, 2 modules failed and 0 modules skipped."}, notUpgradedPaste,
			[]string{"Republish the failed and skipped modules", "Which module shows this? /upgrade failed prod: <module> adds it"},
			[]string{checkRunning, "still running", "/upgrade skipped"}},
		{"finished, skipped only", "track prod 11.31.0 cloud", []string{"26 modules prepared successfully, 0 modules failed and 3 modules skipped."}, notUpgradedPaste,
			[]string{"Which module shows this? /upgrade skipped prod: <module> adds it"}, []string{checkRunning, "/upgrade failed"}},
		{"finished, both", "track prod 11.31.0 cloud", []string{"26 modules prepared successfully, 1 modules failed and 3 modules skipped."}, notUpgradedPaste,
			[]string{"/upgrade failed prod: <module> if the Error Log lists it, else /upgrade skipped prod: <module>"}, []string{checkRunning}},
		{"finished, producer", "track prod 11.31.0 cloud", []string{"26 modules prepared successfully, 1 modules failed and 3 modules skipped."}, producerPaste,
			[]string{"Republish the producer first, then publish the consumer again."}, []string{checkRunning, "If it finished"}},
		{"from 10", "track prod 11.31.0 self-managed from 10.0.1", nil, notUpgradedPaste,
			[]string{"Republish all applications now", "/upgrade skipped prod: <module>"}, []string{checkRunning, "unattended"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newTestBot(t)
			cmd(t, b, "C1", "U1", c.track)
			for i, s := range c.setup {
				msg(t, b, "C1", "U1", "4."+string(rune('1'+i)), s)
			}
			out := RenderText(msg(t, b, "C1", "U1", "4.9", c.paste).Reply)
			mustSay(t, out, c.want...)
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("%q in\n%s", n, out)
				}
			}
		})
	}
}

// The state a message itself records is the one its reply speaks of.
func TestReplyUsesTheStateTheMessageRecords(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod cloud")
	out := RenderText(msg(t, b, "C1", "U1", "5.1", preparingPaste+"\n"+producerPaste).Reply)
	mustSay(t, out, "45% done; Service Center expects it to end at 2026-11-25 14:30")
}

// Several Error Log rows get one reply in the plural; an internal error
// next to them is not blamed on the compiler.
func TestErrorLogRows(t *testing.T) {
	rows := "2024-03-12 22:41:10\t\tUpgrade Failure: Upgrade failed for Billing_CS\tCompilerService\tOSAPP01\tDetail\n" +
		"2024-03-12 22:40:52\t\tUpgrade Failure: Upgrade failed for Orders2\tCompilerService\tOSAPP01\tDetail\n"
	internal := "2024-03-12 22:40:58\t\tInternal Error: Billing_CS error\nDetails : System.InvalidOperationException: error\tCompilerService\tOSAPP01\tDetail\n"
	cases := []struct {
		name, paste string
		want, not   []string
	}{
		{"one", "Upgrade Failure: Upgrade failed for Billing_CS", []string{"== A module failed to upgrade ==", "could not compile this module"}, []string{"these modules"}},
		{"several", rows, []string{"== Modules failed to upgrade ==", "Modules: Billing_CS, Orders2", "could not compile these modules", "republish them, producers first"}, []string{"this module"}},
		{"internal", rows + internal, []string{"internal error of the platform", "the module next to it", "Internal Error entry's Detail", "for the others"}, []string{"compiler rejects", "next to them", "these modules"}},
		{"internal one", "Upgrade Failure: Upgrade failed for Billing_CS\n" + internal, []string{"internal error of the platform next to it", "Internal Error entry's Detail"}, []string{"compiler rejects", "compiler message"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			resp := msg(t, b, "C1", "U1", "6.1", c.paste)
			out := RenderText(resp.Reply)
			mustSay(t, out, c.want...)
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("%q in\n%s", n, out)
				}
			}
			if n := strings.Count(out, "== "); n != 1 {
				t.Errorf("%d explanations, want one:\n%s", n, out)
			}
		})
	}
}

// An upgrade from Platform Server 10 means republishing every application:
// the track reply, the status and the reminders say it until `done all`.
func TestUpgradeFromPlatformServer10(t *testing.T) {
	b, store := newTestBot(t)
	ctx := context.Background()
	tr := cmd(t, b, "C1", "U1", "track legacy 11.31.0 self-managed from 10.0.1")
	mustSay(t, RenderText(tr.Announce), "upgraded from 10.0.1", "republish all applications right after the upgrade")
	st, err := store.Status(ctx, "T1", "legacy", 10)
	if err != nil || st.FromVersion != "10.0.1" || st.Version != "11.31.0" || st.InstallType != progress.InstallSelfManaged {
		t.Fatalf("status %+v, %v", st.Environment, err)
	}
	mustSay(t, RenderText(cmd(t, b, "C1", "U1", "status legacy").Reply), "Upgraded from: Platform Server 10.0.1", "republish all applications")
	r := b.Reminder(st, testNow, time.Hour, 0)
	if r == nil {
		t.Fatal("no reminder for an upgrade from Platform Server 10")
	}
	mustSay(t, r.Summary, "all applications to republish")
	mustSay(t, RenderText(cmd(t, b, "C1", "U1", "done legacy: all").Reply), "Record that every application of legacy is republished?")
	mustSay(t, RenderText(cmd(t, b, "C1", "U1", "done legacy: all --yes").Announce), "republished all applications on legacy")
	st, _ = store.Status(ctx, "T1", "legacy", 10)
	if r := b.Reminder(st, testNow, time.Hour, 0); r != nil || st.State != progress.StateDone {
		t.Errorf("after done all: state %s, reminder\n%s", st.State, RenderText(r))
	}

	// From 11: the preparation ran, nothing more to republish.
	cmd(t, b, "C1", "U1", "track newer 11.31.0 from 11.14.0")
	st, _ = store.Status(ctx, "T1", "newer", 10)
	if st.FromVersion != "11.14.0" || b.Reminder(st, testNow, time.Hour, 0) != nil {
		t.Errorf("from 11.14.0: %+v", st.Environment)
	}
}

func TestTrackFromUsage(t *testing.T) {
	b, _ := newTestBot(t)
	for _, args := range []string{"track prod from", "track prod from ten", "track prod from 10.0 cloud", "track from 10.0"} {
		resp := cmd(t, b, "C1", "U1", args)
		if !resp.Private || resp.Announce != nil || !strings.Contains(RenderText(resp.Reply), "Usage: /upgrade track") {
			t.Errorf("%q: %s", args, RenderText(resp.Reply))
		}
	}
}

// A message that records nothing, in a channel following environments of
// both types, asks which one it is about; the choice rewrites the reply
// for it and records nothing.
func TestChoiceForAMessageThatRecordsNothing(t *testing.T) {
	for env, want := range map[string]string{"prod": "failed prod: <module>", "onprem": "An unattended upgrade never ran"} {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod cloud")
		cmd(t, b, "C1", "U1", "track onprem self-managed")
		resp := msg(t, b, "C1", "U1", "7.1", notUpgradedPaste)
		mustSay(t, RenderText(resp.Reply), "Which environment", "[self-managed] An unattended upgrade")
		got := click(b, "a-"+env, buttonsOf(resp.Reply)[env])
		out := RenderText(got.Update)
		if got.Update == nil || got.Reply != nil || strings.Contains(out, "[self-managed]") || strings.Contains(out, "Which environment") {
			t.Fatalf("%s: reply %s, rewritten:\n%s", env, RenderText(got.Reply), out)
		}
		mustSay(t, out, want)
		if env == "prod" && strings.Contains(out, "nattended") {
			t.Errorf("cloud reply:\n%s", out)
		}
		if h, _ := store.History(context.Background(), "T1", env); len(h) != 1 {
			t.Errorf("%s: %d history entries, want only the track", env, len(h))
		}
	}
	// Environments of one type may still stand at different points: it asks.
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod cloud")
	cmd(t, b, "C1", "U1", "track qa cloud")
	out := RenderText(msg(t, b, "C1", "U1", "7.2", notUpgradedPaste).Reply)
	if !strings.Contains(out, "Which environment") {
		t.Errorf("the state may differ: the bot should ask:\n%s", out)
	}
}

// One module reported twice (its row pasted and in a screenshot) is one module.
func TestOneModuleTwiceIsSingular(t *testing.T) {
	b, _ := newTestBot(t)
	row := "Upgrade Failure: Upgrade failed for Billing_CS\n"
	out := RenderText(b.diagnosisReply(b.engine.Diagnose(row+row), known{}))
	mustSay(t, out, "== A module failed to upgrade ==", "Module: Billing_CS\n", "this module")
}

// Every state whose outcome is known is "finished" to the knowledge base:
// a producer's reply while republishing does not send people back to
// check whether the preparation is still running.
func TestPhase(t *testing.T) {
	for _, tc := range []struct {
		env  progress.Environment
		want string
	}{
		{progress.Environment{}, "unknown"},
		{progress.Environment{State: progress.StateFollowing}, "unknown"},
		{progress.Environment{State: progress.StatePreparing}, "preparing"},
		{progress.Environment{State: progress.StateFinishedWithErrors}, "finished"},
		{progress.Environment{State: progress.StateFailed}, "finished"},
		{progress.Environment{State: progress.StateReady}, "finished"},
		{progress.Environment{State: progress.StateRepublishing}, "finished"},
		{progress.Environment{State: progress.StateDone}, "finished"},
		{progress.Environment{State: progress.StateFollowing, FromVersion: "10.0.1"}, "republish-all"},
	} {
		if got := phase(tc.env); got != tc.want {
			t.Errorf("phase(%s from %q) = %s, want %s", tc.env.State, tc.env.FromVersion, got, tc.want)
		}
	}
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	msg(t, b, "C1", "U1", "1.0", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	cmd(t, b, "C1", "U1", "failed Orders_CS Billing_CS")
	cmd(t, b, "C1", "U1", "done Orders_CS")
	if out := text(msg(t, b, "C1", "U1", "2.0", producerPaste)); strings.Contains(out, "still running") {
		t.Errorf("a producer's reply while republishing:\n%s", out)
	}
}

// The replies about a module not compiled for the new version, by what
// the channel knows of the preparation: the step itself failed (its cause
// and the way out, by installation type), or it prepared every module (the
// module was not published successfully before).
func TestNotUpgradedReplyGoldenByOutcome(t *testing.T) {
	const producer = "Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version."
	for _, tc := range []struct{ name, install, outcome string }{
		{"step-failed-cloud", "cloud", prepFailedPaste},
		{"step-failed-self-managed", "self-managed", prepFailedPaste},
		{"all-prepared", "", "This environment is ready (Release Notes) No further actions are required."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTestBot(t)
			cmd(t, b, "C1", "U1", strings.TrimSpace("track prod 11.31.0 "+tc.install))
			msg(t, b, "C1", "U1", "1.1", tc.outcome)
			golden(t, "reply-not-upgraded-"+tc.name, msg(t, b, "C1", "U1", "1.2", notUpgradedPaste).Reply)
			if tc.name != "all-prepared" { // recorded, the producer reopens the upgrade: no longer all prepared
				golden(t, "reply-producer-"+tc.name, msg(t, b, "C1", "U1", "1.3", producer).Reply)
			}
		})
	}
}

// Several producers not prepared in one paste: the reply speaks of them
// in the plural.
func TestProducersInThePlural(t *testing.T) {
	b, _ := newTestBot(t)
	r := msg(t, b, "C1", "U1", "1.1", "Old Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.\n"+
		"Old Producer: Producer module 'Orders_CS' hasn't been prepared for the current OutSystems environment version.")
	mustSay(t, RenderText(r.Reply), "Producer modules have not been compiled for the new version", "consumers of these producers", "republish the producers first, then publish the consumers again")
}

// A question using a message's words gets the explanation, not its words
// shown as the message's values ("Started by: me").
func TestNoValuesFromASentence(t *testing.T) {
	b, _ := newTestBot(t)
	out := RenderText(msg(t, b, "C1", "U1", "1.1", "do we know why the 1-Click Publish started by me at 10am can't proceed because there is an ongoing Modules upgrade?").Reply)
	mustSay(t, out, "Publishing is blocked while modules are being prepared")
	for _, no := range []string{"Started by", "Started at", "10am"} {
		if strings.Contains(out, no) {
			t.Errorf("the reply shows %q:\n%s", no, out)
		}
	}
}

// Known issues of versions before 11.12 or since fixed are not given as the
// cause for a target that has the fix, and advice that depends on the
// target's version names each version (checked against OutSystems' release
// notes and troubleshooting pages).
func TestAdviceFitsTheTargetVersion(t *testing.T) {
	tests := []struct {
		name, track, paste string
		say, notSay        []string
	}{
		{"RPM-776 fixed in 11.10.3", "track prod 11.31.0 self-managed", `Current virtual directory "C:\a" was replaced by "C:\b"`,
			[]string{"run the Configuration Tool from one path"}, []string{"out of the load balancer", "Republish all modules"}},
		{"RPM-776 before the fix", "track prod self-managed", `Current virtual directory "C:\a" was replaced by "C:\b"`,
			[]string{"open an application that fails on each front-end directly", "out of the load balancer"}, nil},
		{"Deploy All fixed in 11.18.1", "track prod 11.31.0 self-managed", "Some Modules are set to be moved to another Database Catalog",
			[]string{"which modules would move"}, []string{"ignore it", "RPM-3448"}},
		{"Deploy All on 11.18.0", "track prod 11.18.0 self-managed", "Some Modules are set to be moved to another Database Catalog",
			[]string{"Do not use Deploy All again", "don't publish the solution", "open a case with OutSystems Support"}, []string{"which modules would move"}},
		{"Resource Not Versioned fixed in 11.14.0", "track prod 11.31.0 cloud", "Resource Not Versioned: The resource scripts/Theme.js of the producer module OutSystemsUI was not found in the application cache. Please republish OutSystemsUI to prevent runtime errors",
			[]string{"Republish the producer the message names before deploying"}, []string{"Go on with the deployment", "not affected"}},
		{"Hosting Bundle by version", "track prod 11.31.0 self-managed", `HTTP Error 500.21 - Handler "aspNetCore" has a bad module "AspNetCoreModuleV2" in its module list`,
			[]string{".NET 8.0 from 11.27.0", "Hosting Bundle of the version the target needs"}, []string{"Install the .NET Core 3.1"}},
		{"extension recompilation in production", "track prod 11.31.0 self-managed", "Upgrade Disabled: Extension recompilation on upgrade is disabled.",
			[]string{"In a production environment that is the only way", "Enable server extension recompilation on upgrade"}, nil},
		{"System Components on OutSystems Cloud before 11.14.1", "track prod 11.14.0 cloud", "There was an error while contacting the server. HTTP not found",
			[]string{"What to do", "Open a case with OutSystems Support with the whole message"}, nil},
		{"Prepare on OutSystems Cloud from 11.17", "track prod 11.20.0 cloud", prepFailedPaste,
			[]string{"Prepare in Factory > Upgrades"}, []string{"they run the preparation again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newTestBot(t)
			cmd(t, b, "C1", "U1", tt.track)
			out := text(msg(t, b, "C1", "U1", "1.1", tt.paste))
			mustSay(t, out, tt.say...)
			for _, h := range tt.notSay {
				if strings.Contains(out, h) {
					t.Errorf("%q shown:\n%s", h, out)
				}
			}
		})
	}
}
