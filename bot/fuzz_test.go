package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// Fuzz targets of the command parser (run for a bounded time by .ci/run:
// go test -run=XXX -fuzz=FuzzX -fuzztime=15s ./bot).

var commandSeeds = []string{
	"", "help", "help done", "track prod 11.31.0 cloud", "track", "track prod 11.x", "untrack prod",
	"status", "status prod", "status prod qa", "failed Billing_CS, Orders\n\"Customer Portal\"",
	"failed prod: Billing_CS", "skipped --env=prod Orders_UI", "done all", "done prod: all", "republished Billing_CS",
	"failed 2020-10-28 19:23:00\tUpgrade Failure: Upgrade failed for Employees\tCompilerService",
	"failed &lt;!channel&gt; &amp; R&amp;D", "failed <!channel> <@U0BOSS> <https://evil.example|x>",
	"failed \"unterminated quote", "failed Orders \"*\"", "failed 0 0* 0", "failed \"a *\"", "failed “Curly Name” ‘Single’", "failed *Bold_CS* `Code_CS`",
	"history prod", "export prod csv", "export", "envs", "reset prod", "remind 0 9 * * 1-5", "remind @every 1s",
	"remind CRON_TZ=Nowhere/Zone 0 9 * * *", "remind off", "remind now",
	"diagnose There were errors preparing some modules.", "diagnose", "statsu", "xyzzyplugh",
	"failed Bad\x00Name Bell\x07", "failed \xff\xfe", "failed " + strings.Repeat("M ", 3000),
}

// fuzzBot is a bot on a fresh embedded store following prod in C1.
func fuzzBot(f *testing.F) *Bot {
	store, err := progress.OpenBoltStore(filepath.Join(f.TempDir(), "fuzz.db"), progress.BoltOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, BotUserID: "UBOT"})
	if r := b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "setup", Text: "track prod"}); r.Announce.Empty() {
		f.Fatal("setup: track prod was not announced")
	}
	return b
}

// checkModel checks what the core guarantees whatever renders it: what
// the user typed is only ever text. The only mention is of the caller (U1)
// and links come from the knowledge base.
func checkModel(t *testing.T, what string, r *Reply, links map[string]bool) {
	t.Helper()
	if r.Empty() {
		return
	}
	var lines []Line
	for _, bl := range r.Blocks {
		lines = append(lines, bl.Lines...)
		for _, f := range bl.Fields {
			lines = append(lines, f.Value)
		}
	}
	for _, l := range lines {
		for _, s := range l {
			if (s.Style == Mention && s.Text != "U1") || (s.Style == Link && !links[s.URL]) {
				t.Errorf("%s: a %v span the bot did not make: %+v", what, s.Style, s)
			}
		}
	}
}

func FuzzHandleCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add(s)
	}
	b := fuzzBot(f)
	links := map[string]bool{}
	for _, e := range diagnosis.Builtin().Entries() {
		for _, l := range e.Links {
			links[l.URL] = true
		}
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, text string) {
		id := fmt.Sprint("fuzz-", n.Add(1))
		resp := b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: "U1", ID: id, Text: text})
		if resp.Reply.Empty() && resp.Announce.Empty() && resp.File == nil {
			t.Errorf("/upgrade %q got no answer at all", text)
		}
		checkModel(t, "reply", resp.Reply, links)
		checkModel(t, "announcement", resp.Announce, links)
		// A retry of the same command (Slack re-delivering it) changes nothing more.
		again := b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: "U1", ID: id, Text: text})
		if !resp.Announce.Empty() && !again.Announce.Empty() && RenderText(again.Announce) != RenderText(resp.Announce) &&
			strings.HasPrefix(strings.ToLower(strings.TrimSpace(text)), "failed") {
			t.Errorf("/upgrade %q announced again on a retry: %q", text, RenderText(again.Announce))
		}
	})
}

func FuzzModuleNames(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add(s)
	}
	e := diagnosis.New(diagnosis.Builtin())
	f.Fuzz(func(t *testing.T, args string) {
		seen := map[string]bool{}
		names, refused := moduleNames(e, args)
		fromPaste := len(e.Diagnose(args)) > 0
		for _, n := range names {
			if n == "" || strings.TrimSpace(n) != n {
				t.Errorf("name %q: empty or untrimmed (from %q)", n, args)
			}
			if stored, err := progress.NormalizeModule(n); err != nil || stored != n {
				t.Errorf("name %q is not as the store keeps it (%q, %v; from %q)", n, stored, err, args)
			}
			if seen[moduleKey(n)] {
				t.Errorf("name %q twice (from %q)", n, args)
			}
			seen[moduleKey(n)] = true
			// Separators and comments only in quotes; end punctuation never.
			quoted := strings.ContainsAny(args, "\"'“‘«")
			if !fromPaste && (!quoted && strings.ContainsAny(n, "()\"<>,;`*") || strings.TrimRight(n, ".!?:") != n) {
				t.Errorf("name %q holds a separator, a comment or end punctuation (from %q)", n, args)
			}
			// What the bot prints for a typed name reads back as it.
			if c := commandName(n); !fromPaste && !readsAs(c, n) {
				t.Errorf("name %q is printed %s, which does not read back (from %q)", n, c, args)
			}
		}
		for _, r := range refused {
			if r == "" || !strings.Contains(args, r) {
				t.Errorf("refused %q is not as typed in %q", r, args)
			}
		}
		env, rest := splitEnvPrefix(args)
		if env != "" && !strings.Contains(args, env) {
			t.Errorf("environment %q is not in %q", env, args)
		}
		if len(rest) > len(args) {
			t.Errorf("rest %q longer than %q", rest, args)
		}
	})
}

func FuzzCommandText(f *testing.F) {
	for _, s := range []string{"<@UBOT> status", "<@UBOT|upgradebot>: help", " <@UBOT>\nstatus prod", "<@UOTHER> status", "status", "<@UBOT>", "<@UBOT> There were errors preparing some modules."} {
		f.Add(s)
	}
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), BotUserID: "UBOT"})
	f.Fuzz(func(t *testing.T, text string) {
		rest, ok := b.CommandText(text)
		if ok && !strings.HasSuffix(text, rest) {
			t.Errorf("CommandText(%q) = %q, not a suffix", text, rest)
		}
		if !ok && rest != "" {
			t.Errorf("CommandText(%q) = %q with false", text, rest)
		}
	})
}

// Found by FuzzModuleNames: a stray "*" in quotes made the whole command
// fail ("module name: is empty"), and "X" with "X*" named X twice.
func TestStrayMarkersInModuleNames(t *testing.T) {
	e := diagnosis.New(diagnosis.Builtin())
	for args, want := range map[string]string{
		`Orders "*"`:          "Orders",
		`Orders Orders*`:      "Orders",
		`*Billing_CS* "a *"`:  "Billing_CS|a",
		`"Customer Portal" *`: "Customer Portal",
	} {
		if names, _ := moduleNames(e, args); strings.Join(names, "|") != want {
			got := strings.Join(names, "|")
			t.Errorf("moduleNames(%q) = %q, want %q", args, got, want)
		}
	}
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	if r := cmd(t, b, "C1", "U1", `failed Orders "*"`); !strings.Contains(RenderText(r.Announce), "Orders") {
		t.Errorf(`failed Orders "*": %s%s`, RenderText(r.Announce), RenderText(r.Reply))
	}
}
