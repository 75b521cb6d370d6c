package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/upgradebot/upgradebot/internal/suggest"
	"github.com/upgradebot/upgradebot/progress"
)

func (b *Bot) cmdTrack(ctx context.Context, c Command, args string) Response {
	def := b.lookup("track")
	args, yes := confirmed(args)
	if q := strings.IndexAny(args, `"'“”‘’`); q >= 0 {
		name := strings.Join(strings.Fields(strings.Trim(args[q:], ` "'“”‘’`)), "-")
		if i := strings.IndexAny(name, `"'“”‘’`); i >= 0 {
			name = name[:i]
		}
		return b.usageError(def, fmt.Sprintf("An environment's name is one word, without quotes or spaces: `%s track %s`, for example.", b.cmd, codeText(strings.ToLower(name))))
	}
	fields := strings.Fields(args)
	var from string
	if i := slices.IndexFunc(fields, func(f string) bool { return strings.EqualFold(f, "from") }); i >= 0 {
		if i != len(fields)-2 || !versionLike(fields[i+1]) {
			return b.usageError(def, "from takes the Platform Server version the environment is upgraded from, at the end: from 11.14.0.")
		}
		from, fields = fields[i+1], fields[:i]
	}
	if len(fields) == 0 {
		return b.usageError(def, "Tell me which environment to follow.")
	}
	if len(fields) > 3 {
		return b.usageError(def, fmt.Sprintf("Too many words (%s not understood): after the environment, track takes a version and an installation type, cloud or self-managed (one word), e.g. `%s track %s 11.31.0 self-managed`.", quotedList(fields[3:]), b.cmd, strings.ToLower(fields[0])))
	}
	if b.member != nil {
		in, err := b.member.InChannel(ctx, c.Channel)
		if err != nil {
			b.log.Warn("could not check channel membership", "channel", c.Channel, "err", err)
		} else if !in {
			return private(errorReply("I'm not in this channel yet, so I can't read the errors pasted here. Invite me with `/invite @upgradebot` (or the channel's Integrations → Add apps), then run the command again."))
		}
	}
	req := progress.TrackRequest{Workspace: c.Workspace, Environment: fields[0], Channel: c.Channel, FromVersion: from, Actor: c.User, At: b.now()}
	for _, f := range fields[1:] {
		switch strings.ToLower(f) {
		case "cloud":
			req.InstallType = progress.InstallCloud
		case "self-managed", "selfmanaged", "on-prem", "onprem", "on-premises":
			req.InstallType = progress.InstallSelfManaged
		default:
			if !versionLike(f) {
				return b.usageError(def, fmt.Sprintf("%q is neither a version (like 11.31.0) nor an installation type (cloud or self-managed).", Shorten(f, 40)))
			}
			req.Version = f
		}
	}
	if req.Version != "" && progress.CompareVersions(req.Version, firstPreparing) < 0 {
		env, _ := progress.NormalizeEnvironment(fields[0])
		return private(errorReply(fmt.Sprintf("Platform Server %s is older than %s, the first version whose upgrade prepares the modules, which is what I follow: give the version %s is upgraded to (like 11.31.0). The version it is upgraded from goes after from: %s track %s <version> from %s.",
			req.Version, firstPreparing, env, b.cmd, env, req.Version)))
	}
	if r := b.notNewer(ctx, req); r != nil {
		return private(r)
	}
	last, next := b.nextUpgrade(ctx, req)
	if next && !b.isAdmin(c.User) {
		// Starting it resets the finished upgrade, as reset does; a new
		// target on the finished one (--yes) would leave it done and refuse the next one's news.
		r := b.adminsOnly(fmt.Sprintf("%s's upgrade to Platform Server %s is done, and only upgradebot admins start its next one (to %s)",
			last.Name, last.Version, req.Version))
		if !b.follows(ctx, c.Workspace, c.Channel, last.Name) {
			r.Context(Line{T("To follow it here as it is: "), C(b.cmd + " track " + last.Name), T(".")})
		}
		return private(r)
	}
	if !yes {
		if next {
			return private(b.nextUpgradeQuestion(last, req, args))
		}
		if r := b.trackChanges(ctx, req, args); r != nil {
			return private(r)
		}
	}
	var nextUndo *undoable // the next upgrade's: a reset and new versions, taken back together
	if next {
		started := b.startedValue(ctx, c.Workspace, last.Name)
		res, err := b.store.Apply(ctx, c.Workspace, last.Name, progress.Change{Kind: progress.ChangeReset, Key: "cmd:" + c.ID, Actor: c.User, At: b.now()})
		if err != nil {
			return private(b.storeError("track", err))
		}
		if !res.Duplicate {
			b.releaseOwners(ctx, c.Workspace, last.Name, "cmd:"+c.ID, nil, true)
		}
		if last.FromVersion != "" { // else its undo could not clear it
			req.FromVersion = cmp.Or(req.FromVersion, last.Version)
		}
		nextUndo = &undoable{Env: last.Name, Keys: []string{"cmd:" + c.ID}, Admin: true, Started: started,
			Versions: &versionMove{Target: last.Version, From: last.FromVersion, NewTarget: req.Version, NewFrom: req.FromVersion}}
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
	// Not a change undo takes back: a plain undo after it says so rather
	// than take back the change before it (a module reported for the old
	// target, say), which the user no longer sees as the last.
	instead := fmt.Sprintf("`%s untrack %s` stops following it here", b.cmd, env)
	if res.Updated {
		instead = fmt.Sprintf("To set it back, run `%s track %s` again with what it said before (`%s history %s` shows it); ", b.cmd, env, b.cmd, env) + instead
	}
	if nextUndo == nil {
		b.lastNotUndoable(ctx, c, strings.Join(append([]string{"track", env}, strings.Fields(args)[1:]...), " "), instead)
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
	if next {
		l = Line{M(c.User), T(" started the next upgrade of "), B(env)}
	}
	if req.Version != "" {
		l = append(l, T(" (target Platform Server "+req.Version+")"))
	}
	if req.FromVersion != "" {
		l = append(l, T(", upgraded from "+req.FromVersion))
	}
	if req.InstallType != "" {
		l = append(l, T(", "+string(req.InstallType)))
	}
	r.Section(append(l, T(".")), Line{T("Paste modules-preparation errors and Service Center banners here and I'll keep "), B(env), T("'s list of modules to republish. "), C(b.cmd + " status " + env), T(" shows it.")})
	if next {
		r.Context(Line{T("Its upgrade to Platform Server " + last.Version + " was done: state, counts and list cleared; its history is kept ("), C(b.cmd + " history " + env + " all"), T(").")})
	}
	if st, err := b.store.Status(ctx, c.Workspace, env, 0); err == nil && republishAll(st.Environment) {
		r.Section(b.republishAllLine(st.Environment))
	} else if err == nil && publishAllAdvised(st.Environment) {
		r.Context(publishAllLine(st.Environment))
	}
	noteReplication(r, res.NotReplicated)
	b.reminderNote(ctx, c, r)
	if nextUndo != nil {
		ref := undoRef("cmd:" + c.ID)
		nextUndo.What = r.Summary
		b.remember(ctx, c.Workspace, c.Channel, c.User, ref, *nextUndo)
		r = withUndo(r, ref, nextUndo.What)
	}
	return Response{Announce: r}
}

// trackChanges asks before a track changes what an environment tracked
// already says (its target, the version it is upgraded from, its
// installation type) for every channel that follows it; nil when it
// changes none of them.
func (b *Bot) trackChanges(ctx context.Context, req progress.TrackRequest, args string) *Reply {
	e, err := b.store.Environment(ctx, req.Workspace, req.Environment)
	if err != nil {
		return nil // not tracked yet (or unreadable: Track says so)
	}
	var was, now []string
	for _, f := range []struct {
		label, old, new string
		same            func(a, b string) bool
	}{
		{"target Platform Server ", e.Version, req.Version, progress.SameVersion},
		{"upgraded from ", e.FromVersion, req.FromVersion, progress.SameVersion},
		{"", string(e.InstallType), string(req.InstallType), strings.EqualFold},
	} {
		if f.old != "" && f.new != "" && !f.same(f.old, f.new) {
			was, now = append(was, f.label+f.old), append(now, f.label+f.new)
		}
	}
	if len(was) == 0 {
		return nil
	}
	q := fmt.Sprintf("%s is tracked already (%s), followed in %s. Change it to %s for every channel that follows it?",
		e.Name, strings.Join(was, ", "), plural(len(e.Channels), "channel", "channels"), strings.Join(now, ", "))
	r := &Reply{Summary: q}
	r.Section(Line{T(q)})
	r.Actions(confirmButton("Change "+e.Name, "track "+args+" --yes"))
	r.Context(Line{T("To follow it here as it is: "), C(b.cmd + " track " + e.Name), T(".")})
	if e.State.Normal() != progress.StateFollowing {
		r.Context(Line{T("Its state (" + stateText(e.State) + ") and list carry over; a new upgrade starts with "), C(b.cmd + " reset " + e.Name), T(".")})
	}
	return r
}

// nextUpgrade is the environment a track names, and whether the track
// starts its next upgrade: the last one is done, and the track names a newer target.
func (b *Bot) nextUpgrade(ctx context.Context, req progress.TrackRequest) (progress.Environment, bool) {
	if req.Version == "" {
		return progress.Environment{}, false
	}
	e, err := b.store.Environment(ctx, req.Workspace, req.Environment)
	return e, err == nil && e.State == progress.StateDone && e.Version != "" && progress.CompareVersions(req.Version, e.Version) > 0
}

// nextUpgradeQuestion asks before a track starts an environment's next upgrade.
func (b *Bot) nextUpgradeQuestion(last progress.Environment, req progress.TrackRequest, args string) *Reply {
	q := fmt.Sprintf("%s's upgrade to Platform Server %s is done. Start its next upgrade, to %s (from %s)? That clears its state, counts and list for every channel that follows it (%s); the history is kept.",
		last.Name, last.Version, req.Version, cmp.Or(req.FromVersion, last.Version), plural(len(last.Channels), "channel", "channels"))
	r := &Reply{Summary: q}
	r.Section(Line{T(q)})
	r.Actions(confirmButton("Start the next upgrade", "track "+args+" --yes"))
	r.Context(Line{T("Export the finished upgrade's change record first if you keep one: "), C(b.cmd + " export " + last.Name), T(".")})
	return r
}

// firstPreparing is the first Platform Server version whose upgrade
// prepares the modules: an upgrade's target is this or later.
const firstPreparing = "11.12"

// notNewer refuses a track that leaves an environment's target not newer
// than the version it is upgraded from (given now or tracked already): the
// status would read "11.14.0 → 11.14.0", and a target offered from a
// warning pasted before the upgrade would be that one. nil when the
// versions are in order, or one of them is unknown.
func (b *Bot) notNewer(ctx context.Context, req progress.TrackRequest) *Reply {
	if req.Version == "" && req.FromVersion == "" {
		return nil
	}
	target, from := req.Version, req.FromVersion
	if target == "" || from == "" {
		e, err := b.store.Environment(ctx, req.Workspace, req.Environment)
		if err != nil {
			return nil // not tracked yet (or unreadable: Track says so)
		}
		target, from = cmp.Or(target, e.Version), cmp.Or(from, e.FromVersion)
	}
	if target == "" || from == "" || progress.CompareVersions(target, from) > 0 {
		return nil
	}
	env, err := progress.NormalizeEnvironment(req.Environment)
	if err != nil {
		return nil // Track says what is wrong with the name
	}
	q := fmt.Sprintf("%s's target, Platform Server %s, is not newer than %s, the version it is upgraded from.", env, target, from)
	r := &Reply{Summary: q}
	r.Section(Line{T(q + " Give the version it is upgraded to: "), C(b.cmd + " track " + env + " <version> from " + from),
		T(" (or, if " + target + " is the target, the version it is upgraded from: "), C(b.cmd + " track " + env + " " + target + " from <version>"), T(").")})
	return r
}

// reminderNote adds the channel's next reminder, or why reminders are paused, to r.
func (b *Bot) reminderNote(ctx context.Context, c Command, r *Reply) {
	if b.sched == nil {
		return
	}
	if next := b.sched.Next(ctx, c.Workspace, c.Channel, time.Time{}); next != "" {
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
	fields := strings.Fields(args)
	switch {
	case len(fields) == 0:
		return b.usageError(b.lookup("untrack"), "Tell me which environment to stop following.")
	case len(fields) > 1:
		return b.usageError(b.lookup("untrack"), fmt.Sprintf("Untrack one environment at a time: `%s untrack %s`, then `%s untrack %s`.", b.cmd, fields[0], b.cmd, fields[1]))
	}
	ok, err := b.store.Untrack(ctx, c.Workspace, fields[0], c.Channel, c.User)
	if err != nil {
		return private(b.storeError("untrack", err))
	}
	env, _ := progress.NormalizeEnvironment(fields[0])
	if !ok {
		return private(errorReply(fmt.Sprintf("This channel does not follow %s, so there is nothing to stop here: `%s envs` says how many channels follow it, and `%s untrack %s` in one of them stops it there.", env, b.cmd, b.cmd, env)))
	}
	b.lastNotUndoable(ctx, c, "untrack "+env, fmt.Sprintf("`%s track %s` follows it here again", b.cmd, env))
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
		return "", b.noEnvironment(ctx, c)
	case 1:
		return envs[0].Name, nil
	}
	// The environments that list all these modules; else those that list
	// them or had them republished (done says by whom).
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Name
	}
	if len(modules) == 0 {
		return "", errorReply(fmt.Sprintf("This channel follows %s: say which, e.g. `%s %s`.", strings.Join(names, ", "), b.cmd, codeText(withEnv(c.Text, b.envWithModules(ctx, c.Workspace, envs)))))
	}
	var match, before []string
	on := map[string][]string{} // by module key: the environments that list it, or else had it republished
	for _, e := range envs {
		st, err := b.store.Status(ctx, c.Workspace, e.Name, -1)
		if err != nil {
			return "", b.storeError("status", err)
		}
		listed, known := map[string]bool{}, map[string]bool{}
		for _, m := range st.Modules {
			listed[moduleKey(m.Name)], known[moduleKey(m.Name)] = true, true
		}
		for _, m := range st.RepublishedModules {
			known[moduleKey(m.Name)] = true
		}
		all, seen := true, true
		for _, m := range modules {
			k := moduleKey(m)
			all, seen = all && listed[k], seen && known[k]
			if listed[k] {
				on[k] = append(on[k], e.Name)
			} else if known[k] {
				on[k] = append(on[k], e.Name+" (republished)")
			}
		}
		if all {
			match = append(match, e.Name)
		}
		if seen {
			before = append(before, e.Name)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) == 0 && len(before) == 1:
		return before[0], nil
	case len(match) > 1:
		return "", errorReply(fmt.Sprintf("%s list %s: say which, e.g. `%s %s`.", joinAnd(match), quotedList(modules), b.cmd, codeText(withEnv(c.Text, match[0]))))
	}
	listed := false // by one environment or another, not only republished there
	for _, envs := range on {
		listed = listed || slices.ContainsFunc(envs, func(e string) bool { return !strings.HasSuffix(e, " (republished)") })
	}
	if !listed {
		return "", errorReply(fmt.Sprintf("No environment this channel follows (%s) lists %s: check the names with `%s status`.", strings.Join(names, ", "), quotedList(modules), b.cmd))
	}
	// Spread over environments: one command each, the example for the first listed.
	var where, same []string
	first := ""
	for _, m := range modules {
		envs := on[moduleKey(m)]
		if len(where) < 5 {
			where = append(where, fmt.Sprintf("%q: %s", Shorten(m, 40), cmp.Or(strings.Join(envs, ", "), "none of them")))
		}
		if len(envs) > 0 && first == "" {
			first = strings.TrimSuffix(envs[0], " (republished)")
		}
		if len(envs) > 0 && strings.TrimSuffix(envs[0], " (republished)") == first {
			same = append(same, commandName(m))
		}
	}
	name, _ := splitCommand(c.Text)
	return "", errorReply(fmt.Sprintf("No environment this channel follows (%s) has all of %s (%s). Name one environment per command, e.g. `%s %s %s: %s`.",
		strings.Join(names, ", "), quotedList(modules), strings.Join(where, "; "), b.cmd, name, first, codeText(strings.Join(same, " "))))
}

// nothingToMark says why done all marks nothing on env, in state s.
func (b *Bot) nothingToMark(env string, s progress.State) *Reply {
	switch s.Normal() {
	case progress.StatePreparing:
		return errorReply(fmt.Sprintf("Nothing to mark yet: %s's modules preparation is still running. When it ends, the modules it failed or skipped are listed here: mark them with `%s done %s: <module>`, or all at once with `%s done %s: all`.", env, b.cmd, env, b.cmd, env))
	case progress.StateFailed:
		return errorReply(fmt.Sprintf("%s's modules preparation failed, so there is nothing to mark republished until it runs again: fix what its Error Log names, run the preparation again and paste its progress here.", env))
	}
	return errorReply(fmt.Sprintf("%s has no modules to republish.", env))
}

// envWithModules is the first of envs with modules left to republish, else the first.
func (b *Bot) envWithModules(ctx context.Context, workspace string, envs []progress.Environment) string {
	for _, e := range envs {
		if st, err := b.store.Status(ctx, workspace, e.Name, 0); err == nil && st.ModuleCount+st.Unnamed() > 0 {
			return e.Name
		}
	}
	return envs[0].Name
}

// codeText is s as it can stand in a code span of a reply's text: a
// backtick in a name the user typed would end the span.
func codeText(s string) string { return strings.ReplaceAll(s, "`", "'") }

// withEnv is the command text with env named as its command reads it:
// "failed prod: Billing_CS", "snooze prod 1h" ("status prod" for none).
func withEnv(text, env string) string {
	name, args := splitCommand(text)
	switch name {
	case "":
		return "status " + env
	case "failed", "skipped", "done", "take", "release":
		env += ":"
	}
	args, _ = confirmed(args)         // the example is no confirmation
	if strings.Contains(args, "\n") { // names on the lines below: an example is one line
		names, _ := typedNames(args)
		for i, n := range names {
			names[i] = commandName(n)
		}
		args = strings.Join(names, " ")
	}
	return strings.TrimSpace(name + " " + env + " " + args)
}

// noEnvironment says that the channel follows no environment, and what to
// do: name one of those the workspace tracks (and where each is followed),
// or start tracking. An example with a made-up name would be followed.
func (b *Bot) noEnvironment(ctx context.Context, c Command) *Reply {
	envs, err := b.store.Environments(ctx, c.Workspace)
	if err != nil || len(envs) == 0 {
		return errorReply("No environment is tracked here yet. Start with `" + b.cmd + " track <env> [version]` in the channel where its upgrade is discussed, e.g. `" + b.cmd + " track prod 11.31.0`.")
	}
	underWayFirst(envs) // the example and the first listed: upgrades under way, not retired ones
	example := withEnv(c.Text, envs[0].Name)
	if name, _ := splitCommand(c.Text); name == "remind" { // names no environment: ask for a status
		example = withEnv("", envs[0].Name)
	}
	r := errorReply(fmt.Sprintf("This channel follows no environment. Name one, e.g. `%s %s`, or ask in its channel:", b.cmd, codeText(example)))
	var lines []Line
	for i, e := range envs {
		if i == 10 {
			lines = append(lines, Line{T(fmt.Sprintf("… and %d more: ", len(envs)-i)), C(b.cmd + " envs"), T(" lists them.")})
			break
		}
		l := Line{T("• "), B(e.Name), T(" — followed in no channel")}
		for j, ch := range e.Channels[:min(len(e.Channels), 3)] {
			if j == 0 {
				l = append(l[:2], T(" — followed in "))
			} else {
				l = append(l, T(", "))
			}
			l = append(l, Ch(ch))
		}
		lines = append(lines, l)
	}
	r.Section(lines...)
	r.Context(Line{C(b.cmd + " track <env>"), T(" here follows one in this channel too.")})
	return r
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
	mods, refused := moduleNames(b.engine, rest)
	if len(mods) == 0 {
		return b.usageError(def, noNamesProblem(refused))
	}
	if r := b.envAsModule(ctx, c, envName, name, rest, mods); r != nil {
		return private(r)
	}
	env, errR := b.resolveEnv(ctx, c, envName, nil)
	if errR != nil {
		return private(errR)
	}
	// The list as it was, for the warnings below (one read; none when it fails).
	before, err := b.store.Status(ctx, c.Workspace, env, -1)
	var beyond []string
	if err == nil {
		_, beyond = beyondIn(before, planned{Reason: reason}, mods)
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
		r := errorReply(fmt.Sprintf("Already on %s's list: nothing changed.", env))
		refusedNote(r, refused)
		return private(r)
	}
	r := &Reply{Summary: fmt.Sprintf("%s added to %s", plural(len(added), name+" module", name+" modules"), env)}
	var l Line
	if len(res.Added) > 0 {
		l = append(Line{M(c.User), T(" reported " + plural(len(res.Added), name+" module", name+" modules") + " on "), B(env), T(": ")}, nameSpans(res.Added, 10)...)
		l = append(l, T(". "))
	}
	if len(res.Updated) > 0 { // listed before for another reason
		l = append(append(append(l, M(c.User), T(" moved ")), nameSpans(res.Updated, 10)...), T(" to "+name+" on "), B(env), T(". "))
	}
	r.Section(append(l, T(fmt.Sprintf("%d to republish.", res.Remaining))))
	for _, m := range res.Reopened {
		r.Context(b.reopenedLine(m))
	}
	if l := b.lookAlikes(before, res.Added); l != nil {
		r.Context(l)
	}
	if len(beyond) > 0 {
		// Asked for by name, it is recorded; but the counts say one is likely wrong.
		if n := countOf(before.Counts, reason.Group()); n != nil {
			counted := plural(*n, name+" module", name+" modules")
			if *n == 0 {
				counted = "no " + name + " module"
			}
			r.Context(Line{T(":warning: Service Center counted " + counted + " on "), B(env),
				T(", and more are named now. If one is another environment's, "), C(b.cmd + " undo"), T(" takes this back; a name with spaces goes in quotes (\"Invoices UI\").")})
		}
	}
	refusedNote(r, refused)
	noteReplication(r, res.NotReplicated)
	return Response{Announce: b.undoably(ctx, c.Workspace, c.Channel, c.User, env, r, "cmd:"+c.ID)}
}

// envAsModule says how to write a command whose first module name is an
// environment ("failed prod Billing_CS" would name a module prod): one this
// channel follows, one tracked elsewhere, or a name that reads as one
// ("staging"); or whose environment is a module's name with a colon after
// it ("failed Orders_UI: it failed twice"). nil when it is none of them.
func (b *Bot) envAsModule(ctx context.Context, c Command, envName, command, rest string, mods []string) *Reply {
	if envName != "" {
		if _, err := b.store.Environment(ctx, c.Workspace, envName); errors.Is(err, progress.ErrNotFound) && !environmentWord(envName) {
			name := strings.TrimSuffix(strings.TrimSpace(envName), ":")
			return errorReply(fmt.Sprintf("No environment named %s is tracked in this workspace, so nothing was recorded. If %s is a module, write it without the colon after it: `%s %s %s` (a comment goes in parentheses). `%s envs` lists the environments.",
				strings.ToLower(name), name, b.cmd, command, codeText(commandName(name)), b.cmd))
		}
		return nil
	}
	if len(mods) == 0 {
		return nil
	}
	envs, err := b.store.ChannelEnvironments(ctx, c.Workspace, c.Channel)
	if err != nil {
		return nil // resolveEnv says so
	}
	// A followed environment first ("failed prod"), or last after "on",
	// "in"… or "in" in the team's language ("skipped Orders_UI on prod",
	// "failed Faturação_CS no prd", "… en producción"); elsewhere it may be
	// a module's name ("failed Billing_CS Test" in a channel following test).
	// Accents folded, as people write names ("produção" for producao).
	prepositions := []string{"on", "in", "for", "at", "em", "no", "na", "en", "bij", "dans", "im", "auf", "op"}
	toks := nameTokens(rest) // "en" is "and" in Dutch too: the names read leave it out
	afterPrep := len(toks) > 1 && !toks[len(toks)-2].quoted && slices.Contains(prepositions, strings.ToLower(toks[len(toks)-2].text))
	for i, m := range mods {
		last := i > 0 && i == len(mods)-1 && afterPrep
		e := slices.IndexFunc(envs, func(e progress.Environment) bool {
			return strings.EqualFold(e.Name, foldAccents(m)) || last && sameEnvironment(e.Name, m)
		})
		if i > 0 && !last || e < 0 {
			continue
		}
		env := envs[e].Name
		var names []string
		for j, n := range mods {
			if j != i && !(j == i-1 && last && slices.Contains(prepositions, strings.ToLower(n))) {
				names = append(names, commandName(n))
			}
		}
		also := ""
		if len(names) == 0 {
			names = []string{"<module>"}
			also = fmt.Sprintf(" (A module of that name: `%s %s %s: %s`.)", b.cmd, command, env, codeText(commandName(m)))
		}
		return errorReply(fmt.Sprintf("%s is an environment this channel follows, not a module: write `%s %s %s: %s`. Nothing was recorded.%s",
			env, b.cmd, command, env, codeText(strings.Join(names, " ")), also))
	}
	if len(mods) < 2 {
		return nil
	}
	names := make([]string, len(mods)-1)
	for i, m := range mods[1:] {
		names[i] = commandName(m)
	}
	env := strings.ToLower(mods[0])
	// Tracked elsewhere, or named as environments are ("staging"): no module either.
	if _, err := b.store.Environment(ctx, c.Workspace, env); err == nil || environmentWord(env) {
		return errorReply(fmt.Sprintf("%s is an environment's name, not a module, and this channel does not follow it: in a channel that does, write `%s %s %s: %s`. (A module of that name: put the environment first, `%s %s <env>: %s`.) Nothing was recorded.",
			env, b.cmd, command, env, codeText(strings.Join(names, " ")), b.cmd, command, codeText(strings.Join(append([]string{commandName(mods[0])}, names...), " "))))
	}
	return nil
}

func (b *Bot) cmdDone(ctx context.Context, c Command, args string) Response {
	def := b.lookup("done")
	args, yes := confirmed(args)
	envName, rest := splitEnvPrefix(args)
	if f := strings.Fields(rest); envName == "" && len(f) == 2 && isAll(f[1]) {
		envName, rest = f[0], f[1] // "done prod all"
	}
	all := isAll(rest)
	var mods, refused []string
	if !all {
		if mods, refused = moduleNames(b.engine, rest); len(mods) == 0 {
			if len(refused) == 0 {
				return b.usageError(def, "Name the modules you republished, or `all`.")
			}
			return b.usageError(def, noNamesProblem(refused))
		}
	}
	if r := b.envAsModule(ctx, c, envName, "done", rest, mods); r != nil {
		return private(r)
	}
	env, errR := b.resolveEnv(ctx, c, envName, mods)
	if errR != nil {
		return private(errR)
	}
	if all && !yes {
		st, err := b.store.Status(ctx, c.Workspace, env, 0)
		if err != nil {
			return private(b.storeError("status", err))
		}
		if st.ModuleCount == 0 && st.Unnamed() == 0 && !republishAll(st.Environment) && st.Environment.State != progress.StateFollowing {
			return private(b.nothingToMark(env, st.State)) // nothing to confirm
		}
		return b.confirm(ctx, c.Workspace, env, "done "+env+": all --yes", "Mark all republished", func(st progress.Status) string {
			switch {
			case republishAll(st.Environment):
				return fmt.Sprintf("Record that every application of %s is republished?", env)
			case st.ModuleCount == 0 && st.Unnamed() == 0:
				// No news of the preparation: the way a team with no summary to paste closes the upgrade.
				return fmt.Sprintf("Nothing is listed on %s and no outcome of its modules preparation is recorded. Record its upgrade as done, every module republished?", env)
			}
			q := fmt.Sprintf("Mark every module on %s's list republished (%s)", env, plural(st.ModuleCount, "module", "modules"))
			if n := st.Unnamed(); n > 0 {
				q += fmt.Sprintf(", and the %d Service Center counted that nobody named", n)
			}
			return q + "?"
		})
	}
	resp := b.markDone(ctx, c.Workspace, c.Channel, env, c.User, "cmd:"+c.ID, mods, all)
	if r := cmp.Or(resp.Announce, resp.Reply); r != nil {
		refusedNote(r, refused)
	}
	return resp
}

// isAll reports whether done's arguments are "all" ("all.", "ALL!").
func isAll(args string) bool {
	return strings.EqualFold(strings.TrimRight(strings.TrimSpace(args), ".!"), "all")
}

// noNamesProblem says that a command named no module, and what it could not take for one.
func noNamesProblem(refused []string) string {
	if len(refused) == 0 {
		return "Name at least one module."
	}
	return fmt.Sprintf("None of %s can be a module name (%s).", quotedList(refused), refusedWhy(refused))
}

// refusedWhy says what makes the names refused not module names.
func refusedWhy(refused []string) string {
	long := 0
	for _, n := range refused {
		if utf8.RuneCountInString(strings.Trim(n, `"'“”`)) > progress.MaxModuleName {
			long++
		}
	}
	why := fmt.Sprintf("longer than %d characters, more than a module name has", progress.MaxModuleName)
	switch long {
	case len(refused):
		return why
	case 0:
		return "letters, digits, _ - . and ' only; quote a name with spaces or other signs; text in parentheses is a comment"
	}
	return "letters, digits, _ - . and ' only, quoted when it has spaces or other signs, and not " + why
}

// refusedNote tells, under a reply (above its buttons), what a command could not take for a module name.
func refusedNote(r *Reply, refused []string) {
	if len(refused) == 0 {
		return
	}
	var buttons []Block
	if n := len(r.Blocks); n > 0 && len(r.Blocks[n-1].Buttons) > 0 {
		// A copy: the note appended to r.Blocks[:n-1] would overwrite the
		// buttons in place (done's reply, its Undo button gone, the note twice).
		r.Blocks, buttons = r.Blocks[:n-1], slices.Clone(r.Blocks[n-1:])
	}
	r.Context(append(append(Line{T("Not module names, so not recorded: ")}, nameSpans(refused, 10)...),
		T(" ("+refusedWhy(refused)+")")))
	r.Blocks = append(r.Blocks, buttons...)
}

// quotedList is names in quotes, joined with "and", for a sentence.
func quotedList(names []string) string {
	q := make([]string, 0, min(len(names), 5))
	for i, n := range names {
		if i == 5 {
			q = append(q, fmt.Sprintf("%d more", len(names)-5))
			break
		}
		q = append(q, fmt.Sprintf("%q", Shorten(n, 40)))
	}
	return joinAnd(q)
}

func (b *Bot) markDone(ctx context.Context, workspace, channel, env, user, key string, mods []string, all bool) Response {
	// done all also covers what Service Center counted and nobody named.
	unnamed := 0
	if all {
		st, err := b.store.Status(ctx, workspace, env, 0)
		if err != nil {
			return private(b.storeError("status", err))
		}
		if republishAll(st.Environment) {
			return b.republishedAll(ctx, workspace, channel, env, user, key)
		}
		unnamed = st.Unnamed()
	}
	res, err := b.store.Apply(ctx, workspace, env, progress.Change{Kind: progress.ChangeDone, Key: key, Actor: user, Modules: mods, All: all, At: b.now()})
	if err != nil {
		return private(b.storeError("record", err))
	}
	if res.Duplicate {
		return Response{}
	}
	b.releaseOwners(ctx, workspace, env, key, res.Removed, all)
	already, notFound := b.republishedBefore(ctx, workspace, env, res.NotFound)
	if len(res.Removed) == 0 && !res.BecameDone && (!all || unnamed == 0) {
		if all {
			return private(b.nothingToMark(env, res.State))
		}
		r := &Reply{Summary: "Nothing recorded on " + env}
		if len(notFound) > 0 {
			r.Section(Line{T(fmt.Sprintf("Not on %s's list, so nothing recorded: %s. ", env, quotedList(notFound))), C(b.cmd + " status " + env), T(" shows the list.")})
			if l := b.didYouMean(ctx, workspace, env, "done", notFound); l != nil {
				r.Section(l)
			}
			if st, err := b.store.Status(ctx, workspace, env, 0); err == nil && st.Unnamed() > 0 {
				// It may be one of those counted: named, it can be marked.
				kind := unnamedKind(st)
				l := Line{T(fmt.Sprintf("Service Center counted %s that nobody has named: if it is one of them, name it first with ", plural(st.Unnamed(), kind+" module", kind+" modules")))}
				switch kind {
				case "failed", "skipped":
					l = append(l, C(b.cmd+" "+kind+" "+env+": "+commandName(notFound[0])))
				default:
					l = append(l, C(b.cmd+" failed "+env+": "+commandName(notFound[0])), T(" (or "), C("skipped"), T(")"))
				}
				r.Context(append(l, T(", then mark it republished.")))
			}
		}
		if len(already) > 0 {
			r.Section(already...)
		}
		return private(r)
	}
	r := &Reply{Summary: fmt.Sprintf("%s republished on %s", plural(len(res.Removed)+unnamed, "module", "modules"), env)}
	l := append(Line{M(user), T(" republished ")}, nameSpans(res.Removed, 10)...)
	switch {
	case all && unnamed == 0 && len(res.Removed) == 0: // no news of the preparation, nothing listed: closed
		l = Line{M(user), T(" recorded the upgrade of "), B(env), T(" as done, with nothing listed to republish")}
	case all && unnamed > 0:
		l = Line{M(user), T(" republished every module of "), B(env), T(": ")}
		if len(res.Removed) > 0 {
			l = append(append(l, T(plural(len(res.Removed), "listed", "listed")+" (")), nameSpans(res.Removed, 10)...)
			l = append(l, T(") and "))
		}
		l = append(l, T(fmt.Sprintf("the %d Service Center counted that nobody named", unnamed)))
	default:
		l = append(l, T(" on "), B(env))
	}
	if res.Remaining > 0 {
		left := fmt.Sprintf(": %d left", res.Remaining)
		// As the status counts them: those Service Center counted and nobody named are left too.
		if st, err := b.store.Status(ctx, workspace, env, 0); err == nil && st.Unnamed() > 0 {
			left += fmt.Sprintf(" on the list, and %d that Service Center counted and nobody named", st.Unnamed())
		}
		l = append(l, T(left+"."))
	} else {
		l = append(l, T("."))
	}
	r.Section(l)
	if len(notFound) > 0 {
		r.Context(append(Line{T("Not on the list, so not recorded: ")}, nameSpans(notFound, 10)...))
		if l := b.didYouMean(ctx, workspace, env, "done", notFound); l != nil {
			r.Context(l)
		}
	}
	if len(already) > 0 {
		r.Context(already...)
	}
	noteReplication(r, res.NotReplicated)
	switch {
	case res.AllClear() && res.State.Normal() == progress.StateFollowing:
		if e, err := b.store.Environment(ctx, workspace, env); err == nil && republishAll(e) {
			// Upgraded from Platform Server 10: no summary to wait for.
			r.Section(b.republishAllLine(e))
			break
		}
		r.Blocks = append(r.Blocks, b.clearedIn(env, res.State).Blocks...)
	case res.AllClear(): // done now: the all-clear, once
		r.Blocks = append(r.Blocks, b.clearedIn(env, res.State).Blocks...)
	case res.BecameEmpty:
		r.Blocks = append(r.Blocks, b.clearedBlocks(ctx, workspace, env)...)
	}
	return Response{Announce: b.undoably(ctx, workspace, channel, user, env, r, key)}
}

// republishedBefore splits names, which env does not list, into a line for
// each module marked republished already (by whom, when) and the rest.
func (b *Bot) republishedBefore(ctx context.Context, workspace, env string, names []string) ([]Line, []string) {
	if len(names) == 0 {
		return nil, nil
	}
	st, err := b.store.Status(ctx, workspace, env, -1)
	if err != nil {
		return nil, names
	}
	var lines []Line
	var rest []string
	for _, n := range names {
		i := slices.IndexFunc(st.RepublishedModules, func(m progress.Module) bool { return moduleKey(m.Name) == moduleKey(n) })
		if i < 0 {
			rest = append(rest, n)
			continue
		}
		m := st.RepublishedModules[i]
		l := Line{C(m.Name), T(" was marked republished on " + env + " already")}
		if m.RepublishedBy != "" {
			l = append(l, T(" by "), M(m.RepublishedBy))
		}
		if !m.RepublishedAt.IsZero() {
			l = append(l, T(", "+b.when(m.RepublishedAt)))
		}
		lines = append(lines, append(l, T(".")))
	}
	return lines, rest
}

// looseKey is a module name without case and separators, for "did you mean":
// "billing cs", "Billing-CS" and "Billing_CS" are alike.
func looseKey(name string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(" _-.", r) {
			return -1
		}
		return unicode.ToLower(r)
	}, name)
}

