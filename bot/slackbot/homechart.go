package slackbot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/progress"
)

// App Home's burn-down charts. An image block shows a file Slack holds
// only once the file is shared somewhere, so an environment's chart is
// uploaded in the thread of its status message (in a channel of the user
// opening Home) and shown once files.info reports it shared. The file is
// kept per environment (progress.Values) with the stamp of the samples it
// was drawn from: Home shows it again without uploading until the samples
// change, and then one new chart is uploaded, whoever opens Home first,
// at most one every homeChartEvery (each is a reply in the thread). The
// charts of /upgrade chart and milestones, posted in the same thread, are
// kept the same way.

// homeChartRecord is what the store keeps of an environment's chart for App Home.
type homeChartRecord struct {
	Stamp    string     `json:"stamp,omitempty"`   // the samples of the last chart uploaded
	Uploaded time.Time  `json:"uploaded"`          // when
	Pending  *chartFile `json:"pending,omitempty"` // uploaded, not yet reported shared
	Shown    *chartFile `json:"shown,omitempty"`   // shared: what Home shows
}

type chartFile struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	Alt   string `json:"alt,omitempty"`
}

const (
	homeChartKeep  = bot.SamplesTTL // as long as the samples: a finished upgrade's chart stays without another upload
	homeChartEvery = 15 * time.Minute
	// homeChartClaim is how long an upload is left to the replica that
	// claimed it, and the wait after one that failed.
	homeChartClaim = 5 * time.Minute
)

func homeChartKey(env string) string { return "home-chart:" + env }

func (a *App) homeChartRecord(ctx context.Context, workspace, env string) (homeChartRecord, error) {
	var rec homeChartRecord
	v, ok, err := a.store.Value(ctx, workspace, homeChartKey(env))
	if err != nil || !ok {
		return rec, err
	}
	return rec, json.Unmarshal(v, &rec)
}

func (a *App) putHomeChart(ctx context.Context, workspace, env string, rec homeChartRecord) {
	v, _ := json.Marshal(rec)
	if err := a.store.PutValue(ctx, workspace, homeChartKey(env), v, homeChartKeep); err != nil {
		a.log.Info("cannot keep the chart uploaded for App Home", "env", env, "err", err)
	}
}

// keepChart notes a chart uploaded (file id) in a status message's thread, for App Home.
func (a *App) keepChart(ctx context.Context, workspace string, f *bot.File, id string) {
	if f.Stamp == "" || id == "" {
		return
	}
	rec, err := a.homeChartRecord(ctx, workspace, f.Env)
	if err != nil {
		a.log.Debug("cannot read the chart kept for App Home", "env", f.Env, "err", err)
	}
	rec.Stamp, rec.Uploaded, rec.Pending = f.Stamp, a.living.o.Clock.Now(), &chartFile{ID: id, Title: f.Title, Alt: f.Alt}
	a.putHomeChart(ctx, workspace, f.Env, rec)
}

// homeCharts gives the core the charts App Home shows a user: those of
// the environments followed in a channel the user is a member of (read
// once, with users.conversations, when the first environment asks).
type homeCharts struct {
	a               *App
	workspace, user string
	member          map[string]bool
	read            bool
	shown           []string // the environments whose charts the view shows
}

// homeCharts returns App Home's charts for user; nil without living
// status messages, whose threads share the charts.
func (a *App) homeCharts(workspace, user string) *homeCharts {
	if a.living == nil {
		return nil
	}
	return &homeCharts{a: a, workspace: workspace, user: user}
}

// chart is the core's bot.HomeChart; nil shows none.
func (h *homeCharts) chart() bot.HomeChart {
	if h == nil {
		return nil
	}
	return h.image
}

func (h *homeCharts) image(ctx context.Context, env string, channels []string) (bot.Image, bool) {
	if !h.read {
		h.read = true
		var err error
		if h.member, err = h.a.api.UserChannels(ctx, h.user); err != nil {
			h.a.log.Info("cannot read which channels the user is in: App Home shows no chart", "user", h.user, "err", err)
		}
	}
	var theirs []string
	for _, ch := range channels {
		if h.member[ch] {
			theirs = append(theirs, ch)
		}
	}
	if len(theirs) == 0 {
		return bot.Image{}, false
	}
	img, ok := h.a.chartImage(ctx, h.workspace, env, theirs)
	if ok {
		h.shown = append(h.shown, env)
	}
	return img, ok
}

