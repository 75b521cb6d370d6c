package slackbot

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// renderNow is the fixed clock of the rendered replies.
var renderNow = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// renderCore is a core on a fresh embedded store with a fixed clock.
func renderCore(t testing.TB) *bot.Bot {
	t.Helper()
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "render.db"), progress.BoltOptions{Now: func() time.Time { return renderNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: func() time.Time { return renderNow }, BotUserID: "UBOT"})
}

func command(t testing.TB, b *bot.Bot, text string) bot.Response {
	t.Helper()
	return b.HandleCommand(context.Background(), bot.Command{Workspace: "T1", Channel: "C1", User: "U1", ID: t.Name() + text, Text: text})
}

func message(t testing.TB, b *bot.Bot, ts, text string) bot.Response {
	t.Helper()
	return b.HandleMessage(context.Background(), bot.Message{Workspace: "T1", Channel: "C1", User: "U1", TS: ts, Text: text})
}

// golden compares a reply's rendered Block Kit JSON with testdata/golden/name.json.
func golden(t *testing.T, name string, r *bot.Reply) {
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
		t.Fatalf("%v (run go test ./bot/slackbot -run Golden -update to create it)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("%s differs from %s (go test ./bot/slackbot -run Golden -update rewrites it):\n%s", name, path, got)
	}
}

func TestRenderGolden(t *testing.T) {
	b := renderCore(t)
	command(t, b, "track prod 11.31.0 self-managed")
	cases := []struct{ name, text string }{
		{"producer", producerPaste},
		{"publish-blocked", "The 1-Click Publish started by jane.doe at 2024-03-12 10:15 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01, that is locking 'Directory' module."},
		{"errors-with-summary", "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."},
	}
	for i, c := range cases {
		golden(t, "reply-"+c.name, message(t, b, fmt.Sprintf("1700000000.%06d", i+1), c.text).Reply)
	}
	golden(t, "status-prod", command(t, b, "status prod").Reply)
	golden(t, "help", command(t, b, "help").Reply)
}

// renderedMrkdwn is the Block Kit JSON as Slack reads it (no HTML escaping of the JSON itself).
func renderedMrkdwn(t testing.TB, r *bot.Reply) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(RenderBlocks(r)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The bot's own words, as Slack shows them, must never look like an error
// to itself: every entry's explanation, for every installation type (the
// channel's environment says which), from the first case of the
// diagnosis corpora that finds it.
func TestRenderedRepliesDoNotTriggerDiagnosis(t *testing.T) {
	example := map[string]string{}
	for _, name := range []string{"corpus.json", "corpus_docs.json"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "diagnosis", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var corpus struct {
			Cases []struct {
				Text string
				Want []struct{ ID string }
			}
		}
		if err := json.Unmarshal(raw, &corpus); err != nil {
			t.Fatal(err)
		}
		for _, c := range corpus.Cases {
			if len(c.Want) == 1 && example[c.Want[0].ID] == "" {
				example[c.Want[0].ID] = c.Text
			}
		}
	}
	e := diagnosis.New(diagnosis.Builtin())
	b := renderCore(t)
	channels := map[string]string{"C-any": "", "C-cloud": "track a cloud", "C-self": "track b self-managed"}
	for ch, track := range channels {
		if track != "" {
			b.HandleCommand(context.Background(), bot.Command{Workspace: "T1", Channel: ch, User: "U1", ID: ch, Text: track})
		}
	}
	for _, entry := range e.KB().Entries() {
		text, ok := example[entry.ID]
		if !ok {
			t.Errorf("%s: no corpus case finds it alone", entry.ID)
			continue
		}
		for ch := range channels {
			resp := b.HandleCommand(context.Background(), bot.Command{Workspace: "T1", Channel: ch, User: "U1", ID: ch + entry.ID, Text: "diagnose " + text})
			out := renderedMrkdwn(t, resp.Reply) + FallbackText(resp.Reply)
			if !strings.Contains(out, EscapeSlack(entry.Title)) {
				t.Errorf("%s in %s: the reply does not explain it:\n%s", entry.ID, ch, out)
			}
			if got := e.Diagnose(out); len(got) != 0 {
				t.Errorf("%s in %s: the rendered reply itself is diagnosed as %s:\n%s", entry.ID, ch, got[0].ID, out)
			}
		}
	}
}

func TestInjectionSafety(t *testing.T) {
	b := renderCore(t)
	command(t, b, "track prod")
	// A module named <!channel>, as Slack sends it: escaped once.
	resp := message(t, b, "1.1", "Producer module '&lt;!channel&gt; &amp; R&amp;D' hasn't been prepared for the current OutSystems environment version.")
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
	resp = command(t, b, "failed <http://evil.example|Billing>")
	if resp.Reply != nil && strings.Contains(renderedMrkdwn(t, resp.Reply), "<http://evil") {
		t.Errorf("forged link rendered: %s", renderedMrkdwn(t, resp.Reply))
	}
	if resp.Announce != nil && strings.Contains(renderedMrkdwn(t, resp.Announce), "<http://evil") {
		t.Errorf("forged link rendered: %s", renderedMrkdwn(t, resp.Announce))
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
	r := &bot.Reply{}
	long := strings.Repeat("x", 5000)
	r.Header(long)
	var lines []bot.Line
	for i := 0; i < 400; i++ {
		lines = append(lines, bot.Line{bot.C("Module_" + strings.Repeat("y", 20)), bot.T(" — failed")})
	}
	r.List(lines...)
	for i := 0; i < 60; i++ {
		r.Section(bot.Line{bot.T("section")})
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

func TestStatusOf5000ModulesFitsAMessage(t *testing.T) {
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "big.db"), progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store})
	command(t, b, "track big")
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("Module_%04d_With_A_Longish_Name", i)
	}
	if _, err := store.Apply(context.Background(), "T1", "big", progress.Change{Kind: progress.ChangeAddModules, Key: "k", Reason: progress.ReasonFailed, Modules: names}); err != nil {
		t.Fatal(err)
	}
	resp := command(t, b, "status big")
	if blocks := RenderBlocks(resp.Reply); len(blocks) > MaxBlocks {
		t.Errorf("%d blocks", len(blocks))
	}
	if out := renderedMrkdwn(t, resp.Reply); !strings.Contains(out, "more not shown") {
		t.Errorf("does not say how many were left out")
	}
	for _, bl := range resp.Reply.Blocks {
		if bl.Kind == bot.ListBlock {
			n := 0
			for _, l := range bl.Lines {
				n += len(mrkdwnLine(l)) + 6
			}
			if n > MaxSectionChars {
				t.Errorf("module list of %d characters", n)
			}
		}
	}
}

