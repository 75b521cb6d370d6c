package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/errorlog"
	"github.com/upgradebot/upgradebot/progress"
)

// mentionPrefix is a leading mention of a user, as Slack writes it: <@U123> or <@U123|name>.
var mentionPrefix = regexp.MustCompile(`^\s*<@([A-Z0-9]+)(?:\|[^>]*)?>[\s:,]*`)

// comments are the parenthesized comments a command may carry ("failed Billing_CS (Upgrade failed for Billing_CS)").
var comments = regexp.MustCompile(`\([^()]*\)`)

// CommandText returns the subcommand text when a message is a command to
// the bot (a leading mention followed by a known subcommand), else "".
func (b *Bot) CommandText(text string) (string, bool) {
	if b.botUser == "" || !strings.Contains(text, "<@") {
		return "", false // most messages: no regexp run (it is on every message)
	}
	m := mentionPrefix.FindStringSubmatchIndex(text)
	if m == nil || text[m[2]:m[3]] != b.botUser {
		return "", false
	}
	rest := text[m[1]:]
	name, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	name, _, _ = strings.Cut(name, "\n")
	def := b.lookup(strings.ToLower(name))
	if def == nil {
		return "", false
	}
	// A paste addressed to the bot whose first word is a command's ("@upgradebot
	// Failed to set permissions…", "@upgradebot take a look: There were
	// errors…") is the paste: run as the command, its words would be modules.
	// Only a command's comment in parentheses may quote the error of a
	// module it names ("failed Billing_CS (Upgrade failed for Billing_CS)").
	if def.name == "diagnose" || def.name == "help" {
		return rest, true
	}
	var outside string
	for i, f := range b.engine.Diagnose(rest) {
		if i == 0 {
			outside = comments.ReplaceAllString(rest, " ")
		}
		if mod := f.Text("module"); mod == "" || !strings.Contains(outside, mod) {
			return "", false
		}
	}
	return rest, true
}

// Reading is a message as the core read it: its text and each screenshot
// read, diagnosed once. A transport decides from it whether to answer (and
// deduplicates on its findings) before Answer builds the reply from the
// same findings: nothing is diagnosed twice.
type Reading struct {
	m       Message
	engine  Diagnoser
	mention bool   // the message mentions the bot
	parts   []part // the text's, then each screenshot's read
}

// Read diagnoses a message's text and the screenshots read so far. It does
// no I/O; a command to the bot is not a reading (see CommandText).
func (b *Bot) Read(m Message) *Reading {
	findings := b.engine.Diagnose(m.Text)
	if tab := strings.IndexByte(m.Text, '\t'); len(findings) > 0 && tab >= 0 {
		// Service Center's Error Log grid pasted with its header (its first
		// line with a tab), perhaps after a line or two and before more text
		// (the banner quoted below it): read row by row as its export is, so
		// a "This Module…" row gets its Module column, and the text around
		// it as text.
		start := strings.LastIndexByte(m.Text[:tab], '\n') + 1
		end := start + errorlog.TableLen(m.Text[start:])
		if log, err := errorlog.Read([]byte(m.Text[start:end]), errorlog.DefaultLimits); err == nil {
			// Its cells are Slack's text as the rest is (R&amp;D_Tools,
			// <http://Billing.io|Billing.io>); an escape or a link starts with & or <.
			for i := range log.Rows {
				for f, cell := range log.Rows[i].Fields {
					if strings.ContainsAny(cell, "&<") {
						log.Rows[i].Fields[f] = diagnosis.Plain(cell)
					}
				}
			}
			head, rows, tail := b.engine.Diagnose(m.Text[:start]), b.readSheet(log).findings(b.engine.KB()), b.engine.Diagnose(m.Text[end:])
			if len(head)+len(rows)+len(tail) >= len(findings) {
				for i := range rows {
					rows[i].Offset += start
				}
				for i := range tail {
					tail[i].Offset += end
				}
				findings = withVersionOf(findings, slices.Concat(head, rows, tail))
			}
		}
	}
	r := &Reading{m: m, engine: b.engine, mention: b.mentionsBot(m.Text),
		parts: []part{{key: messageKey(m), image: -1, findings: findings}}}
	return r.WithImages(m.Images)
}

