package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Coming back to a team months later: what the bot says of times long past.

// runAt runs commands in C1 as U1 at the time *now says, each with its own id.
func runAt(b *Bot) func(text string) Response {
	n := 0
	return func(text string) Response {
		n++
		return b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("long", n), Text: text})
	}
}

// A date of another year than the bot's clock names it: an upgrade
// started on 29 Dec 2025, read in January 2026, is not "since Mon 29 Dec".
func TestDatesOfAnotherYearNameIt(t *testing.T) {
	now := time.Date(2025, 12, 29, 10, 0, 0, 0, time.UTC)
	b, _ := newClockBot(t, func() time.Time { return now })
	run := runAt(b)
	run("track prod 11.12.0")
	run("failed prod: Billing_CS")
	for _, tc := range []struct {
		at             time.Time
		status, never  []string
		history, chart string
	}{
		{time.Date(2025, 12, 31, 9, 0, 0, 0, time.UTC), []string{"since Mon 29 Dec 10:00 UTC", "Last update: Mon 29 Dec 10:00 UTC"}, []string{"2025"},
			"29 Dec 10:00 UTC", "1 module left at the start (Dec 29 10:00 UTC)"},
		{time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), []string{"since Mon 29 Dec 2025 10:00 UTC", "Last update: Mon 29 Dec 2025 10:00 UTC"}, nil,
			"29 Dec 2025 10:00 UTC", "1 module left at the start (Dec 29 2025 10:00 UTC)"},
	} {
		now = tc.at
		status := text(run("status prod"))
		mustSay(t, status, tc.status...)
		for _, w := range tc.never {
			if strings.Contains(status, w) {
				t.Errorf("%s: %q in\n%s", tc.at.Format(time.DateOnly), w, status)
			}
		}
		mustSay(t, text(run("history prod")), tc.history)
		mustSay(t, RenderText(run("chart prod").Reply), tc.chart)
	}
}
