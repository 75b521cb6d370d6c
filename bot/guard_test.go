package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// TestPasted: what is recorded comes from a product message as pasted, not
// from a sentence of someone's own that uses its words.
func TestPasted(t *testing.T) {
	engine := diagnosis.New(diagnosis.Builtin())
	for _, tc := range []struct {
		text   string
		pasted bool
	}{
		// Pasted: on its own line, quoted, in code, after a colon, in a log row.
		{"There were errors preparing some modules.", true},
		{"There were errors preparing some modules", true},
		{"SC says:\nThere were errors preparing some modules.\nanyone?", true},
		{"SC says: There were errors preparing some modules.", true},
		{"prod: There were errors preparing some modules.", true},
		{`the banner says "There were errors preparing some modules." again`, true},
		{"the banner says 'There were errors preparing some modules' again", true},
		{"the banner says “There were errors preparing some modules.”", true},
		{"> There were errors preparing some modules.", true},
		{"the banner says `There were errors preparing some modules.` again", true},
		{"```\nThere were errors preparing some modules.\n```", true},
		{":warning: There were errors preparing some modules. :thinking_face:", true},
		{"<@UBOT> There were errors preparing some modules.", true},
		{"There were errors preparing some modules. Anyone know why?", true},
		{"2024-03-12 22:05:38\t\tUpgrade Failure: Upgrade failed for Billing_CS\tCompilerService\tSRV01\tDetail", true},
		{"2024-03-12 22:05:38 Upgrade failed for Billing_CS", true},
		{"| 2024-03-12 | Upgrade failed for Billing_CS | CompilerService |", true},
		{"[ERROR] Upgrade failed for Billing_CS", true},
		// Log rows whose prefix ends in a level, a thread or a logger.
		{"2024-05-02 10:11:12.123 ERROR Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.", true},
		{"[2024-05-02 10:11:12] ERROR Producer module 'Orders_CS' hasn't been prepared for the current OutSystems environment version.", true},
		{"2024-05-02 10:11:12 ERROR There were errors preparing some modules.", true},
		{"2024-05-02 10:11:12 [ERROR] Producer module 'Control_CS' hasn't been prepared for the current OutSystems environment version.", true},
		{"2024-05-02T10:11:12.123Z WARN Upgrade failed for Billing_CS", true},
		{"2024-05-02 10:11:12,123 [main] ERROR OutSystems.HubEdition.Compiler Upgrade failed for Billing_CS", true},
		{"10:11:12 Error OutSystems.HubEdition.Compiler: There were errors preparing some modules, see the Error Log", true},
		{"[10:11:12 ERR] There were errors preparing some modules", true},
		{"2024-05-02 10:11:12 4711 FATAL There was an error preparing your modules.", true},
		{"2024-05-02 ERROR There were errors preparing some modules.", true},
		{"ERROR Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.", true},
		{"ERROR OutSystems.HubEdition.Compiler Upgrade failed for Billing_CS", true},
		{"[Error] [main] Upgrade failed for Billing_CS", true},
		{"Old Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.", true},
		{"publishing OrdersUI fails with\nProducer module 'Orders2' hasn't been prepared for the current OutSystems environment version.\nbut Orders2 shows as ok in SC??", true},
		{"We are now preparing your modules - 40% (We expect them to be ready at 18:21)", true},
		{"We are now preparing your modules - 40%", true},
		{"26 modules prepared successfully, 1 modules failed and 3 modules skipped.", true},
		{"This environment is ready (Release Notes) No further actions are required.", true},
		{"ok. There were errors preparing some modules.", true},
		{"- There were errors preparing some modules.", true},
		{"*There were errors preparing some modules.*", true},
		{"• Upgrade failed for Orders_Core", true},
		{"prod banner → There were errors preparing some modules.", true},
		{"Error Log row:\n2024-03-12 22:05:38 | Upgrade Failure: Upgrade failed for Orders_Core | CompilerService", true},
		{"The Configuration update started by rui.costa at 2024-03-12 11:00:10 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01:44, that is locking 'Orders' module.", true},
		{"Outdated Service Center: Service Center has not been updated to the last version. That must happen before the upgrade can take place.", true},
		{"Preparing Module Database 5 of 30: Directory", true},
		// Someone's own sentence using the product's words.
		{"I don't think there were errors preparing some modules, did anyone check?", false},
		{"there were errors preparing some modules?", false},
		{"did it say there were errors preparing some modules", false},
		{"we got there were errors preparing some modules again", false},
		{"There were errors preparing some modules, did anyone check?", false},
		{"if there was an error preparing your modules we would know", false},
		{"There was an error preparing your modules again and nobody noticed", false},
		{"I guess the upgrade failed for Billing_CS, can someone look?", false},
		{"maybe we are now preparing your modules again", false},
		{"is it true that this environment is ready no further actions are required?", false},
		{"we got 26 modules prepared successfully, 1 modules failed and 3 modules skipped on qa last week", false},
		{"so producer module 'Billing_CS' hasn't been prepared yet, right?", false},
		{"Yesterday there were errors preparing some modules but today it's fine", false},
		{"when there were errors preparing some modules last time, we republished everything", false},
		// A level word, a date or a time in someone's own sentence is no log row.
		{"we got ERROR producer module 'Billing_CS' hasn't been prepared, any idea?", false},
		{"we got ERROR there were errors preparing some modules again", false},
		{"so the log says ERROR and there were errors preparing some modules?", false},
		{"Error there were errors preparing some modules, did anyone check?", false},
		{"on 2024-05-02 there were errors preparing some modules, did anyone check?", false},
		{"the ERROR log says upgrade failed for Billing_CS, can someone look?", false},
		// A quotation in a question or a condition of one's own.
		{`how long does "We are now preparing your modules" usually take?`, false},
		// Inline code quotes as "…" does (a code block stands apart).
		{"how long does `We are now preparing your modules - 40%` usually take?", false},
		{"if you see `There were errors preparing some modules.` just republish the failed ones", false},
		{"does `Upgrade failed for Orders_Core` mean the module is broken or the compiler?", false},
		{"`Upgrade Failure: Upgrade failed for Orders_Core`", true},
		{"We are now preparing your modules - `11%` (We expect them to be ready at 18:21)", true}, // a part in code
		{"There were errors `preparing` some modules.", true},
		{"Anyone seen this? There were errors preparing some modules.", true},
		{"Why is this happening? Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.", true},
		{"is this normal? there were errors preparing some modules, I think", false},
		{`was it "there were errors preparing some modules" or "there was an error preparing your modules" on UAT?`, false},
		{`if you see "There were errors preparing some modules." just republish the failed ones`, false},
		{`Billing was republished, it was the one where "Producer module 'Billing_CS' hasn't been prepared" showed up`, false},
		{`when 'There were errors preparing some modules' shows, republish`, false},
		{`did SC say "There were errors preparing some modules."`, false},
		{`SC says "There were errors preparing some modules." on prod`, true},
		{`In SC: "There were errors preparing some modules."`, true},
		// The same in the team's own language, around the product's English.
		{`se aparecer "There were errors preparing some modules." temos de republicar tudo`, false},
		{`si sale "There were errors preparing some modules." hay que republicar todo`, false},
		{`als je "There were errors preparing some modules." ziet, alles opnieuw publiceren`, false},
		{`quand on voit "There were errors preparing some modules." il faut tout republier`, false},
		{`wenn "There were errors preparing some modules." erscheint, alles neu veröffentlichen`, false},
		{`temos de republicar tudo quando "There were errors preparing some modules." aparece`, false},
		{`quem viu "There were errors preparing some modules." ontem`, false},
		{`O SC diz "There were errors preparing some modules." em prd`, true},
		{`Em prd: "There were errors preparing some modules."`, true},
		{`SC zeigt das als "There were errors preparing some modules." an`, true},
		// Those words in capitals are acronyms: a systems integrator, a team.
		{`SI partner sent: "Upgrade failed for Billing_CS"`, true},
		{`SE team reports: "Upgrade failed for Billing_CS"`, true},
		{`WO 4711 says "There were errors preparing some modules."`, true},
		{`IF you see "There were errors preparing some modules." just republish`, false},
		{`Si sale "There were errors preparing some modules." hay que republicar todo`, false},
	} {
		fs := engine.Diagnose(tc.text)
		if len(fs) == 0 {
			t.Errorf("%q: no finding", tc.text)
			continue
		}
		if got := pasted(fs[0]); got != tc.pasted {
			t.Errorf("%q (%s, before %q, after %q): pasted = %v, want %v", tc.text, fs[0].ID, fs[0].Before, fs[0].After, got, tc.pasted)
		}
	}
}