// didYouMean suggests the listed modules of env that names not found are
// likely meant to be (written with other separators, or a name with
// spaces typed unquoted), with the command that takes them; nil when none.
func (b *Bot) didYouMean(ctx context.Context, workspace, env, command string, names []string) Line {
	if len(names) == 0 {
		return nil
	}
	st, err := b.store.Status(ctx, workspace, env, -1)
	if err != nil {
		return nil
	}
	var meant []string
	for i, want := range append(slices.Clone(names), strings.Join(names, " ")) {
		found := false
		for _, m := range st.Modules {
			if looseKey(m.Name) == looseKey(want) && !slices.Contains(meant, m.Name) {
				meant, found = append(meant, m.Name), true
			}
		}
		if !found && i < len(names) {
			// A typo: one letter off ("Biling_CS"), two in a longer name, and
			// only when one listed module is that near.
			best, n := "", 0
			for _, m := range st.Modules {
				d := suggest.Distance(looseKey(m.Name), looseKey(want))
				if d <= 1 || d == 2 && len(looseKey(want)) >= 8 {
					best, n = m.Name, n+1
				}
			}
			if n == 1 && !slices.Contains(meant, best) {
				meant = append(meant, best)
			}
		}
	}
	if len(meant) == 0 {
		return nil
	}
	args := make([]string, len(meant))
	for i, m := range meant {
		args[i] = commandName(m)
	}
	return Line{T("Did you mean " + quotedList(meant) + "? "), C(b.cmd + " " + command + " " + env + ": " + strings.Join(args, " "))}
}

