package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/internal/humantime"
	"github.com/upgradebot/upgradebot/progress"
)

// Snooze: a channel silences one environment's scheduled reminders for an
// hour or until the next working day. The snooze is a value kept until it
// ends (progress.Values); it also ends as soon as a change is recorded in
// the environment (its UpdatedAt passes the moment it was snoozed), since
// then there is news to be reminded of.

// ActionSnooze is the action id of a reminder's snooze buttons.
const ActionSnooze = "snooze"

// snooze is what the store keeps for a channel and environment.
type snooze struct {
	Until time.Time `json:"until"`
	At    time.Time `json:"at"` // when it was set: a change recorded after it ends it
	By    string    `json:"by,omitempty"`
}

func snoozeKey(channel, env string) string { return "snooze:" + channel + ":" + env }

// snoozed returns the snooze of env's reminders in channel, if one holds at now.
func (b *Bot) snoozed(ctx context.Context, workspace, channel string, env progress.Environment, now time.Time) (snooze, bool) {
	v, ok, err := b.store.Value(ctx, workspace, snoozeKey(channel, env.Name))
	if err != nil || !ok {
		if err != nil {
			b.log.Warn("cannot read a snooze; reminding", "env", env.Name, "err", err)
		}
		return snooze{}, false
	}
	var s snooze
	if json.Unmarshal(v, &s) != nil || !now.Before(s.Until) || env.UpdatedAt.After(s.At) {
		return snooze{}, false
	}
	return s, true
}

// snoozeEnd is when a snooze set at now for how ("1h" or "tomorrow") ends:
// an hour later, or at 08:00 of the next working day (Monday to Friday) in
// zone: the night after "tomorrow" tapped late in the evening stays quiet.
func snoozeEnd(now time.Time, how string, zone *time.Location) (time.Time, bool) {
	switch strings.ToLower(how) {
	case "1h", "hour", "an hour":
		return now.Add(time.Hour), true
	case "tomorrow":
		d := now.In(zone)
		d = time.Date(d.Year(), d.Month(), d.Day()+1, workdayStart, 0, 0, 0, zone)
		for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			d = d.AddDate(0, 0, 1)
		}
		return d, true
	}
	return time.Time{}, false
}

// workdayStart is the hour a snooze until tomorrow ends.
const workdayStart = 8

