package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// Reminder and digest rendering; the scheduler decides when to post them.

const (
	// ReminderModules is how many modules a reminder lists; the rest are counted.
	ReminderModules = 15
	// markButtons is how many "mark republished" buttons a reminder offers.
	markButtons = 5
	// maxReminderEnvs is how many environments one channel reminder shows.
	maxReminderEnvs = 5
)

// What one message gathering several environments (a channel's
// reminder, a status of all, App Home) holds at most: Slack takes 50
// blocks a message and 100 in App Home, and refuses a message of more than
// about 12,000 characters of text although its documents give no limit;
// an environment that does not fit is named instead.
const (
	messageBlocks = 45
	homeBlocks    = 95
	messageChars  = 10000
)

// listSections adds lines to r in sections (15 lines, 2,500 characters at
// most: a section holds 3,000) while the message stays within messageBlocks
// and messageChars less reserve (for what follows); the lines left out
// are counted by the line more returns.
func listSections(r *Reply, lines []Line, reserve int, more func(left int) Line) {
	used, size := len(RenderText(r)), 0
	var part []Line
	flush := func() {
		if len(part) > 0 {
			r.Section(part...)
		}
		part, size = nil, 0
	}
	for i, l := range lines {
		n := len(l.PlainText()) + 20 // markup and escapes
		if len(part) == 15 || size+n > 2500 {
			flush()
		}
		if len(r.Blocks)+2 > messageBlocks || used+n > messageChars-reserve {
			flush()
			r.Context(more(len(lines) - i))
			return
		}
		part, size, used = append(part, l), size+n, used+n
	}
	flush()
}

// fits reports whether part, added to r after a divider, stays within
// blocks and messageChars.
func fits(r, part *Reply, blocks int) bool {
	return len(r.Blocks)+1+len(part.Blocks) <= blocks && len(RenderText(r))+len(RenderText(part)) <= messageChars
}

// work is what an environment still needs from people.
type work struct {
	modules int           // to republish
	unnamed int           // failed or skipped, counted by Service Center, not named yet
	stalled time.Duration // preparation reported running with no update for this long; 0 when not stalled
	all     bool          // every application to republish (see republishAll)
	failed  bool          // the preparation failed: it must run again
	unknown bool          // it finished with errors, and neither their count nor a name is known
}

func (w work) any() bool {
	return w.modules > 0 || w.unnamed > 0 || w.stalled > 0 || w.all || w.failed || w.unknown
}

// errorsUnknown reports whether st's preparation finished with errors that
// nobody has named or counted ("There were errors preparing some modules."
// alone): there is work, of an unknown size.
func errorsUnknown(st progress.Status) bool {
	return st.State == progress.StateFinishedWithErrors && !st.Counts.Known() && st.NamedFailedSkipped == 0
}

// outstanding is st's work at now; a preparation with no update for longer than stall is stalled.
func outstanding(st progress.Status, now time.Time, stall time.Duration) work {
	w := work{modules: st.ModuleCount, unnamed: st.Unnamed(), all: republishAll(st.Environment), failed: st.State == progress.StateFailed && !st.FromBefore11(), unknown: errorsUnknown(st)}
	if at := preparationNews(st); st.State == progress.StatePreparing && !at.IsZero() {
		if d := now.Sub(at); d > stall {
			w.stalled = d
		}
	}
	return w
}

// preparationNews is when st's running preparation last had news: a
// module reported meanwhile is none (the update time would hide a stall).
func preparationNews(st progress.Status) time.Time {
	return cmp.Or(st.Preparation.At, st.UpdatedAt)
}

