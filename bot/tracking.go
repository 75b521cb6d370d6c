package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/upgradebot/upgradebot/progress"
)

// statusModules is how many modules a status lists; the rest are counted.
const statusModules = 40

func (b *Bot) cmdTrack(ctx context.Context, c Command, args string) Response {
	def := b.lookup("track")
	fields := strings.Fields(UnescapeSlack(args))
	if len(fields) == 0 || len(fields) > 3 {
		return b.usageError(def, "Tell me which environment to follow.")
	}
	if b.member != nil {
		in, err := b.member.InChannel(ctx, c.Channel)
		if err != nil {
			b.log.Warn("could not check channel membership", "channel", c.Channel, "err", err)
		} else if !in {
			return private(errorReply("I'm not in this channel yet, so I can't read the errors pasted here. Invite me with `/invite @upgradebot` (or the channel's Integrations → Add apps), then run the command again."))
		}
	}
	req := progress.TrackRequest{Workspace: c.Workspace, Environment: fields[0], Channel: c.Channel, Actor: c.User, At: b.now()}
	for _, f := range fields[1:] {
		switch strings.ToLower(f) {
		case "cloud":
			req.InstallType = progress.InstallCloud
		case "self-managed", "selfmanaged", "on-prem", "onprem", "on-premises":
			req.InstallType = progress.InstallSelfManaged
		default:
			if !versionLike(f) {
				return b.usageError(def, fmt.Sprintf("%q is neither a version (like 11.31.0) nor an installation type (cloud or self-managed).", truncate(f, 40)))
			}
			req.Version = f
		}
	}
	res, err := b.store.Track(ctx, req)
	if err != nil {
		return private(b.storeError("track", err))
	}
	env, _ := progress.NormalizeEnvironment(fields[0])
	if !res.Created && !res.Followed && !res.Updated {
		r := errorReply(fmt.Sprintf("This channel already follows %s.", env))
		b.reminderNote(ctx, c, r)
		return private(r)
	}
	verb := "now follows"
	if !res.Followed {
		verb = "updated"
	}
	r := &Reply{Summary: fmt.Sprintf("This channel %s %s", verb, env)}
	l := Line{M(c.User), T(" set this channel to follow "), B(env)}
	if !res.Followed {
		l = Line{M(c.User), T(" updated "), B(env)}
	}
	if req.Version != "" {
		l = append(l, T(" (target Platform Server "+req.Version+")"))
	}
	if req.InstallType != "" {
		l = append(l, T(", "+string(req.InstallType)))
	}
	r.Section(append(l, T(".")), Line{T("Paste modules-preparation errors and Service Center banners here and I'll keep "), B(env), T("'s list of modules to republish. "), C(b.cmd + " status " + env), T(" shows it.")})
	b.reminderNote(ctx, c, r)
	return Response{Announce: r}
}

// reminderNote adds the channel's next reminder, or why reminders are paused, to r.
func (b *Bot) reminderNote(ctx context.Context, c Command, r *Reply) {
	if b.sched == nil {
		return
	}
	if next := b.sched.Next(ctx, c.Workspace, c.Channel); next != "" {
		r.Context(Line{T(next)})
	}
}

func versionLike(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '.') {
			return false
		}
	}
	return strings.Contains(s, ".")
}

func (b *Bot) cmdUntrack(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(UnescapeSlack(args))
	if len(fields) != 1 {
		return b.usageError(b.lookup("untrack"), "Tell me which environment to stop following.")
	}
	ok, err := b.store.Untrack(ctx, c.Workspace, fields[0], c.Channel, c.User)
	if err != nil {
		return private(b.storeError("untrack", err))
	}
	env, _ := progress.NormalizeEnvironment(fields[0])
	if !ok {
		return private(errorReply(fmt.Sprintf("This channel does not follow %s.", env)))
	}
	r := &Reply{Summary: "This channel no longer follows " + env}
	r.Section(Line{M(c.User), T(" stopped following "), B(env), T(" in this channel; its history is kept.")})
	return Response{Announce: r}
}