// lookAlikes warns of modules just added that are written like others on
// the list st had before ("Billing CS" beside "Billing_CS"); nil when none is.
func (b *Bot) lookAlikes(st progress.Status, added []string) Line {
	listed := map[string][]string{} // by looseKey: one pass over a long list
	for _, m := range st.Modules {
		listed[looseKey(m.Name)] = append(listed[looseKey(m.Name)], m.Name)
	}
	const shown = 5
	l, pairs := Line{T(":warning: ")}, 0
	for _, a := range added {
		for _, m := range listed[looseKey(a)] {
			if m == a {
				continue
			}
			if pairs++; pairs > shown {
				continue
			}
			if pairs > 1 {
				l = append(l, T(", "))
			}
			l = append(l, C(a), T(" looks like "), C(m))
		}
	}
	if pairs == 0 {
		return nil
	}
	if pairs > shown {
		l = append(l, T(fmt.Sprintf(" … and %d more", pairs-shown)))
	}
	return append(l, T(", already listed: if it is the same module, "), C(b.cmd+" undo"), T(" takes this back."))
}

// republishedAll records that every application of env, which had to be
// republished after an upgrade from Platform Server 10 or earlier, is: the
// list is emptied and the upgrade is done (progress.Next), in one change.
func (b *Bot) republishedAll(ctx context.Context, workspace, channel, env, user, key string) Response {
	res, err := b.store.Apply(ctx, workspace, env, progress.Change{Kind: progress.ChangeDone, Key: key, Actor: user, All: true, At: b.now()})
	if err != nil {
		return private(b.storeError("record", err))
	}
	if res.Duplicate {
		return Response{}
	}
	b.releaseOwners(ctx, workspace, env, key, nil, true)
	r := &Reply{Summary: "All applications republished on " + env}
	r.Section(Line{M(user), T(" republished all applications on "), B(env), T(".")})
	if res.AllClear() {
		r.Blocks = append(r.Blocks, b.clearedIn(env, res.State).Blocks...)
	}
	return Response{Announce: b.undoably(ctx, workspace, channel, user, env, r, key)}
}