// The guards over the core, on both stores: a sentence is explained and
// held, an older message and another version are held, and "Record
// anyway" (its button, or record <code>) records them.
func TestGuardedRecording(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		state := func() progress.State {
			st, err := store.Status(t.Context(), "T1", "prod", 0)
			if err != nil {
				t.Fatal(err)
			}
			return st.State
		}
		msg(t, b, "C1", "U1", "0.9", producerPaste) // listed: the clean summary leaves prod ready, not done
		msg(t, b, "C1", "U1", "1.0", "26 modules prepared successfully, 0 modules failed and 0 modules skipped.")
		if state() != progress.StateReady {
			t.Fatalf("state %s, want ready", state())
		}
		// A sentence: explained, not recorded.
		r := msg(t, b, "C1", "U2", "2.0", "I don't think there were errors preparing some modules, did anyone check?")
		out := text(r)
		mustSay(t, out, "Some modules failed the modules preparation step", "Not recorded for prod: the message stands in a sentence", "[Record anyway]")
		if state() != progress.StateReady {
			t.Errorf("a sentence moved the state to %s", state())
		}
		// An older banner: held, with what is recorded.
		r = msg(t, b, "C1", "U2", "3.0", "We are now preparing your modules - 40% (We expect them to be ready at 18:21)")
		mustSay(t, text(r), "Not recorded for prod: this message looks older than what is recorded. It says modules preparation running, 40%, expected at 18:21 by Service Center's clock; recorded: ready (26 prepared, 0 failed, 0 skipped)", "record ")
		if !strings.HasPrefix(r.Reply.Summary, "Not recorded for prod: older than what is recorded · ") { // what a phone's notification shows
			t.Errorf("summary of a reply held back: %q", r.Reply.Summary)
		}
		if state() != progress.StateReady {
			t.Errorf("an older banner moved the state to %s", state())
		}
		// Another version: held, and recorded anyway by its command.
		r = msg(t, b, "C1", "U2", "4.0", "The first step of the upgrade process has finished. This environment has been successfully upgraded to Platform Server version 11.10.0 (Build 22500) (Release Notes)\nThere were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped.")
		mustSay(t, text(r), "this message names Platform Server 11.10.0, but prod's target is 11.31.0")
		command := buttonsOf(r.Reply)["Record anyway"].Command
		if !strings.HasPrefix(command, "record ") || state() != progress.StateReady {
			t.Fatalf("command %q, state %s", command, state())
		}
		r = cmd(t, b, "C1", "U3", command)
		mustSay(t, text(r), "recorded anyway for prod", "preparation finished: 26 prepared, 1 failed, 3 skipped")
		if state() != progress.StateFinishedWithErrors {
			t.Errorf("recorded anyway: state %s", state())
		}
		mustSay(t, text(cmd(t, b, "C1", "U3", command)), "Already recorded anyway")
		// Recorded anyway is U3's last change: Undo (or undo) takes it back.
		if _, ok := buttonsOf(r.Announce)["Undo"]; !ok {
			t.Errorf("recorded anyway without Undo:\n%s", text(r))
		}
		mustSay(t, text(cmd(t, b, "C1", "U3", "undo")), "U3 undid a change on prod")
		if state() != progress.StateReady {
			t.Errorf("undo of record anyway: state %s", state())
		}
		// The older banner's button, clicked: recorded (forced) as it was.
		mustSay(t, text(cmd(t, b, "C1", "U3", "record nosuchcode")), "I don't know the code")
	})
}