// resolveEnv picks the environment a command means: the one named, else
// the channel's only one. modules, when given, can settle it among several.
func (b *Bot) resolveEnv(ctx context.Context, c Command, named string, modules []string) (string, *Reply) {
	if named != "" {
		env, err := progress.NormalizeEnvironment(named)
		if err != nil {
			return "", b.storeError("environment", err)
		}
		return env, nil
	}
	envs, err := b.store.ChannelEnvironments(ctx, c.Workspace, c.Channel)
	if err != nil {
		return "", b.storeError("list environments", err)
	}
	switch len(envs) {
	case 0:
		return "", errorReply("No environment is followed in this channel. Start with `" + b.cmd + " track <env>`, or name one: `" + b.cmd + " status prod`.")
	case 1:
		return envs[0].Name, nil
	}
	if len(modules) > 0 {
		// The one environment that lists all these modules.
		var match []string
		for _, e := range envs {
			st, err := b.store.Status(ctx, c.Workspace, e.Name, -1)
			if err != nil {
				return "", b.storeError("status", err)
			}
			listed := map[string]bool{}
			for _, m := range st.Modules {
				listed[strings.ToLower(m.Name)] = true
			}
			all := true
			for _, m := range modules {
				all = all && listed[strings.ToLower(m)]
			}
			if all {
				match = append(match, e.Name)
			}
		}
		if len(match) == 1 {
			return match[0], nil
		}
	}
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Name
	}
	return "", errorReply(fmt.Sprintf("This channel follows %s: say which, e.g. `%s %s`.", strings.Join(names, ", "), b.cmd, "status "+names[0]))
}

func (b *Bot) cmdFailed(ctx context.Context, c Command, args string) Response {
	return b.addModules(ctx, c, args, "failed", progress.ReasonFailed)
}

func (b *Bot) cmdSkipped(ctx context.Context, c Command, args string) Response {
	return b.addModules(ctx, c, args, "skipped", progress.ReasonSkipped)
}

func (b *Bot) addModules(ctx context.Context, c Command, args, name string, reason progress.Reason) Response {
	def := b.lookup(name)
	envName, rest := splitEnvPrefix(args)
	mods := moduleNames(b.engine, rest)
	if len(mods) == 0 {
		return b.usageError(def, "Name at least one module.")
	}
	env, errR := b.resolveEnv(ctx, c, envName, nil)
	if errR != nil {
		return private(errR)
	}
	res, err := b.store.Apply(ctx, c.Workspace, env, progress.Change{Kind: progress.ChangeAddModules, Key: "cmd:" + c.ID, Actor: c.User, Reason: reason, Modules: mods, At: b.now()})
	if err != nil {
		return private(b.storeError("record", err))
	}
	if res.Duplicate {
		return Response{}
	}
	added := append(append([]string{}, res.Added...), res.Updated...)
	if len(added) == 0 {
		return private(errorReply(fmt.Sprintf("Already on %s's list: nothing changed.", env)))
	}
	r := &Reply{Summary: fmt.Sprintf("%d %s module(s) added to %s", len(added), name, env)}
	l := append(Line{M(c.User), T(" reported " + plural(len(added), name+" module", name+" modules") + " on "), B(env), T(": ")}, nameSpans(added, 10)...)
	r.Section(append(l, T(fmt.Sprintf(". %d to republish.", res.Remaining))))
	return Response{Announce: r}
}

func (b *Bot) cmdDone(ctx context.Context, c Command, args string) Response {
	def := b.lookup("done")
	envName, rest := splitEnvPrefix(args)
	all := strings.EqualFold(strings.TrimSpace(rest), "all")
	var mods []string
	if !all {
		if mods = moduleNames(b.engine, rest); len(mods) == 0 {
			return b.usageError(def, "Name the modules you republished, or `all`.")
		}
	}
	env, errR := b.resolveEnv(ctx, c, envName, mods)
	if errR != nil {
		return private(errR)
	}
	return b.markDone(ctx, c.Workspace, env, c.User, "cmd:"+c.ID, mods, all)
}

