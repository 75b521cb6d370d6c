package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// Action ids of the bot's buttons.
const (
	ActionMarkDone   = "mark_done"
	ActionShowStatus = "show_status"
	ActionChooseEnv  = "choose_env"
	ActionShare      = "share_status"
)

// maxDiagnosed is how many findings one reply explains in full; the rest are listed.
const maxDiagnosed = 5

// planned is a tracking change derived from a message, before its environment is known.
type planned struct {
	Kind    progress.ChangeKind `json:"k"`
	State   progress.State      `json:"s,omitempty"`
	Reason  progress.Reason     `json:"r,omitempty"`
	Modules []string            `json:"m,omitempty"`
	Percent *int                `json:"p,omitempty"`
	Expect  string              `json:"e,omitempty"`
	Current *int                `json:"c,omitempty"`
	Total   *int                `json:"t,omitempty"`
	Counts  [3]*int             `json:"n,omitempty"`
}

func intp(v int) *int { return &v }

// plan turns findings into tracking changes, merging modules of one reason.
func plan(findings []diagnosis.Finding) []planned {
	var out []planned
	addModule := func(reason progress.Reason, name string) {
		if name == "" {
			return
		}
		for i := range out {
			if out[i].Kind == progress.ChangeAddModules && out[i].Reason == reason {
				out[i].Modules = append(out[i].Modules, name)
				return
			}
		}
		out = append(out, planned{Kind: progress.ChangeAddModules, Reason: reason, Modules: []string{name}})
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
			addModule(progress.ReasonProducerNotPrepared, f.Text("module"))
		case "module-upgrade-failed":
			addModule(progress.ReasonFailed, f.Text("module"))
		case "publish-blocked-by-preparation", "configuration-blocked-by-preparation", "delete-blocked-by-preparation":
			preparing(planned{})
		case "preparation-in-progress":
			p := planned{Expect: f.Text("expected_at")}
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
	return out
}

func (p planned) change(key, actor, source string) progress.Change {
	c := progress.Change{Kind: p.Kind, Key: key, Actor: actor, Source: source, State: p.State, Reason: p.Reason, Modules: p.Modules}
	c.Preparation = progress.Preparation{Percent: p.Percent, Expected: p.Expect, Current: p.Current, Total: p.Total}
	c.Counts = progress.Counts{Prepared: p.Counts[0], Failed: p.Counts[1], Skipped: p.Counts[2]}
	return c
}

var envPrefix = regexp.MustCompile(`^\s*(?:\*|_)*([A-Za-z0-9][A-Za-z0-9._-]{0,39})(?:\*|_)*\s*:`)

// recordOutcome is what recording a message's changes did.
type recordOutcome struct {
	env      string
	install  progress.InstallType
	lines    []Line // "Recorded: …"
	ask      []string
	err      *Reply
	cleared  bool
	untraced bool // no environment followed here
}

// part is what one source of a message says: its text, or one screenshot.
type part struct {
	key      string // keys the tracking changes of this part (#0, #1… appended)
	image    int    // index in Message.Images; -1 for the text
	findings []diagnosis.Finding
}

// diagnoseParts diagnoses a message's text and then each screenshot read.
// The text keeps the key messages always had; a screenshot's key is its
// position, so a reply rebuilt with a late screenshot records only what
// is new.
func (b *Bot) diagnoseParts(m Message) []part {
	key := "msg:" + m.Channel + ":" + m.TS
	parts := []part{{key: key, image: -1, findings: b.engine.Diagnose(m.Text)}}
	for i, im := range m.Images {
		if im.Pending || im.Problem != "" || strings.TrimSpace(im.Text) == "" {
			continue
		}
		parts = append(parts, part{key: fmt.Sprintf("%s:img%d", key, i), image: i, findings: b.engine.Diagnose(im.Text)})
	}
	return parts
}

// partChanges are the planned tracking changes of one part.
type partChanges struct {
	Key     string    `json:"k"`
	Changes []planned `json:"c"`
}

// planParts plans each part's changes on its own, so that what a part
// records does not depend on the others.
func planParts(parts []part) []partChanges {
	var out []partChanges
	for _, p := range parts {
		if c := plan(p.findings); len(c) > 0 {
			out = append(out, partChanges{Key: p.key, Changes: c})
		}
	}
	return out
}

// record applies a message's planned changes to the right environment.
func (b *Bot) record(ctx context.Context, m Message, changes []partChanges) recordOutcome {
	var out recordOutcome
	if len(changes) == 0 {
		return out
	}
	envs, err := b.store.ChannelEnvironments(ctx, m.Workspace, m.Channel)
	if err != nil {
		out.err = b.storeError("list environments", err)
		return out
	}
	if len(envs) == 0 {
		out.untraced = true
		return out
	}
	var target *progress.Environment
	if sm := envPrefix.FindStringSubmatch(m.Text); sm != nil {
		for i := range envs {
			if strings.EqualFold(envs[i].Name, sm[1]) {
				target = &envs[i]
			}
		}
	}
	if target == nil {
		if len(envs) > 1 {
			for _, e := range envs {
				out.ask = append(out.ask, e.Name)
			}
			return out
		}
		target = &envs[0]
	}
	out.env, out.install = target.Name, target.InstallType
	for _, pc := range changes {
		// A part recorded before (the reply rebuilt for a late screenshot)
		// still says what it recorded.
		if out = b.apply(ctx, m.Workspace, target.Name, m.User, pc.Key, pc.Changes, true, out); out.err != nil {
			break
		}
	}
	return out
}

// apply records changes under key (#i appended for each); a change already
// recorded is skipped, and described again when repeats is set.
func (b *Bot) apply(ctx context.Context, workspace, env, actor, key string, changes []planned, repeats bool, out recordOutcome) recordOutcome {
	out.env = env
	for i, p := range changes {
		res, err := b.store.Apply(ctx, workspace, env, p.change(fmt.Sprintf("%s#%d", key, i), actor, key))
		if err != nil {
			out.err = b.storeError("record", err)
			return out
		}
		if res.Duplicate {
			if repeats {
				out.lines = append(out.lines, describeRecorded(env, p, res))
			}
			continue
		}
		out.lines = append(out.lines, describeRecorded(env, p, res))
		out.cleared = out.cleared || res.BecameEmpty
	}
	return out
}

func describeRecorded(env string, p planned, res progress.Result) Line {
	l := Line{T("Recorded for "), B(env), T(": ")}
	switch p.Kind {
	case progress.ChangeAddModules:
		names := res.Added
		if len(names) == 0 {
			names = p.Modules
		}
		l = append(l, T(plural(len(names), "module", "modules")+" to republish ("))
		l = append(l, nameSpans(names, 5)...)
		if res.Duplicate {
			l = append(l, T(")")) // recorded before: today's count is in status
		} else {
			l = append(l, T(fmt.Sprintf("); %d on the list", res.Remaining)))
		}
	case progress.ChangePreparing:
		s := "modules preparation running"
		if p.Percent != nil {
			s += fmt.Sprintf(", %d%%", *p.Percent)
		}
		if p.Current != nil && p.Total != nil {
			s += fmt.Sprintf(", module %d of %d", *p.Current, *p.Total)
		}
		if p.Expect != "" {
			s += ", expected at " + p.Expect
		}
		l = append(l, T(s))
	case progress.ChangeSummary:
		l = append(l, T(fmt.Sprintf("preparation finished: %s prepared, %s failed, %s skipped", countText(p.Counts[0]), countText(p.Counts[1]), countText(p.Counts[2]))))
	case progress.ChangeState:
		l = append(l, T("state "+string(p.State)))
	}
	return l
}

func countText(p *int) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprint(*p)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// nameSpans lists names as code spans, at most max of them.
func nameSpans(names []string, max int) []Span {
	var out []Span
	for i, n := range names {
		if i == max {
			out = append(out, T(fmt.Sprintf(" … and %d more", len(names)-max)))
			break
		}
		if i > 0 {
			out = append(out, T(", "))
		}
		out = append(out, C(n))
	}
	return out
}

// respondToFindings records a message's findings and builds the reply.
func (b *Bot) respondToFindings(ctx context.Context, m Message, parts []part) Response {
	var findings []diagnosis.Finding
	for _, p := range parts {
		findings = append(findings, p.findings...)
	}
	changes := planParts(parts)
	rec := b.record(ctx, m, changes)
	quiet := true
	for _, f := range findings {
		if len(f.Entry.Causes) > 0 {
			quiet = false
		}
	}
	images := imageLines(m, parts)
	if quiet && rec.err == nil && len(rec.ask) == 0 && !rec.untraced {
		resp := Response{React: "white_check_mark"}
		if len(rec.lines) > 0 {
			// The shell has no reactions: it shows what was recorded instead.
			resp.Reply = &Reply{Summary: rec.lines[0].PlainText()}
			resp.Reply.Context(append(images, rec.lines...)...)
			resp.Private = true
		}
		if rec.cleared {
			resp.Announce = b.allClear(rec.env)
		}
		return resp
	}
	r := b.diagnosisReply(findings, rec.install)
	r.Context(images...)
	switch {
	case rec.err != nil:
		r.Blocks = append(r.Blocks, rec.err.Blocks...)
	case rec.untraced && len(changes) > 0:
		r.Context(Line{T("Not tracked: no environment is followed in this channel. "), C(b.cmd + " track <env>"), T(" starts tracking.")})
	case len(rec.ask) > 0:
		r.Section(Line{T("Which environment is this about? I follow several here.")})
		var buttons []Button
		pending := pendingChoice{Key: changes[0].Key, Changes: changes[0].Changes, More: changes[1:]}
		raw, _ := json.Marshal(pending)
		for _, env := range rec.ask {
			v, _ := json.Marshal(envChoice{Env: env, Pending: raw})
			buttons = append(buttons, Button{ActionID: ActionChooseEnv + ":" + env, Label: env, Value: string(v)})
		}
		r.Actions(buttons...)
	default:
		r.Context(rec.lines...)
		// Service Center's module page does not name the module in the message.
		for _, f := range findings {
			if f.ID == "module-not-upgraded" {
				r.Context(Line{T("Which module shows this? "), C(b.cmd + " failed <module>"), T(" adds it to the list of modules to republish.")})
				break
			}
		}
	}
	if rec.err == nil {
		r.Actions(b.findingButtons(findings, rec.env)...)
	}
	resp := Response{Reply: r}
	if rec.cleared {
		resp.Announce = b.allClear(rec.env)
	}
	return resp
}

// imageLines say what became of a message's screenshots: which ones the
// findings were read from, which ones are still being read, and why
// others were not read.
func imageLines(m Message, parts []part) []Line {
	var read []string
	for _, p := range parts {
		if p.image >= 0 && len(p.findings) > 0 {
			read = append(read, m.Images[p.image].Name)
		}
	}
	var lines []Line
	if len(read) > 0 {
		l := Line{T(":frame_with_picture: Read from the screenshot ")}
		if len(read) > 1 {
			l = Line{T(":frame_with_picture: Read from the screenshots ")}
		}
		for i, name := range read {
			switch {
			case i == 0:
			case i == len(read)-1:
				l = append(l, T(" and "))
			default:
				l = append(l, T(", "))
			}
			l = append(l, B(imageName(name)))
		}
		lines = append(lines, l)
	}
	for _, im := range m.Images {
		switch {
		case im.Pending:
			lines = append(lines, Line{T(":hourglass_flowing_sand: Still reading the screenshot "), B(imageName(im.Name)), T("; this reply will be updated.")})
		case im.Problem != "":
			lines = append(lines, Line{T(":warning: Could not read the screenshot "), B(imageName(im.Name)), T(": " + im.Problem)})
		}
	}
	return lines
}

// imageName is a file name as shown in a reply: a missing one is named, a long one shortened.
func imageName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return "(unnamed image)"
	}
	if r := []rune(name); len(r) > 60 {
		return string(r[:57]) + "…"
	}
	return name
}

