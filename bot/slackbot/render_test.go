package slackbot

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

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
	// Names that mrkdwn would format stay in code spans: in the undo's
	// account of what it took back, and in a look-alike warning.
	command(t, b, `failed prod: "An *Urgent* Fix" "A _Core_ Lib"`)
	resp = command(t, b, "undo")
	if out := renderedMrkdwn(t, resp.Announce); !strings.Contains(out, " (`2 modules reported (failed): An *Urgent* Fix, A _Core_ Lib`)") {
		t.Errorf("undo's account: %s", out)
	}
	command(t, b, `failed prod: "An *Urgent* Fix"`)
	resp = command(t, b, `failed prod: "An *Urgent*_Fix"`)
	if out := renderedMrkdwn(t, resp.Announce); !strings.Contains(out, "`An *Urgent*_Fix` looks like `An *Urgent* Fix`") {
		t.Errorf("look-alike warning: %s", out)
	}
}

// A paste about an environment followed in another channel names that
// channel as Slack's link to it.
func TestElsewhereLinksTheChannel(t *testing.T) {
	b := renderCore(t)
	for _, c := range []bot.Command{{Channel: "C0DEV", Text: "track dev"}, {Channel: "C0TEST", Text: "track test"}} {
		c.Workspace, c.User, c.ID = "T1", "U1", c.Text
		b.HandleCommand(context.Background(), c)
	}
	r := b.HandleMessage(context.Background(), bot.Message{Workspace: "T1", Channel: "C0TEST", User: "U1", TS: "1.1", Text: "dev: Upgrade Failure: Upgrade failed for Foo_CS"})
	var blocks []struct{ Elements []struct{ Text string } }
	if err := json.Unmarshal([]byte(renderedMrkdwn(t, r.Reply)), &blocks); err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, bl := range blocks {
		for _, e := range bl.Elements {
			out += e.Text
		}
	}
	if !strings.Contains(out, "Paste it in a channel that does (<#C0DEV>), or `/upgrade track dev` here.") {
		t.Errorf("no link to #C0DEV: %s", out)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"R&D", "<!channel>", "a < b > c", "&amp;", "plain"} {
		if got := UnescapeSlack(EscapeSlack(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}

// Verbatim text is shown as it is, in a code span when mrkdwn could format it.
func TestRenderVerbatim(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"republished: Billing_CS, Orders_UI_2", "republished: Billing_CS, Orders_UI_2"},
		{"Café_Ü R&D <x>", "Café_Ü R&amp;D &lt;x&gt;"},
		{"republished: *Orders*", "`republished: *Orders*`"},
		{"republished: _Core_", "`republished: _Core_`"},
		{"Core_, Sales", "`Core_, Sales`"},
		{"~Old~ name", "`~Old~ name`"},
		{"a `b` c", "`a 'b' c`"},
	} {
		if got := mrkdwnSpan(bot.V(tc.text)); got != tc.want {
			t.Errorf("%q rendered %q, want %q", tc.text, got, tc.want)
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

// markupProblem says what is wrong with rendered mrkdwn of at most max
// characters: too long, a code span left open, an entity split, markup
// the renderer did not mean; "" when nothing is.
func markupProblem(s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("%d characters > %d", n, max)
	}
	if strings.Count(s, "`")%2 == 1 {
		return "a code span left open"
	}
	for i := strings.Index(s, "&"); i >= 0; i = nextIndex(s, "&", i) {
		rest := s[i:]
		if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
			return fmt.Sprintf("an entity split: %q", bot.Shorten(rest, 8))
		}
	}
	for _, mk := range regexp.MustCompile(`<[^>]*>?`).FindAllString(s, -1) {
		if !regexp.MustCompile(`^<(@[UWB][A-Z0-9]{2,20}|https?://[^|>]+\|[^>]*)>$`).MatchString(mk) {
			return fmt.Sprintf("markup split: %q", mk)
		}
	}
	return ""
}

func nextIndex(s, sub string, i int) int {
	j := strings.Index(s[i+1:], sub)
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// names is a list of n module names as the core shows at most shown of
// them: code spans, then " … and N more".
func names(n, shown int, name func(i int) string) bot.Line {
	var l bot.Line
	for i := 0; i < n; i++ {
		if i == shown {
			return append(l, bot.T(fmt.Sprintf(" … and %d more", n-shown)))
		}
		if i > 0 {
			l = append(l, bot.T(", "))
		}
		l = append(l, bot.C(name(i)))
	}
	return l
}

// moreCount is N of the last "… and N more" in s, or -1.
func moreCount(s string) int {
	m := regexp.MustCompile(`… and (\d+) more`).FindAllStringSubmatch(s, -1)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// A line too long for its field or element is cut at its spans: no code
// span left open, no entity split, and the count of what is left out kept.
func TestFitLineCutsAtSpans(t *testing.T) {
	long := func(extra string) func(int) string {
		return func(i int) string {
			s := fmt.Sprintf("M%04d_%s", i, extra)
			return s + strings.Repeat("x", 100-utf8.RuneCountInString(s))
		}
	}
	cases := []struct {
		name  string
		line  bot.Line
		max   int
		items int    // items in the line: shown code spans + "… and N more" must make them
		want  string // a text the cut line keeps
	}{
		{"300 modules, 20 shown", names(300, 20, long("Producer_Core")), MaxFieldChars - 11, 300, "M0000_Producer_Core"},
		{"names with &, cut in an entity", names(30, 20, func(i int) string {
			return fmt.Sprintf("Sales&Marketing&Ops_%s%03d_Core_%s", strings.Repeat("R", 9), i, strings.Repeat("x", 60))
		}), MaxFieldChars - 11, 30, "Sales&amp;Marketing"},
		{"every name shown, none fits whole", names(40, 40, long("R&D<x>")), 1000, 40, "M0000_R&amp;D&lt;x&gt;"},
		{"one long sentence", bot.Line{bot.T(":warning: Not recorded for "), bot.B("prod"), bot.T(": it would record " + strings.Repeat("R&D_Core, ", 400) + "end.")}, 3000, 0, ":warning: Not recorded for *prod*: it would record R&amp;D_Core"},
		{"one name longer than the field", bot.Line{bot.C(strings.Repeat("&", 3000))}, 2000, 0, "`&amp;&amp;"},
		{"a long link label", bot.Line{bot.L(strings.Repeat("a&b ", 600), "https://example.com/x")}, 2000, 0, "<https://example.com/x|a&amp;b"},
		{"fits", bot.Line{bot.C("R&D"), bot.T(" … and 3 more")}, 2000, 4, "`R&amp;D` … and 3 more"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fitLine(c.line, c.max)
			if p := markupProblem(got, c.max); p != "" {
				t.Errorf("%s in %q", p, bot.Shorten(got, 300))
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("does not keep %q: %q", c.want, bot.Shorten(got, 300))
			}
			if c.items > 0 {
				shown := strings.Count(got, "`") / 2
				if more := moreCount(got); shown+max(more, 0) != c.items {
					t.Errorf("%d names shown and %d said to be more, of %d: …%q", shown, more, c.items, got[max(0, len(got)-200):])
				}
				if !strings.HasSuffix(got, " more") {
					t.Errorf("the line does not end with its count: …%q", got[max(0, len(got)-100):])
				}
			}
		})
	}
}

// A field, a context element and a section cut by RenderBlocks keep their
// markup whole.
func TestRenderCutsKeepMarkup(t *testing.T) {
	amp := func(i int) string {
		return fmt.Sprintf("Sales&Marketing&Ops_RRRRRRRRR%03d_Core_%s", i, strings.Repeat("x", 60))
	}
	firstTooLong := bot.Line{bot.T("Held: "), bot.B("prod"), bot.T(" — it would record ")}
	firstTooLong = append(firstTooLong, names(300, 300, amp)...)
	var many []bot.Line
	for i := 0; i < 40; i++ {
		many = append(many, bot.Line{bot.T("line "), bot.C(amp(i))})
	}
	cases := []struct {
		name  string
		reply *bot.Reply
		want  []string // texts the rendering keeps
	}{
		{"field", (&bot.Reply{}).Fields(bot.Field{Label: "Modules", Value: names(300, 20, amp)}), []string{"*Modules*\n`Sales&amp;", " … and 28"}},
		{"context", (&bot.Reply{}).Context(names(300, 30, amp)), []string{" … and 2"}},
		{"section, the first line too long, the next kept", (&bot.Reply{}).Section(firstTooLong, bot.Line{bot.T("If it is right after all, record it anyway.")}),
			[]string{"Held: *prod* — it would record `Sales&amp;", " more\nIf it is right after all, record it anyway."}},
		{"list, the first line too long, then many", (&bot.Reply{}).List(append([]bot.Line{firstTooLong}, many...)...), []string{"1. Held: *prod*", "\n… and 40 more"}},
		{"list of many lines", (&bot.Reply{}).List(many...), []string{"1. line `Sales&amp;", "\n… and "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := json.Marshal(RenderBlocks(c.reply))
			if err != nil {
				t.Fatal(err)
			}
			var blocks []struct {
				Text *struct {
					Text string `json:"text"`
				} `json:"text"`
				Fields []struct {
					Text string `json:"text"`
				} `json:"fields"`
				Elements []struct {
					Text string `json:"text"`
				} `json:"elements"`
			}
			if err := json.Unmarshal(raw, &blocks); err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			check := func(s string, limit int) {
				if p := markupProblem(s, limit); p != "" {
					t.Errorf("%s in …%q", p, s[max(0, len(s)-200):])
				}
				all.WriteString(s)
			}
			for _, b := range blocks {
				if b.Text != nil {
					check(b.Text.Text, MaxSectionChars)
				}
				for _, f := range b.Fields {
					check(f.Text, MaxFieldChars)
				}
				for _, e := range b.Elements {
					check(e.Text, MaxFieldChars)
				}
			}
			for _, w := range c.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("does not keep %q: %q", w, bot.Shorten(all.String(), 400))
				}
			}
		})
	}
}

// Context lines past one block's ten go in further context blocks while
// the message has blocks to spare, else in the tenth element: none lost.
func TestRenderContextPastTen(t *testing.T) {
	lines := func(n int) []bot.Line {
		var ls []bot.Line
		for i := 0; i < n; i++ {
			ls = append(ls, bot.Line{bot.T(fmt.Sprintf(":warning: note %02d", i))})
		}
		return ls
	}
	filler := func(n int) *bot.Reply {
		r := &bot.Reply{}
		for i := 0; i < n; i++ {
			r.Section(bot.Line{bot.T("s")})
		}
		return r
	}
	cases := []struct {
		name         string
		reply        *bot.Reply
		lines        int
		contexts     int // context blocks rendered
		lastElements int // in the last context block
	}{
		{"ten", filler(0), 10, 1, 10},
		{"18, room", filler(5), 18, 2, 8},
		{"35, room", filler(5), 35, 4, 5},
		{"35, room for one more", filler(48), 35, 2, 10},
		{"18, no room", filler(49), 18, 1, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.reply.Context(lines(c.lines)...)
			blocks := RenderBlocks(c.reply)
			if len(blocks) > MaxBlocks {
				t.Fatalf("%d blocks", len(blocks))
			}
			var ctx []*slack.ContextBlock
			for _, b := range blocks {
				if cb, ok := b.(*slack.ContextBlock); ok {
					ctx = append(ctx, cb)
				}
			}
			if len(ctx) != c.contexts {
				t.Fatalf("%d context blocks, want %d", len(ctx), c.contexts)
			}
			if n := len(ctx[len(ctx)-1].ContextElements.Elements); n != c.lastElements {
				t.Errorf("%d elements in the last context block, want %d", n, c.lastElements)
			}
			var all strings.Builder
			for _, cb := range ctx {
				if n := len(cb.ContextElements.Elements); n > MaxContextItems {
					t.Errorf("context block of %d elements", n)
				}
				for _, e := range cb.ContextElements.Elements {
					all.WriteString(e.(*slack.TextBlockObject).Text + "|")
				}
			}
			for i := 0; i < c.lines; i++ {
				if w := fmt.Sprintf("note %02d", i); !strings.Contains(all.String(), w) {
					t.Errorf("%s is lost: %s", w, all.String())
				}
			}
		})
	}
}