// A clean summary (none failed or skipped) is the all-clear when nothing is
// listed: after the list was emptied before it ("its summary is awaited"),
// or when nothing was ever listed; with a module listed, prod is ready.
func TestCleanSummaryIsAllClear(t *testing.T) {
	const clean = "30 modules prepared successfully, 0 modules failed and 0 modules skipped."
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		for _, tc := range []struct {
			env, paste, done string
			want             progress.State
			say              string
		}{
			{"prod", producerPaste, "done prod: Billing_CS", progress.StateDone, "All clear on prod"},
			{"qa", "", "", progress.StateDone, "All clear on qa"},
			{"dev", producerPaste, "", progress.StateReady, "Recorded for dev: preparation finished"},
		} {
			cmd(t, b, "C"+tc.env, "U1", "track "+tc.env+" 11.31.0")
			if tc.paste != "" {
				msg(t, b, "C"+tc.env, "U1", "1.0", tc.paste)
			}
			if tc.done != "" {
				mustSay(t, text(cmd(t, b, "C"+tc.env, "U1", tc.done)), "list is empty")
			}
			r := msg(t, b, "C"+tc.env, "U1", "2.0", clean)
			mustSay(t, text(r), tc.say)
			if st, _ := store.Status(t.Context(), "T1", tc.env, 0); st.State != tc.want {
				t.Errorf("%s after a clean summary: %s; want %s", tc.env, st.State, tc.want)
			}
		}
	})
}