// withVersionOf gives found the Platform Server version whole names (the
// page's "Version 11.10.0 (Build …)" line, below the grid), which the
// grid's rows, read alone, do not say: the target's check needs it.
func withVersionOf(whole, found []diagnosis.Finding) []diagnosis.Finding {
	for _, f := range whole {
		v, ok := f.Value("version")
		if !ok {
			continue
		}
		for i := range found {
			if _, has := found[i].Value("version"); !has {
				found[i].Values = append(slices.Clip(found[i].Values), v)
			}
		}
		break
	}
	return found
}

// WithImages is the reading of the same message with its screenshots as
// they are now: only those read since the last reading are diagnosed.
func (r *Reading) WithImages(images []ImageText) *Reading {
	next := &Reading{m: r.m, engine: r.engine, mention: r.mention, parts: r.parts[:1:1]}
	next.m.Images = images
	key := r.parts[0].key
	for i, im := range images {
		if im.Pending || im.Problem != "" || (strings.TrimSpace(im.Text) == "" && im.Sheet == nil) {
			continue
		}
		p, ok := r.imagePart(i, im)
		if !ok {
			// A screenshot's key is its position, so a reply rebuilt with a
			// late screenshot records only what is new.
			p = part{key: fmt.Sprintf("%s:img%d", key, i), image: i, text: im.Text, sheet: im.Sheet}
			if im.Sheet != nil {
				p.findings = im.Sheet.findings(r.engine.KB()) // every row diagnosed by ReadFile
			} else {
				p.findings = r.engine.Diagnose(im.Text)
			}
			for i := range p.findings { // the product's own screen or file: no sentence of someone's (pasted)
				p.findings[i].Before, p.findings[i].After = "", ""
			}
		}
		next.parts = append(next.parts, p)
	}
	return next
}

// imagePart is the part already read from screenshot i, when it was read from the same text.
func (r *Reading) imagePart(i int, im ImageText) (part, bool) {
	for _, p := range r.parts[1:] {
		if p.image == i && p.text == im.Text && p.sheet == im.Sheet {
			return p, true
		}
	}
	return part{}, false
}

// Message is the message read, with its screenshots as last read.
func (r *Reading) Message() Message { return r.m }

// Findings are what the message says: its text's findings, then each screenshot's.
func (r *Reading) Findings() []diagnosis.Finding {
	var out []diagnosis.Finding
	for _, p := range r.parts {
		out = append(out, p.findings...)
	}
	return out
}

// Silent reports that Answer has nothing to say: no finding, and no mention of the bot.
func (r *Reading) Silent() bool { return !r.mention && len(r.Findings()) == 0 }

// answer records what a reading says and builds the reply (Answer).
func (b *Bot) answer(ctx context.Context, r *Reading) Response {
	findings := r.Findings()
	if len(findings) == 0 {
		switch {
		case r.mention:
			reply := b.helpHint()
			if m := mentionPrefix.FindStringSubmatchIndex(r.m.Text); m != nil && len(r.m.Images) == 0 {
				// "@upgradebot stauts": a command mistyped gets what /upgrade would say.
				word, _, _ := strings.Cut(strings.TrimSpace(r.m.Text[m[1]:]), " ")
				if word, _, _ = strings.Cut(word, "\n"); word != "" {
					reply = cmp.Or(b.commandMeant(word), reply)
				}
			}
			reply.Context(imageLines(r.m, r.parts)...)
			return Response{Reply: reply}
		case allSkipped(r.m):
			reply := &Reply{Summary: "Could not read the screenshots: paste the error's text"}
			reply.Section(Line{T("I could not read the screenshots of this message. Paste the error's text here (copy it from Service Center) and I will read it.")})
			reply.Context(imageLines(r.m, r.parts)...)
			return Response{Reply: reply}
		}
		if fileNews(r.m) {
			// A shared file the bot could not read, or an Error Log without
			// a known error, is answered: its sender expects a word.
			reply := &Reply{Summary: "Read the shared file: no upgrade error I know"}
			for _, im := range r.m.Images {
				if im.File && im.Problem != "" {
					reply.Summary = "Could not read the shared file " + imageName(im.Name)
				}
			}
			reply.Context(imageLines(r.m, r.parts)...)
			return Response{Reply: reply}
		}
		return Response{}
	}
	for _, f := range findings {
		b.metrics.Finding(f.ID)
	}
	return b.respondToFindings(ctx, r.m, r.parts)
}

