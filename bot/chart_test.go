package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// every10Minutes runs commands in C1 as U1, each ten minutes after the last.
func every10Minutes(b *Bot, now *time.Time) func(text string) Response {
	n := 0
	return func(text string) Response {
		n++
		*now = now.Add(10 * time.Minute)
		return b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("c", n), Text: text})
	}
}

func TestChartSamples(t *testing.T) {
	b, store, now := clockBot(t)
	ctx := context.Background()
	run := every10Minutes(b, now)
	run("track prod 11.31.0")
	mustSay(t, text(run("chart")), "Nothing to draw for prod yet")
	run("failed A B C")
	run("skipped D E")
	run("done A D")
	samples, _, err := b.samples(ctx, "T1", "prod")
	if err != nil || len(samples) != 3 {
		t.Fatalf("%d samples, %v; want one per change", len(samples), err)
	}
	last := samples[2]
	if last.Left != 3 || last.FailedLeft != 2 || last.SkippedLeft != 1 || !last.Counted {
		t.Errorf("last sample %+v, want 3 left: 2 failed, 1 skipped", last)
	}
	resp := run("chart prod")
	f := resp.File
	if f == nil || f.Type != "png" || f.Env != "prod" || !resp.Private {
		t.Fatalf("chart response %+v", resp)
	}
	img, err := png.Decode(bytes.NewReader(f.Content))
	if err != nil || img.Bounds().Dx() != 960 || img.Bounds().Dy() != 540 {
		t.Fatalf("chart PNG: %v %v", img.Bounds(), err)
	}
	mustSay(t, text(resp), "Burn-down chart of prod", "3 left now: 2 failed, 1 skipped.")
	if f.Alt == "" || !strings.HasPrefix(f.Name, "burndown-prod-") {
		t.Errorf("file %q, alt %q", f.Name, f.Alt)
	}
	// A reset starts the chart again.
	run("reset prod --yes")
	if samples, _, _ := b.samples(ctx, "T1", "prod"); len(samples) != 1 || samples[0].Left != 0 {
		t.Errorf("after reset: %+v", samples)
	}
	_ = store
}

// Samples kept the old way, one JSON value, are drawn before the list's,
// until a reset starts the chart again.
func TestChartSamplesKeptAsOneValue(t *testing.T) {
	b, store, now := clockBot(t)
	ctx := context.Background()
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "t", Text: "track prod"})
	old := []wireSample{{At: now.Add(-2 * time.Hour).UnixMilli(), Left: 7}, {At: now.Add(-time.Hour).UnixMilli(), Left: 5}}
	js, _ := json.Marshal(old)
	if err := store.PutValue(ctx, "T1", samplesKey("prod"), js, time.Hour); err != nil {
		t.Fatal(err)
	}
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "f", Text: "failed A"})
	samples, stamp, err := b.samples(ctx, "T1", "prod")
	if err != nil || len(samples) != 3 || samples[0].Left != 7 || samples[1].Left != 5 || samples[2].Left != 1 || stamp == "" {
		t.Fatalf("samples %+v, stamp %q, %v; want the two kept as a value, then the new one", samples, stamp, err)
	}
	*now = now.Add(time.Second)
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "r", Text: "reset prod --yes"})
	*now = now.Add(time.Second)
	if samples, _, _ := b.samples(ctx, "T1", "prod"); len(samples) != 1 || samples[0].Left != 0 {
		t.Errorf("after a reset: %+v; want only the reset's sample", samples)
	}
}

// Samples are drawn in time order, however they were appended; a damaged
// value of the old kind is left out whole.
func TestChartSamplesInOrder(t *testing.T) {
	b, store, now := clockBot(t)
	ctx := context.Background()
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "t", Text: "track prod"})
	if err := store.PutValue(ctx, "T1", samplesKey("prod"), []byte(`[{"t":"yesterday"}]`), time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{2 * time.Minute, time.Minute, 3 * time.Minute} {
		if err := addSample(ctx, store, "T1", "prod", now.Add(at), 0, false, true); err != nil {
			t.Fatal(err)
		}
	}
	samples, _, err := b.samples(ctx, "T1", "prod")
	var got []time.Duration
	for _, s := range samples {
		got = append(got, s.At.Sub(*now))
	}
	if err != nil || fmt.Sprint(got) != "[1m0s 2m0s 3m0s]" {
		t.Errorf("samples at %v, %v; want 1m, 2m, 3m", got, err)
	}
}

// Changes recorded at the same moment each add their sample.
func TestChartSamplesAtOnce(t *testing.T) {
	b, _, _ := clockBot(t)
	ctx := context.Background()
	b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "t", Text: "track prod"})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			for j := range 15 {
				b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("f", i, j), Text: fmt.Sprintf("failed M%d_%d", i, j)})
			}
		})
	}
	wg.Wait()
	if samples, _, err := b.samples(ctx, "T1", "prod"); err != nil || len(samples) != 30 {
		t.Errorf("%d samples, %v; want one for each of 30 changes", len(samples), err)
	}
}

