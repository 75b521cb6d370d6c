package bot

import (
	"context"
	"encoding/json"
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
func newTestBot(t *testing.T) (*Bot, progress.Store) {
	t.Helper()
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return testNow }, BotUserID: "UBOT"})
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

// golden compares a reply's rendered Block Kit JSON with testdata/golden/name.json.
func golden(t *testing.T, name string, r *Reply) {
	t.Helper()
	if r == nil {
		t.Fatalf("%s: no reply", name)
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"text": FallbackText(r), "blocks": RenderBlocks(r)}); err != nil {
		t.Fatal(err)
	}
	got := []byte(buf.String())
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -update to create it)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("%s differs from %s (go test ./bot -update rewrites it):\n%s", name, path, got)
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
	e := b.Engine()
	for _, entry := range e.KB().Entries() {
		for _, in := range []diagnosis.Install{diagnosis.InstallAny, diagnosis.InstallCloud, diagnosis.InstallSelfManaged} {
			f := diagnosis.Finding{ID: entry.ID, Entry: entry}
			r := b.diagnosisReply([]diagnosis.Finding{f}, progress.InstallType(in))
			for _, text := range []string{RenderText(r), renderedMrkdwn(t, r)} {
				if got := e.Diagnose(text); len(got) != 0 {
					t.Errorf("%s: the reply itself is diagnosed as %s:\n%s", entry.ID, got[0].ID, text)
				}
			}
		}
	}
	if got := e.Diagnose(RenderText(b.Help())); len(got) != 0 {
		t.Errorf("help text is diagnosed as %s", got[0].ID)
	}
}

// renderedMrkdwn is the Block Kit JSON as Slack reads it (no HTML escaping of the JSON itself).
func renderedMrkdwn(t *testing.T, r *Reply) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(RenderBlocks(r)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestInjectionSafety(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	// A module named <!channel>, as Slack sends it: escaped once.
	resp := msg(t, b, "C1", "U1", "1.1", "Producer module '&lt;!channel&gt; &amp; R&amp;D' hasn't been prepared for the current OutSystems environment version.")
	if resp.Reply == nil {
		t.Fatal("no reply")
	}
	out := renderedMrkdwn(t, resp.Reply) + FallbackText(resp.Reply)
	if strings.Contains(out, "<!channel>") {
		t.Errorf("reply would ping the channel: %s", out)
	}
	if !strings.Contains(out, "&lt;!channel&gt; &amp; R&amp;D") {
		t.Errorf("module not escaped exactly once: %s", out)
	}
	if strings.Contains(out, "&amp;amp;") || strings.Contains(out, "&amp;lt;") {
		t.Errorf("escaped twice: %s", out)
	}
	// A link forged in a module name stays text.
	resp = cmd(t, b, "C1", "U1", "failed <http://evil.example|Billing>")
	if resp.Reply != nil && strings.Contains(renderedMrkdwn(t, resp.Reply), "<http://evil") {
		t.Errorf("forged link rendered: %s", renderedMrkdwn(t, resp.Reply))
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"R&D", "<!channel>", "a < b > c", "&amp;", "plain"} {
		if got := UnescapeSlack(EscapeSlack(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}

func TestSlackLimits(t *testing.T) {
	r := &Reply{}
	long := strings.Repeat("x", 5000)
	r.Header(long)
	var lines []Line
	for i := 0; i < 400; i++ {
		lines = append(lines, Line{C("Module_" + strings.Repeat("y", 20)), T(" — failed")})
	}
	r.List(lines...)
	for i := 0; i < 60; i++ {
		r.Section(Line{T("section")})
	}
	blocks := RenderBlocks(r)
	if len(blocks) > MaxBlocks {
		t.Errorf("%d blocks, limit %d", len(blocks), MaxBlocks)
	}
	raw, _ := json.Marshal(blocks)
	var decoded []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	for i, d := range decoded {
		if d.Text == nil {
			continue
		}
		n := len([]rune(d.Text.Text))
		switch {
		case d.Type == "header" && n > MaxHeaderChars:
			t.Errorf("block %d: header of %d characters", i, n)
		case d.Type == "section" && n > MaxSectionChars:
			t.Errorf("block %d: section of %d characters", i, n)
		}
	}
	if !strings.Contains(string(raw), "more") {
		t.Error("nothing says what was left out")
	}
}

// A reply carries the findings it was built from, text then screenshots,
// so that a transport keys it without diagnosing the message again.
func TestResponseFindings(t *testing.T) {
	b, _ := newTestBot(t)
	cases := []struct {
		text   string
		images []ImageText
		want   []string
	}{
		{"deploy of the billing app went fine", nil, nil},
		{producerPaste, nil, []string{"producer-not-prepared"}},
		{"see the screenshot", []ImageText{{Name: "a.png", Text: "Upgrade Failure: Upgrade failed for Employees"}}, []string{"module-upgrade-failed"}},
		{producerPaste, []ImageText{{Name: "b.png", Text: "There were errors preparing some modules."}, {Name: "c.png", Pending: true}}, []string{"producer-not-prepared", "modules-preparation-errors"}},
	}
	for i, c := range cases {
		resp := b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C9", User: "U1", TS: fmt.Sprintf("1700000100.%06d", i), Text: c.text, Images: c.images})
		var got []string
		for _, f := range resp.Findings {
			got = append(got, f.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q with %d images: findings %v, want %v", c.text, len(c.images), got, c.want)
		}
	}
}
