package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/upgradebot/upgradebot/progress"
)

// Owners: /upgrade take and release say who republishes which module.
// The store keeps the owner by module key; the core shows owners only for
// modules still listed, and drops them when a module is republished.

func (b *Bot) cmdTake(ctx context.Context, c Command, args string) Response {
	return b.setOwner(ctx, c, args, true)
}

func (b *Bot) cmdRelease(ctx context.Context, c Command, args string) Response {
	return b.setOwner(ctx, c, args, false)
}

// setOwner takes (or releases) the named listed modules for the caller.
// "release all" releases every module the caller has.
func (b *Bot) setOwner(ctx context.Context, c Command, args string, take bool) Response {
	name := map[bool]string{true: "take", false: "release"}[take]
	envName, rest := splitEnvPrefix(args)
	all := strings.EqualFold(strings.TrimSpace(rest), "all")
	if all && take {
		return b.usageError(b.lookup(name), "Name the modules you take: there is no `take all`, so that nobody takes over a colleague's modules by mistake.")
	}
	var mods, refused []string
	if !all {
		if mods, refused = moduleNames(b.engine, rest); len(mods) == 0 {
			return b.usageError(b.lookup(name), noNamesProblem(refused))
		}
	}
	env, errR := b.resolveEnv(ctx, c, envName, mods)
	if errR != nil {
		return private(errR)
	}
	st, err := b.store.Status(ctx, c.Workspace, env, -1)
	if err != nil {
		return private(b.storeError("status", err))
	}
	owners, err := b.store.ModuleOwners(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("owners", err))
	}
	listed := map[string]string{}
	for _, m := range st.Modules {
		listed[moduleKey(m.Name)] = m.Name
	}
	var names, missing, others []string
	if all {
		for _, m := range st.Modules {
			if owners[moduleKey(m.Name)] == c.User {
				names = append(names, m.Name)
			}
		}
	}
	for _, m := range mods {
		switch n, ok := listed[moduleKey(m)]; {
		case !ok:
			missing = append(missing, m)
		case !take && owners[moduleKey(m)] == "":
			others = append(others, n) // nobody has it: nothing to release
		default:
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		msg := fmt.Sprintf("Not on %s's list: %s. `%s status %s` shows the list (a name with spaces goes in quotes).", env, quotedList(missing), b.cmd, env)
		switch {
		case all:
			msg = fmt.Sprintf("You have no modules of %s to release.", env)
		case len(others) > 0:
			msg = fmt.Sprintf("Nobody has taken those modules of %s.", env)
		}
		r := errorReply(msg)
		if l := b.didYouMean(ctx, c.Workspace, env, name, missing); l != nil && !all && len(others) == 0 {
			r.Section(l)
		}
		return private(r)
	}
	owner := c.User
	if !take {
		owner = ""
	}
	// Only the modules whose owner changes are set, and so in the history:
	// a take repeated (a mention delivered twice) logs nothing more.
	changing := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return owners[moduleKey(n)] == owner })
	before := map[string]string{}
	if len(changing) > 0 {
		if before, err = b.store.SetOwner(ctx, c.Workspace, env, owner, c.User, changing); err != nil {
			return private(b.storeError("owners", err))
		}
	}
	var gone []string // republished between the list's read and the take: given back
	if take && len(changing) > 0 {
		names, gone = b.stillListed(ctx, c.Workspace, env, c.User, names, changing)
		if len(names) == 0 {
			return private(errorReply(fmt.Sprintf("%s left %s's list as you took %s (republished, or the upgrade started again): nothing to take.", quotedList(gone), env, map[bool]string{true: "it", false: "them"}[len(gone) == 1])))
		}
	}
	b.lastNotUndoable(ctx, c, fmt.Sprintf("%s %s on %s", name, quotedList(names), env), "Take or release them again to change it")
	r := &Reply{}
	from := Line{T("Taken over from ")}
	if take {
		r.Summary = fmt.Sprintf("%s taken on %s", plural(len(names), "module", "modules"), env) // a notification shows no mention
		r.Section(append(append(Line{M(c.User), T(" took ")}, nameSpans(names, 10)...), T(" on "), B(env), T(".")))
	} else {
		r.Summary = fmt.Sprintf("%s released on %s", plural(len(names), "module", "modules"), env)
		r.Section(append(append(Line{M(c.User), T(" released ")}, nameSpans(names, 10)...), T(" on "), B(env), T(": anyone may take "+map[bool]string{true: "it", false: "them"}[len(names) == 1]+".")))
		from = Line{T("Held until now by ")}
	}
	// Whoever had them is named (and so told): another's module changes
	// hands only in the open.
	var had []string
	for _, n := range names {
		if o := before[moduleKey(n)]; o != "" && o != c.User && !slices.Contains(had, o) {
			had = append(had, o)
		}
	}
	for i, o := range had {
		if i > 0 {
			from = append(from, T(", "))
		}
		from = append(from, M(o))
	}
	if len(had) > 0 {
		r.Context(from)
	}
	if len(missing) > 0 {
		r.Context(append(Line{T("Not on the list: ")}, nameSpans(missing, 10)...))
	}
	if len(gone) > 0 {
		r.Context(append(append(Line{T("Left the list as you took them, so not yours: ")}, nameSpans(gone, 10)...), T(".")))
	}
	refusedNote(r, refused)
	return Response{Announce: r, Changed: []string{env}}
}