func (b *Bot) cmdSnooze(ctx context.Context, c Command, args string) Response {
	def := b.lookup("snooze")
	// "snooze prod until tomorrow" says what "snooze prod tomorrow" does.
	fields := slices.DeleteFunc(strings.Fields(args), func(f string) bool { return strings.EqualFold(f, "until") || strings.EqualFold(f, "for") })
	if len(fields) == 0 || len(fields) > 2 {
		return b.usageError(def, "Say for how long: 1h, tomorrow or off.")
	}
	how, named := fields[len(fields)-1], ""
	if len(fields) == 2 {
		named = fields[0]
	}
	now := b.now()
	until, ok := snoozeEnd(now, how, b.zone)
	off := strings.EqualFold(how, "off")
	if !ok && !off {
		return b.usageError(def, fmt.Sprintf("%q is not a snooze: say 1h, tomorrow or off.", Shorten(how, 40)))
	}
	env, errR := b.resolveEnv(ctx, c, named, nil)
	if errR != nil {
		return private(errR)
	}
	st, err := b.store.Status(ctx, c.Workspace, env, 0)
	if err != nil {
		return private(b.storeError("status", err))
	}
	if !slices.Contains(st.Channels, c.Channel) {
		return private(errorReply(fmt.Sprintf("This channel does not follow %s, so it gets no reminders of it to snooze: `%s track %s` follows it here.", env, b.cmd, env)))
	}
	// "Tomorrow" as the channel's reminders read days (its CRON_TZ, if
	// any), and said in that zone, as the next reminder is.
	zone := b.channelZone(ctx, c.Workspace, c.Channel)
	if ok {
		until, _ = snoozeEnd(now, how, zone)
	}
	if off {
		if _, on := b.snoozed(ctx, c.Workspace, c.Channel, st.Environment, now); !on {
			return private(errorReply(fmt.Sprintf("%s's reminders are not snoozed here.", env)))
		}
		until = now
	}
	v, _ := json.Marshal(snooze{Until: until, At: now, By: c.User})
	// Kept a day past its end: a reminder due while snoozed and posted
	// late (the bot was down) is checked against it.
	if err := b.store.PutValue(ctx, c.Workspace, snoozeKey(c.Channel, env), v, until.Sub(now)+24*time.Hour); err != nil {
		return private(b.storeError("snooze", err))
	}
	b.lastNotUndoable(ctx, c, "snooze "+env+" "+strings.ToLower(how), fmt.Sprintf("Snooze again to change it; `%s snooze %s off` ends it", b.cmd, env))
	r := &Reply{}
	if off {
		r.Summary = env + "'s reminders are back on"
		r.Section(Line{M(c.User), T(" turned the snooze of "), B(env), T("'s reminders off.")})
	} else {
		end := humantime.Format(until, now, zone, "Mon 2 Jan 15:04 MST")
		r.Summary = fmt.Sprintf("%s's reminders snoozed until %s", env, end)
		r.Section(Line{M(c.User), T(" snoozed "), B(env), T("'s reminders in this channel until " + end + "; they resume sooner if a change is recorded. "), C(b.cmd + " snooze " + env + " off"), T(" ends it.")})
		if b.sched != nil {
			// A reminder due while snoozed is skipped, not posted when the
			// snooze ends; one due as it ends is posted (snoozed).
			if next, ok := strings.CutPrefix(b.sched.Next(ctx, c.Workspace, c.Channel, until.Add(-time.Nanosecond)), "Next reminder:"); ok {
				r.Context(Line{T(env + "'s next reminder here:" + next)})
			}
		}
	}
	return Response{Announce: r, Changed: []string{env}}
}

// when writes a time for people, in b's zone, with the year when it is not this year.
func (b *Bot) when(t time.Time) string {
	return humantime.Format(t, b.now(), b.zone, "Mon 2 Jan 15:04 MST")
}

// snoozeLine says that reminders are snoozed until s ends.
func (b *Bot) snoozeLine(s snooze) Line {
	l := Line{T(":zzz: Reminders snoozed here until " + b.when(s.Until))}
	if s.By != "" {
		l = append(l, T(" by "), M(s.By))
	}
	return append(l, T(" (a recorded change ends it)"))
}

// snoozeButtons snooze env's reminders for an hour or until the next working day.
func snoozeButtons(n int, env string) []Button {
	return []Button{
		{ActionID: fmt.Sprintf("%s:%d:1h", ActionSnooze, n), Label: "Snooze 1 hour", Value: buttonValue{Env: env, Snooze: "1h"}.String(), Command: "snooze " + env + " 1h",
			Describe: "Snooze " + env + "'s reminders for 1 hour"},
		{ActionID: fmt.Sprintf("%s:%d:tomorrow", ActionSnooze, n), Label: "Snooze until tomorrow", Value: buttonValue{Env: env, Snooze: "tomorrow"}.String(), Command: "snooze " + env + " tomorrow",
			Describe: "Snooze " + env + "'s reminders until tomorrow"},
	}
}

// channelZone is the zone of the channel's reminder schedule (its CRON_TZ=
// or TZ=), else the bot's.
func (b *Bot) channelZone(ctx context.Context, workspace, channel string) *time.Location {
	cs, err := b.store.ChannelSettings(ctx, workspace, channel)
	if err != nil {
		return b.zone
	}
	// As the scheduler reads it (scheduler.Parse): the prefix in any case, "utc" too.
	first, _, _ := strings.Cut(strings.TrimSpace(cs.Schedule), " ")
	if upper := strings.ToUpper(first); strings.HasPrefix(upper, "CRON_TZ=") || strings.HasPrefix(upper, "TZ=") {
		_, name, _ := strings.Cut(first, "=")
		if strings.EqualFold(name, "utc") {
			return time.UTC
		}
		if loc, err := time.LoadLocation(name); err == nil && loc != time.Local {
			return loc
		}
	}
	return b.zone
}