// clearedBlocks says the list is empty: all clear, unless Service Center
// counted failed or skipped modules nobody has named yet, or the
// preparation still runs and may fail more, or failed.
func (b *Bot) clearedBlocks(ctx context.Context, workspace, env string) []Block {
	st, err := b.store.Status(ctx, workspace, env, 0)
	r := &Reply{}
	switch {
	case err == nil && st.Unnamed() > 0:
		r.Context(append(Line{T(fmt.Sprintf("The list is empty, but Service Center counted %s that nobody has named yet: ", plural(st.Unnamed(), "more module", "more modules")))}, b.unnamedAdvice(st)...))
	case err == nil && st.State.Normal() == progress.StatePreparing:
		r.Context(Line{T("The list is empty, but the modules preparation is still running: the modules it fails or skips will be listed here.")})
	case err == nil && st.State == progress.StateFailed:
		r.Context(Line{T("The list is empty, but the modules preparation failed: it runs again (or OutSystems Support steps in) before the upgrade is over. "), C(b.cmd + " status " + env), T(" says what to do.")})
	default:
		return b.allClear(env).Blocks
	}
	return r.Blocks
}

func (b *Bot) cmdReset(ctx context.Context, c Command, args string) Response {
	args, yes := confirmed(args)
	fields := strings.Fields(args)
	if len(fields) != 1 {
		return b.usageError(b.lookup("reset"), "Tell me which environment starts a new upgrade.")
	}
	env, err := progress.NormalizeEnvironment(fields[0])
	if err != nil {
		return private(b.storeError("reset", err))
	}
	if !yes {
		return b.confirm(ctx, c.Workspace, env, "reset "+env+" --yes", "Reset "+env, func(st progress.Status) string {
			return fmt.Sprintf("Start a new upgrade of %s? This clears its state, counts and list (%s); the history is kept. The change record of this upgrade (%s export %s) is no longer exported after: export it first if you keep one.", env, plural(st.ModuleCount, "module", "modules"), b.cmd, env)
		})
	}
	started := b.startedValue(ctx, c.Workspace, env) // for the reset's undo
	before, _ := b.store.Environment(ctx, c.Workspace, env)
	res, err := b.store.Apply(ctx, c.Workspace, env, progress.Change{Kind: progress.ChangeReset, Key: "cmd:" + c.ID, Actor: c.User, At: b.now()})
	if err != nil {
		return private(b.storeError("reset", err))
	}
	if res.Duplicate {
		return Response{}
	}
	b.releaseOwners(ctx, c.Workspace, env, "cmd:"+c.ID, nil, true)
	u := undoable{Env: env, Keys: []string{"cmd:" + c.ID}, Admin: true, Started: started}
	if before.State == progress.StateDone && before.FromVersion != "" && before.Version != "" && !progress.SameVersion(before.FromVersion, before.Version) {
		// The environment runs the target its last upgrade reached: the next
		// one starts from there, not from where the last one did (an upgrade
		// from Platform Server 10 would otherwise ask to republish everything again).
		mv := &versionMove{From: before.FromVersion, NewFrom: before.Version}
		if moved, err := b.moveVersions(ctx, c.Workspace, c.User, c.Channel, before, "", mv.NewFrom); err != nil {
			b.log.Warn("cannot set the version the next upgrade starts from", "env", env, "err", err)
		} else if moved {
			u.Versions = mv
		}
	}
	r := &Reply{Summary: env + " reset for a new upgrade"}
	r.Section(Line{M(c.User), T(" started a new upgrade of "), B(env), T(": state, counts and modules cleared; history kept.")})
	// The versions stay: say so, and how to name the next upgrade's target.
	if e, err := b.store.Environment(ctx, c.Workspace, env); err == nil && u.Versions != nil {
		r.Context(Line{T("It runs Platform Server " + e.Version + ", the last upgrade's target, so the next upgrade starts from it. Name the next target: "), C(b.cmd + " track " + env + " <version> --yes"), T(".")})
	} else if err == nil && (e.Version != "" || e.FromVersion != "") {
		kept := "Kept: the target, Platform Server " + cmp.Or(e.Version, "not given")
		if e.FromVersion != "" {
			kept += ", upgraded from " + e.FromVersion
		}
		r.Context(Line{T(kept + ". For an upgrade to another version: "), C(b.cmd + " track " + env + " <version> from " + cmp.Or(e.Version, "<version>") + " --yes"), T(".")})
	}
	noteReplication(r, res.NotReplicated)
	ref := undoRef("cmd:" + c.ID)
	u.What = r.Summary
	b.remember(ctx, c.Workspace, c.Channel, c.User, ref, u)
	return Response{Announce: withUndo(r, ref, u.What)}
}

