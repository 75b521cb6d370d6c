package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/chart"
	"github.com/upgradebot/upgradebot/progress"
)

// The burn-down chart's samples: after each recorded change the core
// appends a snapshot of what is left (progress.Values' list, one per
// environment, started again by a reset). The history's entries describe
// what people reported, not what was left, so they cannot draw it.

const (
	// maxSamples bounds an environment's samples; beyond it every other
	// older sample is dropped, keeping the recent ones exact.
	maxSamples = 2000
	// A sample reads every listed module (to count failed and skipped):
	// above sampleEvery modules, an environment is sampled at most once
	// per sampleGap, except at a reset or a milestone; the chart adds the
	// state it is drawn at. (At 200, that read was 4 % of the bot's CPU
	// under the load test's pastes: docs/performance-investigations.md.)
	sampleEvery = 50
	sampleGap   = 30 * time.Second
)

// SamplesTTL is how long the chart's samples are kept after the last
// change: as long as the environment's record, which never expires (a
// value must), since a finished upgrade's chart is read months later, when
// the next one is planned. maxSamples bounds them.
const SamplesTTL = 10 * 365 * 24 * time.Hour

// samplesKey names env's list of samples. Before the list, they were one
// JSON array, a value under the same key: read first until a reset empties
// it or it expires.
func samplesKey(env string) string { return "samples:" + env }

// wireSample is a chart.Sample as kept: short keys, times in Unix ms.
type wireSample struct {
	At      int64 `json:"t"`
	Counted bool  `json:"c,omitempty"`
	Failed  int   `json:"f,omitempty"`
	Skipped int   `json:"s,omitempty"`
	// Reported and Unnamed: samples kept before them have neither, and
	// their chart says the rest of Left is not named as failed or skipped.
	Reported int  `json:"r,omitempty"`
	Unnamed  int  `json:"u,omitempty"`
	Left     int  `json:"l,omitempty"`
	Percent  *int `json:"p,omitempty"`
}

// sampleOf is what st has left at at: its listed modules by group, and
// those Service Center counted that nobody has named yet.
func sampleOf(st progress.Status, at time.Time) wireSample {
	// Known to be what is left: counted by Service Center, listed, or once
	// listed and republished since (done without a summary ends at 0).
	rep := st.Republished
	counted := st.Counts.Known() || st.ModuleCount > 0 || rep.Failed+rep.Skipped+rep.Reported > 0 || st.State == progress.StateDone
	w := wireSample{At: at.UnixMilli(), Counted: counted, Left: st.ModuleCount + st.Unnamed(),
		Failed: st.Open.Failed, Skipped: st.Open.Skipped, Reported: st.Open.Reported, Unnamed: st.Unnamed()}
	if st.State == progress.StatePreparing {
		w.Percent = st.Preparation.Percent
	}
	return w
}

// chartSample is w as the chart draws it.
func (w wireSample) chartSample() chart.Sample {
	return chart.Sample{At: time.UnixMilli(w.At).UTC(), Counted: w.Counted, FailedLeft: w.Failed, SkippedLeft: w.Skipped,
		ReportedLeft: w.Reported, UnnamedLeft: w.Unnamed, Left: w.Left, Percent: w.Percent}
}

// addSample appends env's state after a change made at at that left
// listed modules (a reset starts the list again; force samples a long
// list within sampleGap).
func addSample(ctx context.Context, s progress.Store, workspace, env string, at time.Time, listed int, reset, force bool) error {
	if !reset && !force && listed > sampleEvery {
		name, err := progress.NormalizeEnvironment(env)
		if err != nil {
			return err
		}
		if ok, err := s.Claim(ctx, workspace, "sample:"+name, progress.NewToken(), sampleGap); err != nil || !ok {
			return err
		}
	}
	st, err := s.Status(ctx, workspace, env, 0) // the counts, not the list
	if err != nil {
		return err
	}
	if reset {
		// Kept for the reset's undo, which puts the chart back with the upgrade.
		if old, _, err := storedSamples(ctx, s, workspace, st.Name); err == nil && len(old) > 0 {
			if js, err := json.Marshal(old); err == nil {
				if err := s.PutValue(ctx, workspace, samplesUndoKey(st.Name), js, progress.UndoTTL); err != nil {
					return err
				}
			}
		}
		if err := s.PutValue(ctx, workspace, samplesKey(st.Name), []byte("[]"), time.Millisecond); err != nil {
			return err
		}
	}
	js, err := json.Marshal(sampleOf(st, at))
	if err != nil {
		return err
	}
	return s.AppendValue(ctx, workspace, samplesKey(st.Name), js, progress.AppendOptions{Max: maxSamples, TTL: SamplesTTL, Restart: reset})
}