// renderSeeds are /upgrade texts whose answers test the rendering: what
// users type that Slack would read as markup, and answers at their limits.
var renderSeeds = []string{
	"", "help", "help done", "status", "status prod", "history prod", "envs", "diagnose There were errors preparing some modules.",
	"failed <!channel> <@U0BOSS> <#C0GENERAL> <https://evil.example|x> <mailto:a@b.example|a>", "failed &lt;!channel&gt; &amp; R&amp;D",
	"track <!here>", "done <@U0BOSS>", "status <https://evil.example|prod>", "statsu <!channel>", "help <!channel>",
	"failed Bad\x00Name Bell\x07", "failed \xff\xfe", "failed *Bold_CS* `Code_CS` _it_ ~st~", "failed " + strings.Repeat("M ", 3000),
	"failed " + strings.Repeat("Module_With_A_Rather_Long_Name_", 200), "remind now", "remind @every 1s",
}

// checkRendered checks what a reply would post: within Slack's limits,
// valid JSON, and no mention, broadcast or link that the bot did not put
// there itself (the caller's mention, <@U1>, is the bot's own).
func checkRendered(t *testing.T, what string, r *bot.Reply) {
	t.Helper()
	if r.Empty() {
		return
	}
	blocks := RenderBlocks(r)
	if len(blocks) > MaxBlocks {
		t.Errorf("%s: %d blocks", what, len(blocks))
	}
	js, err := json.Marshal(blocks)
	if err != nil {
		t.Fatalf("%s: blocks do not marshal: %v", what, err)
	}
	var decoded []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(js, &decoded); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var all strings.Builder
	for i, d := range decoded {
		if d.Text == nil {
			continue
		}
		n := utf8.RuneCountInString(d.Text.Text)
		if (d.Type == "section" && n > MaxSectionChars) || (d.Type == "header" && n > MaxHeaderChars) {
			t.Errorf("%s: block %d (%s) of %d characters", what, i, d.Type, n)
		}
		all.WriteString(d.Text.Text)
	}
	all.WriteString(FallbackText(r))
	s := strings.ReplaceAll(all.String(), "<@U1>", "")
	for _, bad := range []string{"<!", "<@", "<#", "<http", "<mailto"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s: the reply contains %q that the user typed: %q", what, bad, s)
		}
	}
}

// FuzzRenderCommand renders the core's answer to any /upgrade text, as it
// reaches the core from Slack (unescaped once), and checks what would be posted.
func FuzzRenderCommand(f *testing.F) {
	for _, s := range renderSeeds {
		f.Add(s)
	}
	b := renderCore(f)
	command(f, b, "track prod")
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, text string) {
		resp := b.HandleCommand(context.Background(), bot.Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("fuzz-", n.Add(1)), Text: UnescapeSlack(text)})
		checkRendered(t, "reply", resp.Reply)
		checkRendered(t, "announcement", resp.Announce)
	})
}
