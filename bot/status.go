package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// statusModules is how many modules a status lists; the rest are counted.
const statusModules = 40

// maxListChars bounds the text of a status's module list: what one chat
// section shows (Slack's hold 3,000 characters), less room for numbering.
const maxListChars = 2900

func (b *Bot) cmdStatus(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(args)
	if len(fields) > 1 {
		return b.usageError(b.lookup("status"), "Give one environment at most.")
	}
	r, errR := b.status(ctx, c, fields)
	if errR != nil {
		return private(errR)
	}
	return private(r)
}

// status shows the environments named (every one the channel follows when
// none is), ending with a button that shares them all in the channel.
// The second reply is an error.
func (b *Bot) status(ctx context.Context, c Command, names []string) (*Reply, *Reply) {
	if len(names) == 0 {
		envs, err := b.store.ChannelEnvironments(ctx, c.Workspace, c.Channel)
		if err != nil {
			return nil, b.storeError("list environments", err)
		}
		if len(envs) == 0 {
			return nil, b.noEnvironment(ctx, c)
		}
		for _, e := range envs {
			names = append(names, e.Name)
		}
	}
	r := &Reply{}
	remind := false // an environment shown gets this channel's next reminder
	var more []string
	for i, name := range names {
		st, err := b.store.Status(ctx, c.Workspace, name, statusModules)
		if err != nil {
			return nil, b.storeError("status", err)
		}
		part := &Reply{}
		x := b.extra(ctx, c.Workspace, name)
		x.full = true
		b.statusBlocks(part, st, x)
		followed := slices.Contains(st.Channels, c.Channel)
		s, snoozed := b.snoozed(ctx, c.Workspace, c.Channel, st.Environment, b.now())
		switch {
		case snoozed:
			part.Context(b.snoozeLine(s))
		case !followed && !st.Finished():
			part.Context(Line{T(":information_source: This channel does not follow "), B(st.Name), T(", so its reminders are not posted here; "),
				C(b.cmd + " track " + st.Name), T(" follows it here.")})
		}
		if i > 0 && (len(more) > 0 || !fits(r, part, messageBlocks)) {
			more = append(more, name)
			continue
		}
		if i > 0 {
			r.Divider()
		}
		remind = remind || followed && !snoozed && !st.Finished()
		r.Blocks = append(r.Blocks, part.Blocks...)
		if r.Summary == "" {
			r.Summary = statusSummary(st)
		}
	}
	if len(more) > 0 {
		r.Context(notShown(fmt.Sprintf("… and %s not shown here: ", plural(len(more), "more environment", "more environments")), more,
			C(b.cmd+" status "+more[0]), T(" shows one.")))
	}
	if remind {
		b.reminderNote(ctx, c, r)
	}
	command := statusCommand("") // every environment followed here
	if len(names) == 1 {
		command = statusCommand(names[0])
	}
	r.Actions(Button{ActionID: ActionShare, Label: "Share in channel", Value: buttonValue{Env: strings.Join(names, ",")}.String(), Command: command})
	return r, nil
}

// StatusReply renders one environment's status (also used by reminders).
func (b *Bot) StatusReply(st progress.Status) *Reply {
	r := &Reply{Summary: statusSummary(st)}
	b.statusBlocks(r, st, statusExtra{})
	return r
}

func statusSummary(st progress.Status) string {
	s := fmt.Sprintf("%s: %s", st.Name, stateText(st.State))
	if st.ModuleCount > 0 {
		s += fmt.Sprintf(", %s to republish", plural(st.ModuleCount, "module", "modules"))
	}
	if republishAll(st.Environment) {
		s += ", all applications to republish"
	}
	return s
}

// republishAllLine says that env's upgrade means republishing every
// application, and what closes it.
func (b *Bot) republishAllLine(env progress.Environment) Line {
	return Line{T(":warning: "), B(env.Name), T(" is upgraded from Platform Server " + env.FromVersion + ": upgrades from Platform Server 10 or earlier do not prepare the modules, so republish all applications right after the upgrade, producers before consumers. "),
		C(b.cmd + " done " + env.Name + ": all"), T(" says they are.")}
}

// publishAllAdvised reports whether env is upgraded from Platform Server
// 11.10.0 or earlier (but 11): the modules are prepared, yet OutSystems
// advises publishing every application (see publishAllLine).
func publishAllAdvised(env progress.Environment) bool {
	return env.FromVersion != "" && !env.FromBefore11() && progress.CompareVersions(env.FromVersion, "11.10.0") <= 0
}

// publishAllLine is OutSystems' advice for an upgrade from 11.10.0 or earlier.
func publishAllLine(env progress.Environment) Line {
	return Line{T(":information_source: "), B(env.Name), T(" is upgraded from Platform Server " + env.FromVersion + ": after an upgrade from 11.10.0 or earlier, OutSystems advises publishing all applications, not only the modules on the list, because applications compiled before it use more CPU on the front-ends until they are republished.")}
}