func (b *Bot) markDone(ctx context.Context, workspace, env, user, key string, mods []string, all bool) Response {
	res, err := b.store.Apply(ctx, workspace, env, progress.Change{Kind: progress.ChangeDone, Key: key, Actor: user, Modules: mods, All: all, At: b.now()})
	if err != nil {
		return private(b.storeError("record", err))
	}
	if res.Duplicate {
		return Response{}
	}
	if len(res.Removed) == 0 {
		msg := fmt.Sprintf("None of those modules is on %s's list.", env)
		if all {
			msg = fmt.Sprintf("%s has no modules to republish.", env)
		}
		return private(errorReply(msg))
	}
	r := &Reply{Summary: fmt.Sprintf("%d module(s) republished on %s", len(res.Removed), env)}
	l := append(Line{M(user), T(" republished ")}, nameSpans(res.Removed, 10)...)
	l = append(l, T(" on "), B(env))
	if res.Remaining > 0 {
		l = append(l, T(fmt.Sprintf(": %d left.", res.Remaining)))
	} else {
		l = append(l, T("."))
	}
	r.Section(l)
	if len(res.NotFound) > 0 {
		r.Context(append(Line{T("Not on the list: ")}, nameSpans(res.NotFound, 10)...))
	}
	if res.BecameEmpty {
		r.Blocks = append(r.Blocks, b.clearedBlocks(ctx, workspace, env)...)
	}
	return Response{Announce: r}
}

// clearedBlocks says the list is empty: all clear, unless Service Center
// counted failed or skipped modules nobody has named yet.
func (b *Bot) clearedBlocks(ctx context.Context, workspace, env string) []Block {
	st, err := b.store.Status(ctx, workspace, env, 0)
	if err == nil && st.Unnamed() > 0 {
		r := &Reply{}
		r.Context(Line{T(fmt.Sprintf("The list is empty, but Service Center counted %s failed or skipped that nobody has named yet: ", plural(st.Unnamed(), "more module", "more modules"))), C(b.cmd + " failed <module>"), T(".")})
		return r.Blocks
	}
	return b.allClear(env).Blocks
}

func (b *Bot) cmdReset(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(UnescapeSlack(args))
	if len(fields) != 1 {
		return b.usageError(b.lookup("reset"), "Tell me which environment starts a new upgrade.")
	}
	env, err := progress.NormalizeEnvironment(fields[0])
	if err != nil {
		return private(b.storeError("reset", err))
	}
	if _, err := b.store.Apply(ctx, c.Workspace, env, progress.Change{Kind: progress.ChangeReset, Key: "cmd:" + c.ID, Actor: c.User, At: b.now()}); err != nil {
		return private(b.storeError("reset", err))
	}
	r := &Reply{Summary: env + " reset for a new upgrade"}
	r.Section(Line{M(c.User), T(" started a new upgrade of "), B(env), T(": state, counts and modules cleared; history kept.")})
	return Response{Announce: r}
}

func (b *Bot) cmdEnvs(ctx context.Context, c Command, _ string) Response {
	envs, err := b.store.Environments(ctx, c.Workspace)
	if err != nil {
		return private(b.storeError("list environments", err))
	}
	if len(envs) == 0 {
		return private(errorReply("No environments tracked yet. `" + b.cmd + " track <env>` starts."))
	}
	r := &Reply{Summary: fmt.Sprintf("%d environment(s)", len(envs))}
	var lines []Line
	for _, e := range envs {
		l := Line{B(e.Name), T(" — " + stateText(e.State))}
		if e.Version != "" {
			l = append(l, T(", PS "+e.Version))
		}
		if len(e.Channels) > 0 {
			l = append(l, T(fmt.Sprintf(", followed in %d channel(s)", len(e.Channels))))
		}
		lines = append(lines, l)
	}
	r.Section(lines...)
	return private(r)
}

func (b *Bot) cmdStatus(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(UnescapeSlack(args))
	if len(fields) > 1 {
		return b.usageError(b.lookup("status"), "Give one environment at most.")
	}
	var names []string
	if len(fields) == 1 {
		names = fields
	} else {
		envs, err := b.store.ChannelEnvironments(ctx, c.Workspace, c.Channel)
		if err != nil {
			return private(b.storeError("list environments", err))
		}
		if len(envs) == 0 {
			return private(errorReply("No environment is followed in this channel. Start with `" + b.cmd + " track <env>`, or name one: `" + b.cmd + " status prod`."))
		}
		for _, e := range envs {
			names = append(names, e.Name)
		}
	}
	r := &Reply{}
	for i, name := range names {
		st, err := b.store.Status(ctx, c.Workspace, name, statusModules)
		if err != nil {
			return private(b.storeError("status", err))
		}
		if i > 0 {
			r.Divider()
		}
		b.statusBlocks(r, st)
		if r.Summary == "" {
			r.Summary = statusSummary(st)
		}
	}
	if b.sched != nil {
		if next := b.sched.Next(ctx, c.Workspace, c.Channel); next != "" {
			r.Context(Line{T(next)})
		}
	}
	v, _ := json.Marshal(buttonValue{Env: strings.Join(names, ",")})
	r.Actions(Button{ActionID: ActionShare, Label: "Share in channel", Value: string(v)})
	return private(r)
}