// longUpgrade is a 2,000-module upgrade over three days: the modules named
// in the first hours, then republished a few at a time, one sample per change.
func longUpgrade(b *testing.B) (*Bot, progress.Store) {
	bot, store, now := clockBot(b)
	ctx := context.Background()
	bot.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: "t", Text: "track prod 11.31.0"})
	var names []string
	for i := range 2000 {
		names = append(names, fmt.Sprintf("Module_%04d", i))
	}
	for i := 0; i < 2000; i += 100 {
		*now = now.Add(5 * time.Minute)
		bot.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("f", i), Text: "failed " + strings.Join(names[i:i+100], " ")})
	}
	step := 3 * 24 * time.Hour / 400
	for i := 0; i < 1600; i += 4 {
		*now = now.Add(step)
		bot.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("d", i), Text: "done " + strings.Join(names[i:i+4], " ")})
	}
	return bot, store
}

// BenchmarkChart draws the chart of a 2,000-module, 3-day upgrade (420 samples).
func BenchmarkChart(b *testing.B) {
	bot, _ := longUpgrade(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if f, err := bot.Chart(ctx, "T1", "prod"); err != nil || f == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatusText renders the same upgrade's status as text, for comparison.
func BenchmarkStatusText(b *testing.B) {
	bot, _ := longUpgrade(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, _ := bot.status(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1"}, []string{"prod"})
		_ = RenderText(r)
	}
}

// A long list is sampled at most once per sampleGap; the chart still ends at the state it is drawn at.
func TestChartSamplesOfALongList(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	var names []string
	for i := range sampleEvery + 50 {
		names = append(names, fmt.Sprint("M", i))
	}
	for i, c := range []string{"track prod", "failed " + strings.Join(names, " "), "failed X", "failed Y"} {
		b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint(i), Text: c})
	}
	samples, _, _ := b.samples(ctx, "T1", "prod")
	if len(samples) != 1 || samples[0].Left != sampleEvery+50 {
		t.Fatalf("samples %+v, want the first change only", samples)
	}
	*now = now.Add(time.Minute)
	f, err := b.Chart(ctx, "T1", "prod")
	if err != nil || !strings.Contains(f.Alt, fmt.Sprintf("%d left now", sampleEvery+52)) {
		t.Fatalf("chart %v: %v", f, err)
	}
}

// ChartStamp changes with the samples; a chart carries the stamp it was
// drawn from; App Home asks for the chart of each followed environment
// with its channels and shows the picture it is given.
func TestChartStampAndHome(t *testing.T) {
	b, _, now := clockBot(t)
	ctx := context.Background()
	n := 0
	run := func(ch, text string) {
		n++
		*now = now.Add(10 * time.Minute)
		b.HandleCommand(ctx, Command{Workspace: "T1", Channel: ch, User: "U1", ID: fmt.Sprint("c", n), Text: text})
	}
	run("C1", "track prod")
	run("C1", "failed A B")
	run("C2", "track qa")
	run("C2", "untrack qa")
	s1, err := b.ChartStamp(ctx, "T1", "prod")
	if err != nil || s1 == "" {
		t.Fatalf("stamp %q, %v", s1, err)
	}
	if f, _ := b.Chart(ctx, "T1", "prod"); f == nil || f.Stamp != s1 {
		t.Fatalf("chart stamp %+v, want %q", f, s1)
	}
	run("C1", "done A")
	if s2, _ := b.ChartStamp(ctx, "T1", "prod"); s2 == s1 || s2 == "" {
		t.Errorf("stamp %q after a change, was %q", s2, s1)
	}
	asked := map[string][]string{}
	home := b.Home(ctx, "T1", func(_ context.Context, env string, channels []string) (Image, bool) {
		asked[env] = channels
		return Image{FileID: "F1", Title: "Burn-down of " + env, Alt: "in words"}, env == "prod"
	})
	if len(asked) != 1 || fmt.Sprint(asked["prod"]) != "[C1]" {
		t.Errorf("asked for %v, want prod's chart with its channel C1 only", asked)
	}
	mustSay(t, RenderText(home), "[Burn-down of prod: in words]")
}

// The chart's text accounts for every module left: Service Center's counts
// that nobody named are said to be so, not left out of "failed 0, skipped 0".
func TestChartSaysWhatIsLeft(t *testing.T) {
	b, store, now := clockBot(t)
	ctx := context.Background()
	n := 0
	step := func() {
		n++
		*now = now.Add(10 * time.Minute)
	}
	run := func(text string) Response {
		step()
		return b.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U1", ID: fmt.Sprint("c", n), Text: text})
	}
	run("track prod 11.31.0")
	step()
	b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: fmt.Sprint(n, ".1"),
		Text: "40 modules prepared successfully, 3 modules failed and 1 modules skipped."})
	mustSay(t, RenderText(run("chart prod").Reply), "4 modules left at the start", "4 left now: 4 counted by Service Center and not named yet.")
	run("failed Billing_CS")
	mustSay(t, RenderText(run("chart prod").Reply), "4 left now: 1 failed, 3 counted by Service Center and not named yet.")
	run("skipped Orders_CS")
	// A module another message reported, not upgraded: Service Center may
	// have counted it as failed or skipped, so it is one of those counted.
	step()
	if _, err := store.Apply(ctx, "T1", "prod", progress.Change{Kind: progress.ChangeAddModules, Key: "m-reported", Actor: "U1",
		Reason: progress.ReasonNotUpgraded, Modules: []string{"Portal"}, At: *now}); err != nil {
		t.Fatal(err)
	}
	mustSay(t, RenderText(run("chart prod").Reply),
		"4 left now: 1 failed, 1 skipped, 1 reported (not upgraded, or a producer not prepared), 1 counted by Service Center and not named yet.")
	run("done Billing_CS Orders_CS Portal")
	samples, _, err := b.samples(ctx, "T1", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if last := samples[len(samples)-1]; last.Left != 1 || last.UnnamedLeft != 1 || last.FailedLeft+last.SkippedLeft+last.ReportedLeft != 0 {
		t.Errorf("last sample %+v, want 1 left, counted and not named", last)
	}
	mustSay(t, RenderText(run("chart prod").Reply), "1 left now: 1 counted by Service Center and not named yet.")
}