// A clean summary of a new run recorded anyway over counts nobody named,
// or a clean summary whose only listed module is then undone, leaves
// nothing listed nor unnamed: done, with the all-clear, as in the other order.
func TestCleanSummaryThenNothingLeft(t *testing.T) {
	const clean = "31 modules prepared successfully, 0 modules failed and 0 modules skipped."
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		state := func(env string) progress.State {
			st, _ := store.Status(t.Context(), "T1", env, 0)
			return st.State
		}
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.0", "30 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		r := msg(t, b, "C1", "U1", "2.0", clean)
		rec, ok := buttonsOf(r.Reply)["Record anyway"]
		if !ok {
			t.Fatalf("other counts not held:\n%s", text(r))
		}
		mustSay(t, text(click(b, "ra", rec)), "All clear on prod")
		if s := state("prod"); s != progress.StateDone {
			t.Errorf("clean summary recorded anyway: %s; want done", s)
		}

		cmd(t, b, "C2", "U1", "track qa 11.31.0")
		p := msg(t, b, "C2", "U1", "1.0", producerPaste)
		undo, ok := buttonsOf(p.Reply)["Undo"]
		if !ok {
			t.Fatalf("no Undo:\n%s", text(p))
		}
		msg(t, b, "C2", "U1", "2.0", clean)
		if s := state("qa"); s != progress.StateReady {
			t.Fatalf("a clean summary with a module listed: %s; want ready", s)
		}
		click(b, "u", undo)
		if s := state("qa"); s != progress.StateDone {
			t.Errorf("after the clean summary and the undo of the only module: %s; want done", s)
		}
	})
}

// After the last module is republished with the counts covered, or after
// done all, the state is done and the all-clear is posted once.
func TestDoneAndAllClear(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.0", "26 modules prepared successfully, 2 modules failed and 0 modules skipped.")
		cmd(t, b, "C1", "U1", "failed Billing_CS Orders")
		if out := text(cmd(t, b, "C1", "U1", "done Billing_CS")); strings.Contains(out, "All clear") {
			t.Errorf("all clear with one left:\n%s", out)
		}
		mustSay(t, text(cmd(t, b, "C1", "U1", "done Orders")), "All clear on prod")
		st, _ := store.Status(t.Context(), "T1", "prod", 0)
		if st.State != progress.StateDone {
			t.Errorf("state %s, want done", st.State)
		}
		mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "done")
	})
}

