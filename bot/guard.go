package bot

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// What a message records is guarded: the life cycle (progress.Next)
// refuses a status message older than what is recorded or naming another
// version than the target, and the core holds back a product message
// quoted in someone's own sentence. Held changes are explained in the
// reply and kept (keepFor) under a short code, so "Record anyway" (the
// command `record <code>`, which also answers the name questions of
// ocrnames.go) applies them as they were.

// Why the core held a change: its message stands in a sentence; the module
// it names is an environment's name.
const (
	heldSentence    progress.Verdict = "sentence"
	heldEnvironment progress.Verdict = "environment"
	heldCounts      progress.Verdict = "counts"   // more failed (or skipped) modules than Service Center counted
	heldAgain       progress.Verdict = "again"    // modules marked republished since: perhaps an older message
	heldMention     progress.Verdict = "mention:" // + the environment the message's words name
	heldUndone      progress.Verdict = "undone"   // an edit of a message whose record a teammate undid
)

// mentionVerdict holds a message whose words name another environment.
func mentionVerdict(env string) progress.Verdict { return heldMention + progress.Verdict(env) }

// A log row's prefix, before the message it logs: a stamp, perhaps
// followed by a level, a thread and a logger ("2024-05-02 10:11:12.123
// ERROR", "[10:11:12] [main] WARN OutSystems.HubEdition.Compiler"), or a
// level starting the line ("ERROR", "[Error] [main]").
const (
	// logTime is a time: "16:05:38", "4:05 PM", "10:11:12.123Z".
	logTime = `\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?: ?[AaPp]\.? ?[Mm]\.?)?(?:Z|[+-]\d{2}:?\d{2})?`
	// logLevelCaps is a level in capitals; logLevel also as .NET writes it ("Error").
	logLevelCaps = `ERROR|ERR|WARN|WARNING|INFO|INFORMATION|FATAL|DEBUG|TRACE|CRITICAL|CRIT|SEVERE|NOTICE`
	logLevel     = `(?:` + logLevelCaps + `|Error|Warn|Warning|Info|Information|Fatal|Debug|Trace|Critical|Severe|Notice)`
	// logPart is one column after the stamp: a level, something in
	// brackets (a thread, a level), a dotted logger name, a process id, a dash.
	logPart  = `(?:` + logLevel + `:?|\[[^\[\]]{1,60}\]:?|[\pL_$][\pL\pN_$]*(?:\.[\pL\pN_$]+)+:?|\d+|-)`
	logParts = `(?:[ \t]+` + logPart + `)`
)

// logStamp ends a log row's prefix: a time or a closing bracket, then
// perhaps more columns; a date, then columns; or a level starting the line.
// A level word in a sentence ("we got ERROR") is none of them.
var logStamp = regexp.MustCompile(`(?:(?:` + logTime + `|\])` + logParts + `*` +
	`|\d{4}-\d{2}-\d{2}` + logParts + `+` +
	`|^\s*(?:` + logLevelCaps + `|\[` + logLevel + `\])` + logParts + `*)$`)

// pasted reports whether a finding reproduces the product's message — on
// a line of its own, quoted, in code, after a colon, in a log row — rather
// than using its words in a sentence of someone's own ("I don't think
// there were errors preparing some modules, did anyone check?").
func pasted(f diagnosis.Finding) bool {
	before, after := strings.TrimRight(f.Before, " "), strings.TrimLeft(f.After, " ")
	last, _ := utf8.DecodeLastRuneInString(before)
	if strings.ContainsRune("\t|", last) || logStamp.MatchString(before) {
		return true // a log row or a table: whatever its next columns say
	}
	if strings.ContainsRune(`"'`, last) && quotedAside(before[:len(before)-1], after) {
		return false
	}
	// After a sentence's end (a question's too: "Anyone seen this? There
	// were errors…"), the product's message starts a sentence of its own.
	lead := before == "" || strings.ContainsRune(`:"'(>-*.!?→»`, last) ||
		strings.HasPrefix(before, "@") && !strings.Contains(before, " ") // "@upgradebot There were errors…"
	tail := true
	if r := []rune(after); len(r) > 0 {
		tail = r[0] != ',' && r[0] != '?' && !unicode.IsLetter(r[0]) && !unicode.IsDigit(r[0])
	}
	return lead && tail
}

