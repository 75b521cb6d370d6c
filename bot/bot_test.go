package bot

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var testNow = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// newTestBot returns a bot on a fresh embedded store with a fixed clock.
func newTestBot(t testing.TB) (*Bot, progress.Store) {
	t.Helper()
	return newClockBot(t, func() time.Time { return testNow })
}

// newClockBot returns a bot on a fresh embedded store, both on clock.
func newClockBot(t testing.TB, clock func() time.Time) (*Bot, progress.Store) {
	t.Helper()
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: clock, BotUserID: "UBOT"})
	return b, store
}

func cmd(t *testing.T, b *Bot, channel, user, text string) Response {
	t.Helper()
	return b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: channel, User: user, ID: t.Name() + text, Text: text})
}

func msg(t *testing.T, b *Bot, channel, user, ts, text string) Response {
	t.Helper()
	return b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: channel, User: user, TS: ts, Text: text})
}

// golden compares a reply's plain-text rendering with testdata/golden/name.txt.
func golden(t *testing.T, name string, r *Reply) {
	t.Helper()
	if r == nil {
		t.Fatalf("%s: no reply", name)
	}
	got := []byte(r.Summary + "\n--\n" + RenderText(r))
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run Golden -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from %s (go test ./bot -run Golden -update rewrites it):\n%s", name, path, got)
	}
}

const producerPaste = "Old Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more details or try to publish 'Billing_CS'."

func TestDiagnosisReplyGolden(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0 self-managed")
	cases := []struct{ name, text string }{
		{"producer", producerPaste},
		{"publish-blocked", "The 1-Click Publish started by jane.doe at 2024-03-12 10:15 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01, that is locking 'Directory' module."},
		{"errors-with-summary", "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."},
	}
	for i, c := range cases {
		resp := msg(t, b, "C1", "U1", "1700000000.00000"+string(rune('1'+i)), c.text)
		golden(t, "reply-"+c.name, resp.Reply)
	}
	golden(t, "status-prod", cmd(t, b, "C1", "U1", "status prod").Reply)
	golden(t, "help", cmd(t, b, "C1", "U1", "help").Reply)
}

// The bot's own words must never look like an error to itself.
func TestRepliesDoNotTriggerDiagnosis(t *testing.T) {
	b, _ := newTestBot(t)
	e := diagnosis.New(diagnosis.Builtin())
	for _, entry := range e.KB().Entries() {
		for _, k := range everyKnown() {
			f := diagnosis.Finding{ID: entry.ID, Entry: entry}
			r := b.diagnosisReply([]diagnosis.Finding{f, f}, k)
			text := RenderText(r)
			if got := e.Diagnose(text); len(got) != 0 {
				t.Errorf("%s: the reply itself is diagnosed as %s:\n%s", entry.ID, got[0].ID, text)
			}
		}
	}
	if got := e.Diagnose(RenderText(b.Help())); len(got) != 0 {
		t.Errorf("help text is diagnosed as %s", got[0].ID)
	}
}

// A reading holds the findings the answer is built from, text then
// screenshots, so that a transport decides and keys its answer on them.
func TestReadingFindings(t *testing.T) {
	b, _ := newTestBot(t)
	cases := []struct {
		text   string
		images []ImageText
		want   []string
		silent bool
	}{
		{"deploy of the billing app went fine", nil, nil, true},
		{"<@UBOT> is this thing on?", nil, nil, false},
		{producerPaste, nil, []string{"producer-not-prepared"}, false},
		{"see the screenshot", []ImageText{{Name: "a.png", Text: "Upgrade Failure: Upgrade failed for Employees"}}, []string{"module-upgrade-failed"}, false},
		{producerPaste, []ImageText{{Name: "b.png", Text: "There were errors preparing some modules."}, {Name: "c.png", Pending: true}}, []string{"producer-not-prepared", "modules-preparation-errors"}, false},
	}
	for i, c := range cases {
		r := b.Read(Message{Workspace: "T1", Channel: "C9", User: "U1", TS: fmt.Sprintf("1700000100.%06d", i), Text: c.text, Images: c.images})
		var got []string
		for _, f := range r.Findings() {
			got = append(got, f.ID)
		}
		if !slices.Equal(got, c.want) || r.Silent() != c.silent {
			t.Errorf("%q with %d images: findings %v (silent %v), want %v (silent %v)", c.text, len(c.images), got, r.Silent(), c.want, c.silent)
		}
		if resp := b.Answer(context.Background(), r); resp.Reply.Empty() != c.silent {
			t.Errorf("%q: silent %v but the answer is %+v", c.text, r.Silent(), resp)
		}
	}
}

// Messages that name a module to republish but also appear in ordinary
// development (the knowledge base's `republish`) add it to the list only
// in a channel that follows an upgrade that isn't done; elsewhere they
// are explained, and nothing is said about tracking.
func TestReportedModulesOnlyWhileUpgrading(t *testing.T) {
	paste := "Producer 'Billing_CS' was published with a different Platform Server version. Please republish 'Billing_CS' to prevent runtime errors."
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0 self-managed")
	cmd(t, b, "C2", "U1", "track qa 11.31.0 self-managed")
	msg(t, b, "C2", "U1", "1700000300.000001", "This environment is ready (Release Notes) No further actions are required.")
	cmd(t, b, "C4", "U1", "track uat 11.31.0 self-managed")
	cmd(t, b, "C4", "U1", "failed Legacy_Reports")
	msg(t, b, "C4", "U1", "1700000300.000002", "This environment is ready (Release Notes) No further actions are required.")
	cases := []struct {
		channel, env string
		recorded     bool
	}{
		{"C1", "prod", true}, // the upgrade goes on
		{"C2", "qa", false},  // done: Service Center said the environment is ready, nothing is left
		{"C3", "", false},    // no upgrade followed
		{"C4", "uat", true},  // ready, but a module is still to republish
	}
	for i, c := range cases {
		resp := msg(t, b, c.channel, "U1", fmt.Sprintf("1700000301.00000%d", i), paste)
		text := RenderText(resp.Reply)
		if !strings.Contains(text, "published before the upgrade") {
			t.Errorf("%s: the message is not explained:\n%s", c.channel, text)
		}
		if got := strings.Contains(text, "Recorded for"); got != c.recorded {
			t.Errorf("%s: recorded %v, want %v:\n%s", c.channel, got, c.recorded, text)
		}
		if strings.Contains(text, "Not tracked") {
			t.Errorf("%s: speaks of tracking a message of ordinary development:\n%s", c.channel, text)
		}
		if c.env == "" {
			continue
		}
		st, err := store.Status(ctx, "T1", c.env, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]progress.State{"qa": progress.StateDone, "uat": progress.StateReady}[c.env]; want != "" && st.State != want {
			t.Errorf("%s: state %s, want %s", c.env, st.State, want)
		}
		listed := slices.ContainsFunc(st.Modules, func(m progress.Module) bool {
			return m.Name == "Billing_CS" && m.Reason == progress.ReasonProducerNotPrepared
		})
		if listed != c.recorded {
			t.Errorf("%s: Billing_CS listed %v, want %v (%+v)", c.env, listed, c.recorded, st.Modules)
		}
	}
}
