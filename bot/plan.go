package bot

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// planned is a tracking change derived from a message, before its environment is known.
type planned struct {
	Kind    progress.ChangeKind `json:"k"`
	State   progress.State      `json:"s,omitempty"`
	Reason  progress.Reason     `json:"r,omitempty"`
	Modules []string            `json:"m,omitempty"`
	Edges   [][2]string         `json:"g,omitempty"` // producer, consumer
	Errors  map[string]string   `json:"x,omitempty"` // module → first line of its error
	Percent *int                `json:"p,omitempty"`
	Expect  string              `json:"e,omitempty"`
	Current *int                `json:"c,omitempty"`
	Total   *int                `json:"t,omitempty"`
	Counts  [3]*int             `json:"n,omitempty"`
	Version string              `json:"v,omitempty"`  // the Platform Server version the message names
	Stamps  string              `json:"ts,omitempty"` // a blocked operation's times, as written
	// WhileOpen marks modules named by a message that ordinary development
	// shows too: recorded only while the upgrade followed isn't done.
	WhileOpen bool `json:"o,omitempty"`
	// Unprepared: named by "Producer module … hasn't been prepared", which,
	// once the preparation has ended, names a module it failed or skipped.
	Unprepared bool `json:"u,omitempty"`
	// Pos is its place in its part's plan: its key there (see key), the
	// same however many of the changes before it are left out later.
	Pos int `json:"-"`
}

// outcome reports whether p records the preparation's news (a summary, a state, its progress).
func (p planned) outcome() bool {
	return p.Kind == progress.ChangeSummary || p.Kind == progress.ChangeState || p.Kind == progress.ChangePreparing
}

// key is the change key of p in the part keyed part.
func (p planned) key(part string) string { return fmt.Sprintf("%s#%d", part, p.Pos) }

func intp(v int) *int { return &v }

// plan turns findings into tracking changes, merging modules of one reason.
func plan(findings []diagnosis.Finding) []planned {
	var out []planned
	addModule := func(f diagnosis.Finding, reason progress.Reason, whileOpen bool) {
		name := f.Text("module")
		if moduleKey(name) == "" { // nothing but invisible characters
			return
		}
		// An Error Log's rows are diagnosed one by one: each names its own
		// version (or none), and is held back or recorded by it.
		v := f.Text("version")
		i := slices.IndexFunc(out, func(p planned) bool {
			return p.Kind == progress.ChangeAddModules && p.Reason == reason && p.WhileOpen == whileOpen && p.Version == v
		})
		if i < 0 {
			out = append(out, planned{Kind: progress.ChangeAddModules, Reason: reason, WhileOpen: whileOpen, Version: v, Errors: map[string]string{}})
			i = len(out) - 1
		}
		out[i].Modules = append(out[i].Modules, name)
		if _, ok := out[i].Errors[name]; !ok {
			out[i].Errors[name] = errorLine(f)
		}
		// An Error Log row names the module being published too: a producer's consumer.
		if c := f.Text("consumer"); reason == progress.ReasonProducerNotPrepared && validName(name) && validName(c) {
			out[i].Edges = append(out[i].Edges, [2]string{name, c})
		}
	}
	preparing := func(p planned) {
		p.Kind = progress.ChangePreparing
		for i := range out {
			if out[i].Kind == progress.ChangePreparing {
				out[i] = p // the latest progress in the message wins
				return
			}
		}
		out = append(out, p)
	}
	for _, f := range findings {
		switch f.ID {
		case "producer-not-prepared":
			addModule(f, progress.ReasonProducerNotPrepared, false)
			for i := range out {
				if out[i].Reason == progress.ReasonProducerNotPrepared && !out[i].WhileOpen {
					out[i].Unprepared = true
				}
			}
		case "module-not-upgraded":
			if f.Text("module") != "" { // from an Error Log row's module column
				addModule(f, progress.ReasonNotUpgraded, false)
			}
		case "module-upgrade-failed":
			addModule(f, progress.ReasonFailed, false)
		case "publish-blocked-by-preparation", "configuration-blocked-by-preparation", "delete-blocked-by-preparation":
			p := planned{}
			if at := f.Text("upgrade_started_at"); at != "" {
				p.Stamps = "the modules upgrade started at " + at
			}
			if at := f.Text("started_at"); at != "" {
				p.Stamps = strings.TrimPrefix(p.Stamps+", the blocked operation at "+at, ", ")
			}
			preparing(p)
		case "preparation-in-progress":
			p := planned{}
			if at := f.Text("expected_at"); clockTime.MatchString(at) { // not OCR's "1621"
				p.Expect = at
			}
			if v, ok := f.Number("percent"); ok {
				p.Percent = intp(v)
			}
			preparing(p)
		case "preparing-module-database":
			p := planned{}
			if v, ok := f.Number("current"); ok {
				p.Current = intp(v)
			}
			if v, ok := f.Number("total"); ok {
				p.Total = intp(v)
			}
			preparing(p)
		case "preparation-summary":
			var c [3]*int
			for i, k := range []string{"prepared", "failed", "skipped"} {
				if v, ok := f.Number(k); ok {
					c[i] = intp(v)
				}
			}
			out = append(out, planned{Kind: progress.ChangeSummary, Counts: c})
		case "modules-preparation-failed", "service-center-outdated":
			out = append(out, planned{Kind: progress.ChangeState, State: progress.StateFailed})
		case "environment-ready":
			out = append(out, planned{Kind: progress.ChangeState, State: progress.StateReady})
		case "modules-preparation-errors":
			out = append(out, planned{Kind: progress.ChangeState, State: progress.StateFinishedWithErrors})
		default: // the knowledge base says which other messages name a module to republish
			if f.Entry != nil && f.Entry.Republish != "" {
				addModule(f, progress.Reason(f.Entry.Republish), true)
			}
		}
	}
	// A summary already sets the finished state; a separate state change would only repeat it.
	hasSummary := false
	for _, p := range out {
		hasSummary = hasSummary || p.Kind == progress.ChangeSummary
	}
	if hasSummary {
		kept := out[:0]
		for _, p := range out {
			if !(p.Kind == progress.ChangeState && p.State == progress.StateFinishedWithErrors) {
				kept = append(kept, p)
			}
		}
		out = kept
	}
	// The version a text names is its findings' (diagnosis gives them all
	// the same); the modules have theirs already.
	for _, f := range findings {
		if v := f.Text("version"); v != "" {
			for i := range out {
				if out[i].Kind != progress.ChangeAddModules {
					out[i].Version = v
				}
			}
			break
		}
	}
	return out
}