// asking words start a question or a condition; leading words end a
// clause that a quotation completes ("the one where "…" showed up"). The
// team may chat around the product's English in Portuguese, Spanish,
// Dutch, French or German: "se aparecer "…" temos de republicar tudo".
// ("como", "wie", "comment" are left out: they start statements too; "als"
// ends one, "shown als "…"", so it only starts a condition.)
var (
	askingWords  = wordSet("if when whenever where whether unless once how why what which who do does did is are was were should could can would will has have " + teamAskingWords)
	leadingWords = wordSet("if when whenever where whether unless once like " + conditionWords)
	// teamWords in capitals are acronyms, not the word: "SI partner sent
	// "…"" (a systems integrator), "SE team reports: "…"".
	teamWords = wordSet(teamAskingWords)
)

// conditionWords are "if", "when" and "where" in the other languages.
const conditionWords = "se quando caso si cuando wanneer quand wenn falls onde donde dónde waar où wo"

// teamAskingWords are the other languages' words that start a question or a condition.
const teamAskingWords = conditionWords + " als hoe waarom warum pourquoi quem quién quien qui wer qual cual cuál welke welche quel quelle wat"

func wordSet(words string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(words) {
		set[w] = true
	}
	return set
}

// quotedAside reports whether a quoted product message sits in a question
// or a condition of the writer's own ("how long does "We are now preparing
// your modules" take?", "if you see "…" republish"), given the text before
// its opening quote and after it on its line.
func quotedAside(prefix, after string) bool {
	if strings.Contains(prefix, "?") || strings.Contains(after, "?") {
		return true
	}
	words := strings.FieldsFunc(prefix, func(r rune) bool { return !unicode.IsLetter(r) })
	is := func(w string, set map[string]bool) bool {
		lower := strings.ToLower(w)
		return set[lower] && !(teamWords[lower] && w == strings.ToUpper(w))
	}
	return len(words) > 0 && (is(words[0], askingWords) || is(words[len(words)-1], leadingWords))
}

// heldChange is a change the reply held back, with why.
type heldChange struct {
	Key    string           `json:"k"` // its change key: recorded anyway, a resent message is a duplicate
	Change planned          `json:"p"`
	Why    progress.Verdict `json:"w"`
}

// heldChanges are a message's held changes for one environment, kept under their code.
type heldChanges struct {
	Env      string       `json:"env"`
	Source   string       `json:"src"` // the message's key
	Changes  []heldChange `json:"c"`
	Recorded string       `json:"by,omitempty"` // who recorded them anyway
	At       int64        `json:"at,omitempty"` // when they were held back (Unix ms)
	// Round counts the times they were held again (holdAgain): the store
	// takes a change key once, so each round records under keys of its own.
	Round int `json:"n,omitempty"`
}

// heldCode is the short code of a message's held changes for env.
func heldCode(source, env string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + env))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:5]))
}

// keepHeld keeps a message's held changes for "Record anyway" and returns their code.
func (b *Bot) keepHeld(ctx context.Context, workspace string, h heldChanges) (string, error) {
	code := heldCode(h.Source, h.Env)
	if h.At == 0 {
		h.At = b.now().UnixMilli()
	}
	return code, putJSON(ctx, b.store, workspace, "held:"+code, h, keepFor)
}

// heldFor returns the held changes kept under code; false when there are none.
func (b *Bot) heldFor(ctx context.Context, workspace, code string) (heldChanges, bool, error) {
	return getJSON[heldChanges](ctx, b.store, workspace, "held:"+code)
}

// RecordAnywayButton records the changes kept under code (as `record <code>` does).
func RecordAnywayButton(code string) Button {
	return Button{ActionID: ActionRecord + ":anyway", Label: "Record anyway", Value: code, Command: "record " + code}
}