// finished reports whether an environment is done: nothing to republish,
// nothing unnamed, no preparation running or failed (its all-clear may be posted).
func finished(st progress.Status) bool {
	return st.ModuleCount == 0 && st.Unnamed() == 0 && st.State != progress.StatePreparing && st.State != progress.StateFailed &&
		!republishAll(st.Environment) && !errorsUnknown(st)
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

// roughDuration says how long, as closely as a reader needs it: "45m",
// "3h 10m", "2d 5h"; past a week whole days ("12d"), past eight weeks
// months ("3 months", of 30.44 days, rounded) and past two years years: an
// upgrade left open a year does not read as "368d 0h".
func roughDuration(d time.Duration) string {
	d = d.Truncate(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	days := h / 24
	switch {
	case days >= 2*365:
		return fmt.Sprintf("%d years", days/365)
	case days >= 8*7:
		return fmt.Sprintf("%d months", int(math.Round(float64(days)/30.44)))
	case days >= 7:
		return fmt.Sprintf("%dd", days)
	case h >= 48:
		return fmt.Sprintf("%dd %dh", days, h%24)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", max(m, 1))
}

// Reminder is an environment's reminder at now, nil when nothing is
// outstanding (a preparation counts after stall without an update): a
// header line saying what is left, the status (progress, counts, modules
// in the order to act on) and buttons to mark the first modules
// republished, show the full status or snooze the reminders. n numbers
// the buttons when several reminders share a message.
func (b *Bot) Reminder(st progress.Status, now time.Time, stall time.Duration, n int) *Reply {
	return b.reminder(st, nil, now, stall, n)
}

// reminder is Reminder naming the owners of the modules (nil when
// unknown): each owner once with their modules, then the modules nobody took.
func (b *Bot) reminder(st progress.Status, owners *ownership, now time.Time, stall time.Duration, n int) *Reply {
	w := outstanding(st, now, stall)
	if !w.any() {
		return nil
	}
	var parts []string
	if w.failed {
		parts = append(parts, "a modules preparation that failed and must run again")
	}
	if w.unknown {
		parts = append(parts, "modules that failed the preparation, not named or counted yet")
	}
	if w.all {
		parts = append(parts, "all applications to republish (upgraded from Platform Server "+st.FromVersion+")")
	}
	if w.modules > 0 {
		parts = append(parts, plural(w.modules, "module to republish", "modules to republish"))
	}
	if w.unnamed > 0 {
		kind := unnamedKind(st)
		parts = append(parts, plural(w.unnamed, kind+" module", kind+" modules")+" nobody has named yet")
	}
	if w.stalled > 0 {
		parts = append(parts, "a preparation with no update for "+roughDuration(w.stalled))
	}
	what := joinAnd(parts)
	name := st.Name
	if st.Version != "" {
		name += " (Platform Server " + st.Version + ")"
	}
	r := &Reply{Summary: "Reminder: " + name + ": " + what}
	r.Section(Line{T(":bell: Reminder: "), B(st.Name), T(strings.TrimPrefix(name, st.Name) + " still has " + what + ".")})
	sr := &Reply{}
	b.statusBlocks(sr, st, statusExtra{quiet: true})
	r.Blocks = append(r.Blocks, sr.Blocks...)
	if owners != nil && st.State.Normal() != progress.StatePreparing {
		// While the preparation runs nobody can publish: no owner is pinged for it.
		r.Section(b.ownerLines(st, owners)...)
	}
	if w.stalled > 0 {
		r.Context(Line{T(fmt.Sprintf("The modules preparation was last reported running %s ago (%s). Check in Service Center that it is still progressing and paste its latest status here, so I can follow.",
			roughDuration(w.stalled), b.when(preparationNews(st))))})
	}
	var buttons []Button
	ordered, _ := republishOrder(st.Modules, st.Edges)
	if st.State.Normal() == progress.StatePreparing && len(ordered) > 0 {
		// A run of the preparation locks what it prepares, and may prepare these too.
		r.Context(Line{T(":hourglass: The modules preparation is running: hold the publishes until it ends, then republish what is still listed.")})
		ordered = nil
	}
	for i, m := range ordered {
		if i == markButtons {
			break
		}
		buttons = append(buttons, MarkDoneButton(n*10+i, st.Name, m.Name))
	}
	buttons = append(buttons, ShowStatusButton(n, st.Name))
	r.Actions(append(buttons, snoozeButtons(n, st.Name)...)...)
	return r
}

// ChannelReminder is ScheduledReminder now, noted at once (remind now).
func (b *Bot) ChannelReminder(ctx context.Context, workspace, channel string, now time.Time, stall time.Duration) (*Reply, error) {
	r, posted, err := b.ScheduledReminder(ctx, workspace, channel, now, now, stall)
	if err == nil && posted != nil {
		if err := posted(ctx); err != nil {
			b.log.Warn("cannot note the channel reminded; its all-clear may not be posted, or be posted again", "channel", channel, "err", err)
		}
	}
	return r, err
}

// ScheduledReminder is what a channel gets at a reminder due at occ, in
// one message however many environments it follows (each owner named
// once): each environment's reminder while work is outstanding, unless
// snoozed there; once its work is done, one all-clear if the channel was
// reminded since the last one. An environment whose upgrade started after
// occ was not followed then and is left out. nil when nothing is due;
// after posting it, call posted to record what it said.
func (b *Bot) ScheduledReminder(ctx context.Context, workspace, channel string, occ, now time.Time, stall time.Duration) (*Reply, func(context.Context) error, error) {
	envs, err := b.store.ChannelEnvironments(ctx, workspace, channel)
	if err != nil {
		return nil, nil, err
	}
	var parts []*Reply
	var more, reminded []string
	var cleared []func(context.Context) error
	all := &Reply{}
	for _, e := range envs {
		if b.UpgradeStarted(ctx, workspace, e.Name).After(occ) {
			continue
		}
		st, err := b.store.Status(ctx, workspace, e.Name, ReminderModules)
		if errors.Is(err, progress.ErrNotFound) {
			continue // untracked meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		_, snoozed := b.snoozed(ctx, workspace, channel, e, occ) // when it was due: a late post keeps to it
		if len(parts) == maxReminderEnvs {
			if !snoozed && outstanding(st, now, stall).any() {
				more = append(more, e.Name)
			}
			continue
		}
		var own *ownership
		// Snoozed, it is only asked whether there is work; while the
		// preparation runs, no owner is named: neither need the owners,
		// nor Slack's word on who left.
		if !snoozed && st.State.Normal() != progress.StatePreparing {
			own = b.reminderOwnership(ctx, workspace, st)
		}
		r := b.reminder(st, own, now, stall, len(parts))
		work := r != nil
		if work && snoozed {
			continue // snoozed here: not posted early either
		}
		var clear func(context.Context) error
		if !work {
			// Done since this channel was reminded: its all-clear, now.
			if r, clear, err = b.pendingAllClear(ctx, workspace, channel, st); err != nil {
				return nil, nil, err
			}
		}
		switch {
		case r == nil:
		case len(parts) > 0 && (len(more) > 0 || !fits(all, r, messageBlocks)): // in order, as a status does
			if work { // an all-clear that does not fit waits for the next reminder
				more = append(more, e.Name)
			}
		default:
			if len(parts) > 0 {
				all.Divider()
			}
			all.Blocks = append(all.Blocks, r.Blocks...)
			parts = append(parts, r)
			if work {
				reminded = append(reminded, e.Name)
			} else if clear != nil {
				cleared = append(cleared, clear)
			}
		}
	}
	posted := func(ctx context.Context) error {
		var errs []error
		for _, env := range reminded {
			errs = append(errs, b.markReminded(ctx, workspace, channel, env))
		}
		for _, c := range cleared {
			errs = append(errs, c(ctx))
		}
		return errors.Join(errs...)
	}
	switch {
	case len(parts) == 0:
		return nil, nil, nil
	case len(parts) == 1 && len(more) == 0:
		return parts[0], posted, nil
	}
	r := all
	nameEnvironments(r)
	var summaries []string
	for _, p := range parts {
		summaries = append(summaries, p.Summary)
	}
	r.Summary = strings.Join(summaries, "; ")
	if names := append(slices.Clone(reminded), more...); len(names) > 0 { // named: a notification is read alone
		r.Summary = "Reminder: " + Shorten(strings.Join(names, ", "), 120) + map[bool]string{true: " has", false: " have"}[len(names) == 1] + " work outstanding"
	}
	if len(more) > 0 {
		r.Context(notShown(fmt.Sprintf("… and outstanding work on %s not shown here: ", plural(len(more), "more environment", "more environments")), more,
			C(b.cmd+" status "+more[0]), T(" shows one.")))
	}
	return r, posted, nil
}

// Digest is every environment's state of the workspaces (all when nil;
// none when empty) in one message, dated in loc; nil when none is tracked.
func (b *Bot) Digest(ctx context.Context, workspaces []string, now time.Time, loc *time.Location, stall time.Duration) (*Reply, error) {
	if workspaces == nil {
		var err error
		if workspaces, err = b.store.Workspaces(ctx); err != nil {
			return nil, err
		}
	}
	var lines []Line
	var charts []*File
	var unfollowed []string // untracked everywhere: no longer anyone's work, named once at the end
	var busy []string
	for _, ws := range workspaces {
		envs, err := b.store.Environments(ctx, ws)
		if err != nil {
			return nil, err
		}
		for _, e := range envs {
			prefix := ""
			if len(workspaces) > 1 {
				prefix = ws + " / "
			}
			if len(e.Channels) == 0 {
				unfollowed = append(unfollowed, prefix+e.Name)
				continue
			}
			st, err := b.store.Status(ctx, ws, e.Name, 0)
			if err != nil {
				return nil, err
			}
			w := outstanding(st, now, stall)
			if w.any() {
				busy = append(busy, prefix+st.Name)
				charts = b.digestChart(ctx, charts, ws, prefix, st.Name)
			}
			lines = append(lines, b.digestLine(prefix, st, w))
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	r := &Reply{Summary: fmt.Sprintf("Upgrade digest: %s, %d with work outstanding", plural(len(lines), "environment", "environments"), len(busy))}
	if len(busy) > 0 { // named, as a reminder's are: a notification is read alone
		r.Summary += ": " + Shorten(strings.Join(busy, ", "), 120)
	}
	r.Header("Upgrade digest")
	r.Context(Line{T(now.In(loc).Format("Monday 2 January 2006"))})
	listSections(r, lines, 600, func(left int) Line {
		return Line{T(fmt.Sprintf("… and %s not shown here: ", plural(left, "more environment", "more environments"))), C(b.cmd + " envs"), T(" lists them.")}
	})
	if len(unfollowed) > 0 {
		r.Context(notShown("Followed in no channel, so left out: ", unfollowed, C(b.cmd+" track <env>"), T(" in a channel follows one again.")))
	}
	r.Context(Line{T("Modules and buttons: "), C(b.cmd + " status <env>")})
	if len(charts) > 0 {
		l := Line{T("Burn-down charts of " + plural(len(charts), "environment", "environments") + " with work left: in this message's thread.")}
		if len(charts) == digestCharts && len(busy) > digestCharts {
			l = append(l, T(" The others: "), C(b.cmd+" chart <env>"))
		}
		r.Context(l)
		r.Files = charts
	}
	return r, nil
}

// digestCharts bounds the charts a digest carries: each is drawn and
// uploaded while the digest is posted.
const digestCharts = 20

// digestChart appends env's burn-down chart to the digest's charts, if it
// has one (an error is logged: the digest goes without it).
func (b *Bot) digestChart(ctx context.Context, charts []*File, workspace, prefix, env string) []*File {
	if len(charts) == digestCharts {
		return charts
	}
	f, err := b.Chart(ctx, workspace, env)
	if err != nil {
		b.log.Warn("cannot draw the burn-down chart for the digest", "env", env, "err", err)
	}
	if f == nil {
		return charts
	}
	f.Title = "Burn-down of " + prefix + env
	return append(charts, f)
}

func (b *Bot) digestLine(prefix string, st progress.Status, w work) Line {
	sr := b.StatusReply(st)
	l := Line{T("• " + prefix), B(st.Name)}
	if st.Version != "" {
		l = append(l, T(" → "+st.Version))
	}
	l = append(l, T(": "+strings.TrimPrefix(sr.Summary, st.Name+": ")))
	for _, bl := range sr.Blocks {
		for _, f := range bl.Fields {
			if f.Label == "Progress" {
				l = append(l, T(" · "+f.Value.Words().PlainText()))
			}
		}
	}
	if line := CountsLine(st); line != "" {
		l = append(l, T(" · "+line))
	}

	if w.stalled > 0 {
		l = append(l, T(" · no update for "+roughDuration(w.stalled)))
	}
	return l
}

// openTTL is how long a channel remembers it was reminded about an
// environment, so that it gets one "all clear" when the work is done. Any
// replica may set or clear that mark: it is held by progress.SharedToken.
const openTTL = 60 * 24 * time.Hour

// remindOpenKey marks that channel was reminded about env and awaits its all-clear.
func remindOpenKey(channel, env string) string { return "remind-open:" + channel + ":" + env }

// allClearAnnounced notes that channel was just told env is all clear (a
// response's announcement or milestone), so its next scheduled reminder
// does not say it again. Other channels following env keep their mark:
// they were not told.
func (b *Bot) allClearAnnounced(ctx context.Context, workspace, channel, env string) {
	env, err := progress.NormalizeEnvironment(env)
	if err != nil || channel == "" {
		return
	}
	if err := b.store.Release(ctx, workspace, remindOpenKey(channel, env), progress.SharedToken); err != nil {
		b.log.Warn("cannot note the all-clear already announced; the next reminder may say it again", "channel", channel, "env", env, "err", err)
	}
}

// pendingAllClear is the all-clear a channel reminded of st's work has not
// had yet; nil when it is not due (work left, no outcome of the
// preparation yet, or not reminded). After posting it, call posted.
func (b *Bot) pendingAllClear(ctx context.Context, workspace, channel string, st progress.Status) (r *Reply, posted func(context.Context) error, err error) {
	if !finished(st) || st.State.Normal() == progress.StateFollowing {
		return nil, nil, nil // with no outcome of the preparation yet, the all-clear waits for it
	}
	key := remindOpenKey(channel, st.Name)
	if awaiting, err := b.store.Held(ctx, workspace, key); err != nil || !awaiting {
		return nil, nil, err
	}
	return b.clearedIn(st.Name, st.State), func(ctx context.Context) error { return b.store.Release(ctx, workspace, key, progress.SharedToken) }, nil
}

// markReminded notes that channel was reminded of env: it awaits its all-clear.
func (b *Bot) markReminded(ctx context.Context, workspace, channel, env string) error {
	key := remindOpenKey(channel, env)
	if ok, err := b.store.Renew(ctx, workspace, key, progress.SharedToken, openTTL); ok || err != nil {
		return err
	}
	_, err := b.store.Claim(ctx, workspace, key, progress.SharedToken, openTTL)
	return err
}

// PauseReminders pauses the reminders of a channel the bot was removed
// from (or that was archived or deleted), saying so and how to resume.
func (b *Bot) PauseReminders(ctx context.Context, workspace, channel string, now time.Time) error {
	cs, err := b.store.ChannelSettings(ctx, workspace, channel)
	if err != nil || cs.Paused {
		return err
	}
	cs.Paused, cs.UpdatedAt, cs.UpdatedBy = true, now, ""
	// Shortened: the store keeps 200 characters of it, and b.cmd may be long.
	cs.PauseReason = Shorten(fmt.Sprintf("I was removed from this channel, or it was archived (noticed %s). They resume when I am invited back or it is unarchived, or with an admin's `%s remind on`.",
		b.when(now), b.cmd), 200)
	return b.store.SetChannelSettings(ctx, workspace, channel, cs)
}

// ResumeReminders resumes the reminders of a channel the bot is back in
// (invited again, or the channel unarchived), if PauseReminders paused
// them; reminders someone turned off stay off.
func (b *Bot) ResumeReminders(ctx context.Context, workspace, channel string) error {
	cs, err := b.store.ChannelSettings(ctx, workspace, channel)
	if err != nil || !cs.Paused || cs.UpdatedBy != "" {
		return err
	}
	cs.Paused, cs.PauseReason, cs.UpdatedAt = false, "", b.now()
	return b.store.SetChannelSettings(ctx, workspace, channel, cs)
}