// In a channel following several environments, the environment chosen
// for an older message holds it back too, and the rewritten reply says
// why, with "Record anyway".
func TestChosenEnvironmentHoldsBack(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		cmd(t, b, "C1", "U1", "track qa 11.31.0")
		msg(t, b, "C1", "U1", "1.0", "prod: 26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		r := msg(t, b, "C1", "U2", "2.0", "We are now preparing your modules - 40% (We expect them to be ready at 18:21)")
		choice := click(b, "c1", buttonsOf(r.Reply)["prod"])
		mustSay(t, text(choice), "Not recorded for prod: this message looks older", "[Record anyway]")
		if strings.Contains(text(choice), "Already recorded") {
			t.Errorf("a held message said already recorded:\n%s", text(choice))
		}
		st, _ := store.Status(t.Context(), "T1", "prod", 0)
		if st.State != progress.StateFinishedWithErrors {
			t.Errorf("prod is %s", st.State)
		}
		mustSay(t, text(click(b, "c2", buttonsOf(choice.Update)["Record anyway"])), "recorded anyway for prod")
		if st, _ := store.Status(t.Context(), "T1", "prod", 0); st.State != progress.StatePreparing {
			t.Errorf("recorded anyway: prod is %s", st.State)
		}
	})
}

// A code given before a reset (Record anyway, the choice of environment)
// records nothing into the upgrade started since: it would mix the two.
func TestRecordCodesBeforeAReset(t *testing.T) {
	now := testNow
	b, store := newClockBot(t, func() time.Time { return now })
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "track qa 11.31.0")
	held := msg(t, b, "C1", "U1", "1.1", "prod:\nVersion 11.10.0 (Build 22500)\nThere were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped.")
	anyway, ok := buttonsOf(held.Reply)["Record anyway"]
	if !ok {
		t.Fatalf("no Record anyway:\n%s", text(held))
	}
	question := buttonsOf(msg(t, b, "C1", "U1", "1.2", producerPaste).Reply)
	now = now.Add(time.Hour)
	cmd(t, b, "C1", "U1", "reset prod --yes")
	now = now.Add(time.Minute)
	for _, got := range []Response{click(b, "r1", anyway), cmd(t, b, "C1", "U1", question["prod"].Command), click(b, "c1", question["prod"])} {
		mustSay(t, text(got), "That message came before prod's upgrade was started again", "so nothing was recorded")
	}
	st, err := store.Status(context.Background(), "T1", "prod", -1)
	if err != nil {
		t.Fatal(err)
	}
	if st.ModuleCount != 0 || st.Counts.Known() || st.State != progress.StateFollowing {
		t.Errorf("after the old codes: %d modules, counts %+v, state %s; want the new upgrade untouched", st.ModuleCount, st.Counts, st.State)
	}
	// The other environment, not reset, still takes the choice.
	mustSay(t, text(click(b, "c2", question["qa"])), "Recorded for qa")
}

// A summary whose counts differ from those recorded (another environment's
// pasted by mistake) is held back and says so; Record anyway records it.
func TestOtherSummaryHeld(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "40 modules prepared successfully, 2 modules failed and 3 modules skipped.")
	cmd(t, b, "C1", "U1", "failed Billing_CS Pricing_Lib")
	r := msg(t, b, "C1", "U1", "1.2", "26 modules prepared successfully, 1 modules failed and 2 modules skipped.")
	mustSay(t, text(r), "this summary's counts differ from those recorded (40 prepared, 2 failed, 3 skipped) more than the modules named cover")
	st, _ := store.Status(context.Background(), "T1", "prod", 0)
	if *st.Counts.Prepared != 40 {
		t.Errorf("the other summary was recorded: %+v", st.Counts)
	}
	anyway, ok := buttonsOf(r.Reply)["Record anyway"]
	if !ok {
		t.Fatalf("no Record anyway:\n%s", text(r))
	}
	click(b, "a1", anyway)
	if st, _ := store.Status(context.Background(), "T1", "prod", 0); *st.Counts.Prepared != 26 {
		t.Errorf("recorded anyway: %+v", st.Counts)
	}
}

