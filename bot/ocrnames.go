package bot

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// Module names read from screenshots are checked before they are
// recorded. OutSystems names modules with underscores and suffixes
// (Claims_Core, Billing_CS, Orders_IS), and Tesseract may read an
// underscore as a space, drop it, or read an I as |. A name read is
// recorded when it is a plain identifier or when the same picture or the
// modules already listed in the channel confirm a form of it; otherwise
// the reply shows it as read and asks which module it is (nameQuestion).

// maxQuestions bounds the names asked about in one reply.
const maxQuestions = 5

// nameQuestion is a module name read from a screenshot that the bot is
// not sure of: not recorded; the reply asks, one button per candidate.
type nameQuestion struct {
	Read       string
	Candidates []string
	Reason     progress.Reason
	Key        string   // the question's change key: one answer is recorded
	Codes      []string // the `record <code>` of each candidate, once kept
	Wrapped    bool     // in pasted text, cut by a line break (not read by OCR)
	Pasted     bool     // a module page's title in pasted text (not read by OCR)
}

// modulePage is the title of Service Center's module page, as OCR reads it.
var modulePage = regexp.MustCompile(`(?m)^\s*Module\s+([A-Za-z][A-Za-z0-9_]*)\s*$`)

// modulePageTitle is the module a screenshot of its Service Center page
// names in its title ("Module EmployeeServices" above "Back to Modules
// List"); "" when the text is not of that page.
func modulePageTitle(text string) string {
	if !strings.Contains(text, "Back to Modules List") {
		return ""
	}
	if m := modulePage.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// nameKey compares names as OCR confuses them: case, accents (the
// English model drops them: Faturação_CS read as Faturacao_CS), separators
// (space, underscore, hyphen, dot) and the look-alikes I/l/|/1 and O/0.
func nameKey(s string) string {
	var b strings.Builder
	for _, r := range foldName(s) {
		switch r {
		case ' ', '_', '-', '.', '\u00a0':
		case 'i', '|', '1':
			b.WriteRune('l')
		case '0':
			b.WriteRune('o')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plainName: letters, digits and underscores, as OutSystems module names are.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// sureShape: a plain name OCR rarely gets wrong, so that a name seen for
// the first time may be recorded as read. The English model reads accented
// letters badly and with as much confidence as plain ones (word confidence
// 90-93 for Gestao_Clientes, read for Gestão_Clientes, and 25-50 for
// correct quoted names: ocr/README.md): a non-ASCII letter is often
// another one (Relatérios for Relatórios), an ending that lost its ç or ã
// (Gestao, Faturagao, Configuracion) is as likely a misreading, and a 6
// inside lowercase letters is an ó misread (Configuraci6n). Other digits
// (Log4net, oauth2client) and accentless endings that are also words
// (Scenario, Inventario, Agencia) are left to ordinary names.
func sureShape(s string) bool {
	for i, r := range s {
		if r >= utf8.RuneSelf {
			return false
		}
		if r == '6' && i > 0 && i+1 < len(s) && isLower(s[i-1]) && isLower(s[i+1]) {
			return false
		}
	}
	return !accentPlace.MatchString(s)
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// accentPlace matches the Portuguese and Spanish endings the English model
// reads without their ç, ã or ó (TestOCRAccentedModuleNames): -ão and -ção
// after two small letters (Gestao, Faturacao, Faturagao; not Macao), -ções
// (Configuracoes), -ción (Configuracion, Configuraci6n; not Suspicion).
// Endings that read the same without an accent in Spanish or English
// (Inventario, Scenario, Memoria, Agencia) are not matched.
var accentPlace = regexp.MustCompile(`(?:[a-z]{2}[b-df-hj-np-tv-z]aos?|[cgs]oes|(?:[aeu]|[^p]i)ci[o6]n)(?:$|[^a-z])`)

// mentions are the forms of read in text (a screenshot's): runs of up to
// one word more than read has, quotes and punctuation around them trimmed,
// with read's nameKey.
func mentions(read, text string) []string {
	key := nameKey(read)
	words := strings.Fields(text)
	n := len(strings.Fields(read)) + 1
	var out []string
	for i := range words {
		for j := i + 1; j <= min(len(words), i+n); j++ {
			form := strings.Trim(strings.Join(words[i:j], " "), "'\"‘’“”`.,:;!?()[]{}*")
			if nameKey(form) == key && !slices.Contains(out, form) {
				out = append(out, form)
			}
		}
	}
	return out
}

// wrappedRest is a line holding only the rest of a word cut at a line's end.
var wrappedRest = regexp.MustCompile(`^[a-z][A-Za-z0-9_]*$`)

// wrappedName is nil for a module name read in pasted text, or, when a
// line break cut it inside its quotes (a log viewer's wrap), the names to
// ask about, the whole one first. A name ending its line with a word alone
// on the next is not asked about, unlike in a screenshot: in a paste that
// word is as likely a reply of its own ("thanks").
func wrappedName(read, text string) []string {
	// Only a name whose one space is the break: in "Orders and Billing" the
	// break is more likely at a space of the name, as word wrap breaks.
	head, tail, ok := strings.Cut(read, " ")
	if !ok || strings.Contains(tail, " ") {
		return nil
	}
	for _, br := range []string{"\n", "\r\n", "\r"} {
		if strings.Contains(text, head+br+tail) {
			return []string{head + tail, read}
		}
		// An underscore beside the break the diagnosis took for italics
		// ("_… 'Billing_\nCS' …_"): the name's all the same.
		if strings.Contains(text, head+"_"+br+tail) || strings.Contains(text, head+br+"_"+tail) {
			return []string{head + "_" + tail, read}
		}
	}
	return nil
}

// checkName decides what a module name read by OCR is: the name to record
// (sure), or "" and the candidates to ask about. listed are the modules
// already on the lists of the channel's environments.
func checkName(read, text string, listed []string) (string, []string) {
	key := nameKey(read)
	var onList []string
	for _, l := range listed {
		if nameKey(l) == key && !slices.Contains(onList, l) {
			onList = append(onList, l)
		}
	}
	if len(onList) == 1 {
		return onList[0], nil
	}
	if len(onList) > 1 {
		return "", onList
	}
	// A long name Service Center's column wrapped inside a word: its rest
	// alone on the next line ("…_CoreWi" / "dgets").
	if _, after, ok := strings.Cut(text, read+"\n"); ok {
		if rest, _, _ := strings.Cut(after, "\n"); wrappedRest.MatchString(rest) {
			return "", []string{read + rest, read}
		}
	}
	// A name one or two letters away, in the picture (the message names
	// its module twice) or on a list, makes the reading doubtful: OCR
	// reads "rn" as "m", or adds a letter.
	if near := nearNames(read, append(strings.Fields(text), listed...)); len(near) > 0 {
		return "", append([]string{read}, near...)[:min(len(near)+1, 4)]
	}
	// The picture's plain forms; an underscore OCR read is one the screen
	// shows, so of two forms the one with more underscores is right.
	var plain []string
	for _, f := range append([]string{read}, mentions(read, text)...) {
		if plainName(f) && !slices.Contains(plain, f) {
			plain = append(plain, f)
		}
	}
	slices.SortStableFunc(plain, func(a, b string) int { return strings.Count(b, "_") - strings.Count(a, "_") })
	if (len(plain) == 1 || (len(plain) > 1 && strings.Count(plain[0], "_") > strings.Count(plain[1], "_"))) && sureShape(plain[0]) {
		return plain[0], nil
	}
	// Unsure: the underscored reading first, then the forms seen.
	guess := strings.Map(func(r rune) rune {
		if r == '|' {
			return 'I'
		}
		return r
	}, strings.Join(strings.Fields(read), "_"))
	candidates := []string{}
	for _, c := range append(append([]string{guess}, plain...), read) {
		if !slices.Contains(candidates, c) {
			candidates = append(candidates, c)
		}
	}
	return "", candidates[:min(len(candidates), 4)]
}

// checkedPlan plans a message's changes (planParts) with the module names
// read from screenshots checked: a name confirmed in another form is
// corrected in the part's findings (the reply shows the name recorded);
// a name the bot is unsure of is left out of the changes and asked about.
func (b *Bot) checkedPlan(ctx context.Context, m Message, parts []part) ([]part, []partChanges, []nameQuestion) {
	var listed []string
	loaded := false
	var questions []nameQuestion
	out := make([]part, len(parts))
	copy(out, parts)
	unsure := map[string]map[string]bool{} // part key → names read not recorded
	for i, p := range out {
		pasted := p.image < 0 && p.sheet == nil
		if !pasted && (p.image < 0 || p.sheet != nil || m.Images[p.image].File) {
			continue
		}
		var findings []diagnosis.Finding
		for _, f := range p.findings {
			read := f.Text("module")
			page := p.text
			if pasted {
				page = m.Text // the page copied as text
			}
			if title := modulePageTitle(page); f.ID == "module-not-upgraded" && read == "" && title != "" {
				// Service Center's module page names its module in its
				// title, not in the message: asked, not recorded.
				if !slices.ContainsFunc(questions, func(q nameQuestion) bool { return q.Read == title }) {
					questions = append(questions, nameQuestion{Read: title, Candidates: []string{title}, Reason: progress.ReasonNotUpgraded, Key: p.key + ":page:" + title, Pasted: pasted})
				}
			}
			if read == "" || (f.ID != "producer-not-prepared" && f.ID != "module-upgrade-failed" && (f.Entry == nil || f.Entry.Republish == "")) {
				findings = append(findings, f)
				continue
			}
			var name string
			var candidates []string
			if pasted {
				if candidates = wrappedName(read, m.Text); candidates == nil {
					findings = append(findings, f)
					continue
				}
			} else {
				if !loaded {
					listed, loaded = b.channelModules(ctx, m), true
				}
				name, candidates = checkName(read, p.text, listed)
			}
			if name == "" {
				if unsure[p.key] == nil {
					unsure[p.key] = map[string]bool{}
				}
				if !unsure[p.key][read] {
					unsure[p.key][read] = true
					questions = append(questions, nameQuestion{Read: read, Candidates: candidates, Key: p.key + ":ask:" + read, Wrapped: pasted})
				}
			} else if name != read {
				f.Values = slices.Clone(f.Values)
				for j := range f.Values {
					if f.Values[j].Name == "module" {
						f.Values[j].Text = name
					}
				}
			}
			findings = append(findings, f)
		}
		out[i].findings = findings
	}
	changes := planParts(out)
	if len(unsure) == 0 {
		return out, changes, questions
	}
	kept := changes[:0]
	for _, pc := range changes {
		var cs []planned
		for _, c := range pc.Changes {
			if c.Kind == progress.ChangeAddModules && unsure[pc.Key] != nil {
				var mods []string
				for _, mod := range c.Modules {
					if !unsure[pc.Key][mod] {
						mods = append(mods, mod)
						continue
					}
					for q := range questions {
						if questions[q].Key == pc.Key+":ask:"+mod {
							questions[q].Reason = c.Reason
						}
					}
				}
				if c.Modules = mods; len(mods) == 0 {
					continue
				}
			}
			cs = append(cs, c)
		}
		if len(cs)+len(pc.Held) > 0 {
			kept = append(kept, partChanges{Key: pc.Key, Changes: cs, Held: pc.Held})
		}
	}
	return out, kept, questions
}

// channelModules are the modules listed on the channel's environments; a
// store failure leaves them out (names are then asked about, not guessed).
func (b *Bot) channelModules(ctx context.Context, m Message) []string {
	envs, err := b.store.ChannelEnvironments(ctx, m.Workspace, m.Channel)
	if err != nil {
		b.log.Warn("cannot list the environments to check module names", "err", err)
		return nil
	}
	var names []string
	for _, e := range envs {
		st, err := b.store.Status(ctx, m.Workspace, e.Name, -1)
		if err != nil {
			b.log.Warn("cannot read the modules to check module names", "env", e.Name, "err", err)
			continue
		}
		for _, mod := range st.Modules {
			names = append(names, mod.Name)
		}
	}
	return names
}

// namePlan is what a name question's button records (kept in Values).
type namePlan struct {
	Env    string          `json:"e"`
	Reason progress.Reason `json:"r"`
	Module string          `json:"m"`
	Read   string          `json:"d"`
	Key    string          `json:"k"` // the question's change key
	Reply  string          `json:"y"` // the reply's key, to rebuild it
}

// keepQuestions keeps each candidate's plan under its code for env, so
// that its button (or `record <code>`) records it; at most maxQuestions.
func (b *Bot) keepQuestions(ctx context.Context, m Message, env, replyKey string, qs []nameQuestion) []nameQuestion {
	qs = qs[:min(len(qs), maxQuestions)]
	for i := range qs {
		qs[i].Codes = make([]string, len(qs[i].Candidates))
		for j, c := range qs[i].Candidates {
			sum := sha256.Sum256([]byte(m.Workspace + "\x00" + env + "\x00" + qs[i].Key + "\x00" + c))
			code := base64.RawURLEncoding.EncodeToString(sum[:6])
			p := namePlan{Env: env, Reason: qs[i].Reason, Module: c, Read: qs[i].Read, Key: qs[i].Key, Reply: replyKey}
			if err := putJSON(ctx, b.store, m.Workspace, "plan:"+code, p, keepFor); err != nil {
				b.log.Warn("cannot keep a name question's plan", "err", err)
				return nil
			}
			qs[i].Codes[j] = code
		}
	}
	return qs
}

// questionBlocks ask about the names read, one line and one row of
// buttons each; more names than maxQuestions are named, not asked.
func (b *Bot) questionBlocks(r *Reply, env string, qs []nameQuestion, total int) {
	from := " read from the screenshot"
	switch {
	case !slices.ContainsFunc(qs, func(q nameQuestion) bool { return !q.Wrapped }):
		from = ", cut by a line break in the message"
	case !slices.ContainsFunc(qs, func(q nameQuestion) bool { return !q.Wrapped && !q.Pasted }):
		from = " in the message"
	}
	r.Section(Line{T(":mag: I am not sure of these module names" + from + ", so I did not record them for "), B(env), T(". Which module is it?")})
	for i, q := range qs {
		switch {
		case q.Wrapped:
			r.Context(Line{T("Cut as "), C(q.Read), T(":")})
		case q.Reason == progress.ReasonNotUpgraded: // a module page's title (modulePageTitle)
			what := "The screenshot"
			if q.Pasted {
				what = "The text pasted"
			}
			r.Context(Line{T(what + " is of the page of "), C(q.Read), T(" in Service Center: is it the module not upgraded?")})
		default:
			r.Context(Line{T("Read as "), C(q.Read), T(":")})
		}
		var buttons []Button
		for j, c := range q.Candidates {
			buttons = append(buttons, Button{ActionID: fmt.Sprintf("%s:%d:%d", ActionRecord, i, j), Label: c, Value: q.Codes[j], Command: "record " + q.Codes[j]})
		}
		r.Actions(buttons...)
	}
	if total > len(qs) {
		r.Context(Line{T(plural(total-len(qs), "more name was", "more names were") + " not recorded: "), C(b.cmd + " failed <module>"), T(" reports one.")})
	} else {
		// OCR may leave no right candidate (Gestao_Clientes for Gestão_Clientes).
		r.Context(Line{T("None of these? "), C(b.cmd + " failed <module>"), T(" records the name as it is.")})
	}
}

// cmdRecord records what a name question's button records, or what a
// reply held back (guard.go).
func (b *Bot) cmdRecord(ctx context.Context, c Command, args string) Response {
	code := strings.TrimSpace(args)
	if code == "" {
		return b.usageError(b.lookup("record"), "Give the code printed beside the button.")
	}
	if h, found, err := b.heldFor(ctx, c.Workspace, code); err != nil || found {
		if err != nil {
			return private(b.storeError("read what was held back", err))
		}
		return b.recordHeld(ctx, c.Workspace, c.Channel, c.User, h, code)
	}
	p, found, err := getJSON[namePlan](ctx, b.store, c.Workspace, "plan:"+code)
	if err != nil {
		return private(b.storeError("read the question", err))
	}
	if key, env, choice := strings.Cut(code, ":"); !found && choice {
		// The choice of environment of a message's reply (its buttons' command).
		resp := b.chooseEnv(ctx, Action{Workspace: c.Workspace, Channel: c.Channel, User: c.User, ID: c.ID}, buttonValue{Env: env, Key: key})
		if resp.Reply == nil {
			resp.Reply, resp.Private = resp.Update, false // typed, there is no message to rebuild: the rebuilt one is the answer
		}
		resp.Update = nil
		return resp
	}
	if !found {
		return private(errorReply(fmt.Sprintf("I don't know the code %q (a question's buttons work for %d days). Paste the message again to be asked again, or record what it says yourself: `%s failed <module>`, `%s help` lists the rest.", Shorten(code, 20), keepFor/(24*time.Hour), b.cmd, b.cmd)))
	}
	if ch, ts, ok := sourceMessage(p.Key); ok {
		if r := b.deletedMessage(ctx, c.Workspace, ch, ts); r != nil {
			return private(r)
		}
	}
	// The question's answer is kept as long as its buttons: the change
	// key alone would let another candidate in after a day.
	answerKey := "answer:" + heldCode(p.Key, p.Env)
	answered, found, err := b.store.Value(ctx, c.Workspace, answerKey)
	if err != nil {
		return private(b.storeError("read the question", err))
	}
	if found {
		return private(errorReply(fmt.Sprintf("That name was already answered (%s); `%s history %s` shows what was recorded.", answered, b.cmd, p.Env)))
	}
	res, err := b.store.Apply(ctx, c.Workspace, p.Env, progress.Change{Kind: progress.ChangeAddModules, Key: p.Key, Actor: c.User, Reason: p.Reason, Modules: []string{p.Module}, At: b.now()})
	if err != nil {
		return private(b.storeError("record", err))
	}
	if res.Duplicate {
		return private(errorReply(fmt.Sprintf("That name was already answered; `%s history %s` shows what was recorded.", b.cmd, p.Env)))
	}
	if err := b.store.PutValue(ctx, c.Workspace, answerKey, []byte(p.Module), keepFor); err != nil {
		b.log.Warn("cannot mark a name question answered", "err", err)
	}
	r := &Reply{Summary: fmt.Sprintf("%s recorded on %s", p.Module, p.Env)}
	r.Section(Line{M(c.User), T(" recorded "), C(p.Module), T(" (read as "), C(p.Read), T(" in a screenshot) on "), B(p.Env), T(fmt.Sprintf(". %d to republish.", res.Remaining))})
	noteReplication(r, res.NotReplicated)
	resp := Response{Announce: b.undoably(ctx, c.Workspace, c.Channel, c.User, p.Env, r, p.Key)}
	if p.Reply != "" {
		resp.Update = b.rebuild(ctx, c.Workspace, p.Reply, p.Env, "", nil)
	}
	return resp
}

// unsureNames are the names asked about, as read.
func unsureNames(qs []nameQuestion) map[string]bool {
	out := map[string]bool{}
	for _, q := range qs {
		out[q.Read] = true
	}
	return out
}

// nearNames are the plain names among words that differ from read by one
// or two letters, not only by separators or look-alikes (read of at least
// six letters), each once.
func nearNames(read string, words []string) []string {
	if utf8.RuneCountInString(read) < 6 || !plainName(read) {
		return nil
	}
	var out []string
	for _, w := range words {
		w = strings.Trim(w, "'\"‘’“”`.,:;!?()[]{}*")
		// (Forms that differ by separators or look-alikes, nameKey's, are mentions.)
		if w != read && plainName(w) && nameKey(w) != nameKey(read) && !slices.Contains(out, w) && editDistance(foldName(w), foldName(read), 2) <= 2 {
			out = append(out, w)
		}
	}
	return out
}

// foldName is s in lower case without accents: Ffaturacao_CS is one letter
// from Faturação_CS.
func foldName(s string) string { return strings.ToLower(foldAccents(s)) }

// editDistance is the Levenshtein distance of a and b, or more than limit
// when it is (cut short: most words are far from a module's name).
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev = cur
	}
	return prev[len(rb)]
}