// HandleMessage answers a message: runs it when it is a command to the bot,
// else reads and answers it (Read then Answer). A command goes as the
// message has it: a transport whose chat escapes text (Slack) runs
// commands itself, with CommandText and HandleCommand.
func (b *Bot) HandleMessage(ctx context.Context, m Message) Response {
	if text, ok := b.CommandText(m.Text); ok {
		return b.HandleCommand(ctx, Command{Workspace: m.Workspace, Channel: m.Channel, User: m.User, ID: m.TS, Text: text})
	}
	return b.Answer(ctx, b.Read(m))
}

// allSkipped: a message of screenshots alone, none of them read for one
// of the bot's limits (ImageText.Skipped); other pictures, unreadable for
// what they are, are let be (shared files have their own answer, fileNews).
func allSkipped(m Message) bool {
	if strings.TrimSpace(m.Text) != "" || len(m.Images) == 0 {
		return false
	}
	for _, im := range m.Images {
		if !im.Skipped || im.File {
			return false
		}
	}
	return true
}

func (b *Bot) mentionsBot(text string) bool {
	return b.botUser != "" && strings.Contains(text, "<@"+b.botUser)
}

func (b *Bot) helpHint() *Reply {
	r := &Reply{Summary: "Paste an upgrade error or try " + b.cmd + " help"}
	r.Section(Line{T("I read OutSystems modules-preparation errors pasted in this channel. Try "), C(b.cmd + " help"), T(" for the commands.")})
	return r
}

// part is what one source of a message says: its text, or one screenshot.
type part struct {
	key      string // keys the tracking changes of this part (#0, #1… appended)
	image    int    // index in Message.Images; -1 for the text
	text     string // a screenshot's text, as it was diagnosed
	sheet    *Sheet
	findings []diagnosis.Finding
}

// messageKey keys the tracking changes of a message's text; its
// screenshots' keys extend it.
func messageKey(m Message) string {
	if m.Edited != "" {
		return "msg:" + m.Channel + ":" + m.TS + "~" + m.Edited
	}
	return "msg:" + m.Channel + ":" + m.TS
}

// respondToFindings records a message's findings and builds the reply.
func (b *Bot) respondToFindings(ctx context.Context, m Message, parts []part) Response {
	parts, changes, questions := b.checkedPlan(ctx, m, parts)
	findings := findingsOf(parts)
	rec := b.record(ctx, m, findings, changes, len(questions) > 0)
	rec.unsure = unsureNames(questions)
	if len(questions) > 0 && rec.env == "" && len(rec.ask) == 0 && rec.err == nil {
		rec.env = rec.about.Name // nothing else recorded: the names asked about are for it
	}
	ref := replyKey(m)
	// What undo needs is written below, with the message when its reply's
	// buttons refer to it: one round trip.
	recorded := linesText(rec.lines)
	undoable, puts := b.noteUndoable(ctx, m.Workspace, m.Channel, m.User, ref, undoable{Env: rec.env, Keys: rec.keys, What: recorded, Outcome: rec.outcome})
	if len(rec.keys) > 0 {
		puts = append(puts, progress.Put{Key: threadKey(ref), Value: []byte(rec.env), TTL: keepFor}) // for pastes in its thread
	}
	quiet := true
	for _, f := range findings {
		if len(f.Entry.Causes) > 0 {
			quiet = false
		}
	}
	images := imageLines(m, parts)
	if quiet && rec.err == nil && len(rec.ask) == 0 && !rec.said && !rec.untraced && rec.elsewhere == "" && len(rec.several) == 0 && len(questions) == 0 && len(rec.held) == 0 && targetVersion(rec, findings) == "" {
		resp := Response{React: quietMark}
		if len(rec.lines) > 0 {
			// The shell has no reactions: it shows what was recorded instead.
			resp.Reply = &Reply{Summary: rec.lines[0].PlainText()}
			resp.Reply.Context(append(images, rec.lines...)...)
			resp.Private = true
			if undoable {
				withUndo(resp.Reply, ref, recorded)
			}
		}
		if undoable && len(m.Images) > 0 {
			// Kept for an edit of the text, which is answered with them (HandleEdit).
			if _, err := b.keepWith(ctx, m, puts); err != nil {
				b.log.Warn("cannot keep a message's screenshots", "err", err)
			}
		} else {
			b.putUndo(ctx, m.Workspace, puts)
		}
		if rec.cleared {
			resp.Announce = b.clearedIn(rec.env, rec.state)
		}
		return resp
	}
	key := ""
	if rec.err == nil && (len(rec.ask) > 0 || (rec.env != "" && (len(namedModules(findings)) > 0 || len(questions) > 0 || undoable))) {
		// The buttons refer to the message: a choice records its changes,
		// a click rebuilds the reply.
		var err error
		if key, err = b.keepWith(ctx, m, puts); err != nil {
			key = ""
			if len(rec.ask) > 0 {
				rec.err = b.storeError("keep the message for the choice of environment", err)
			}
		}
	} else {
		b.putUndo(ctx, m.Workspace, puts)
	}
	if rec.err == nil && rec.env != "" && len(rec.ask) == 0 {
		rec.questions, rec.asked = b.keepQuestions(ctx, m, rec.env, key, questions), len(questions)
	}
	resp := Response{Reply: b.diagnosisMessage(m, parts, changes, rec, key, nil)}
	if key != "" && rec.env != "" && undoable {
		withUndo(resp.Reply, key, recorded)
	}
	if rec.cleared {
		resp.Announce = b.clearedIn(rec.env, rec.state)
	}
	return resp
}