// A pasted failed module beyond Service Center's count of failed modules
// (2 counted, 2 named) is held back: likely another environment's. It does
// not stand in for the skipped module nobody named, so no early all-clear.
// Record anyway records it; a typed command records it with a warning.
func TestModulesBeyondTheCountsHeld(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track dev 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n25 modules prepared successfully, 2 modules failed and 1 modules skipped.")
		msg(t, b, "C1", "U1", "1.2", "Upgrade Failure: Upgrade failed for A_Core\nUpgrade Failure: Upgrade failed for B_Core")
		r := msg(t, b, "C1", "U2", "1.3", "Upgrade Failure: Upgrade failed for Payments_API")
		mustSay(t, text(r), "Not recorded for dev: Service Center counted 2 failed modules there, and as many are named already — is this another environment's?")
		if st, _ := store.Status(context.Background(), "T1", "dev", 0); st.ModuleCount != 2 || st.Unnamed() != 1 {
			t.Errorf("after the held paste: %d listed, %d unnamed; want 2 and 1", st.ModuleCount, st.Unnamed())
		}
		if out := text(cmd(t, b, "C1", "U1", "done A_Core B_Core")); strings.Contains(out, "All clear") {
			t.Errorf("all clear with the skipped module unnamed:\n%s", out)
		}
		anyway, ok := buttonsOf(r.Reply)["Record anyway"]
		if !ok {
			t.Fatalf("no Record anyway:\n%s", text(r))
		}
		click(b, "a1", anyway)
		if st, _ := store.Status(context.Background(), "T1", "dev", 0); st.ModuleCount != 1 {
			t.Errorf("recorded anyway: %d listed, want 1 (Payments_API)", st.ModuleCount)
		}
		mustSay(t, text(cmd(t, b, "C1", "U1", "skipped Invoices UI")), "skipped modules on dev: Invoices, UI.",
			":warning: Service Center counted 1 skipped module on dev, and more are named now.")
	})
}

// A producer not prepared, pasted once the preparation has ended, is one
// it failed or skipped: with those all named already, another one is held
// back like a failed module beyond the count; with one unnamed, it is recorded.
func TestProducerBeyondTheCountsHeld(t *testing.T) {
	const producer = "Producer module 'Pricing_Lib' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold."
	const published = "Producer 'Pricing_Lib' was published with a different Platform Server version. Please republish 'Pricing_Lib' to prevent runtime errors."
	for _, tc := range []struct {
		name, summary, named string
		held                 bool
		paste                string // producer when ""
		warned               string // a warning's producer listed before, if any
	}{
		{"all named and republished", "26 modules prepared successfully, 2 modules failed and 0 modules skipped.", "A_Core B_Core", true, "", ""},
		{"all named, a producer published before the upgrade", "26 modules prepared successfully, 2 modules failed and 0 modules skipped.", "A_Core B_Core", false, published, ""},
		{"one skipped unnamed", "26 modules prepared successfully, 2 modules failed and 1 modules skipped.", "A_Core B_Core", false, "", ""},
		{"itself named failed", "26 modules prepared successfully, 2 modules failed and 0 modules skipped.", "A_Core Pricing_Lib", false, "", ""},
		// A producer listed from a warning is none of the failed or skipped.
		{"one failed unnamed, a warning's producer listed", "26 modules prepared successfully, 2 modules failed and 0 modules skipped.", "A_Core", false, "", "Other_Lib"},
		{"no summary yet", "", "A_Core B_Core", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
				cmd(t, b, "C1", "U1", "track dev 11.31.0")
				if tc.summary != "" {
					msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n"+tc.summary)
				}
				cmd(t, b, "C1", "U1", "failed "+tc.named)
				if tc.warned != "" {
					msg(t, b, "C1", "U1", "1.2", strings.ReplaceAll(published, "Pricing_Lib", tc.warned))
				}
				if tc.held {
					cmd(t, b, "C1", "U1", "done all --yes")
				}
				r := text(msg(t, b, "C1", "U2", "1.3", cmp.Or(tc.paste, producer)))
				said := strings.Contains(r, "Not recorded for dev: Service Center counted 2 failed or skipped modules there, and as many are named already")
				st, _ := store.Status(context.Background(), "T1", "dev", -1)
				listed := slices.ContainsFunc(st.Modules, func(m progress.Module) bool { return m.Name == "Pricing_Lib" })
				if said != tc.held || listed == tc.held {
					t.Errorf("held %v, listed %v; want held %v\n%s", said, listed, tc.held, r)
				}
			})
		})
	}
}