// heldLines say why each held change was not recorded for env, against
// what is recorded there now.
func (b *Bot) heldLines(ctx context.Context, workspace, env string, held []heldChange) []Line {
	st, err := b.store.Environment(ctx, workspace, env)
	if err != nil {
		return []Line{{T("Not recorded for "), B(env), T(": held back, and what is recorded there could not be read to say why.")}}
	}
	var lines []Line
	for _, h := range held {
		says := describePlanned(h.Change, progress.Result{Duplicate: true})
		if other, ok := strings.CutPrefix(string(h.Why), string(heldMention)); ok {
			lines = append(lines, slices.Concat(Line{T(":question: Not recorded for "), B(env), T(": the message speaks of "), B(other),
				T(", and this channel follows "), B(env), T(" — is it about "), B(env), T("? (It would record ")}, says, Line{T(".)")}))
			continue
		}
		switch h.Why {
		case heldSentence:
			lines = append(lines, slices.Concat(Line{T(":speech_balloon: Not recorded for "), B(env), T(": the message stands in a sentence of someone's own, not pasted from Service Center (it would record ")}, says, Line{T(").")}))
		case heldEnvironment:
			is := " is the name of an environment"
			if len(h.Change.Modules) > 1 {
				is = " are the names of environments"
			}
			lines = append(lines, slices.Concat(Line{T(":question: Not recorded for "), B(env), T(": ")}, nameSpans(h.Change.Modules, 5),
				Line{T(is + " here, so the message may be about the environment rather than a module (it would record ")}, says, Line{T(").")}))
		case heldAgain:
			lines = append(lines, b.againLine(ctx, workspace, env, h, says))
		case heldUndone:
			l := Line{T(":leftwards_arrow_with_hook: Not recorded for "), B(env), T(": what this message recorded was undone")}
			if by := undoneBy(ctx); by != "" {
				l = append(l, T(" by "), M(by))
			}
			lines = append(lines, slices.Concat(l, Line{T(", and an edit does not record it again (it would record ")}, says, Line{T(").")}))
		case heldCounts:
			n, what, _ := countFor(st.Counts, h.Change)
			l := Line{T(":warning: Not recorded for "), B(env), T(": ")}
			switch {
			case n != nil && *n == 0:
				l = append(l, T(fmt.Sprintf("Service Center counted no %s module there", what)))
			case n != nil:
				l = append(l, T(fmt.Sprintf("Service Center counted %s there, and as many are named already", plural(*n, what+" module", what+" modules"))))
			}
			lines = append(lines, slices.Concat(l, Line{T(" — is this another environment's? (It would record ")}, says, Line{T(".)")}))
		case progress.VerdictOtherVersion:
			l := Line{T(":warning: Not recorded for "), B(env), T(fmt.Sprintf(": this message names Platform Server %s, but %s's target is %s", h.Change.Version, env, st.Version))}
			switch {
			case progress.CompareVersions(h.Change.Version, st.Version) > 0 && st.State == progress.StateDone:
				// The track starts the next upgrade: this message, older, is the last one's.
				who := ""
				if !b.isAdmin("") {
					who = " (an upgradebot admin's to run)"
				}
				l = append(l, T(", whose upgrade is done: if "+h.Change.Version+" is the next one, "), C(b.cmd+" track "+env+" "+h.Change.Version), T(who+" starts it; then paste this again. ("))
			case progress.CompareVersions(h.Change.Version, st.Version) > 0:
				l = append(l, T(", an older one: if "+h.Change.Version+" is the target, "), C(b.cmd+" track "+env+" "+h.Change.Version), T(" sets it. ("))
			default:
				l = append(l, T(" — an earlier upgrade, or another environment? ("))
			}
			lines = append(lines, slices.Concat(l, Line{T("It would record ")}, says, Line{T(".)")}))
		case progress.VerdictOtherCounts:
			lines = append(lines, slices.Concat(Line{T(":warning: Not recorded for "), B(env), T(": this summary's counts differ from those recorded (" + countsText(progress.Status{Environment: st}) +
				") more than the modules named cover — another environment's, or a new run of the preparation? (It would record ")}, says, Line{T(".)")}))
		default:
			l := slices.Concat(Line{T(":hourglass: Not recorded for "), B(env), T(": this message looks older than what is recorded. It says ")}, says)
			if h.Change.Stamps != "" {
				// Copied from Service Center, by its clock; the recorded update's time is UTC.
				l = append(l, T(" ("+h.Change.Stamps+", by Service Center's clock)"))
			}
			l = append(l, T("; recorded: "+recordedText(st)))
			if !st.UpdatedAt.IsZero() {
				l = append(l, T(", last update "+b.when(st.UpdatedAt)))
				if st.UpdatedBy != "" {
					l = append(l, T(" by "), M(st.UpdatedBy))
				}
			}
			lines = append(lines, append(l, T(".")))
		}
	}
	return append(lines, Line{T("If it is right after all, record it anyway.")})
}

// heldReason is why h was held back, in a few words (heldLines says it in full).
func heldReason(h heldChange) string {
	if other, ok := strings.CutPrefix(string(h.Why), string(heldMention)); ok {
		return "the message speaks of " + other
	}
	switch h.Why {
	case heldSentence:
		return "quoted in a sentence"
	case heldEnvironment:
		return "names an environment"
	case heldAgain:
		return "marked republished since"
	case heldUndone:
		return "undone by someone"
	case heldCounts:
		return "more than Service Center counted"
	case progress.VerdictOtherVersion:
		return "names Platform Server " + h.Change.Version
	case progress.VerdictOtherCounts:
		return "counts differ from those recorded"
	}
	return "older than what is recorded"
}