// moveVersions sets e's target and the version it is upgraded from ("":
// kept) through a channel that follows it, preferably channel (a track
// from another channel would follow it there too). False when no channel
// follows e, so nothing could be set.
func (b *Bot) moveVersions(ctx context.Context, workspace, user, channel string, e progress.Environment, target, from string) (bool, error) {
	if !slices.Contains(e.Channels, channel) {
		if len(e.Channels) == 0 {
			return false, nil
		}
		channel = e.Channels[0]
	}
	_, err := b.store.Track(ctx, progress.TrackRequest{Workspace: workspace, Environment: e.Name, Channel: channel, Version: target, FromVersion: from, Actor: user, At: b.now()})
	return err == nil, err
}

func (b *Bot) cmdEnvs(ctx context.Context, c Command, _ string) Response {
	envs, err := b.store.Environments(ctx, c.Workspace)
	if err != nil {
		return private(b.storeError("list environments", err))
	}
	if len(envs) == 0 {
		return private(errorReply("No environments tracked yet. `" + b.cmd + " track <env>` starts."))
	}
	r := &Reply{Summary: plural(len(envs), "environment", "environments")}
	var lines []Line
	for _, e := range envs {
		l := Line{B(e.Name), T(" — " + stateText(e.State))}
		if republishAll(e) {
			l = append(l, T(", all applications to republish"))
		} else if st, err := b.store.Status(ctx, c.Workspace, e.Name, 0); err == nil && st.ModuleCount+st.Unnamed() > 0 {
			l = append(l, T(fmt.Sprintf(", %d to republish", st.ModuleCount)))
			if n := st.Unnamed(); n > 0 { // as status and the digest count them
				l = append(l, T(fmt.Sprintf(", %d not named", n)))
			}
		}
		if e.Version != "" {
			l = append(l, T(", PS "+e.Version))
		}
		if len(e.Channels) > 0 {
			l = append(l, T(", followed in "+plural(len(e.Channels), "channel", "channels")))
		} else {
			l = append(l, T(", followed in no channel (no reminders, not in the digest)"))
		}
		lines = append(lines, l)
	}
	listSections(r, lines, 0, func(left int) Line {
		return Line{T(fmt.Sprintf("… and %s not shown here: ", plural(left, "more environment", "more environments"))), C(b.cmd + " status <env>"), T(" shows one.")}
	})
	return private(r)
}