// A reset's undo puts the chart back with the upgrade: its samples from
// before the reset are the chart's again.
func TestChartAfterAResetUndone(t *testing.T) {
	b, _, now := clockBot(t)
	run := every10Minutes(b, now)
	run("track prod 11.31.0")
	run("failed A_Core B_Core")
	run("done B_Core")
	mustSay(t, RenderText(run("chart prod").Reply), "2 modules left at the start", "at most 2", "1 left now")
	reset := run("reset prod --yes")
	undo, ok := buttonsOf(reset.Announce)["Undo"]
	if !ok {
		t.Fatalf("no Undo on the reset:\n%s", text(reset))
	}
	*now = now.Add(10 * time.Minute)
	mustSay(t, text(click(b, "u1", undo)), "undid")
	mustSay(t, RenderText(run("chart prod").Reply), "2 modules left at the start", "at most 2", "1 left now")
}

// An upgrade ended without Service Center's counts (from Platform Server
// 10, or the list emptied with no summary) draws its end: 0 left, known.
func TestChartEndsAtZeroWithoutCounts(t *testing.T) {
	b, _, now := clockBot(t)
	for _, text := range []string{"track prod 11.31.0", "failed prod: A B C", "done prod: A", "done prod: B C"} {
		*now = now.Add(10 * time.Minute)
		cmd(t, b, "C1", "U1", text)
	}
	samples, _, err := b.samples(context.Background(), "T1", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if last := samples[len(samples)-1]; !last.Counted || last.Left != 0 {
		t.Errorf("last sample %+v, want 0 left, known", last)
	}
	if out := text(cmd(t, b, "C1", "U1", "chart prod")); strings.Contains(out, "no modules counted") {
		t.Errorf("the chart of an emptied list:\n%s", out)
	}
}

// sampleFailing is a store whose appends of samples fail while fail is set.
type sampleFailing struct {
	progress.Store
	fail bool
}

func (s *sampleFailing) AppendValue(ctx context.Context, workspace, key string, item []byte, o progress.AppendOptions) error {
	if s.fail {
		return errors.New("store away")
	}
	return s.Store.AppendValue(ctx, workspace, key, item, o)
}

// The chart of an upgrade that is done ends at its end, not at the day it
// is drawn (a postmortem's, days later), with what was left then even
// when the store failed to keep the last sample.
func TestChartOfADoneUpgradeEndsAtItsEnd(t *testing.T) {
	_, store, now := clockBot(t)
	failing := &sampleFailing{Store: store}
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: failing, Now: func() time.Time { return *now }})
	run := every10Minutes(b, now)
	run("track prod 11.31.0")
	*now = now.Add(10 * time.Minute)
	b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Text: "40 modules prepared successfully, 2 modules failed and 0 modules skipped."})
	run("failed A_Core B_Core")
	run("done A_Core B_Core")
	*now = now.Add(4 * 24 * time.Hour)
	out := RenderText(run("chart prod").Reply)
	mustSay(t, out, "over 20 minutes", "0 left now")
	if strings.Contains(out, "over 4 days") {
		t.Errorf("the chart stretches to today:\n%s", out)
	}
	// A later change of what is tracked (its target) is no part of it.
	run("track prod 11.31.1 --yes")
	if out := RenderText(run("chart prod").Reply); strings.Contains(out, "over 4 days") {
		t.Errorf("the chart runs to a later change of the target:\n%s", out)
	}
	// The last sample lost: the chart still ends at the end, with 0 left.
	run("reset prod --yes")
	*now = now.Add(10 * time.Minute)
	b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "2.1", Text: "40 modules prepared successfully, 1 modules failed and 0 modules skipped."})
	run("failed A_Core")
	failing.fail = true
	run("done A_Core")
	failing.fail = false
	*now = now.Add(4 * 24 * time.Hour)
	if out := RenderText(run("chart prod").Reply); !strings.Contains(out, "0 left now") || strings.Contains(out, "over 4 days") {
		t.Errorf("the chart of an upgrade whose last sample was lost:\n%s", out)
	}
}