// outcomeSummary is the reply's notification (what a phone shows): the
// titles, with what recording did; the titles alone do not say whether
// anything was recorded, or that a question waits. A message held back
// says so first, and why: its titles state what is not so.
func outcomeSummary(titles string, rec recordOutcome) string {
	switch {
	case rec.err != nil || rec.untraced || rec.said || len(rec.several) > 0 || rec.elsewhere != "":
		return titles + " · not recorded"
	case len(rec.ask) > 0:
		return titles + " · which environment is it about?"
	case len(rec.lines) > 0:
		return titles + " · " + Shorten(rec.lines[0].PlainText(), 120)
	case len(rec.heldWhy) > 0:
		var why []string
		for _, h := range rec.held {
			if w := heldReason(h); !slices.Contains(why, w) {
				why = append(why, w)
			}
		}
		return "Not recorded for " + rec.env + ": " + Shorten(strings.Join(why, "; "), 120) + " · " + titles
	case len(rec.questions) > 0:
		return titles + " · which module is it?"
	}
	return titles
}

// diagnosisMessage is the reply explaining a message's findings, with
// what recording them did (or asks), and its buttons carrying key (the
// message kept, "" when it is not); with listed, only modules listed
// there get a button.
func (b *Bot) diagnosisMessage(m Message, parts []part, changes []partChanges, rec recordOutcome, key string, listed map[string]bool) *Reply {
	findings := findingsOf(parts)
	k := known{env: rec.about, internal: internalError(m.Text)}
	for _, p := range parts {
		k.internal = k.internal || internalError(p.text) || p.sheet != nil && p.sheet.Internal
	}
	r := b.diagnosisReply(findings, k)
	r.Context(imageLines(m, parts)...)
	r.Summary = outcomeSummary(r.Summary, rec)
	switch {
	case rec.err != nil:
		r.Blocks = append(r.Blocks, rec.err.Blocks...)
	case rec.untraced && len(changes) > 0:
		r.Context(Line{T("Not tracked: no environment is followed in this channel. "), C(b.cmd + " track <env>"), T(" starts tracking.")})
	case len(rec.several) > 0:
		r.Context(Line{T("Not recorded: the lines of this message start with " + plural(len(rec.several), "environment", "environments") + " (" + strings.Join(rec.several, ", ") +
			"), and I cannot tell which message is whose. Paste each environment's messages on their own, starting with its name and a colon.")})
	case rec.elsewhere != "" && rec.about.Name == "":
		r.Context(Line{T("Not recorded: this is about "), B(rec.elsewhere), T(", which is not tracked. "), C(b.cmd + " track " + rec.elsewhere),
			T(" here starts tracking it; if the message is about another environment, paste it again starting with that one's name and a colon.")})
	case rec.elsewhere != "" && len(rec.about.Channels) == 0:
		r.Context(Line{T("Not recorded: this is about "), B(rec.elsewhere), T(", which no channel follows now. "), C(b.cmd + " track " + rec.elsewhere),
			T(" here follows it in this channel; if the message is about another environment, paste it again starting with that one's name and a colon.")})
	case rec.elsewhere != "":
		l := Line{T("Not recorded: this is about "), B(rec.elsewhere), T(", which this channel does not follow. Paste it in a channel that does (")}
		for i, ch := range rec.about.Channels[:min(len(rec.about.Channels), 3)] {
			if i > 0 {
				l = append(l, T(", "))
			}
			l = append(l, Ch(ch))
		}
		if len(rec.about.Channels) > 3 {
			l = append(l, T(", …"))
		}
		r.Context(append(l, T("), or "), C(b.cmd+" track "+rec.elsewhere), T(" here.")))
	case rec.said:
		r.Context(Line{T(":speech_balloon: Not recorded: the message stands in a sentence of someone's own, not pasted from Service Center. If it is Service Center's, paste it on its own, starting with its environment's name and a colon.")})
	case len(rec.ask) > 0:
		r.Section(Line{T("Which environment is this about? I follow several here.")})
		var buttons []Button
		for _, env := range rec.ask {
			bt := Button{ActionID: ActionChooseEnv + ":" + env, Label: env, Value: buttonValue{Env: env, Key: key}.String()}
			if key != "" {
				bt.Command = "record " + key + ":" + env // a file or screenshot cannot be pasted again with a prefix
			}
			buttons = append(buttons, bt)
		}
		r.Actions(buttons...)
	default:
		r.Context(rec.lines...)
		if len(rec.heldWhy) > 0 {
			// Under the title: the explanation below is of a message not recorded.
			at := 0
			if len(r.Blocks) > 0 && r.Blocks[0].Kind == HeaderBlock {
				at = 1
			}
			r.Blocks = slices.Insert(r.Blocks, at, Block{Kind: SectionBlock, Lines: rec.heldWhy})
		}
		if len(rec.questions) > 0 {
			b.questionBlocks(r, rec.env, rec.questions, rec.asked)
		}
		if v := targetVersion(rec, findings); v != "" {
			r.Context(Line{T(":information_source: "), B(rec.env), T(" has no target version yet, and this message names Platform Server " + v + ": "),
				C(b.cmd + " track " + rec.env + " " + v), T(" makes it the target, so that messages of another version are held back.")})
		}
		// Service Center's module page does not name the module in the
		// message (in a screenshot its title does: asked above).
		pageAsked := slices.ContainsFunc(rec.questions, func(q nameQuestion) bool { return q.Reason == progress.ReasonNotUpgraded })
		for _, f := range findings {
			if f.ID == "module-not-upgraded" && f.Text("module") == "" && !pageAsked {
				r.Context(b.notUpgradedNext(rec.about))
				break
			}
		}
	}
	if rec.err == nil {
		held := map[string]bool{} // a module held back is not on the list: no button marks it republished
		for _, h := range rec.held {
			for _, mod := range h.Change.Modules {
				held[moduleKey(mod)] = true
			}
		}
		for _, mod := range rec.waiting {
			held[moduleKey(mod)] = true
		}
		var buttons []Button
		if rec.heldCode != "" && len(rec.ask) == 0 {
			buttons = append(buttons, RecordAnywayButton(rec.heldCode))
		}
		if v := targetVersion(rec, findings); v != "" && len(rec.ask) == 0 {
			command := "track " + rec.env + " " + v
			buttons = append(buttons, Button{ActionID: ActionTarget, Label: "Make " + v + " the target", Value: command, Command: command})
		}
		if rec.untraced || rec.env == "" || rec.elsewhere != "" || len(rec.several) > 0 || len(rec.ask) > 0 {
			// Recorded nowhere (yet: the choice of environment rebuilds
			// the reply; a channel that follows none): no module to mark republished.
			listed = map[string]bool{}
		}
		for _, bt := range b.findingButtons(findings, rec.env, key, listed) {
			var v buttonValue
			if json.Unmarshal([]byte(bt.Value), &v) == nil && (rec.unsure[v.Module] || held[moduleKey(v.Module)]) {
				continue // not recorded: asked about above, or held back
			}
			buttons = append(buttons, bt)
		}
		r.Actions(buttons...)
	}
	return r
}