// nothingToRemind says why remind now has nothing to post: which
// environments have nothing outstanding, and which are snoozed here.
func (b *Bot) nothingToRemind(ctx context.Context, c Command) *Reply {
	envs, err := b.store.ChannelEnvironments(ctx, c.Workspace, c.Channel)
	if err != nil {
		return b.storeError("list environments", err)
	}
	if len(envs) == 0 {
		return b.noEnvironment(ctx, c)
	}
	var quiet []string
	var lines []Line
	for _, e := range envs {
		if s, ok := b.snoozed(ctx, c.Workspace, c.Channel, e, b.now()); ok {
			lines = append(lines, Line{B(e.Name), T("'s reminders are snoozed here until " + b.when(s.Until) + " ("), C(b.cmd + " snooze " + e.Name + " off"), T(" ends it).")})
		} else {
			quiet = append(quiet, e.Name)
		}
	}
	if len(quiet) > 0 {
		lines = append([]Line{{T("Nothing is outstanding in " + joinAnd(quiet) + ".")}}, lines...)
	}
	r := &Reply{Summary: "No reminder to post"}
	return r.Section(append(lines, Line{T("No reminder to post.")})...)
}

// remindNowGap is how long after a `remind now` another one in the channel waits.
const remindNowGap = 5 * time.Minute