func stateText(s progress.State) string {
	switch s {
	case progress.StatePreparing:
		return "modules preparation running"
	case progress.StateFinishedWithErrors:
		return "preparation finished with errors"
	case progress.StateFailed:
		return "preparation failed"
	case progress.StateReady:
		return "ready"
	case progress.StateRepublishing:
		return "republishing modules"
	case progress.StateDone:
		return "done"
	}
	return "no news of the preparation yet"
}

// DefaultStall is how long a preparation may go without news before the
// status and (by default) the reminders say it may be stuck.
const DefaultStall = 2 * time.Hour

// ProgressBar draws a ten-cell bar for a fraction in [0, 1]: full only at
// 1 and empty only at 0, so that it never hides what is left or done.
func ProgressBar(f float64) string {
	f = min(max(f, 0), 1)
	n := int(f*10 + 0.5)
	switch {
	case n == 10 && f < 1:
		n = 9
	case n == 0 && f > 0:
		n = 1
	}
	return strings.Repeat("█", n) + strings.Repeat("░", 10-n)
}

// progressLine is progress in words, then as a bar: a screen reader
// reading the line says the words first.
func progressLine(words string, f float64) Line {
	return Line{T(words), {Text: " " + ProgressBar(f), Style: Graphic}}
}

// statusBlocks adds st's status to r, with the owners of its modules and
// the upgrade's start when x has them; x.full is the status command's (more
// modules than it shows are in the export), else a part of another reply.
func (b *Bot) statusBlocks(r *Reply, st progress.Status, x statusExtra) {
	r.Header(incidentTitle(st))
	var fields []Field
	fields = append(fields, Field{Label: "State", Value: Line{T(stateText(st.State))}})
	if f, ok := b.runningField(st, x); ok {
		fields = append(fields, f)
	}
	switch {
	case st.State == progress.StatePreparing && st.Preparation.Percent != nil:
		p := *st.Preparation.Percent
		v := fmt.Sprintf("%d%%", p)
		if st.Preparation.Expected != "" {
			v += ", ready at " + st.Preparation.Expected + " by Service Center's clock"
		}
		fields = append(fields, Field{Label: "Progress", Value: progressLine(v, float64(p)/100)})
	case st.State == progress.StatePreparing && st.Preparation.Current != nil && st.Preparation.Total != nil && *st.Preparation.Total > 0:
		cur, tot := *st.Preparation.Current, *st.Preparation.Total
		fields = append(fields, Field{Label: "Progress", Value: progressLine(fmt.Sprintf("module %d of %d", cur, tot), float64(cur)/float64(tot))})
	case st.Counts.Known():
		prepared, failed, skipped := derefInt(st.Counts.Prepared), derefInt(st.Counts.Failed), derefInt(st.Counts.Skipped)
		// More modules named failed or skipped than Service Center counted
		// count as they are named: the list and the progress agree.
		total := prepared + max(failed+skipped, st.NamedFailedSkipped)
		if total > 0 {
			// Republished modules count as done too.
			done := prepared + max(0, total-prepared-st.ModuleCount-st.Unnamed())
			fields = append(fields, Field{Label: "Progress", Value: progressLine(fmt.Sprintf("%d of %d modules ok", done, total), float64(done)/float64(total))})
		}
	}
	if st.Counts.Known() {
		fields = append(fields, Field{Label: "Service Center counts", Value: Line{T(countsText(st))}})
	}
	if st.FromVersion != "" {
		fields = append(fields, Field{Label: "Upgraded from", Value: Line{T("Platform Server " + st.FromVersion)}})
	}
	if st.InstallType != "" {
		fields = append(fields, Field{Label: "Installation", Value: Line{T(string(st.InstallType))}})
	}
	if !st.UpdatedAt.IsZero() {
		v := Line{T(b.when(st.UpdatedAt))}
		if st.UpdatedBy != "" && !x.quiet { // a reminder, posted anew, would ping them each time
			v = append(v, T(" by "), M(st.UpdatedBy))
		}
		fields = append(fields, Field{Label: "Last update", Value: v})
	}
	r.Fields(fields...)
	if at := preparationNews(st); !x.quiet && st.State == progress.StatePreparing && !at.IsZero() && b.now().Sub(at) > DefaultStall {
		d := b.now().Sub(at)
		// As the reminders say it (they say it in their own words).
		r.Context(Line{T(fmt.Sprintf(":hourglass: No news of the preparation for %s: check in Service Center that it is still progressing, and paste its latest status here.", roughDuration(d)))})
	}
	if republishAll(st.Environment) {
		r.Section(b.republishAllLine(st.Environment))
	}
	if publishAllAdvised(st.Environment) {
		r.Context(publishAllLine(st.Environment))
	}
	if line := CountsLine(st); line != "" {
		r.Section(Line{T(line)})
	}
	if st.State == progress.StateFailed && !st.FromBefore11() {
		r.Section(b.failedAdvice(st))
	}
	unnamed := st.Unnamed()
	switch {
	case st.ModuleCount == 0 && unnamed == 0 && st.State == progress.StatePreparing:
		r.Section(Line{T("No modules to republish yet: the modules preparation is still running.")})
	case st.ModuleCount == 0 && errorsUnknown(st):
		r.Section(Line{T("Modules failed the preparation, and none is named or counted yet: paste Service Center's summary (\"… modules prepared successfully, … failed …\") or the Error Log rows here, or "),
			C(b.cmd + " failed " + st.Name + ": <module>"), T(".")})
	case st.ModuleCount == 0 && unnamed == 0:
		r.Section(Line{T("No modules to republish.")})
	case st.ModuleCount == 0:
		r.Section(Line{B(fmt.Sprintf("To republish: %s that Service Center counted and nobody has named yet.", plural(unnamed, "module", "modules")))})
	default:
		mods, learned := republishOrder(st.Modules, st.Edges)
		r.Section(Line{B(fmt.Sprintf("To republish (%d), in this order:", st.ModuleCount))})
		var lines []Line
		var freed, left []string // shown modules whose taker left the workspace, and who
		used := 0
		for _, m := range mods {
			l := Line{C(m.Name), T(" — " + reasonText(m.Reason))}
			if m.Producer && m.Reason != progress.ReasonProducerNotPrepared {
				l = append(l, T(", and "+reasonText(progress.ReasonProducerNotPrepared)))
			}
			if m.ReportedBy != "" && !x.quiet {
				l = append(l, T(", reported by "), M(m.ReportedBy))
			}
			o, gone := x.owners.taker(m.Name)
			if o != "" {
				l = append(l, T(", taken by "), M(o))
			}
			n := len(l.PlainText()) + 24
			if used+n > maxListChars {
				break
			}
			used += n
			lines = append(lines, l)
			if gone != "" {
				freed = append(freed, m.Name)
				if !slices.Contains(left, gone) {
					left = append(left, gone)
				}
			}
		}
		r.List(lines...)
		if len(left) > 0 {
			// As reminders show them: anyone's to take, and who left is named.
			l := append(Line{T("Left the workspace: ")}, mentionList(left)...)
			l = append(append(l, T(". The modules they took are anyone's now: ")), nameSpans(freed, 8)...)
			r.Context(append(l, T(". "), C(b.cmd+" take "+st.Name+": "+commandName(freed[0])), T(" takes one.")))
		}
		switch {
		case learned:
			r.Context(Line{T("Order: producers before their consumers, as pasted Error Log rows showed; otherwise producers not prepared first, then failed modules, then the others, oldest first.")})
		case len(lines) > 1:
			r.Context(Line{T("Order: producers not prepared first, then failed modules, then the others, oldest first; no producer → consumer pairs are known among these yet.")})
		}
		if left := st.ModuleCount - len(lines); left > 0 {
			// The status command lists statusModules: point to it only when it shows more than this.
			more := Line{T(fmt.Sprintf("… and %d more not shown: ", left)), C(b.cmd + " export " + st.Name), T(" lists every module.")}
			switch fuller := !x.full && len(st.Modules) < min(st.ModuleCount, statusModules); {
			case fuller && st.ModuleCount <= statusModules:
				more = Line{T(fmt.Sprintf("… and %d more: ", left)), C(b.cmd + " status " + st.Name), T(" lists them.")}
			case fuller:
				more = Line{T(fmt.Sprintf("… and %d more: ", left)), C(b.cmd + " status " + st.Name), T(" shows more, "), C(b.cmd + " export " + st.Name), T(" every module.")}
			}
			r.Context(more)
		}
	}
	if unnamed > 0 {
		r.Context(append(Line{T(fmt.Sprintf("Service Center counted %s that nobody has named yet: ", plural(unnamed, "module", "modules")))}, b.unnamedAdvice(st)...))
	}
}

// failedAdvice is what to do once the modules preparation failed.
func (b *Bot) failedAdvice(st progress.Status) Line {
	l := Line{B("The modules preparation failed."), T(" Service Center's \"Click here for more details\" opens the Error Log entry that says why. ")}
	if st.InstallType == progress.InstallCloud {
		return append(l, T("From Platform Server 11.17, run it again with Prepare in Factory > Upgrades and paste its progress here; before 11.17, or if it stops again, open a case with OutSystems Support with that entry."))
	}
	return append(l, T("Fix what it names and run the preparation again (paste its progress here), or open a case with OutSystems Support with that entry."))
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func reasonText(r progress.Reason) string {
	switch r {
	case progress.ReasonProducerNotPrepared:
		return "producer not prepared (republish it before its consumers)"
	case progress.ReasonNotUpgraded:
		return "not upgraded"
	}
	return string(r)
}