// forget drops the charts the view showed, after Slack refused it (a file
// deleted since, which an image block cannot show): the next opening
// uploads them again (within homeChartEvery of the last upload, it shows none).
func (h *homeCharts) forget(ctx context.Context) bool {
	if h == nil || len(h.shown) == 0 {
		return false
	}
	for _, env := range h.shown {
		if rec, err := h.a.homeChartRecord(ctx, h.workspace, env); err == nil {
			rec.Stamp, rec.Shown = "", nil
			h.a.putHomeChart(ctx, h.workspace, env, rec)
		}
	}
	return true
}

// chartImage is env's chart as an image block can show it: the file kept,
// after uploading a new one when the samples changed, once it is shared.
func (a *App) chartImage(ctx context.Context, workspace, env string, channels []string) (bot.Image, bool) {
	rec, err := a.homeChartRecord(ctx, workspace, env)
	if err != nil {
		a.log.Debug("cannot read the chart kept for App Home", "env", env, "err", err)
		return bot.Image{}, false
	}
	stamp, err := a.living.o.Core.ChartStamp(ctx, workspace, env)
	if err != nil {
		a.log.Debug("cannot read the chart's samples", "env", env, "err", err)
	}
	changed := false
	if stamp != "" && stamp != rec.Stamp && a.living.o.Clock.Now().Sub(rec.Uploaded) >= homeChartEvery {
		changed = a.uploadHomeChart(ctx, workspace, env, stamp, channels, &rec)
	}
	if rec.Pending != nil {
		f, err := a.api.FileInfo(ctx, rec.Pending.ID)
		var ae *APIError
		switch {
		case err == nil && shared(f):
			rec.Shown, rec.Pending, changed = rec.Pending, nil, true
		case errors.As(err, &ae) && (ae.Code == "file_not_found" || ae.Code == "file_deleted"):
			rec.Pending, changed = nil, true
		case err != nil:
			a.log.Debug("cannot tell whether the chart is shared yet", "env", env, "err", err)
		}
	}
	if changed {
		a.putHomeChart(ctx, workspace, env, rec)
	}
	if rec.Shown == nil {
		return bot.Image{}, false
	}
	return bot.Image{FileID: rec.Shown.ID, Title: rec.Shown.Title, Alt: rec.Shown.Alt}, true
}

// uploadHomeChart uploads env's chart in the thread of its status message
// in one of channels (one replica at a time), and reports whether it did.
func (a *App) uploadHomeChart(ctx context.Context, workspace, env, stamp string, channels []string, rec *homeChartRecord) bool {
	var channel, ts string
	for _, ch := range channels {
		if ts = a.living.Thread(ctx, workspace, ch, env); ts != "" {
			channel = ch
			break
		}
	}
	if ts == "" {
		return false // no status message to share it under
	}
	// The upload after the one the record names: replicas (and Homes
	// opened at once) that read the same record claim the same key.
	// A failed upload keeps the claim: its time is the wait before the next try.
	claim := fmt.Sprintf("home-chart:%s:%d", env, rec.Uploaded.UnixNano())
	if ok, err := a.store.Claim(ctx, workspace, claim, progress.NewToken(), homeChartClaim); err != nil || !ok {
		return false // uploaded or being uploaded
	}
	f, err := a.living.o.Core.Chart(ctx, workspace, env)
	var id string
	if err == nil && f != nil {
		id, err = a.api.Upload(ctx, channel, ts, "", f)
	}
	if err != nil || f == nil {
		a.log.Info("cannot upload the burn-down chart for App Home", "env", env, "err", err)
		return false
	}
	rec.Stamp, rec.Uploaded, rec.Pending = cmp.Or(f.Stamp, stamp), a.living.o.Clock.Now(), &chartFile{ID: id, Title: f.Title, Alt: f.Alt}
	return true
}

// shared reports whether files.info says a file is shared in a conversation.
func shared(f *slack.File) bool {
	return len(f.Shares.Public)+len(f.Shares.Private)+len(f.Channels)+len(f.Groups) > 0
}