// againLine says which of h's modules were marked republished, by whom
// and when, as the message would list them again.
func (b *Bot) againLine(ctx context.Context, workspace, env string, h heldChange, says Line) Line {
	l := Line{T(":arrows_counterclockwise: Not recorded for "), B(env), T(": ")}
	st, err := b.store.Status(ctx, workspace, env, -1)
	for i, name := range h.Change.Modules {
		if i > 0 {
			l = append(l, T("; "))
		}
		i := slices.IndexFunc(st.RepublishedModules, func(m progress.Module) bool { return moduleKey(m.Name) == moduleKey(name) })
		if err != nil || i < 0 {
			l = append(l, C(name), T(" was marked republished"))
			continue
		}
		l = append(l, b.republishedLine(st.RepublishedModules[i])...)
	}
	return slices.Concat(l, Line{T(" — is this message older than that? (It would list it again: ")}, says, Line{T(".)")})
}

// recordedText is where st's upgrade stands, with the figures the older message is compared with.
func recordedText(st progress.Environment) string {
	s := stateText(st.State)
	p := st.Preparation
	switch {
	case st.State == progress.StatePreparing && p.Percent != nil:
		s += fmt.Sprintf(", %d%%", *p.Percent)
	case st.State == progress.StatePreparing && p.Current != nil && p.Total != nil:
		s += fmt.Sprintf(", module %d of %d", *p.Current, *p.Total)
	case st.Counts.Known():
		s += fmt.Sprintf(" (%s prepared, %s failed, %s skipped)", countText(st.Counts.Prepared), countText(st.Counts.Failed), countText(st.Counts.Skipped))
	}
	return s
}

// recordHeld records anyway the changes h kept under code, as they were
// held: user's last change in channel, with an Undo button.
func (b *Bot) recordHeld(ctx context.Context, workspace, channel, user string, h heldChanges, code string) Response {
	if h.Recorded != "" {
		return private(errorReply("Already recorded anyway for " + h.Env + "."))
	}
	if r := b.beforeRestart(ctx, workspace, h.Env, h.At); r != nil {
		return private(r)
	}
	if ch, ts, ok := sourceMessage(h.Source); ok {
		if r := b.deletedMessage(ctx, workspace, ch, ts); r != nil {
			return private(r)
		}
	}
	r := &Reply{Summary: "Recorded anyway for " + h.Env}
	r.Section(Line{M(user), T(" recorded anyway for "), B(h.Env), T(" what a message held back:")})
	cleared := false
	var keys []string
	for _, hc := range h.Changes {
		key := hc.Key
		if h.Round > 0 {
			key += fmt.Sprintf("~%d", h.Round)
		}
		c := hc.Change.change(key, user, h.Source)
		c.Force, c.SentAt = true, sentTime(h.At)
		res, err := b.store.Apply(ctx, workspace, h.Env, c)
		if err != nil {
			return private(b.writeError(ctx, workspace, h.Env, err))
		}
		r.Context(describeRecorded(h.Env, hc.Change, res))
		noteReplication(r, res.NotReplicated)
		if res.Refused == "" {
			keys = append(keys, key)
		}
		cleared = cleared || res.AllClear()
	}
	h.Recorded = user
	if _, err := b.keepHeld(ctx, workspace, h); err != nil {
		b.log.Warn("cannot mark held changes recorded", "code", code, "err", err)
	}
	if len(keys) > 0 {
		r = b.undoableAs(ctx, workspace, channel, user, r, undoable{Env: h.Env, Keys: keys, What: r.Summary, Held: code})
	}
	resp := Response{Announce: r}
	if cleared {
		r.Blocks = append(r.Blocks, b.allClear(h.Env).Blocks...)
	}
	return resp
}

// holdAgain marks the held changes under code (none when "") not
// recorded: what recorded them anyway was undone.
func (b *Bot) holdAgain(ctx context.Context, workspace, code string) {
	if code == "" {
		return
	}
	h, ok, err := b.heldFor(ctx, workspace, code)
	if err == nil && ok && h.Recorded != "" {
		h.Recorded, h.Round = "", h.Round+1
		_, err = b.keepHeld(ctx, workspace, h)
	}
	if err != nil {
		b.log.Warn("cannot hold back again what was recorded anyway", "code", code, "err", err)
	}
}

