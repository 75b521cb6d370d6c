package bot

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// The incident at a glance: the header a status starts with (where the
// upgrade goes from and to, since when, the counts) and the status message
// a chat keeps pinned and current (Slack's living message, bot/slackbot).

// statusExtra is what a status shows beyond progress.Status: who took
// which module (nil: unknown), when the upgrade started (zero: unknown).
type statusExtra struct {
	owners  *ownership
	started time.Time
	full    bool // the status command's: more modules are in the export
	// quiet: a reminder's, posted anew each time: its module lines name no
	// reporter, as a mention in every line would notify them again and again.
	quiet bool
}

// When an upgrade started is kept as a value (set at track and reset), so
// a status does not read the whole history for it; an environment tracked
// before it was kept reads it from its history once.
const startedTTL = 365 * 24 * time.Hour

func startedKey(env string) string { return "started:" + env }

// extra reads env's owners (and who of them left the workspace) and the
// start of its upgrade; what cannot be read is left out (the status still shows).
func (b *Bot) extra(ctx context.Context, workspace, env string) statusExtra {
	return statusExtra{owners: b.moduleOwnership(ctx, workspace, env), started: b.UpgradeStarted(ctx, workspace, env)}
}

// startedValue is UpgradeStarted as a reset's undo keeps it ("" when
// unknown): the undo refuses once the new upgrade has news only when it knows the start.
func (b *Bot) startedValue(ctx context.Context, workspace, env string) string {
	if t := b.UpgradeStarted(ctx, workspace, env); !t.IsZero() {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// UpgradeStarted is when env's upgrade started (tracked, or reset); zero when it cannot be read.
func (b *Bot) UpgradeStarted(ctx context.Context, workspace, env string) time.Time {
	if v, ok, err := b.store.Value(ctx, workspace, startedKey(env)); err == nil && ok {
		if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			return t
		}
	}
	h, err := b.store.History(ctx, workspace, env)
	if err != nil {
		b.log.Warn("cannot read the history for the upgrade's start", "env", env, "err", err)
		return time.Time{}
	}
	started := upgradeStart(h)
	if !started.IsZero() {
		if err := b.store.PutValue(ctx, workspace, startedKey(env), []byte(started.UTC().Format(time.RFC3339Nano)), startedTTL); err != nil {
			b.log.Debug("cannot keep when the upgrade started", "env", env, "err", err)
		}
	}
	return started
}

// upgradeStart is when the current upgrade started: the last reset, else the first entry.
func upgradeStart(h []progress.HistoryEntry) time.Time {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Action == string(progress.ChangeReset) {
			return h[i].Time
		}
	}
	if len(h) > 0 {
		return h[0].Time
	}
	return time.Time{}
}

// incidentTitle is a status's title: the environment, and from which
// Platform Server version to which when known.
func incidentTitle(st progress.Status) string {
	switch {
	case st.Version != "" && st.FromVersion != "":
		return fmt.Sprintf("%s: Platform Server %s → %s", st.Name, st.FromVersion, st.Version)
	case st.Version != "":
		return st.Name + " → Platform Server " + st.Version
	}
	return st.Name
}

// over reports whether the upgrade is over, for the time it took: done,
// or nothing left once the preparation's outcome is known (with no news
// of it, an emptied list may grow again with its summary).
func over(st progress.Status) bool {
	return st.Finished() || finished(st) && st.State.OutcomeKnown()
}

// runningField says when the upgrade started and how long it has run (or
// ran, once finished), from its first news when later: an environment is
// often tracked days ahead of its upgrade. With no news yet, it says only
// since when it is followed.
func (b *Bot) runningField(st progress.Status, x statusExtra) (Field, bool) {
	started := x.started
	if started.IsZero() {
		return Field{}, false
	}
	if st.State == progress.StateFollowing && st.ModuleCount == 0 && !st.Counts.Known() && st.Republished.Total() == 0 && st.FirstNews.IsZero() {
		return Field{Label: "Upgrade", Value: Line{T("followed since " + b.when(started) + ", no news of it yet")}}, true
	}
	if st.FirstNews.After(started) {
		started = st.FirstNews
	}
	v := "since " + b.when(started)
	switch end := b.now(); {
	case over(st) && !st.UpdatedAt.IsZero():
		v += ", took " + roughDuration(st.UpdatedAt.Sub(started))
	case end.After(started):
		v += ", running for " + roughDuration(end.Sub(started))
	}
	return Field{Label: "Upgrade", Value: Line{T(v)}}, true
}

// countsText is the counts line of a status.
func countsText(st progress.Status) string {
	return fmt.Sprintf("%s prepared, %s failed, %s skipped", countText(st.Counts.Prepared), countText(st.Counts.Failed), countText(st.Counts.Skipped))
}

// StatusMessage is the status message a channel keeps pinned for an environment.
type StatusMessage struct {
	Reply *Reply
	// Version orders renderings: a later one is newer.
	Version int64
	// Stale is when it goes out of date without a change (the channel's
	// snooze ends); zero when only a change does.
	Stale time.Time
	// Ended: the channel no longer follows env. The message says so once
	// and is kept up to date no more; a new track posts a new one.
	Ended bool
}

// LivingStatus is the status message channel keeps pinned for env: the
// incident header, counts, the modules to republish with their owners and
// the channel's snooze.
func (b *Bot) LivingStatus(ctx context.Context, workspace, channel, env string) (StatusMessage, error) {
	m := StatusMessage{Version: b.now().UnixNano()}
	st, err := b.store.Status(ctx, workspace, env, statusModules)
	if err != nil {
		return m, err
	}
	r := &Reply{Summary: statusSummary(st)}
	if m.Ended = !slices.Contains(st.Channels, channel); m.Ended {
		r.Summary = "No longer followed here: " + st.Name
		r.Section(Line{T(":white_flag: This channel no longer follows "), B(st.Name), T(" (its history is kept); this was its status then. "),
			C(b.cmd + " track " + st.Name), T(" follows it again.")})
	}
	b.statusBlocks(r, st, b.extra(ctx, workspace, env))
	if m.Ended {
		m.Reply = r
		return m, nil
	}
	if s, ok := b.snoozed(ctx, workspace, channel, st.Environment, b.now()); ok {
		r.Context(b.snoozeLine(s))
		m.Stale = s.Until
	}
	if at := preparationNews(st); st.State == progress.StatePreparing && !at.IsZero() {
		// Quiet for hours is when the message must say the preparation
		// may be stuck: at the stall, then hourly its time without news.
		stale := at.Add(DefaultStall + time.Second)
		if !b.now().Before(stale) {
			stale = b.now().Add(time.Hour)
		}
		if m.Stale.IsZero() || stale.Before(m.Stale) {
			m.Stale = stale
		}
	}
	r.Context(Line{T("Kept up to date by upgradebot · changes in the thread · "), C(b.cmd + " help")})
	m.Reply = r
	return m, nil
}
