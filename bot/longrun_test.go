package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
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
		{time.Date(2026, 12, 31, 10, 0, 0, 0, time.UTC), []string{"since Mon 29 Dec 2025 10:00 UTC, running for 12 months"}, nil, "29 Dec 2025 10:00 UTC", ""},
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
		if tc.chart != "" {
			mustSay(t, RenderText(run("chart prod").Reply), tc.chart)
		}
	}
}

// How long an upgrade has run reads well from minutes to years: the
// minutes while they matter, whole days past a week, months past eight
// weeks (368 days was "368d 0h").
func TestRoughDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{20 * time.Second, "1m"},
		{45 * time.Minute, "45m"},
		{3*time.Hour + 10*time.Minute, "3h 10m"},
		{47 * time.Hour, "47h"},
		{2*day + 5*time.Hour, "2d 5h"},
		{6*day + 23*time.Hour, "6d 23h"},
		{7 * day, "7d"},
		{12*day + 5*time.Hour, "12d"},
		{55 * day, "55d"},
		{56 * day, "2 months"},
		{100 * day, "3 months"},
		{368 * day, "12 months"},
		{729 * day, "24 months"},
		{730 * day, "2 years"},
		{1200 * day, "3 years"},
	} {
		if got := roughDuration(tc.d); got != tc.want {
			t.Errorf("roughDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// A finished upgrade's chart is still drawn a year later, when the next
// upgrade is planned (its samples expired after 90 days); and if its
// samples are gone (kept by an older version), the chart does not say it
// "starts with the first change recorded" of an environment with changes.
func TestChartOfAFinishedUpgradeStays(t *testing.T) {
	now := time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)
	b, store := newClockBot(t, func() time.Time { return now })
	run := runAt(b)
	run("track prod 11.12.0")
	run("track dev 11.12.0")
	run("failed prod: Billing_CS Orders")
	now = now.Add(48 * time.Hour)
	run("done prod: Billing_CS Orders")
	for _, tc := range []struct {
		later      time.Duration
		env, want  string
		dropSample bool
	}{
		{120 * 24 * time.Hour, "prod", "2 modules left at the start (Jan 6 10:00 UTC)", false},
		{400 * 24 * time.Hour, "prod", "2 modules left at the start (Jan 6 2025 10:00 UTC)", false},
		{0, "dev", "Nothing to draw for dev yet: the chart starts with the first change recorded.", false},
		{0, "prod", "Nothing to draw for prod: its chart's data has expired.", true},
	} {
		now = now.Add(tc.later)
		if tc.dropSample {
			// As an older version's samples: kept for a while only.
			item, _ := json.Marshal(wireSample{At: now.UnixMilli()})
			if err := store.AppendValue(context.Background(), "T1", samplesKey(tc.env), item, progress.AppendOptions{Max: 3, TTL: time.Millisecond, Restart: true}); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Second)
		}
		mustSay(t, text(run("chart "+tc.env)), tc.want)
	}
}

// A history past progress.HistoryLimit entries lost its oldest: history
// says so, rather than "every upgrade's" without its first entries.
func TestHistorySaysOlderEntriesWereDropped(t *testing.T) {
	now := time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	// Redis: ten thousand changes take a second, several in the file.
	opts := redistest.Options(t, 7)
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	store, err := progress.NewRedisStore(client, progress.RedisOptions{Prefix: redistest.Prefix(t, opts), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: clock})
	run := runAt(b)
	run("track prod 11.12.0")
	run("track dev 11.12.0")
	run("failed dev: A")
	ctx := context.Background()
	for i := range progress.HistoryLimit {
		kind := progress.ChangeAddModules
		if i%2 == 1 {
			kind = progress.ChangeDone
		}
		now = now.Add(time.Minute)
		c := progress.Change{Kind: kind, Key: fmt.Sprint("k", i), Actor: "U1", Reason: progress.ReasonFailed, Modules: []string{fmt.Sprint("M", i/2)}, At: now}
		if _, err := store.Apply(ctx, "T1", "prod", c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		command string
		want    []string
	}{
		{"history prod all", []string{"History of prod: the newest 10,000 entries, every upgrade's, in ", "; older ones were dropped."}},
		{"history prod", []string{"history prod all", "has the newest 10,000; older ones were dropped."}},
		{"export prod", []string{"The history keeps the newest 10,000 entries: this upgrade's older ones were dropped."}},
		{"history dev all", []string{"History of dev: 2 entries, every upgrade's, in "}},
		{"history dev", []string{"History of dev"}},
		{"export dev", []string{"Change record of dev"}},
	} {
		out := RenderText(run(tc.command).Reply)
		mustSay(t, out, tc.want...)
		if strings.Contains(tc.command, "dev") && strings.Contains(out, "dropped") {
			t.Errorf("%s, not cut, says entries were dropped:\n%s", tc.command, out)
		}
	}
}