// stillListed reads env's list again after a take of changing (of names)
// and gives back those no longer listed: a done or reset between the
// take's read and its write released them first, and the owner would stay
// on a module off the list. It returns the names still listed, and the
// others; all of names when the list cannot be read.
func (b *Bot) stillListed(ctx context.Context, workspace, env, user string, names, changing []string) (kept, gone []string) {
	st, err := b.store.Status(ctx, workspace, env, -1)
	if err != nil {
		return names, nil
	}
	listed := map[string]bool{}
	for _, m := range st.Modules {
		listed[moduleKey(m.Name)] = true
	}
	for _, n := range names {
		if listed[moduleKey(n)] || !slices.Contains(changing, n) {
			kept = append(kept, n)
		} else {
			gone = append(gone, n)
		}
	}
	if len(gone) > 0 {
		// Released in the taker's name, so the history that says they took them says they gave them back.
		if _, err := b.store.SetOwner(ctx, workspace, env, "", user, gone); err != nil {
			b.log.Warn("cannot give back modules that left the list", "env", env, "err", err)
		}
	}
	return kept, gone
}

// moduleOwners returns env's owners by module key; nil when they cannot be
// read (status still shows, without owners).
func (b *Bot) moduleOwners(ctx context.Context, workspace, env string) map[string]string {
	o, err := b.store.ModuleOwners(ctx, workspace, env)
	if err != nil {
		b.log.Warn("cannot read module owners", "env", env, "err", err)
		return nil
	}
	return o
}

// releaseOwners forgets the owners of modules that left the list in the
// change key, and keeps them with it for its undo (restoreOwners).
func (b *Bot) releaseOwners(ctx context.Context, workspace, env, key string, modules []string, all bool) {
	var before map[string]string
	var err error
	switch {
	case all:
		before, _ = b.store.ModuleOwners(ctx, workspace, env) // for an undo only
		err = b.store.ClearOwners(ctx, workspace, env)
	case len(modules) > 0:
		before, err = b.store.SetOwner(ctx, workspace, env, "", "", modules)
	}
	if err != nil {
		b.log.Warn("cannot release the owners of republished modules", "env", env, "err", err)
	}
	if len(before) > 0 {
		if err := putJSON(ctx, b.store, workspace, releasedKey(key), before, progress.UndoTTL); err != nil {
			b.log.Warn("cannot keep the owners a change released, for its undo", "env", env, "err", err)
		}
	}
}

func releasedKey(changeKey string) string { return "released:" + changeKey }

// restoreOwners gives the modules an undo put back (back) the owners the
// undone changes (keys) released.
func (b *Bot) restoreOwners(ctx context.Context, workspace, env string, keys, back []string) {
	owner := map[string]string{} // module name → owner
	for _, k := range keys {
		released, _, err := getJSON[map[string]string](ctx, b.store, workspace, releasedKey(k))
		if err != nil {
			b.log.Warn("cannot read the owners a change released", "env", env, "err", err)
		}
		for _, name := range back {
			if o := released[progress.ModuleKey(name)]; o != "" {
				owner[name] = o
			}
		}
	}
	byOwner := map[string][]string{}
	for name, o := range owner {
		byOwner[o] = append(byOwner[o], name)
	}
	for o, names := range byOwner {
		if _, err := b.store.SetOwner(ctx, workspace, env, o, "", names); err != nil {
			b.log.Warn("cannot give modules back their owners", "env", env, "err", err)
		}
	}
}

