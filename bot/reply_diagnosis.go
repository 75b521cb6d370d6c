package bot

import (
	"fmt"
	"slices"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// maxDiagnosed is how many findings one reply explains in full; the rest are listed.
const maxDiagnosed = 5

// valueLabels name the values a finding may carry, in display order. A
// time copied from Service Center is by its clock, which need not be the
// UTC the bot writes its own in: its label says so.
var valueLabels = []struct{ key, label string }{
	{"module", "Module"}, {"user", "Started by"}, {"started_at", "Started at (Service Center's clock)"}, {"upgrade_started_at", "Modules upgrade started at (Service Center's clock)"},
	{"percent", "Progress"}, {"expected_at", "Expected ready at (Service Center's clock)"}, {"prepared", "Prepared"}, {"failed", "Failed"}, {"skipped", "Skipped"},
	{"current", "Progress"}, {"total", "Of"}, {"version", "Platform Server"},
}

// known is what a reply knows beyond the findings: the environment the
// message is about as the message leaves it (its zero value when no
// environment is known; only InstallType when the channel's environments
// agree on it) and whether the message shows an Error Log internal error.
type known struct {
	env      progress.Environment
	internal bool
	fix      string // for the entry explained: whether env's target has its fix (a condition)
}

// about is k for explaining e: a known issue that e.FixedIn fixes is ruled
// out when env's target is that version or later (the target's own tools
// show the message); with no target known, it is not.
func (k known) about(e *diagnosis.Entry) known {
	k.fix = ""
	if e.FixedIn != "" {
		k.fix = "fix-not-in-target"
		// "11.13" may be before "11.13.2": a fix counts when the target says so.
		if c := progress.CompareVersions(k.env.Version, e.FixedIn); k.env.Version != "" && (c > 0 || c == 0 && strings.Count(k.env.Version, ".") >= strings.Count(e.FixedIn, ".")) {
			k.fix = "fix-in-target"
		}
	}
	return k
}

// phase is where env's preparation stands, as a knowledge-base condition.
func phase(env progress.Environment) string {
	switch {
	case republishAll(env):
		return "republish-all"
	case env.State == progress.StatePreparing:
		return "preparing"
	case env.State.OutcomeKnown():
		return "finished"
	}
	return "unknown"
}

// outcome refines the "finished" phase: the step itself failed, it
// prepared every module, or some failed or were skipped.
func outcome(env progress.Environment) string {
	f, s := env.Counts.Failed, env.Counts.Skipped
	switch {
	case phase(env) != "finished":
		return ""
	case env.State == progress.StateFailed:
		return "step-failed"
	case env.State == progress.StateReady || f != nil && s != nil && *f == 0 && *s == 0,
		env.State == progress.StateDone && f == nil && s == nil: // the ready banner, with nothing listed
		return "all-prepared"
	}
	return "with-errors"
}

// conditions are the knowledge-base conditions k meets.
func (k known) conditions() []string {
	c := []string{phase(k.env), "no-internal-error"}
	if k.internal {
		c[1] = "internal-error"
	}
	if o := outcome(k.env); o != "" {
		c = append(c, o)
	}
	if k.fix != "" {
		c = append(c, k.fix)
	}
	return c
}

// applies reports whether a note or link limited to only and when applies:
// an unknown installation type sees every type's.
func (k known) applies(only diagnosis.Install, when []string) bool {
	if only != diagnosis.InstallAny && k.env.InstallType != "" && string(only) != string(k.env.InstallType) {
		return false
	}
	return len(when) == 0 || slices.ContainsFunc(when, func(w string) bool { return slices.Contains(k.conditions(), w) })
}

// label marks what applies to one installation type when the type is not known.
func (k known) label(only diagnosis.Install) Line {
	if only == diagnosis.InstallAny || k.env.InstallType != "" {
		return nil
	}
	return Line{I("[" + string(only) + "] ")}
}

// diagnosisReply explains findings: what each is, the values read, why and
// what to do, as far as they apply to what is known.
func (b *Bot) diagnosisReply(findings []diagnosis.Finding, k known) *Reply {
	r := &Reply{}
	// Group findings of one id (three producers in one paste) into one explanation.
	type group struct {
		entry *diagnosis.Entry
		items []diagnosis.Finding
	}
	var groups []*group
	byID := map[string]*group{}
	for _, f := range findings {
		g := byID[f.ID]
		if g == nil {
			g = &group{entry: f.Entry}
			byID[f.ID] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, f)
	}
	titles := make([]string, len(groups))
	many := make([]bool, len(groups)) // several rows, of several modules: the plural texts
	for i, g := range groups {
		many[i] = len(g.items) > 1 && len(distinctModules(g.items)) != 1
		titles[i] = g.entry.Title
		if many[i] && g.entry.Plural != "" {
			titles[i] = g.entry.Plural
		}
	}
	r.Summary = strings.Join(titles, "; ")
	for gi, g := range groups {
		if gi == maxDiagnosed {
			r.Context(Line{T("Also found: " + strings.Join(titles[gi:], "; "))})
			break
		}
		if gi > 0 {
			r.Divider()
		}
		r.Header(titles[gi])
		r.Fields(findingFields(g.items)...)
		k := k.about(g.entry)
		if l := preparationLine(g.entry, k); l != nil {
			r.Section(l)
		}
		if lines := k.notes(g.entry.Causes, "• ", many[gi]); len(lines) > 0 {
			r.Section(append([]Line{{B("Why")}}, lines...)...)
		}
		if lines := k.notes(g.entry.Steps, "", many[gi]); len(lines) > 0 {
			r.Section(Line{B("What to do")})
			r.List(lines...)
		}
		var links []Line
		for _, l := range g.entry.Links {
			if k.applies(l.Only, nil) {
				links = append(links, append(k.label(l.Only), L(l.Title, l.URL)))
			}
		}
		r.Context(links...)
	}
	return r
}

// distinctModules are the modules findings name, each once.
func distinctModules(findings []diagnosis.Finding) []string {
	var mods []string
	seen := map[string]bool{} // a shared log may name tens of thousands
	for _, f := range findings {
		if m := f.Text("module"); m != "" && !seen[moduleKey(m)] {
			seen[moduleKey(m)] = true
			mods = append(mods, m)
		}
	}
	return mods
}

// notes are the lines of the notes that apply, in their plural form for several findings.
func (k known) notes(notes []diagnosis.Note, prefix string, many bool) []Line {
	var lines []Line
	for _, n := range notes {
		if !k.applies(n.Only, n.When) {
			continue
		}
		text := n.Text
		if many && n.Plural != "" {
			text = n.Plural
		}
		l := append(Line{T(prefix)}, k.label(n.Only)...)
		lines = append(lines, append(l, inlineCode(text)...))
	}
	return lines
}

// preparationLine says how far a running preparation is, for an entry
// whose advice depends on it; nil otherwise.
func preparationLine(e *diagnosis.Entry, k known) Line {
	waits := func(n diagnosis.Note) bool { return slices.Contains(n.When, "preparing") }
	if phase(k.env) != "preparing" || !slices.ContainsFunc(e.Causes, waits) && !slices.ContainsFunc(e.Steps, waits) {
		return nil
	}
	p := k.env.Preparation
	var parts []string
	switch {
	case p.Percent != nil:
		parts = append(parts, fmt.Sprintf("%d%% done", *p.Percent))
	case p.Current != nil && p.Total != nil:
		parts = append(parts, fmt.Sprintf("module %d of %d", *p.Current, *p.Total))
	}
	if p.Expected != "" {
		parts = append(parts, "Service Center expects it to end at "+p.Expected)
	}
	what := "no progress recorded yet"
	if len(parts) > 0 {
		what = strings.Join(parts, "; ")
	}
	return Line{T(":hourglass_flowing_sand: The modules preparation of "), B(k.env.Name), T(" is running: " + what + ".")}
}

// republishAll reports whether env's upgrade means republishing every
// application right after it (an upgrade from Platform Server 10 or
// earlier has no modules preparation), until the environment is ready or done.
func republishAll(env progress.Environment) bool {
	return env.FromBefore11() && env.State != progress.StateReady && env.State != progress.StateDone
}

// internalError reports whether a text shows an Error Log "Internal Error" row.
func internalError(text string) bool {
	return strings.Contains(strings.ToLower(text), "internal error:")
}

// inlineCode turns `backticked` parts of our own texts into code spans.
func inlineCode(s string) Line {
	var l Line
	for i := 0; ; i++ {
		before, after, ok := strings.Cut(s, "`")
		if i%2 == 0 {
			if before != "" {
				l = append(l, T(before))
			}
		} else if ok {
			l = append(l, C(before))
		} else {
			l = append(l, T("`"+before))
		}
		if !ok {
			return l
		}
		s = after
	}
}

// findingFields are the values the pasted messages of items give: words
// of someone's sentence ("started by me at 10am") are not shown as such.
func findingFields(items []diagnosis.Finding) []Field {
	var fields []Field
	if items = slices.DeleteFunc(slices.Clone(items), func(f diagnosis.Finding) bool { return !pasted(f) }); len(items) == 0 {
		return nil
	}
	if len(items) > 1 {
		switch mods := distinctModules(items); len(mods) {
		case 0:
		case 1:
			fields = append(fields, Field{Label: "Module", Value: Line{C(mods[0])}})
		default:
			fields = append(fields, Field{Label: "Modules", Value: nameSpans(mods, 20)})
		}
		return fields
	}
	f := items[0]
	for _, vl := range valueLabels {
		v, ok := f.Value(vl.key)
		if !ok {
			continue
		}
		text := v.Text
		switch vl.key {
		case "percent":
			text += "%"
		case "current":
			text = "module " + v.Text
			if t, ok := f.Number("total"); ok {
				text = fmt.Sprintf("module %s of %d", v.Text, t)
			}
		case "total":
			continue
		}
		value := Line{T(text)}
		if vl.key == "module" {
			value = Line{C(text)}
		}
		fields = append(fields, Field{Label: vl.label, Value: value})
	}
	return fields
}

// AllClear is the message that env has no modules left to republish.
func (b *Bot) AllClear(env string) *Reply { return b.allClear(env) }

func (b *Bot) allClear(env string) *Reply {
	r := &Reply{Summary: "All clear: " + env + " has no modules left to republish"}
	r.Section(Line{T(":tada: "), B("All clear on " + env), T(": nothing is left to republish.")})
	return r
}

// clearedIn is the message that env's list was emptied, in state s: all
// clear, unless no outcome of the modules preparation is known yet (its
// summary may list more, and then the all-clear comes with it).
func (b *Bot) clearedIn(env string, s progress.State) *Reply {
	if s.Normal() != progress.StateFollowing {
		return b.allClear(env)
	}
	r := &Reply{Summary: env + "'s list is empty; no outcome of the modules preparation yet"}
	r.Section(Line{T(":white_check_mark: "), B(env + "'s list is empty"), T(": every module reported has been republished.")})
	r.Context(Line{T("No outcome of the modules preparation is recorded yet: when Service Center shows it, paste its summary here, and I will list what it failed or skipped (or say all clear). With no summary to paste, "),
		C(b.cmd + " done " + env + ": all"), T(" closes the upgrade.")})
	return r
}