// storedSamples reads env's samples as kept, oldest first, and their stamp.
func storedSamples(ctx context.Context, s progress.Values, workspace, env string) ([]wireSample, string, error) {
	var list []wireSample
	old, ok, err := s.Value(ctx, workspace, samplesKey(env))
	if err != nil {
		return nil, "", err
	}
	if ok && json.Unmarshal(old, &list) != nil {
		list = nil // damaged, it is left out
	}
	items, err := s.ValueList(ctx, workspace, samplesKey(env))
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	h.Write(old)
	for _, it := range items {
		var w wireSample
		if json.Unmarshal(it, &w) == nil {
			list = append(list, w)
		}
		h.Write(it)
	}
	// Changes recorded at the same moment may append out of order.
	slices.SortStableFunc(list, func(a, b wireSample) int { return cmp.Compare(a.At, b.At) })
	return list, hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// samplesUndoKey keeps env's samples from before a reset, for its undo.
func samplesUndoKey(env string) string { return "samples-before-reset:" + env }

// restoreSamples puts back env's samples from before the reset undone:
// the chart shows the upgrade the undo put back.
func (b *Bot) restoreSamples(ctx context.Context, workspace, env string) {
	env, err := progress.NormalizeEnvironment(env)
	if err != nil {
		return
	}
	old, ok, err := b.store.Value(ctx, workspace, samplesUndoKey(env))
	if err == nil && ok {
		err = b.store.PutValue(ctx, workspace, samplesKey(env), old, SamplesTTL)
	}
	if err != nil {
		b.log.Warn("cannot put back the burn-down chart's samples", "env", env, "err", err)
	}
}

// samples returns env's samples, oldest first, and their stamp.
func (b *Bot) samples(ctx context.Context, workspace, env string) ([]chart.Sample, string, error) {
	list, stamp, err := storedSamples(ctx, b.store, workspace, env)
	if err != nil {
		return nil, "", err
	}
	if len(list) == 0 {
		return nil, "", nil
	}
	out := make([]chart.Sample, len(list))
	for i, w := range list {
		out[i] = w.chartSample()
	}
	return out, stamp, nil
}

// ChartStamp names the samples env's chart would be drawn from now (its
// File.Stamp), "" when there are none: a transport keeping an uploaded
// chart draws it again when the stamp changes.
func (b *Bot) ChartStamp(ctx context.Context, workspace, env string) (string, error) {
	_, stamp, err := b.samples(ctx, workspace, env)
	return stamp, err
}

// Chart draws env's burn-down chart.
func (b *Bot) Chart(ctx context.Context, workspace, env string) (*File, error) {
	st, err := b.store.Status(ctx, workspace, env, 0)
	if err != nil {
		return nil, err
	}
	samples, stamp, err := b.samples(ctx, workspace, st.Name)
	if err != nil || len(samples) == 0 {
		return nil, err
	}
	// The state now, which a long list's last changes (or a store that
	// failed then) may not have sampled; an upgrade that is over ends at
	// its end, not on the day it is drawn.
	last, until := samples[len(samples)-1], b.now()
	if st.Finished() {
		until = last.At
	}
	if now, err := b.store.Status(ctx, workspace, st.Name, -1); err == nil {
		if cur := sampleOf(now, until); until.After(last.At) {
			samples = append(samples, cur.chartSample())
		} else if st.Finished() && cur.Left != last.Left && now.UpdatedAt.After(last.At) {
			// Its end was not sampled (the store failed then): drawn when it was recorded.
			until = now.UpdatedAt
			samples = append(samples, sampleOf(now, until).chartSample())
		}
	}
	c, err := chart.BurnDown(samples, chart.Options{Title: incidentTitle(st), Until: until, Zone: b.zone, Now: b.now()})
	if err != nil {
		return nil, err
	}
	return &File{Name: fmt.Sprintf("burndown-%s-%s.png", st.Name, b.now().UTC().Format("20060102-1504")), Title: "Burn-down of " + st.Name,
		Type: "png", Content: c.PNG, Alt: c.Alt, Env: st.Name, Stamp: stamp}, nil
}

func (b *Bot) cmdChart(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(args)
	if len(fields) > 1 {
		return b.usageError(b.lookup("chart"), "Give one environment at most.")
	}
	env, errR := b.resolveEnv(ctx, c, strings.Join(fields, ""), nil)
	if errR == nil {
		errR = b.notSharedHere(ctx, c, env)
	}
	if errR != nil {
		return private(errR)
	}
	f, err := b.Chart(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("chart", err))
	}
	if f == nil {
		if b.changesRecorded(ctx, c.Workspace, env) {
			// Samples kept by versions that expired them 90 days after the last change.
			return private(errorReply(fmt.Sprintf("Nothing to draw for %s: its chart's data has expired. The next change recorded starts a new chart.", env)))
		}
		return private(errorReply(fmt.Sprintf("Nothing to draw for %s yet: the chart starts with the first change recorded.", env)))
	}
	r := &Reply{Summary: f.Title}
	r.Section(Line{T(f.Alt)})
	return Response{Reply: r, Private: true, File: f}
}

// changesRecorded reports whether env's history holds a change, each of
// which samples the chart: not only tracks, untracks, takes and releases.
func (b *Bot) changesRecorded(ctx context.Context, workspace, env string) bool {
	entries, err := b.store.History(ctx, workspace, env)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(entries, func(e progress.HistoryEntry) bool {
		switch e.Action {
		case progress.ActionTrack, progress.ActionUntrack, progress.ActionTake, progress.ActionRelease:
			return false
		}
		return true
	})
}