// recorded are parts' changes less those held back.
func recorded(parts []partChanges, held []heldChange) []partChanges {
	skip := map[string]bool{}
	for _, h := range held {
		skip[h.Key] = true
	}
	var out []partChanges
	for _, pc := range parts {
		kept := partChanges{Key: pc.Key}
		for _, p := range pc.Changes {
			if !skip[p.key(pc.Key)] {
				kept.Changes = append(kept.Changes, p)
			}
		}
		out = append(out, kept)
	}
	return out
}

// countOf is Service Center's count of group g (nil: not known, or no such count).
func countOf(c progress.Counts, g progress.Group) *int {
	switch g {
	case progress.GroupFailed:
		return c.Failed
	case progress.GroupSkipped:
		return c.Skipped
	}
	return nil
}

// guardAdd splits the modules a message's part (source) adds as p
// into those to record, those beyond Service Center's count (beyond) and
// those marked republished already (again): an older message pasted
// again, or news that a module is not republished after all, which a
// person tells apart. rev is the revision it decided on, for the add to
// hold only while no change came between (nil when it could not read).
func (b *Bot) guardAdd(ctx context.Context, workspace, env, source string, p planned, mods []string) (kept, beyond, again []string, rev *int64) {
	st, err := b.store.Status(ctx, workspace, env, -1)
	if err != nil {
		return mods, nil, nil, nil // the record that follows says what is wrong
	}
	done := map[string]bool{}
	msg, _, _ := strings.Cut(source, ":img") // a screenshot's part is its message's
	for _, m := range st.RepublishedModules {
		reported, _, _ := strings.Cut(m.Source, ":img")
		done[moduleKey(m.Name)] = reported != msg // false: this message's own report (its text or a screenshot)
	}
	for _, m := range mods {
		switch other, republished := done[moduleKey(m)]; {
		case !republished:
			kept = append(kept, m)
		case other:
			again = append(again, m)
		} // else recorded by this message already, and republished since: not listed again
	}
	kept, beyond = beyondIn(st, p, kept)
	return kept, beyond, again, &st.Revision
}

// countFor is Service Center's count that the modules p adds fall under
// (nil: not known, or none), what it counts, and which listed modules it
// covers.
func countFor(c progress.Counts, p planned) (n *int, what string, covers func(progress.Module) bool) {
	g := p.Reason.Group()
	if p.Unprepared && c.Failed != nil && c.Skipped != nil {
		// Once the preparation has ended, a producer it did not prepare is
		// one it failed or skipped (the reference's causes; the others are
		// a preparation still running or never run).
		sum := *c.Failed + *c.Skipped
		// Only those listed as failed or skipped fill the count: warnings
		// list modules with a producer's reason too.
		return &sum, "failed or skipped", func(m progress.Module) bool { return m.Reason.Group() != progress.GroupReported }
	}
	return countOf(c, g), string(g), func(m progress.Module) bool { return m.Reason.Group() == g }
}

// beyondIn splits mods into those kept and those beyond the Service
// Center count in st (read with all its modules) that p's fall under.
func beyondIn(st progress.Status, p planned, mods []string) (kept, beyond []string) {
	count, _, covers := countFor(st.Counts, p)
	if count == nil {
		return mods, nil
	}
	inGroup := map[string]bool{}
	for _, m := range slices.Concat(st.Modules, st.RepublishedModules) {
		if covers(m) {
			inGroup[moduleKey(m.Name)] = true
		}
	}
	room := *count - len(inGroup)
	for _, m := range mods {
		switch {
		case inGroup[moduleKey(m)]:
		case room > 0:
			room--
		default:
			beyond = append(beyond, m)
			continue
		}
		kept = append(kept, m)
	}
	return kept, beyond
}

// sourceMessage is the channel and ts of the message a change key or
// source names ("msg:C…:1700000000.000100", perhaps extended: "~<edit>",
// a screenshot's suffix); false for any other.
func sourceMessage(key string) (channel, ts string, ok bool) {
	rest, ok := strings.CutPrefix(key, "msg:")
	if !ok {
		return "", "", false
	}
	channel, rest, ok = strings.Cut(rest, ":")
	end := strings.IndexFunc(rest, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end < 0 {
		end = len(rest)
	}
	return channel, rest[:end], ok && end > 0
}
