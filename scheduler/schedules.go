package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/internal/humantime"
	"github.com/upgradebot/upgradebot/progress"
)

// offReason is the pause reason of /upgrade remind off.
const offReason = "turned off with remind off"

// Set validates and stores a channel's schedule ("off", "on", "" or "default"
// also work) and describes the result; errors other than the store's match
// ErrInvalidSpec or ErrTooFrequent, and their messages are for the user.
func (s *Scheduler) Set(ctx context.Context, workspace, channel, spec, actor string) (string, error) {
	spec, now := NormalizeSpec(spec), s.o.Clock.Now()
	cs, err := s.o.Store.ChannelSettings(ctx, workspace, channel)
	if err != nil {
		return "", err
	}
	next := progress.ChannelSettings{Schedule: cs.Schedule, UpdatedAt: now, UpdatedBy: actor}
	var desc string
	switch sc := s.def; strings.ToLower(spec) {
	case "off", "pause", "stop":
		next.Paused, next.PauseReason = true, offReason
		desc = fmt.Sprintf("turned this channel's reminders off; `%s remind on` (or a schedule) turns them back on.", s.o.CommandName)
	case "", "default":
		next.Schedule = ""
		desc = "restored this channel's default reminders, " + sc.Describe()
	case "on", "resume":
		if cs.Schedule != "" {
			if sc, err = Validate(cs.Schedule, s.o.Zone, s.o.MinInterval, now); err != nil {
				return "", err
			}
		}
		desc = "turned this channel's reminders on: " + sc.Describe()
	default:
		if sc, err = Validate(spec, s.o.Zone, s.o.MinInterval, now); err != nil {
			return "", err
		}
		next.Schedule = sc.spec
		desc = "set this channel's reminders to " + sc.Describe()
	}
	if err := s.o.Store.SetChannelSettings(ctx, workspace, channel, next); err != nil {
		return "", err
	}
	s.wake()
	if next.Paused {
		return desc, nil
	}
	if sc, err := s.channelSchedule(next); err == nil && !sc.Next(now).IsZero() {
		desc += "; next: " + formatWhen(sc.Next(now), now, sc.loc)
	}
	desc += " (posted only while something is outstanding)"
	if envs, err := s.o.Store.ChannelEnvironments(ctx, workspace, channel); err == nil && len(envs) == 0 {
		desc += fmt.Sprintf(". This channel follows no environment yet: `%s track <env>` starts", s.o.CommandName)
	}
	return desc, nil
}

// formatWhen writes an occurrence in its zone ("Mon 25 Nov 09:00"), with the year when not now's.
func formatWhen(t, now time.Time, loc *time.Location) string {
	return humantime.Format(t, now, loc, "Mon 2 Jan 15:04")
}

// Next describes a channel's next reminder (after after, if not zero); "" when it follows nothing, why when paused.
func (s *Scheduler) Next(ctx context.Context, workspace, channel string, after time.Time) string {
	envs, err := s.o.Store.ChannelEnvironments(ctx, workspace, channel)
	if err != nil || len(envs) == 0 {
		return ""
	}
	cs, err := s.o.Store.ChannelSettings(ctx, workspace, channel)
	switch {
	case err != nil:
		return ""
	case cs.Paused && (cs.PauseReason == offReason || cs.PauseReason == ""):
		return fmt.Sprintf("Reminders are off in this channel; `%s remind on` (or a schedule) turns them back on.", s.o.CommandName)
	case cs.Paused:
		return "Reminders paused: " + cs.PauseReason
	}
	sc, err := s.channelSchedule(cs)
	if err != nil {
		return fmt.Sprintf("Reminders stopped: the stored schedule %q is no longer accepted (%v). Set one with `%s remind <schedule>`.", cs.Schedule, err, s.o.CommandName)
	}
	now, which := cmp.Or(after, s.o.Clock.Now()), "this channel's schedule"
	if cs.Schedule == "" {
		which = "the default schedule"
	}
	if t := sc.Next(now); !t.IsZero() {
		return fmt.Sprintf("Next reminder: %s %s (%s: %s), if anything is still outstanding then.", formatWhen(t, now, sc.loc), sc.loc, which, sc.expr)
	}
	return ""
}

// Now builds the reminder the channel would get now (nil: nothing outstanding), without Run or a Poster.
func (s *Scheduler) Now(ctx context.Context, workspace, channel string) (*bot.Reply, error) {
	return s.o.Bot.ChannelReminder(ctx, workspace, channel, s.o.Clock.Now(), s.o.Stall)
}