// pendingChoice is what a choose-environment button records: the changes
// of the message's text (or first part) and those of its screenshots.
type pendingChoice struct {
	Key     string        `json:"k"`
	Changes []planned     `json:"c"`
	More    []partChanges `json:"x,omitempty"`
}

type envChoice struct {
	Env     string          `json:"env"`
	Pending json.RawMessage `json:"p"`
}

// buttonValue is what a mark-done or status button carries.
type buttonValue struct {
	Env    string `json:"env,omitempty"`
	Module string `json:"module,omitempty"`
}

func (b *Bot) findingButtons(findings []diagnosis.Finding, env string) []Button {
	var buttons []Button
	seen := map[string]bool{}
	for _, f := range findings {
		if f.ID != "producer-not-prepared" && f.ID != "module-upgrade-failed" {
			continue
		}
		mod := f.Text("module")
		if mod == "" || seen[strings.ToLower(mod)] || len(buttons) >= 5 {
			continue
		}
		seen[strings.ToLower(mod)] = true
		v, _ := json.Marshal(buttonValue{Env: env, Module: mod})
		buttons = append(buttons, Button{ActionID: fmt.Sprintf("%s:%d", ActionMarkDone, len(buttons)), Label: "Mark " + mod + " republished", Value: string(v), Primary: len(buttons) == 0})
	}
	if env != "" {
		v, _ := json.Marshal(buttonValue{Env: env})
		buttons = append(buttons, Button{ActionID: ActionShowStatus, Label: "Show status", Value: string(v)})
	}
	return buttons
}

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

func (b *Bot) allClear(env string) *Reply {
	r := &Reply{Summary: "All clear: " + env + " has no modules left to republish"}
	r.Section(Line{T(":tada: "), B("All clear on " + env), T(": every module reported has been republished.")})
	return r
}