// A message whose own words name an environment: the one of several this
// channel follows is recorded there; another than the one it follows is
// held back (Record anyway). A module name with such a word names no
// environment.
func TestMessageNamingItsEnvironment(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		ctx := context.Background()
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		r := msg(t, b, "C1", "U1", "1.1", "FYI: there were errors preparing some modules. in UAT, I'm on it")
		mustSay(t, text(r), "Not recorded for prod: the message speaks of uat, and this channel follows prod")
		if st, _ := store.Status(ctx, "T1", "prod", 0); st.State != progress.StateFollowing {
			t.Errorf("prod is %s after a message about uat, want following", st.State)
		}
		if _, ok := buttonsOf(r.Reply)["Record anyway"]; !ok {
			t.Errorf("no Record anyway:\n%s", text(r))
		}
		// Someone's own sentence is chat, whatever environment it names.
		r = msg(t, b, "C1", "U1", "1.15", "we are now preparing your modules for the demo on uat lol")
		mustSay(t, text(r), "Not recorded for prod: the message stands in a sentence of someone's own")
		if out := text(r); strings.Contains(out, "speaks of") {
			t.Errorf("a sentence is asked about as news of another environment:\n%s", out)
		}
		msg(t, b, "C1", "U1", "1.2", "Upgrade Failure: Upgrade failed for QA_Tools")
		if st, _ := store.Status(ctx, "T1", "prod", 0); st.ModuleCount != 1 {
			t.Errorf("QA_Tools not recorded for prod: %d listed", st.ModuleCount)
		}
		cmd(t, b, "C1", "U1", "track qa 11.31.0")
		r = msg(t, b, "C1", "U1", "1.3", "the preparation step failed on QA: There was an error preparing your modules. Support ticket opened.")
		mustSay(t, text(r), "Recorded for qa: preparation failed")
		if st, _ := store.Status(ctx, "T1", "qa", 0); st.State != progress.StateFailed {
			t.Errorf("qa is %s, want failed", st.State)
		}
	})
}

// "Record anyway" undone holds the changes back again: the reply rebuilt
// by a later click says so, offers the button again, and it records them.
func TestRecordAnywayUndoneIsHeldAgain(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "20 modules prepared successfully, 2 modules failed and 0 modules skipped.")
		cmd(t, b, "C1", "U1", "failed prod: Billing_CS Zeta_CS")
		cmd(t, b, "C1", "U1", "done prod: Billing_CS")
		r := msg(t, b, "C1", "U2", "1.2", "Producer 'Alpha_CS' was published with a different Platform Server version. Please republish 'Alpha_CS' to prevent runtime errors.\nUpgrade Failure: Upgrade failed for Billing_CS")
		anyway := buttonsOf(r.Reply)["Record anyway"]
		mustSay(t, text(click(b, "a1", anyway)), "recorded anyway for prod", "Billing_CS")
		mustSay(t, text(cmd(t, b, "C1", "U2", "undo")), "U2 undid a change on prod", "Off the list again: Billing_CS")
		out := RenderText(click(b, "m1", buttonsOf(r.Reply)["Mark Alpha_CS republished"]).Update)
		mustSay(t, out, "Not recorded for prod: Billing_CS was marked republished", "[Record anyway]")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "Billing_CS") && (strings.Contains(l, "Recorded for prod") || strings.Contains(l, "Republished since")) {
				t.Errorf("the rebuilt reply says Billing_CS was recorded or republished since: %q in\n%s", l, out)
			}
		}
		mustSay(t, text(cmd(t, b, "C1", "U3", anyway.Command)), "recorded anyway for prod")
		mustSay(t, text(cmd(t, b, "C1", "U1", "status prod")), "Billing_CS — failed")
	})
}