// targetVersion is the Platform Server version the findings name when
// rec's environment has none yet: the reply offers it as the target
// rather than recording it (the message may be about another upgrade).
// Only a version the environment can be upgraded to is offered: newer
// than the one it is upgraded from (a warning pasted before the upgrade
// names that one), and 11.12 or later, the first with the modules
// preparation.
func targetVersion(rec recordOutcome, findings []diagnosis.Finding) string {
	if rec.err != nil || rec.env == "" || rec.about.Name != rec.env || rec.about.Version != "" {
		return ""
	}
	for _, f := range findings {
		if v := f.Text("version"); v != "" {
			// Platform Server 11 only: OCR may read 11.10.0 as 19.10.0.
			if !strings.HasPrefix(v, "11.") || progress.CompareVersions(v, firstPreparing) < 0 || rec.about.FromVersion != "" && progress.CompareVersions(v, rec.about.FromVersion) <= 0 {
				return ""
			}
			return v
		}
	}
	return ""
}

// findingsOf are the findings of a message's parts, in order.
func findingsOf(parts []part) []diagnosis.Finding {
	var out []diagnosis.Finding
	for _, p := range parts {
		out = append(out, p.findings...)
	}
	return out
}

// fileNews: a shared file was not read, or only its end, or is an Error Log export.
func fileNews(m Message) bool {
	for _, im := range m.Images {
		if im.File && (im.Problem != "" || im.Sheet != nil || im.Tail) {
			return true
		}
	}
	return false
}