// Buttons past one actions block's 25 go in further actions blocks while
// the message has blocks to spare; those left out are named.
func TestRenderButtonsPast25(t *testing.T) {
	cases := []struct {
		name    string
		filler  int // section blocks before the buttons
		buttons int
		actions []int // buttons per actions block
		leftOut int   // buttons a context block says are not shown
	}{
		{"25", 0, 25, []int{25}, 0},
		{"40, room", 5, 40, []int{25, 15}, 0},
		{"40, no room to spare", 48, 40, []int{25, 15}, 0},
		{"80, room for two", 47, 80, []int{25, 25}, 30},
		{"80, no room to spare", 48, 80, []int{25}, 55},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &bot.Reply{}
			for i := 0; i < c.filler; i++ {
				r.Section(bot.Line{bot.T("s")})
			}
			var bs []bot.Button
			for i := 0; i < c.buttons; i++ {
				bs = append(bs, bot.Button{ActionID: fmt.Sprintf("choose_%02d", i), Label: fmt.Sprintf("env-%02d", i), Value: "v"})
			}
			r.Actions(bs...)
			blocks := RenderBlocks(r)
			if len(blocks) > MaxBlocks {
				t.Fatalf("%d blocks", len(blocks))
			}
			var got []int
			var note string
			shown := map[string]bool{}
			for _, b := range blocks {
				switch b := b.(type) {
				case *slack.ActionBlock:
					got = append(got, len(b.Elements.ElementSet))
					for _, e := range b.Elements.ElementSet {
						shown[e.(*slack.ButtonBlockElement).ActionID] = true
					}
				case *slack.ContextBlock:
					note = b.ContextElements.Elements[0].(*slack.TextBlockObject).Text
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.actions) {
				t.Errorf("actions blocks of %v buttons, want %v", got, c.actions)
			}
			if c.leftOut == 0 {
				if note != "" {
					t.Errorf("unexpected note %q", note)
				}
				return
			}
			if want := fmt.Sprintf("… and %d more buttons not shown: *env-%02d*", c.leftOut, c.buttons-c.leftOut); !strings.HasPrefix(note, want) {
				t.Errorf("note %q, want it to start %q", note, want)
			}
			if len(shown)+c.leftOut != c.buttons {
				t.Errorf("%d shown + %d left out != %d", len(shown), c.leftOut, c.buttons)
			}
		})
	}
}