// StatusReply renders one environment's status (also used by reminders).
func (b *Bot) StatusReply(st progress.Status) *Reply {
	r := &Reply{Summary: statusSummary(st)}
	b.statusBlocks(r, st)
	return r
}

func statusSummary(st progress.Status) string {
	s := fmt.Sprintf("%s: %s", st.Name, stateText(st.State))
	if st.ModuleCount > 0 {
		s += fmt.Sprintf(", %s to republish", plural(st.ModuleCount, "module", "modules"))
	}
	return s
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
	}
	return "no news yet"
}

// ProgressBar draws a ten-cell bar for a fraction in [0, 1].
func ProgressBar(f float64) string {
	f = min(max(f, 0), 1)
	n := int(f*10 + 0.5)
	return strings.Repeat("█", n) + strings.Repeat("░", 10-n)
}

func (b *Bot) statusBlocks(r *Reply, st progress.Status) {
	title := st.Name
	if st.Version != "" {
		title += " → Platform Server " + st.Version
	}
	r.Header(title)
	var fields []Field
	fields = append(fields, Field{Label: "State", Value: Line{T(stateText(st.State))}})
	switch {
	case st.State == progress.StatePreparing && st.Preparation.Percent != nil:
		p := *st.Preparation.Percent
		v := fmt.Sprintf("%s %d%%", ProgressBar(float64(p)/100), p)
		if st.Preparation.Expected != "" {
			v += ", ready at " + st.Preparation.Expected
		}
		fields = append(fields, Field{Label: "Progress", Value: Line{T(v)}})
	case st.State == progress.StatePreparing && st.Preparation.Current != nil && st.Preparation.Total != nil && *st.Preparation.Total > 0:
		cur, tot := *st.Preparation.Current, *st.Preparation.Total
		fields = append(fields, Field{Label: "Progress", Value: Line{T(fmt.Sprintf("%s module %d of %d", ProgressBar(float64(cur)/float64(tot)), cur, tot))}})
	case st.Counts.Known():
		prepared, failed, skipped := derefInt(st.Counts.Prepared), derefInt(st.Counts.Failed), derefInt(st.Counts.Skipped)
		total := prepared + failed + skipped
		if total > 0 {
			// Republished modules count as done too.
			done := prepared + max(0, failed+skipped-st.ModuleCount-st.Unnamed())
			fields = append(fields, Field{Label: "Progress", Value: Line{T(fmt.Sprintf("%s %d of %d modules ok", ProgressBar(float64(done)/float64(total)), done, total))}})
		}
	}
	if st.Counts.Known() {
		fields = append(fields, Field{Label: "Service Center counts", Value: Line{T(fmt.Sprintf("%s prepared, %s failed, %s skipped", countText(st.Counts.Prepared), countText(st.Counts.Failed), countText(st.Counts.Skipped)))}})
	}
	if st.InstallType != "" {
		fields = append(fields, Field{Label: "Installation", Value: Line{T(string(st.InstallType))}})
	}
	if !st.UpdatedAt.IsZero() {
		v := Line{T(st.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"))}
		if st.UpdatedBy != "" {
			v = append(v, T(" by "), M(st.UpdatedBy))
		}
		fields = append(fields, Field{Label: "Last update", Value: v})
	}
	r.Fields(fields...)
	if st.ModuleCount == 0 {
		r.Section(Line{T("No modules to republish.")})
	} else {
		r.Section(Line{B(fmt.Sprintf("To republish (%d), in this order:", st.ModuleCount))})
		var lines []Line
		used := 0
		for _, m := range st.Modules {
			l := Line{C(m.Name), T(" — " + reasonText(m.Reason))}
			if m.ReportedBy != "" {
				l = append(l, T(", reported by "), M(m.ReportedBy))
			}
			// Stay inside one section's 3,000 characters, leaving room for the numbering.
			n := len(l.PlainText()) + 24
			if used+n > MaxSectionChars-100 {
				break
			}
			used += n
			lines = append(lines, l)
		}
		r.List(lines...)
		if left := st.ModuleCount - len(lines); left > 0 {
			r.Context(Line{T(fmt.Sprintf("… and %d more not shown (%s)", left, b.cmd+" export "+st.Name+" lists every change"))})
		}
	}
	if n := st.Unnamed(); n > 0 {
		r.Context(Line{T(fmt.Sprintf("Service Center counted %s failed or skipped that nobody has named yet: check its Error Log and use ", plural(n, "module", "modules"))), C(b.cmd + " failed <module>"), T(".")})
	}
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

func (b *Bot) historyEnv(ctx context.Context, c Command, args string) (string, []string, *Reply) {
	fields := strings.Fields(UnescapeSlack(args))
	var named string
	if len(fields) > 0 {
		named = fields[0]
	}
	env, errR := b.resolveEnv(ctx, c, named, nil)
	return env, fields, errR
}

func (b *Bot) cmdHistory(ctx context.Context, c Command, args string) Response {
	env, _, errR := b.historyEnv(ctx, c, args)
	if errR != nil {
		return private(errR)
	}
	entries, err := b.store.History(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("history", err))
	}
	r := &Reply{Summary: fmt.Sprintf("History of %s: %d entries", env, len(entries))}
	r.Header("History of " + env)
	const show = 25
	start := max(0, len(entries)-show)
	var lines []Line
	for _, e := range entries[start:] {
		l := Line{T(e.Time.UTC().Format("01-02 15:04") + " ")}
		if e.Actor != "" {
			l = append(l, M(e.Actor), T(" "))
		}
		lines = append(lines, append(l, T(e.Action+": "+e.Detail)))
	}
	if len(lines) == 0 {
		lines = append(lines, Line{T("Nothing recorded yet.")})
	}
	r.Section(lines...)
	if start > 0 {
		r.Context(Line{T(fmt.Sprintf("%d older entries: ", start)), C(b.cmd + " export " + env), T(" has them all.")})
	}
	return private(r)
}

func (b *Bot) cmdExport(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(UnescapeSlack(args))
	format := "md"
	if n := len(fields); n > 0 && (strings.EqualFold(fields[n-1], "csv") || strings.EqualFold(fields[n-1], "md") || strings.EqualFold(fields[n-1], "markdown")) {
		format = strings.ToLower(fields[n-1])
		fields = fields[:n-1]
	}
	if len(fields) > 1 {
		return b.usageError(b.lookup("export"), "Give one environment and optionally md or csv.")
	}
	env, _, errR := b.historyEnv(ctx, c, strings.Join(fields, " "))
	if errR != nil {
		return private(errR)
	}
	entries, err := b.store.History(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("export", err))
	}
	var buf bytes.Buffer
	f := &File{Title: "Upgrade history of " + env}
	if format == "csv" {
		err = progress.WriteHistoryCSV(&buf, entries)
		f.Name, f.Type = fmt.Sprintf("upgrade-%s-%s.csv", env, b.now().UTC().Format("20060102")), "csv"
	} else {
		err = progress.WriteHistoryMarkdown(&buf, env, entries)
		f.Name, f.Type = fmt.Sprintf("upgrade-%s-%s.md", env, b.now().UTC().Format("20060102")), "markdown"
	}
	if err != nil {
		return private(b.storeError("export", err))
	}
	f.Content = buf.Bytes()
	r := &Reply{Summary: fmt.Sprintf("History of %s (%d entries) as %s", env, len(entries), f.Name)}
	r.Section(Line{T("History of "), B(env), T(fmt.Sprintf(": %d entries, in ", len(entries))), C(f.Name), T(".")})
	return Response{Reply: r, Private: true, File: f}
}

func (b *Bot) cmdRemind(ctx context.Context, c Command, args string) Response {
	def := b.lookup("remind")
	if b.sched == nil {
		return private(errorReply("Reminders are not available in this mode."))
	}
	spec := strings.TrimSpace(UnescapeSlack(args))
	if spec == "" {
		return b.usageError(def, "Give a schedule, `off` or `now`.")
	}
	if strings.EqualFold(spec, "now") {
		r, err := b.sched.Now(ctx, c.Workspace, c.Channel)
		if err != nil {
			return private(b.storeError("reminder", err))
		}
		if r == nil {
			return private(errorReply("Nothing is outstanding in the environments this channel follows: no reminder to post."))
		}
		return Response{Announce: r}
	}
	desc, err := b.sched.Set(ctx, c.Workspace, c.Channel, spec, c.User)
	if err != nil {
		if errors.Is(err, progress.ErrUnavailable) {
			return private(b.storeError("schedule", err))
		}
		return b.usageError(def, err.Error())
	}
	r := &Reply{Summary: desc}
	r.Section(Line{M(c.User), T(" " + desc)})
	return Response{Announce: r}
}

// Home is the App Home view: every environment's state and modules to republish.
func (b *Bot) Home(ctx context.Context, workspace string) *Reply {
	r := &Reply{Summary: "upgradebot"}
	r.Header("Upgrades in this workspace")
	envs, err := b.store.Environments(ctx, workspace)
	if err != nil {
		r.Blocks = append(r.Blocks, b.storeError("home", err).Blocks...)
		return r
	}
	if len(envs) == 0 {
		r.Section(Line{T("No environment is tracked yet. In a channel, "), C(b.cmd + " track prod 11.31.0"), T(" starts following one.")})
		return r
	}
	// Ten modules per environment keeps a workspace of many environments within the view's 100 blocks.
	for i, e := range envs {
		if i > 0 {
			r.Divider()
		}
		st, err := b.store.Status(ctx, workspace, e.Name, 10)
		if err != nil {
			r.Blocks = append(r.Blocks, b.storeError("home", err).Blocks...)
			return r
		}
		b.statusBlocks(r, st)
	}
	return r
}

// HandleAction handles a button click.
func (b *Bot) HandleAction(ctx context.Context, a Action) Response {
	kind, _, _ := strings.Cut(a.ActionID, ":")
	switch kind {
	case ActionMarkDone:
		var v buttonValue
		if json.Unmarshal([]byte(a.Value), &v) != nil || v.Module == "" {
			return private(errorReply("That button is out of date; use `" + b.cmd + " done <module>`."))
		}
		env := v.Env
		if env == "" {
			var errR *Reply
			if env, errR = b.resolveEnv(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User}, "", []string{v.Module}); errR != nil {
				return private(errR)
			}
		}
		return b.markDone(ctx, a.Workspace, env, a.User, "btn:"+a.ID, []string{v.Module}, false)
	case ActionShowStatus, ActionShare:
		var v buttonValue
		_ = json.Unmarshal([]byte(a.Value), &v)
		resp := b.cmdStatus(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: a.ID}, strings.ReplaceAll(firstEnv(v.Env), ",", " "))
		if kind == ActionShare && resp.Reply != nil {
			// Shared: everyone sees it, without the share button.
			shared := *resp.Reply
			shared.Blocks = shared.Blocks[:len(shared.Blocks)-1]
			shared.Context(Line{T("Shared by "), M(a.User)})
			return Response{Announce: &shared}
		}
		return resp
	case ActionChooseEnv:
		var v envChoice
		var p pendingChoice
		if json.Unmarshal([]byte(a.Value), &v) != nil || json.Unmarshal(v.Pending, &p) != nil {
			return private(errorReply("That button is out of date; paste the message again starting with `prod:` (your environment)."))
		}
		out := b.apply(ctx, a.Workspace, v.Env, a.User, p.Key, p.Changes, false, recordOutcome{})
		for _, more := range p.More {
			if out.err != nil {
				break
			}
			out = b.apply(ctx, a.Workspace, v.Env, a.User, more.Key, more.Changes, false, out)
		}
		if out.err != nil {
			return private(out.err)
		}
		r := &Reply{Summary: "Recorded for " + v.Env}
		if len(out.lines) == 0 {
			out.lines = []Line{{T("Already recorded for "), B(v.Env), T(".")}}
		}
		r.Context(out.lines...)
		resp := Response{Reply: r}
		if out.cleared {
			resp.Announce = b.allClear(v.Env)
		}
		return resp
	}
	return private(errorReply("I don't know that button any more."))
}

func firstEnv(s string) string {
	first, _, _ := strings.Cut(s, ",")
	return first
}