// ownership is who took the modules of an environment (by module key),
// and which of them left the workspace: status, the status message, App
// Home and reminders all tell owners from it (taker), so they agree.
type ownership struct {
	by map[string]string
	// listed holds every module listed when anyone took one (reminders
	// name every owner); else the first ones, the rest counted by
	// Status.ModuleCount.
	listed []progress.Module
	// departed are owners who have left the workspace: their modules are anyone's to take.
	departed map[string]bool
}

// taker is who holds module name: "" when nobody does, or when the one
// who took it has left the workspace (gone names them then). Nil-safe.
func (own *ownership) taker(name string) (owner, gone string) {
	if own == nil {
		return "", ""
	}
	o := own.by[moduleKey(name)]
	if own.departed[o] {
		return "", o
	}
	return o, ""
}

// moduleOwnership reads who took env's modules and which of them left
// the workspace (Names.Departed, which caches Slack's answers); nil when
// the owners cannot be read.
func (b *Bot) moduleOwnership(ctx context.Context, workspace, env string) *ownership {
	by := b.moduleOwners(ctx, workspace, env)
	if by == nil {
		return nil
	}
	own := &ownership{by: by}
	if b.names != nil && len(by) > 0 {
		var ids []string // once each: asked once per person, not per module
		for _, o := range by {
			if !slices.Contains(ids, o) {
				ids = append(ids, o)
			}
		}
		own.departed = b.names.Departed(ctx, workspace, ids)
	}
	return own
}

// reminderOwnership is moduleOwnership with the modules to name owners
// of: st's, or every one listed when st shows only the first; nil when
// it cannot be read.
func (b *Bot) reminderOwnership(ctx context.Context, workspace string, st progress.Status) *ownership {
	own := b.moduleOwnership(ctx, workspace, st.Name)
	if own == nil {
		return nil
	}
	own.listed = st.Modules
	if len(own.by) > 0 && st.ModuleCount > len(st.Modules) {
		// Owners of modules beyond those shown are named too.
		full, err := b.store.Status(ctx, workspace, st.Name, -1)
		if err != nil {
			b.log.Warn("cannot read the modules to name their owners", "env", st.Name, "err", err)
			return nil
		}
		own.listed = full.Modules
	}
	return own
}

// mentionList mentions each of users, separated by commas.
func mentionList(users []string) []Span {
	var l []Span
	for i, u := range users {
		if i > 0 {
			l = append(l, T(", "))
		}
		l = append(l, M(u))
	}
	return l
}

// ownerLines group the listed modules by owner: each owner mentioned once
// with their modules, then the modules nobody has taken (all st.ModuleCount
// counted, when own.listed holds only the first).
func (b *Bot) ownerLines(st progress.Status, own *ownership) []Line {
	var order, left []string
	byOwner := map[string][]string{}
	var free []string
	owned := 0
	for _, m := range own.listed {
		o, gone := own.taker(m.Name)
		if o == "" {
			free = append(free, m.Name)
			if gone != "" && !slices.Contains(left, gone) {
				left = append(left, gone)
			}
			continue
		}
		owned++
		if _, ok := byOwner[o]; !ok {
			order = append(order, o)
		}
		byOwner[o] = append(byOwner[o], m.Name)
	}
	var lines []Line
	for _, o := range order {
		lines = append(lines, append(Line{M(o), T(": ")}, nameSpans(byOwner[o], 8)...))
	}
	if n := max(st.ModuleCount, len(own.listed)) - owned; n > 0 {
		l := append(Line{T("Nobody has taken ")}, nameSpansOf(free, 8, n)...)
		example := "<module>"
		if len(free) > 0 {
			example = commandName(free[0])
		}
		lines = append(lines, append(l, T(" yet: "), C(b.cmd+" take "+st.Name+": "+example), T(" takes one.")))
	}
	if len(left) > 0 {
		// A deactivated account gets no notification: the mention only names them.
		l := append(Line{T("Among them, modules taken by people who have left the workspace (")}, mentionList(left)...)
		lines = append(lines, append(l, T(").")))
	}
	return lines
}