// Service Center's "ready" banner while modules are still listed is
// recorded, and the reply says the list stays (the reminders go on).
func TestReadyBannerWithModulesLeft(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		for i, c := range []struct{ env, modules, want string }{
			{"prod", "Upgrade Failure: Upgrade failed for Billing_CS\nUpgrade Failure: Upgrade failed for Orders_CS", "ready, with 2 modules still on the list: mark them republished once they are"},
			{"qa", "Upgrade Failure: Upgrade failed for Billing_CS", "ready, with 1 module still on the list: mark it republished once it is"},
			{"dev", "", ""},
		} {
			ch := fmt.Sprint("C", i)
			cmd(t, b, ch, "U1", "track "+c.env+" 11.31.0")
			msg(t, b, ch, "U1", "1.1", "There were errors preparing some modules.\n26 modules prepared successfully, 2 modules failed and 0 modules skipped.")
			if c.modules != "" {
				msg(t, b, ch, "U1", "1.2", c.modules)
			}
			out := text(msg(t, b, ch, "U2", "1.3", "This environment is ready. No further actions are required."))
			mustSay(t, out, "Recorded for "+c.env+": ready")
			if c.want != "" {
				mustSay(t, out, c.want)
			} else if strings.Contains(out, "still on the list") {
				t.Errorf("%s: nothing listed, yet:\n%s", c.env, out)
			}
		}
	})
}

// An undo of "Record anyway" that took back nothing, or part of it (a
// module changed since), leaves it recorded anyway: its button would list
// again a module marked republished since.
func TestRecordAnywayUndoneInPartStaysRecorded(t *testing.T) {
	for _, c := range []struct {
		name, listed, undone string
		modules              []string
	}{
		{"nothing undone", "Billing_CS Zeta_CS", "Nothing undone on prod", []string{"Billing_CS"}},
		{"partly undone", "Billing_CS Orders_CS", "Off the list again: Orders_CS", []string{"Billing_CS", "Orders_CS"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
				cmd(t, b, "C1", "U1", "track prod 11.31.0")
				msg(t, b, "C1", "U1", "1.1", "20 modules prepared successfully, 2 modules failed and 0 modules skipped.")
				cmd(t, b, "C1", "U1", "failed prod: "+c.listed)
				cmd(t, b, "C1", "U1", "done prod: "+strings.Join(c.modules, " "))
				var paste []string
				for _, m := range c.modules {
					paste = append(paste, "Upgrade Failure: Upgrade failed for "+m)
				}
				anyway := buttonsOf(msg(t, b, "C1", "U2", "1.2", strings.Join(paste, "\n")).Reply)["Record anyway"]
				mustSay(t, text(click(b, "a1", anyway)), "recorded anyway for prod")
				cmd(t, b, "C1", "U3", "done Billing_CS") // another command than the first done's
				mustSay(t, text(cmd(t, b, "C1", "U2", "undo")), c.undone)
				mustSay(t, text(cmd(t, b, "C1", "U2", anyway.Command)), "Already recorded anyway")
				st, _ := store.Status(context.Background(), "T1", "prod", -1)
				for _, m := range st.Modules {
					if slices.Contains(c.modules, m.Name) {
						t.Errorf("%s listed again: %+v", m.Name, st.Modules)
					}
				}
			})
		})
	}
}

// Times copied from Service Center are by its clock, which need not be
// the UTC the bot writes its own in: each says so where it is shown (a
// blocked publish's fields, the history, a message held back).
func TestServiceCenterTimesNameTheirClock(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.0", "We are now preparing your modules - 60% (We expect them to be ready at 18:21)")
	mustSay(t, text(cmd(t, b, "C1", "U1", "history prod")), "preparing: 60%, expected 18:21 by Service Center's clock")
	msg(t, b, "C1", "U1", "2.0", "26 modules prepared successfully, 1 modules failed and 3 modules skipped.")
	out := text(msg(t, b, "C1", "U1", "3.0", "The 1-Click Publish started by ana@example.com at 2026-03-02 08:15:02 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2026-03-02 07:03:45, that is locking 'Billing_CS' module."))
	mustSay(t, out, "Started at (Service Center's clock): 2026-03-02 08:15:02", "Modules upgrade started at (Service Center's clock): 2026-03-02 07:03:45",
		"(the modules upgrade started at 2026-03-02 07:03:45, the blocked operation at 2026-03-02 08:15:02, by Service Center's clock)")
}
