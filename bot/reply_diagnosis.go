package bot

import (
	"fmt"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// maxDiagnosed is how many findings one reply explains in full; the rest are listed.
const maxDiagnosed = 5

// valueLabels name the values a finding may carry, in display order.
var valueLabels = []struct{ key, label string }{
	{"module", "Module"}, {"user", "Started by"}, {"started_at", "Started at"}, {"upgrade_started_at", "Modules upgrade started at"},
	{"percent", "Progress"}, {"expected_at", "Expected ready at"}, {"prepared", "Prepared"}, {"failed", "Failed"}, {"skipped", "Skipped"},
	{"current", "Module"}, {"total", "Of"}, {"version", "Platform Server"},
}

// diagnosisReply explains findings: what each is, the values read, why and what to do.
func (b *Bot) diagnosisReply(findings []diagnosis.Finding, install progress.InstallType) *Reply {
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
	titles := make([]string, 0, len(groups))
	for _, g := range groups {
		titles = append(titles, g.entry.Title)
	}
	r.Summary = strings.Join(titles, "; ")
	in := diagnosis.Install(install)
	for gi, g := range groups {
		if gi == maxDiagnosed {
			var rest []string
			for _, g := range groups[gi:] {
				rest = append(rest, g.entry.Title)
			}
			r.Context(Line{T("Also found: " + strings.Join(rest, "; "))})
			break
		}
		if gi > 0 {
			r.Divider()
		}
		r.Header(g.entry.Title)
		r.Fields(findingFields(g.items)...)
		if causes := g.entry.CausesFor(in); len(causes) > 0 {
			var lines []Line
			for _, c := range causes {
				lines = append(lines, noteLine("• ", c))
			}
			r.Section(append([]Line{{B("Why")}}, lines...)...)
		}
		if steps := g.entry.StepsFor(in); len(steps) > 0 {
			r.Section(Line{B("What to do")})
			var lines []Line
			for _, s := range steps {
				lines = append(lines, noteLine("", s))
			}
			r.List(lines...)
		}
		var links []Line
		for _, l := range g.entry.Links {
			links = append(links, Line{L(l.Title, l.URL)})
		}
		r.Context(links...)
	}
	return r
}

func noteLine(prefix string, n diagnosis.Note) Line {
	l := Line{T(prefix)}
	if n.Only != diagnosis.InstallAny {
		l = append(l, I("["+string(n.Only)+"] "))
	}
	return append(l, inlineCode(n.Text)...)
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

func findingFields(items []diagnosis.Finding) []Field {
	var fields []Field
	if len(items) > 1 {
		var mods []string
		for _, f := range items {
			if m := f.Text("module"); m != "" {
				mods = append(mods, m)
			}
		}
		if len(mods) > 0 {
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
			if t, ok := f.Number("total"); ok {
				text = fmt.Sprintf("%s of %d", v.Text, t)
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
	r.Section(Line{T(":tada: "), B("All clear on " + env), T(": every module reported has been republished.")})
	return r
}