func (b *Bot) cmdRemind(ctx context.Context, c Command, args string) Response {
	def := b.lookup("remind")
	if b.sched == nil {
		return private(errorReply("Reminders are not available in this mode."))
	}
	spec := strings.TrimSpace(args)
	if spec == "" {
		return b.usageError(def, "Give a schedule, `default`, `off`, `on` or `now`.")
	}
	if strings.EqualFold(spec, "now") {
		// Everyone may, but once per channel every few minutes: each post
		// mentions the people who took modules.
		key, token := "remind-now:"+c.Channel, progress.NewToken()
		if ok, err := b.store.Claim(ctx, c.Workspace, key, token, remindNowGap); err == nil && !ok {
			return private(errorReply(fmt.Sprintf("`%[2]s remind now` was run in this channel less than %[1]d minutes ago: it works again after that (the scheduled reminders are not affected).", int(remindNowGap.Minutes()), b.cmd)))
		}
		release := func() { _ = b.store.Release(context.WithoutCancel(ctx), c.Workspace, key, token) }
		r, err := b.sched.Now(ctx, c.Workspace, c.Channel)
		if err != nil {
			release()
			return private(b.storeError("reminder", err))
		}
		if r == nil {
			release()
			return private(b.nothingToRemind(ctx, c))
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
	b.lastNotUndoable(ctx, c, "remind "+spec, fmt.Sprintf("To change them back, run `%s remind <schedule>` (or `default`, `on`, `off`)", b.cmd))
	r := &Reply{Summary: desc}
	r.Section(Line{M(c.User), T(" " + desc)})
	return Response{Announce: r}
}
