package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/progress"
)

// work is what an environment still needs from people.
type work struct {
	modules int           // to republish
	unnamed int           // failed or skipped, counted by Service Center, not named yet
	stalled time.Duration // preparation reported running with no update for this long; 0 when not stalled
}

func (w work) any() bool { return w.modules > 0 || w.unnamed > 0 || w.stalled > 0 }

func (s *Scheduler) outstanding(st progress.Status, now time.Time) work {
	w := work{modules: st.ModuleCount, unnamed: st.Unnamed()}
	if st.State == progress.StatePreparing && !st.UpdatedAt.IsZero() {
		if d := now.Sub(st.UpdatedAt); d > s.stall {
			w.stalled = d
		}
	}
	return w
}

// clean reports whether an environment is done: nothing to republish, nothing unnamed, no preparation running.
func clean(st progress.Status) bool {
	return st.ModuleCount == 0 && st.Unnamed() == 0 && st.State != progress.StatePreparing
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// roughDuration says how long, to the minute: "3h 10m", "45m".
func roughDuration(d time.Duration) string {
	d = d.Truncate(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h >= 48:
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", max(m, 1))
}

// reminderReply is an environment's reminder, nil when nothing is
// outstanding: a header line saying what is left, the status (progress,
// counts, modules in the order to act on) and buttons to mark the first
// modules republished or show the full status. n numbers the buttons when
// several reminders share a message.
func (s *Scheduler) reminderReply(st progress.Status, now time.Time, n int) *bot.Reply {
	w := s.outstanding(st, now)
	if !w.any() {
		return nil
	}
	var parts []string
	if w.modules > 0 {
		parts = append(parts, plural(w.modules, "module to republish", "modules to republish"))
	}
	if w.unnamed > 0 {
		parts = append(parts, plural(w.unnamed, "failed or skipped module", "failed or skipped modules")+" nobody has named yet")
	}
	if w.stalled > 0 {
		parts = append(parts, "a preparation with no update for "+roughDuration(w.stalled))
	}
	what := joinAnd(parts)
	name := st.Name
	if st.Version != "" {
		name += " (Platform Server " + st.Version + ")"
	}
	r := &bot.Reply{Summary: "Reminder: " + name + ": " + what}
	r.Section(bot.Line{bot.T(":bell: Reminder: "), bot.B(st.Name), bot.T(strings.TrimPrefix(name, st.Name) + " still has " + what + ".")})
	r.Blocks = append(r.Blocks, s.bot.StatusReply(st).Blocks...)
	if w.stalled > 0 {
		r.Context(bot.Line{bot.T(fmt.Sprintf("The modules preparation was last reported running %s ago (%s). Check in Service Center that it is still progressing and paste its latest status here, so I can follow.",
			roughDuration(w.stalled), st.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC")))})
	}
	var buttons []bot.Button
	for i, m := range st.Modules {
		if i == markButtons {
			break
		}
		buttons = append(buttons, bot.MarkDoneButton(n*10+i, st.Name, m.Name))
	}
	buttons = append(buttons, bot.ShowStatusButton(n, st.Name))
	r.Actions(buttons...)
	return r
}

// channelReminder is the reminder of every environment a channel follows
// that has something outstanding, in one message; nil when none has.
func (s *Scheduler) channelReminder(ctx context.Context, workspace, channel string, now time.Time) (*bot.Reply, error) {
	envs, err := s.store.ChannelEnvironments(ctx, workspace, channel)
	if err != nil {
		return nil, err
	}
	var parts []*bot.Reply
	var more []string
	for _, e := range envs {
		st, err := s.store.Status(ctx, workspace, e.Name, reminderModules)
		if err != nil {
			return nil, err
		}
		if len(parts) == maxReminderEnvs {
			if s.outstanding(st, now).any() {
				more = append(more, e.Name)
			}
			continue
		}
		if r := s.reminderReply(st, now, len(parts)); r != nil {
			parts = append(parts, r)
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		return parts[0], nil
	}
	r := &bot.Reply{Summary: fmt.Sprintf("Reminder: %d environments have work outstanding", len(parts)+len(more))}
	for i, p := range parts {
		if i > 0 {
			r.Divider()
		}
		r.Blocks = append(r.Blocks, p.Blocks...)
	}
	if len(more) > 0 {
		r.Context(bot.Line{bot.T("… and outstanding work on " + strings.Join(more, ", ") + ": "), bot.C(s.cmd + " status " + more[0])})
	}
	return r, nil
}

// digestReply is every environment's state in one message; nil when no
// environment is tracked.
func (s *Scheduler) digestReply(ctx context.Context, now time.Time) (*bot.Reply, error) {
	wss := []string{s.digestWS}
	if s.digestWS == "" {
		var err error
		if wss, err = s.store.Workspaces(ctx); err != nil {
			return nil, err
		}
	}
	var lines []bot.Line
	busy := 0
	for _, ws := range wss {
		envs, err := s.store.Environments(ctx, ws)
		if err != nil {
			return nil, err
		}
		for _, e := range envs {
			st, err := s.store.Status(ctx, ws, e.Name, 0)
			if err != nil {
				return nil, err
			}
			w := s.outstanding(st, now)
			if w.any() {
				busy++
			}
			prefix := ""
			if len(wss) > 1 {
				prefix = ws + " / "
			}
			lines = append(lines, s.digestLine(prefix, st, w))
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	r := &bot.Reply{Summary: fmt.Sprintf("Upgrade digest: %s, %d with work outstanding", plural(len(lines), "environment", "environments"), busy)}
	r.Header("Upgrade digest")
	r.Context(bot.Line{bot.T(now.In(s.digest.Location()).Format("Monday 2 January 2006"))})
	const perSection = 15
	for i := 0; i < len(lines); i += perSection {
		r.Section(lines[i:min(i+perSection, len(lines))]...)
	}
	r.Context(bot.Line{bot.T("Modules and buttons: "), bot.C(s.cmd + " status <env>")})
	return r, nil
}

func (s *Scheduler) digestLine(prefix string, st progress.Status, w work) bot.Line {
	sr := s.bot.StatusReply(st)
	l := bot.Line{bot.T("• " + prefix), bot.B(st.Name)}
	if st.Version != "" {
		l = append(l, bot.T(" → "+st.Version))
	}
	l = append(l, bot.T(": "+strings.TrimPrefix(sr.Summary, st.Name+": ")))
	for _, bl := range sr.Blocks {
		for _, f := range bl.Fields {
			if f.Label == "Progress" {
				l = append(l, bot.T(" · "+f.Value.PlainText()))
			}
		}
	}
	if w.unnamed > 0 {
		l = append(l, bot.T(fmt.Sprintf(" · %d failed or skipped not named yet", w.unnamed)))
	}
	if w.stalled > 0 {
		l = append(l, bot.T(" · no update for "+roughDuration(w.stalled)))
	}
	return l
}
