package bot

import (
	"context"
	"maps"
	"strings"
	"testing"
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
			map[string]string{"Mark Billing_CS republished": "done qa: Billing_CS", "Show status": "status qa"}},
		{"status shares every environment", []string{"track qa", "track dev"}, func(t *testing.T, b *Bot) Response { return cmd(t, b, "C1", "U1", "status") },
			map[string]string{"Share in channel": "status"}},
		{"status of one environment shares it", []string{"track qa", "track dev"}, func(t *testing.T, b *Bot) Response { return cmd(t, b, "C1", "U1", "status qa") },
			map[string]string{"Share in channel": "status qa"}},
		{"choosing an environment: no command", []string{"track qa", "track prod"}, func(t *testing.T, b *Bot) Response { return msg(t, b, "C1", "U1", "1.1", producerPaste) },
			map[string]string{"qa": "", "prod": "", "Mark Billing_CS republished": "done Billing_CS"}},
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
			click := clicked.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "a1", ActionID: bt.ActionID, Value: bt.Value})
			command := cmd(t, typed, "C1", "U2", bt.Command)
			// The click also rebuilds the message it was on; no command has one.
			if (click.Update != nil) != strings.HasPrefix(bt.ActionID, ActionMarkDone) {
				t.Errorf("%s: the click rebuilt the message: %v", bt.Label, click.Update != nil)
			}
			click.Update = nil
			if text(click) != text(command) {
				t.Errorf("%s: clicked\n%s\ntyped %q\n%s", bt.Label, text(click), bt.Command, text(command))
			}
			// Both leave the same state: Billing_CS listed unless marked done.
			after := func(b *Bot) string { return text(cmd(t, b, "C1", "U1", "status qa")) }
			if a, b := after(clicked), after(typed); a != b || strings.Contains(a, "Billing_CS") != (bt.ActionID == ActionShowStatus) {
				t.Errorf("%s: status after the click\n%s\nafter the command\n%s", bt.Label, a, b)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d buttons, want mark done and show status", n)
	}
}