// notUpgradedNext is the next step for a module that "hasn't been
// upgraded", by where env's preparation stands: wait while it runs, else
// list the module as failed or skipped (whichever Service Center's counts
// leave possible).
func (b *Bot) notUpgradedNext(env progress.Environment) Line {
	cmd := func(what string) Span {
		if env.Name == "" {
			return C(b.cmd + " " + what + " <module>")
		}
		return C(b.cmd + " " + what + " " + env.Name + ": <module>")
	}
	list := T(" adds it to the list of modules to republish.")
	either := Line{cmd("failed"), T(" if the Error Log lists it, else "), cmd("skipped"), T(".")}
	switch phase(env) {
	case "preparing":
		return Line{T("Nothing to record yet: the preparation of "), B(env.Name), T(" has not reached this module. If it still shows this once the preparation ends, tell me which module it is.")}
	case "republish-all":
		return Line{T("Which module shows this? "), cmd("skipped"), list}
	case "finished":
		failed, skipped := env.Counts.Failed, env.Counts.Skipped
		switch {
		case failed != nil && *failed > 0 && skipped != nil && *skipped == 0:
			return Line{T("Which module shows this? "), cmd("failed"), list}
		case skipped != nil && *skipped > 0 && failed != nil && *failed == 0:
			return Line{T("Which module shows this? "), cmd("skipped"), list}
		}
		return append(Line{T("Which module shows this? Add it to the list of modules to republish: ")}, either...)
	}
	return append(Line{T("Which module shows this? Once the preparation has finished, add it to the list of modules to republish: ")}, either...)
}

// imageLines say what became of a message's screenshots: which ones the
// findings were read from, which ones are still being read, and why
// others were not read.
func imageLines(m Message, parts []part) []Line {
	var read []string
	var files []ImageText
	var lines []Line
	found := map[int]bool{} // the files with findings
	for _, p := range parts {
		switch {
		case p.sheet != nil:
			lines = append(lines, p.sheet.lines(m.Images[p.image].Name)...)
		case p.image >= 0 && len(p.findings) > 0 && m.Images[p.image].File:
			files, found[p.image] = append(files, m.Images[p.image]), true
		case p.image >= 0 && len(p.findings) > 0:
			read = append(read, m.Images[p.image].Name)
		}
	}
	for _, f := range files {
		l := Line{T(":page_facing_up: Read from the file "), B(imageName(f.Name))}
		if f.Tail {
			l = append(l, T(fmt.Sprintf(" (its last %d MB: it is longer than I read of a text)", MaxTextBytes>>20)))
		}
		lines = append(lines, l)
	}
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
	for i, im := range m.Images {
		switch {
		case im.Pending:
			what := "screenshot "
			if im.File {
				what = "file "
			}
			lines = append(lines, Line{T(":hourglass_flowing_sand: Still reading the " + what), B(imageName(im.Name)), T("; this reply will be updated.")})
		case im.Tail && !found[i]:
			lines = append(lines, Line{T(":page_facing_up: Read the end of the file "), B(imageName(im.Name)),
				T(fmt.Sprintf(" (its last %d MB: it is longer than I read of a text): no upgrade error I know there. If the errors are earlier in it, share the lines around them.", MaxTextBytes>>20))})
		case im.Problem != "" && im.File:
			lines = append(lines, Line{T(":warning: Could not read the file "), B(imageName(im.Name)), T(": " + im.Problem)})
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