// The fallback text is shortened before it is escaped: no entity split.
func TestFallbackTextCut(t *testing.T) {
	for _, pad := range []int{0, 1, 2, 3, 4} {
		s := strings.Repeat("x", pad) + strings.Repeat("R&D ", 2000)
		got := FallbackText(&bot.Reply{Summary: s})
		if p := markupProblem(got, MaxFallbackChars); p != "" {
			t.Errorf("pad %d: %s in …%q", pad, p, got[len(got)-40:])
		}
		if !strings.HasSuffix(got, "…") {
			t.Errorf("pad %d: the cut is not marked: …%q", pad, got[len(got)-40:])
		}
	}
}

// The top-level text is what screen readers read (not the blocks) and
// e-mails show: the summary first, for notifications, then the cause and
// the steps, without button labels or the bot's emoji codes; its user
// text escaped and never mrkdwn; long replies cut at whole lines.
func TestFallbackTextSaysTheWholeReply(t *testing.T) {
	b := renderCore(t)
	command(t, b, "track prod 11.31.0 self-managed")
	r := message(t, b, "1700000000.000001", producerPaste).Reply
	text := FallbackText(r)
	first, _, _ := strings.Cut(text, "\n")
	if first != EscapeSlack(r.Summary) {
		t.Errorf("first line %q, want the summary %q", first, r.Summary)
	}
	for _, want := range []string{"the producer has no build for the new Platform Server version yet", "republish the producer first", "Module: Billing_CS"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, not := range []string{"Mark Billing_CS republished", "Undo", "Show status", "\n:"} {
		if strings.Contains(text, not) {
			t.Errorf("text has %q:\n%s", not, text)
		}
	}
	if p := markupProblem(text, MaxFallbackChars); p != "" {
		t.Errorf("%s:\n%s", p, text)
	}

	message(t, b, "1700000000.000002", "26 modules prepared successfully, 1 modules failed and 3 modules skipped.")
	if text := FallbackText(command(t, b, "status prod").Reply); !strings.Contains(text, "Progress: 26 of 30 modules ok\n") || strings.ContainsAny(text, "█░") {
		t.Errorf("the progress bar is read glyph by glyph:\n%s", text)
	}

	r = &bot.Reply{Summary: "Recorded An *Urgent* Fix"}
	r.Section(bot.Line{bot.T(":warning: Not recorded: "), bot.V("<!channel> _Core_ R&D"), bot.T(" and "), bot.C("A ~Lib~")})
	if got, want := FallbackText(r), "Recorded An `*Urgent*` Fix\nNot recorded: &lt;!channel&gt; `_Core_` R&amp;D and A `~Lib~`"; got != want {
		t.Errorf("user text:\n got %q\nwant %q", got, want)
	}

	r = &bot.Reply{Summary: "Long"}
	for i := range 400 {
		r.Section(bot.Line{bot.T(fmt.Sprintf("line %d: ", i)), bot.V("R&D <x> ")})
	}
	text = FallbackText(r)
	if p := markupProblem(text, MaxFallbackChars); p != "" {
		t.Errorf("long: %s", p)
	}
	if !strings.HasSuffix(text, "R&amp;D &lt;x&gt; \n…") || !strings.Contains(text, "line 100: ") {
		t.Errorf("long: not cut at a whole line: …%q", text[max(len(text)-60, 0):])
	}
}

// A button's description is its accessibility_label, which a screen
// reader reads in place of the label, within Slack's 75 characters.
func TestButtonAccessibilityLabel(t *testing.T) {
	b := renderCore(t)
	command(t, b, "track prod")
	r := message(t, b, "1700000000.000001", producerPaste).Reply
	js, err := json.Marshal(RenderBlocks(r))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []struct {
		Type     string
		Elements []json.RawMessage
	}
	if err := json.Unmarshal(js, &blocks); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, bl := range blocks {
		for _, raw := range bl.Elements {
			var e struct {
				Text  struct{ Text string }
				Label string `json:"accessibility_label"`
			}
			if bl.Type != "actions" || json.Unmarshal(raw, &e) != nil {
				continue
			}
			got[e.Text.Text] = e.Label
			if n := utf8.RuneCountInString(e.Label); n > MaxButtonA11y {
				t.Errorf("%q: accessibility_label of %d characters", e.Text.Text, n)
			}
		}
	}
	for label, want := range map[string]string{"Mark Billing_CS republished": "Mark Billing_CS republished on prod", "Show status": "Show prod's status", "Undo": "Undo: Recorded for prod: 1 module to republish (Billing_CS); 1 on the list"} {
		if g := got[label]; g != bot.Shorten(want, MaxButtonA11y) {
			t.Errorf("%q: accessibility_label %q, want %q", label, g, bot.Shorten(want, MaxButtonA11y))
		}
	}
}

// A reply cut to Slack's 50 blocks keeps its last buttons and the notes
// after them (Undo, a rebuilt reply's notes): the cut comes before them.
func TestRenderCutKeepsTheButtons(t *testing.T) {
	for _, notes := range []int{0, 2} {
		r := &bot.Reply{}
		for i := range 60 {
			r.Section(bot.Line{bot.T(fmt.Sprintf("section %d", i))})
		}
		r.Actions(bot.Button{ActionID: "undo", Label: "Undo", Value: "v"})
		for i := range notes {
			r.Context(bot.Line{bot.T(fmt.Sprintf("note %d", i))})
		}
		blocks := RenderBlocks(r)
		if len(blocks) != MaxBlocks {
			t.Fatalf("%d notes: %d blocks, want %d", notes, len(blocks), MaxBlocks)
		}
		raw, _ := json.Marshal(blocks)
		for _, want := range []string{`"Undo"`, fmt.Sprintf("… and %d more blocks not shown", 61+notes-MaxBlocks+1), `"section 0"`} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("%d notes: %s missing from %s", notes, want, raw)
			}
		}
		if notes > 0 && !strings.Contains(string(raw), fmt.Sprintf("note %d", notes-1)) {
			t.Errorf("%d notes: the last note is cut: %s", notes, raw)
		}
		if blocks[len(blocks)-1-notes].BlockType() != slack.MBTAction {
			t.Errorf("%d notes: block %d is %s, want the buttons", notes, len(blocks)-1-notes, blocks[len(blocks)-1-notes].BlockType())
		}
	}
}