func (p planned) change(key, actor, source string) progress.Change {
	c := progress.Change{Kind: p.Kind, Key: key, Actor: actor, Source: source, State: p.State, Reason: p.Reason, Modules: p.Modules, Errors: p.Errors, Version: p.Version}
	for _, e := range p.Edges {
		c.Edges = append(c.Edges, progress.Edge{Producer: e[0], Consumer: e[1]})
	}
	c.Preparation = progress.Preparation{Percent: p.Percent, Expected: p.Expect, Current: p.Current, Total: p.Total}
	c.Counts = progress.Counts{Prepared: p.Counts[0], Failed: p.Counts[1], Skipped: p.Counts[2]}
	return c
}

// onlyWhileOpen reports whether every change of parts is one recorded
// only while an upgrade is followed and not done.
func onlyWhileOpen(parts []partChanges) bool {
	for _, pc := range parts {
		for _, p := range pc.Changes {
			if !p.WhileOpen {
				return false
			}
		}
	}
	return true
}

// whileOpen drops the changes marked WhileOpen when env's upgrade is done.
func (b *Bot) whileOpen(ctx context.Context, workspace, env string, parts []partChanges) ([]partChanges, error) {
	if !slices.ContainsFunc(parts, func(pc partChanges) bool {
		return slices.ContainsFunc(pc.Changes, func(p planned) bool { return p.WhileOpen })
	}) {
		return parts, nil
	}
	st, err := b.store.Status(ctx, workspace, env, 0)
	if err != nil || !st.Finished() {
		return parts, err
	}
	return dropWhileOpen(parts), nil
}

// dropWhileOpen returns parts without the changes marked WhileOpen.
func dropWhileOpen(parts []partChanges) []partChanges {
	var kept []partChanges
	for _, pc := range parts {
		pc.Changes = slices.DeleteFunc(slices.Clone(pc.Changes), func(p planned) bool { return p.WhileOpen })
		if len(pc.Changes) > 0 {
			kept = append(kept, pc)
		}
	}
	return kept
}

// partChanges are the planned tracking changes of one part.
type partChanges struct {
	Key     string    `json:"k"`
	Changes []planned `json:"c"`
	// Held are the changes of messages quoted in a sentence of someone's
	// own (see pasted): explained, recorded only when asked to.
	Held []planned `json:"h,omitempty"`
	// Why the changes are held, when for another reason than a sentence.
	Why progress.Verdict `json:"w,omitempty"`
}

// heldFor holds back every change of parts, for why; a part held back
// already, all of it in a sentence of someone's own, keeps that reason:
// a chat line is no news of any environment.
func heldFor(parts []partChanges, why progress.Verdict) []partChanges {
	out := make([]partChanges, len(parts))
	for i, pc := range parts {
		if len(pc.Changes) == 0 {
			out[i] = pc
			continue
		}
		out[i] = partChanges{Key: pc.Key, Held: slices.Concat(pc.Changes, pc.Held), Why: why}
	}
	return out
}

// planParts plans each part's changes on its own, so that what a part
// records does not depend on the others.
func planParts(parts []part) []partChanges {
	var out []partChanges
	for _, p := range parts {
		var own, said []diagnosis.Finding
		for _, f := range p.findings {
			// A screenshot shows the product itself.
			if p.image >= 0 || pasted(f) {
				own = append(own, f)
			} else {
				said = append(said, f)
			}
		}
		if pc := (partChanges{Key: p.key, Changes: plan(own), Held: plan(said)}); len(pc.Changes)+len(pc.Held) > 0 {
			for i := range pc.Changes {
				pc.Changes[i].Pos = i
			}
			out = append(out, pc)
		}
	}
	return out
}

// clockTime finds a time of day in a banner's expected time, whatever
// the date and zone around it (18:21, 18.21, 6:21 PM, 2024-03-12T18:21:00+01:00).
var clockTime = regexp.MustCompile(`(?:^|[^0-9])(?:[01]?[0-9]|2[0-3])[:.][0-5][0-9](?:[^0-9]|$)`)

// validName reports whether the store takes name as a module name.
func validName(name string) bool {
	_, err := progress.NormalizeModule(name)
	return err == nil
}

// errorLine is the first line of the product message a finding recognized,
// its values filled in: the error a change record shows for its module.
func errorLine(f diagnosis.Finding) string {
	if f.Entry == nil || len(f.Entry.Messages) == 0 {
		return ""
	}
	line := f.Entry.Messages[0].Text
	for _, v := range f.Values {
		line = strings.ReplaceAll(line, "{"+v.Name+"}", v.Text)
	}
	line, _, _ = strings.Cut(line, "\n")
	if i := strings.Index(line, ". "); i >= 0 {
		line = line[:i+1]
	}
	return Shorten(line, 200)
}
