package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// envPrefix is a leading "prod:" that names the environment a pasted message is about.
// Its name may have accents ("produção:"): people write it in their words.
var envPrefix = regexp.MustCompile(`^\s*(?:\*|_)*(` + labelWord + `)(?:\*|_)*\s*:`)

// labelWord is an environment's name as a label writes it.
const labelWord = `[\pL\d][\pL\pM\d._-]{0,39}`

// envMark is a label in another form: "[prod] …", "*PROD*" alone on its
// line, "prod - …". Ordinary words take these forms too ("[INFO]",
// "Update - …"): only an environment's exact name makes one a label. (An
// arrow is none: "dev -> test" names where something went.)
var envMark = regexp.MustCompile(`^\s*(?:\[\s*(` + labelWord + `)\s*\]|[*_]+(` + labelWord + `)[*_]+[ \t]*(?:\r?\n|$)|(` + labelWord + `)\s+[-–—]\s)`)

// envLabel is the environment label text starts with, after the mentions
// ("@ana prod: …", to a colleague or the bot) and quote markers ("> prod: …")
// before it; "" when none. exact: a form other than "name:", which only
// an environment's exact name makes a label (labelNames). quoted: it
// stands in a quote, which the writer's own words may overrule.
func envLabel(text string) (name string, exact, quoted bool) {
	for {
		trimmed := strings.TrimLeft(text, " \t\r\n")
		quoted = quoted || strings.HasPrefix(trimmed, ">")
		text = strings.TrimLeft(trimmed, " \t\r\n>")
		if rest, ok := strings.CutPrefix(text, "&gt;"); ok { // Slack escapes a quote's ">"
			text, quoted = rest, true
			continue
		}
		end := strings.IndexByte(text, '>')
		if end < 0 || !strings.HasPrefix(text, "<@") && !strings.HasPrefix(text, "<!") {
			break
		}
		text = strings.TrimLeft(text[end+1:], " \t:,")
	}
	if sm := envPrefix.FindStringSubmatch(text); sm != nil {
		return sm[1], false, quoted
	}
	if sm := envMark.FindStringSubmatch(text); sm != nil {
		return sm[1] + sm[2] + sm[3], true, quoted
	}
	return "", false, false
}

// labelNames reports whether a label names env: a "name:" label in other
// words too (sameEnvironment), another form only by env's name.
func labelNames(env, label string, exact bool) bool {
	if exact {
		return strings.EqualFold(env, foldAccents(label))
	}
	return sameEnvironment(env, label)
}

// environmentWords are the words of environment names teams use, so
// that "staging:" starting a paste names an environment and "Note:" not;
// in English and in the words of teams that chat in Portuguese, Spanish,
// Dutch, French or German ("hml", "homologação", "producción", "productie"),
// written without their accents (foldAccents).
var environmentWords = strings.Fields(`dev devel develop development qa qas test tst testing uat acc acceptance
	sit int integration stg stage staging preprod pprd ppe prod prd production live sandbox sbx hotfix hf
	training trn demo perf dr nonprod
	hml hom hmg homolog homologacao qld qualidade des dsv desenv desenvolvimento desarrollo pre pro producao
	produccion productie produktion acceptatie recette teste prueba pruebas`)

// environmentSynonyms are the words that name one kind of environment.
var environmentSynonyms = map[string]string{"prd": "prod", "production": "prod", "devel": "dev", "develop": "dev", "development": "dev",
	"tst": "test", "testing": "test", "stg": "staging", "stage": "staging", "pprd": "preprod", "acc": "uat", "acceptance": "uat",
	"integration": "int", "sbx": "sandbox", "trn": "training",
	"pro": "prod", "producao": "prod", "produccion": "prod", "productie": "prod", "produktion": "prod", "pre": "preprod",
	"hml": "uat", "hom": "uat", "hmg": "uat", "homolog": "uat", "homologacao": "uat", "acceptatie": "uat", "recette": "uat",
	"qld": "qa", "qualidade": "qa", "teste": "test", "prueba": "test", "pruebas": "test",
	"des": "dev", "dsv": "dev", "desenv": "dev", "desenvolvimento": "dev", "desarrollo": "dev"}

// chatWords are environment words that are everyday words too (French
// "dans des …", Portuguese "pro" for "para o", English "in des moines",
// "for pro users"): after a preposition they name only an environment
// the channel follows by that very name, never another.
var chatWords = []string{"des", "pro"}

// teamPrepositions are "in" in Portuguese, Dutch, French and German
// that are no English words: "em prod", "bij acc", "dans la recette",
// "auf der prd".
var teamPrepositions = []string{"em", "bij", "dans", "auf"}

// englishPrepositions are "in" in the team's language that are English
// words too ("no prod impact", "im prod support", "the CI op test", "na
// dev also", "en route"): in a paste they name an environment only by a
// word of the team's language ("na produção", "en producción"). Commands
// read them all before a followed environment last (envAsModule).
var englishPrepositions = []string{"no", "na", "en", "op", "im"}

// ownWords are environment words of the team's language that no English
// sentence uses (abbreviations such as "hml" or "pre" are left out).
var ownWords = []string{"homologacao", "qualidade", "desenvolvimento", "desarrollo", "producao", "produccion",
	"productie", "produktion", "acceptatie", "recette", "teste", "prueba", "pruebas"}

// ownWord reports whether w is one of ownWords, accents and a number aside.
func ownWord(w string) bool {
	return slices.Contains(ownWords, strings.TrimRight(strings.ToLower(foldAccents(w)), "0123456789"))
}

// sameEnvironment reports whether a paste's prefix names env: in any
// case, or in other words ("Production:" or "produção:" for prod, "stg2"
// for staging2).
func sameEnvironment(env, prefix string) bool {
	canon := func(name string) string {
		parts := envParts(name)
		for i, p := range parts {
			word := strings.TrimRight(p, "0123456789")
			parts[i] = cmp.Or(environmentSynonyms[word], word) + p[len(word):]
		}
		return strings.Join(parts, "-")
	}
	return strings.EqualFold(env, prefix) || canon(env) == canon(prefix)
}

// environmentWord reports whether name reads as an environment's name:
// one of environmentWords, with a number or a region around it ("dev2",
// "prod-eu"); one of wholeWords only as the whole name ("pro", "pre2").
func environmentWord(name string) bool {
	parts := envParts(name)
	return slices.ContainsFunc(parts, func(w string) bool {
		w = strings.TrimRight(w, "0123456789")
		return slices.Contains(environmentWords, w) && (len(parts) == 1 || !slices.Contains(wholeWords, w))
	})
}

// wholeWords are environment words that start English names too
// ("Pro_Portal", "Pre_Checkout", "Des_Lib", "pre-check"): a part of a
// name, they make no environment's.
var wholeWords = []string{"pro", "pre", "des", "hom"}

// envParts are the lowercase words of an environment's name, without
// accents ("prod-eu": prod, eu; "Produção": producao); "pre-prod" is one.
func envParts(name string) []string {
	parts := strings.FieldsFunc(strings.ToLower(foldAccents(name)), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	for i := len(parts) - 1; i > 0; i-- {
		if parts[i-1] == "pre" && strings.HasPrefix(parts[i], "prod") {
			parts[i-1] += parts[i]
			parts = slices.Delete(parts, i, i+1)
		}
	}
	return parts
}

// foldAccents is s without its accents ("Produção": "Producao"):
// environment names are ASCII, while people write them in their words.
func foldAccents(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return norm.NFC.String(strings.Map(func(r rune) rune {
				if unicode.Is(unicode.Mn, r) {
					return -1
				}
				return r
			}, norm.NFD.String(s)))
		}
	}
	return s
}

// lineEnvironments are the environments that lines of text start with
// ("prod: …", "[qa] …"): one the channel follows or, as "name:", one that
// reads as an environment's name, lowercased, each once.
func lineEnvironments(text string, envs []progress.Environment) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		label, exact, _ := envLabel(line)
		if label == "" {
			continue
		}
		name, known := strings.ToLower(foldAccents(label)), false
		for _, e := range envs {
			if labelNames(e.Name, label, exact) {
				name, known = e.Name, true
			}
		}
		if (known || !exact && environmentWord(name)) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// mentionedEnvironments are the environments a message's words name after
// "in", "on", "for" or "from" ("… in UAT, I'm on it", "failed on QA") or
// "in" in the team's language ("em prod", "en producción", "op acc",
// "dans la recette"), or after "to" in "from dev to test" (where dev is where it came from):
// followed, the channel's names; others, the names that read as an
// environment's, lowercased; each once. A comparison ("had in dev", "as in
// dev", "same as dev") names no environment the message is about. also
// are the channel's other environments its words name otherwise, by
// name (a word alone, "test", says too little to pick it, but enough to
// ask rather than pick another). A module's name a finding took from the
// product's words ("Upgrade failed for qa") is none. (Words, not a
// regular expression: this runs on every paste.)
func mentionedEnvironments(text string, envs []progress.Environment, findings []diagnosis.Finding) (followed, others, also []string) {
	fields := strings.Fields(text)
	words, lines := make([]string, len(fields)), make([]int, len(fields))
	line, rest := 0, text
	for i, w := range fields { // without the punctuation and markup around it
		words[i] = strings.TrimFunc(w, func(r rune) bool { return strings.ContainsRune(`"'()*_,.:;!?`, r) })
		at := strings.Index(rest, w)
		line += strings.Count(rest[:at], "\n")
		lines[i], rest = line, rest[at+len(w):]
	}
	module := func(w string) bool {
		return slices.ContainsFunc(findings, func(f diagnosis.Finding) bool { return strings.EqualFold(f.Text("module"), w) })
	}
	compared := []string{"as", "like", "same"}
	// An article is "the", or one of the team's language right after its
	// "in" ("dans la prod", "op de acceptatie", "auf der prd"): elsewhere
	// "de" or "la" may be an environment's name ("failed in DE", "in LA"),
	// and a followed one's always is.
	article := func(j int) bool {
		return wordIs(words, j, "the") || wordIs(words, j, "la", "le", "el", "de", "der") &&
			(wordIs(words, j-1, teamPrepositions...) || wordIs(words, j-1, englishPrepositions...)) &&
			!slices.ContainsFunc(envs, func(e progress.Environment) bool { return strings.EqualFold(e.Name, words[j]) })
	}
	for i, w := range words {
		w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
		if r, _ := utf8.DecodeRuneInString(w); len(w) > 40 || !unicode.IsLetter(r) || article(i) {
			continue
		}
		p := i - 1 // the word before, an article left out
		if article(p) {
			p--
		}
		// In the team's language, punctuation after it makes it no
		// preposition ("no, prod is fine" is English), nor does an
		// apostrophe before it ("let 'em"); one that is an English word
		// too is one only before a word of the team's language or right
		// after the module's name ending the product's message ("Upgrade
		// failed for Faturação_CS no prd", as the finding reads it).
		afterModule := p > 0 && module(words[p-1]) && lines[p-1] == lines[p] && !strings.ContainsAny(fields[p-1][len(fields[p-1])-1:], ",.;:!?")
		prep := wordIs(words, p, "in", "on", "for", "from") ||
			(wordIs(words, p, teamPrepositions...) || wordIs(words, p, englishPrepositions...) && (ownWord(w) || afterModule)) &&
				words[p] == strings.TrimLeft(fields[p], `"(*_`)
		// A comparison names no environment: "same as dev", "we had in dev",
		// "as we saw in dev" ("saw in dev" alone reports it), "como em dev";
		// nor does where something came from ("from dev to test").
		switch {
		case wordIs(words, p, "as", "like", "than", "como", "comme", "zoals"),
			prep && wordIs(words, p-1, "had", "as", "like", "than", "como", "comme", "zoals"),
			prep && wordIs(words, p-1, "saw", "seen") && (wordIs(words, p-2, compared...) || wordIs(words, p-3, compared...)),
			prep && wordIs(words, p, "from") && wordIs(words, i+1, "to"):
			continue
		case prep, wordIs(words, p, "to") && (wordIs(words, p-2, "from") || wordIs(words, p-3, "from") && wordIs(words, p-2, "the")):
		default:
			if e := slices.IndexFunc(envs, func(e progress.Environment) bool { return strings.EqualFold(e.Name, foldAccents(w)) }); e >= 0 && !slices.Contains(also, envs[e].Name) && !module(w) {
				also = append(also, envs[e].Name)
			}
			continue
		}
		name, known := strings.ToLower(foldAccents(w)), false
		chat := slices.Contains(chatWords, strings.TrimRight(name, "0123456789"))
		for _, e := range envs {
			if sameEnvironment(e.Name, w) && (!chat || strings.EqualFold(e.Name, name)) {
				name, known = e.Name, true
			}
		}
		if word := strings.TrimRight(name, "0123456789"); !known && (!slices.Contains(environmentWords, word) || slices.Contains(chatWords, word)) || module(w) {
			continue
		}
		switch {
		case known && !slices.Contains(followed, name):
			followed = append(followed, name)
		case !known && !slices.Contains(others, name): // a whole word ("uat", "qa2"): "for QA_Tools" names a module
			others = append(others, name)
		}
	}
	also = slices.DeleteFunc(also, func(n string) bool { return slices.Contains(followed, n) })
	return followed, others, also
}

// wordIs reports whether words[i] is one of ws.
func wordIs(words []string, i int, ws ...string) bool {
	if i < 0 || i >= len(words) {
		return false
	}
	for _, x := range ws {
		if strings.EqualFold(words[i], x) {
			return true
		}
	}
	return false
}

// recordOutcome is what recording a message's changes did.
type recordOutcome struct {
	env      string
	about    progress.Environment // the environment as this message leaves it, as far as known (see known)
	state    progress.State       // the state after the last change recorded now; "" when none was
	lines    []Line               // "Recorded: …"
	ask      []string
	err      *Reply
	cleared  bool
	outcome  bool // a summary or banner was recorded
	untraced bool // no environment followed here
	// said: someone's own sentences only, in a channel following several:
	// neither recorded nor asked about.
	said bool
	// elsewhere is the environment a "qa:" prefix names, tracked in the
	// workspace but not followed here: nothing is recorded in another.
	elsewhere string
	several   []string     // the environments lines of the message start with, when more than one
	held      []heldChange // not recorded: older, another version, or in a sentence
	waiting   []string     // producers not recorded while the preparation runs (whilePreparing)
	heldCode  string       // what "Record anyway" records; "" when it could not be kept
	heldWhy   []Line       // why they were held
	keys      []string     // the changes recorded now (for undo)
	// Names read from screenshots and not recorded: asked about (at most
	// maxQuestions, once kept for env) out of asked.
	questions []nameQuestion
	asked     int
	unsure    map[string]bool
	// unreplicated: a change is recorded but not yet on a Redis replica (lines say so once)
	unreplicated bool
}

// notReplicatedLine says that the store recorded a change its Redis
// replica did not confirm in time (progress.Result.NotReplicated).
func notReplicatedLine() Line {
	return Line{T("Recorded, not yet on a replica; repeating it is safe.")}
}

// noteReplication adds notReplicatedLine to r when notReplicated.
func noteReplication(r *Reply, notReplicated bool) {
	if notReplicated {
		r.Context(notReplicatedLine())
	}
}

// record applies a message's planned changes to the right environment.
// A message with nothing to record is about an environment too: its
// reply's advice may depend on which (dependsOnEnv), so in a channel
// following several the bot asks, as it does before recording; so it
// does with asking (module names read from screenshots to ask about).
func (b *Bot) record(ctx context.Context, m Message, findings []diagnosis.Finding, changes []partChanges, asking bool) recordOutcome {
	var out recordOutcome
	if b.store == nil {
		return out
	}
	envs, err := b.store.ChannelEnvironments(ctx, m.Workspace, m.Channel)
	if err != nil {
		if len(changes) > 0 { // nothing to record: the reply goes on without what the store knows
			out.err = b.storeError("list environments", err)
		}
		return out
	}
	if undoneBy(ctx) != "" {
		changes = heldFor(changes, heldUndone)
	}
	if len(changes) > 0 {
		if named := lineEnvironments(m.Text, envs); len(named) > 1 {
			out.several = named // which part is whose is guesswork: nothing is recorded
			return out
		}
	}
	label, exact, quoted := envLabel(m.Text)
	if label != "" && len(changes) > 0 && !slices.ContainsFunc(envs, func(e progress.Environment) bool { return labelNames(e.Name, label, exact) }) {
		switch e, err := b.store.Environment(ctx, m.Workspace, foldAccents(label)); {
		case err == nil:
			out.elsewhere, out.about = e.Name, e
			return out
		case errors.Is(err, progress.ErrNotFound) && !exact && environmentWord(label):
			out.elsewhere = strings.ToLower(foldAccents(label)) // tracked nowhere: not this channel's environment either
			return out
		}
	}
	if len(envs) == 0 {
		// Modules named by messages of ordinary development are not
		// worth a word about tracking: they are only explained.
		out.untraced = len(changes) > 0 && !onlyWhileOpen(changes)
		return out
	}
	var target *progress.Environment
	if label != "" {
		for i := range envs {
			if labelNames(envs[i].Name, label, exact) && (target == nil || strings.EqualFold(envs[i].Name, foldAccents(label))) {
				target = &envs[i]
			}
		}
	}
	named := false // its words name an environment: not its thread's, then
	if target != nil && quoted && len(changes) > 0 {
		// A quoted label ("> prod: …" then "same on qa now") yields to the
		// writer's own words naming another: asked.
		followed, _, also := mentionedEnvironments(m.Text, envs, findings)
		if slices.ContainsFunc(slices.Concat(followed, also), func(n string) bool { return n != target.Name }) {
			target, named = nil, true
		}
	}
	if target == nil && len(changes) > 0 && !named {
		// A message that says which environment it is about ("… on QA").
		followed, others, also := mentionedEnvironments(m.Text, envs, findings)
		named = len(followed)+len(others)+len(also) > 0
		switch {
		case len(followed) == 1 && len(others) == 0 && len(also) == 0: // more than one named: asked
			target = &envs[slices.IndexFunc(envs, func(e progress.Environment) bool { return e.Name == followed[0] })]
		case len(followed) == 0 && len(others) > 0 && len(envs) == 1:
			changes = heldFor(changes, mentionVerdict(others[0]))
		}
	}
	// Someone's own sentence quoting the product ("how long does "We are
	// now preparing your modules" take?") is no environment's news: it is
	// answered, not asked about.
	ask := asking || !saidOnly(changes) && (len(changes) > 0 || dependsOnEnv(findings))
	if target == nil && len(envs) > 1 && ask {
		// Asked before, and answered: the reply rebuilt for a late screenshot records there.
		chosen, err := b.chosenEnv(ctx, m.Workspace, replyKey(m))
		if err != nil {
			out.err = b.storeError("read the choice of environment", err)
			return out
		}
		if chosen == "" && m.ThreadTS != "" && !named {
			chosen = b.threadEnv(ctx, m)
		}
		for i := range envs {
			if envs[i].Name == chosen {
				target = &envs[i]
			}
		}
	}
	if target == nil {
		out.about = commonEnv(envs)
		if len(envs) > 1 {
			if ask {
				for _, e := range envs {
					out.ask = append(out.ask, e.Name)
				}
			}
			out.said = !asking && saidOnly(changes)
			return out
		}
		target = &envs[0]
	}
	// Only a reset after the message refuses it, and target says when the
	// last was: most messages need no read for it.
	if len(changes) > 0 && target.ResetAt.UnixMilli() > sentAt(m.TS) {
		if r := b.sentBeforeRestart(ctx, m, target.Name); r != nil {
			out.err, out.about = r, *target
			return out
		}
	}
	changes, waiting := whilePreparing(*target, changes, b.now())
	if len(changes) > 0 {
		// A part recorded before (the reply rebuilt for a late screenshot)
		// still says what it recorded.
		out = b.applyParts(ctx, m.Workspace, target.Name, m.User, messageKey(m), sentAt(m.TS), changes, true)
	}
	out.about = leftBy(*target, out.state, recorded(changes, out.held))
	if l := b.consumersLine(ctx, m.Workspace, target.Name, changes); l != nil && len(waiting) == 0 {
		out.lines = append(out.lines, l)
	}
	if len(waiting) > 0 {
		out.waiting = waiting
		out.lines = append(out.lines, waitingLine(target.Name, waiting))
		b.keepWaiting(ctx, m.Workspace, replyKey(m), waiting)
	}
	return out
}

// threadKey keeps the one environment the message ref (its replyKey)
// recorded for, or whose status message it is (ThreadPut): a paste in its
// thread that names none is about that one.
func threadKey(ref string) string { return "thread:" + ref }

// ThreadPut keeps that the message ts of channel is about env (the status
// message a transport posted), for ttl: pastes in its thread are env's.
func ThreadPut(channel, ts, env string, ttl time.Duration) progress.Put {
	return progress.Put{Key: threadKey(replyKey(Message{Channel: channel, TS: ts})), Value: []byte(env), TTL: ttl}
}

// threadEnv is the environment m's thread is about (threadKey); "" when
// none, or it cannot be read (then the bot asks, as without a thread).
func (b *Bot) threadEnv(ctx context.Context, m Message) string {
	v, _, err := b.store.Value(ctx, m.Workspace, threadKey(replyKey(Message{Channel: m.Channel, TS: m.ThreadTS})))
	if err != nil {
		b.log.Warn("cannot read which environment a thread is about", "err", err)
	}
	return string(v)
}

// saidOnly reports whether every change of parts is held as someone's
// own sentence (partChanges.Held for no other reason); false for none.
func saidOnly(parts []partChanges) bool {
	for _, pc := range parts {
		if len(pc.Changes) > 0 || pc.Why != "" {
			return false
		}
	}
	return len(parts) > 0
}

// consumersLine names the consumers Error Log rows showed waiting for a
// producer that is not prepared, and the command that lists them: Service
// Center skips such consumers, but the rows alone do not say it did, so
// they are not listed without asking. nil when there are none (or all are
// listed already).
func (b *Bot) consumersLine(ctx context.Context, workspace, env string, changes []partChanges) Line {
	var consumers, named []string
	for _, pc := range changes {
		for _, p := range pc.Changes {
			named = append(named, p.Modules...)
			for _, e := range p.Edges {
				if !slices.Contains(consumers, e[1]) {
					consumers = append(consumers, e[1])
				}
			}
		}
	}
	if len(consumers) == 0 {
		return nil
	}
	if st, err := b.store.Status(ctx, workspace, env, -1); err == nil {
		for _, m := range append(st.Modules, st.RepublishedModules...) {
			named = append(named, m.Name)
		}
	}
	consumers = slices.DeleteFunc(consumers, func(c string) bool {
		return slices.ContainsFunc(named, func(n string) bool { return moduleKey(n) == moduleKey(c) })
	})
	if len(consumers) == 0 {
		return nil
	}
	names := make([]string, len(consumers))
	for i, c := range consumers {
		names[i] = commandName(c)
	}
	return append(append(Line{T("Their consumers in these rows: ")}, nameSpans(consumers, 10)...),
		T(". If Service Center counts them skipped, "), C(b.cmd+" skipped "+env+": "+strings.Join(names, " ")), T(" lists them."))
}

func waitingLine(env string, waiting []string) Line {
	return append(append(Line{T("Nothing to record yet for "), B(env), T(": its preparation is still running and may yet prepare ")},
		nameSpans(waiting, 10)...), T(". If the error stays once the preparation has ended, paste it again."))
}

// keepWaiting keeps which producers a reply left unrecorded while the
// preparation ran, for the reply rebuilt by a click (rebuilt).
func (b *Bot) keepWaiting(ctx context.Context, workspace, key string, waiting []string) {
	if err := b.store.PutValue(ctx, workspace, "waiting:"+key, []byte(strings.Join(waiting, "\n")), keepFor); err != nil {
		b.log.Warn("cannot keep what a reply left unrecorded", "err", err)
	}
}

// whilePreparing leaves out of changes the producers not prepared that a
// message names while env's preparation runs (and the message gives no
// outcome): the preparation may yet prepare them, as the reply advises
// waiting for. waiting names them. A preparation with no news for
// preparingQuiet is stuck, not running: what it left unprepared is listed.
func whilePreparing(env progress.Environment, changes []partChanges, now time.Time) (kept []partChanges, waiting []string) {
	preparing := env.State == progress.StatePreparing && now.Sub(preparationNews(progress.Status{Environment: env})) < preparingQuiet
	for _, pc := range changes {
		for _, p := range pc.Changes {
			switch {
			case p.Kind == progress.ChangePreparing && progress.Next(progress.Status{Environment: env}, p.change("", "", "")).Refused == "":
				preparing = true // held as older, it says nothing of now
			case p.Kind == progress.ChangeSummary || p.Kind == progress.ChangeState && p.State != progress.StatePreparing:
				return changes, nil // the outcome: what is still unprepared is to republish
			}
		}
	}
	if !preparing {
		return changes, nil
	}
	return withoutProducers(changes)
}

// withoutProducers is changes without their producers not prepared, which it names.
func withoutProducers(changes []partChanges) (kept []partChanges, names []string) {
	for _, pc := range changes {
		pc.Changes = slices.DeleteFunc(slices.Clone(pc.Changes), func(p planned) bool {
			if p.Kind == progress.ChangeAddModules && p.Reason == progress.ReasonProducerNotPrepared {
				names = append(names, p.Modules...)
				return true
			}
			return false
		})
		if len(pc.Changes) > 0 || len(pc.Held) > 0 {
			kept = append(kept, pc)
		}
	}
	if len(names) == 0 {
		return changes, nil
	}
	return kept, names
}

// preparingQuiet is how long a preparation may go without news before a
// producer it has not prepared is listed all the same.
const preparingQuiet = 6 * time.Hour

// dependsOnEnv reports whether what findings advise depends on the
// environment: its installation type or where its preparation stands.
func dependsOnEnv(findings []diagnosis.Finding) bool {
	for _, f := range findings {
		for _, n := range append(slices.Clone(f.Entry.Causes), f.Entry.Steps...) {
			if n.Only != diagnosis.InstallAny || slices.ContainsFunc(n.When, func(w string) bool { return w != "internal-error" && w != "no-internal-error" }) {
				return true
			}
		}
		for _, l := range f.Entry.Links {
			if l.Only != diagnosis.InstallAny {
				return true
			}
		}
	}
	return false
}

// commonEnv is what several environments share for a reply about any of
// them: the installation type and the target, each when they agree (one
// environment: all of it).
func commonEnv(envs []progress.Environment) progress.Environment {
	if len(envs) == 1 {
		return envs[0]
	}
	var e progress.Environment
	for i, env := range envs {
		if i > 0 && env.InstallType != e.InstallType {
			e.InstallType = ""
			break
		}
		e.InstallType = env.InstallType
	}
	for i, env := range envs {
		if i > 0 && env.Version != e.Version {
			return progress.Environment{InstallType: e.InstallType}
		}
		e.Version = env.Version
	}
	return e
}

// leftBy is env (as read before a message's changes) as the changes leave
// it: state is the state the store returned after the last of them (""
// when none was new), and the preparation's progress is the message's.
func leftBy(env progress.Environment, state progress.State, changes []partChanges) progress.Environment {
	if state != "" {
		env.State = state
	}
	if env.State != progress.StatePreparing {
		return env
	}
	for _, pc := range changes {
		for _, p := range pc.Changes {
			if p.Kind != progress.ChangePreparing {
				continue
			}
			if p.Percent != nil {
				env.Preparation.Percent = p.Percent
			}
			if p.Current != nil && p.Total != nil {
				env.Preparation.Current, env.Preparation.Total = p.Current, p.Total
			}
			if p.Expect != "" {
				env.Preparation.Expected = p.Expect
			}
		}
	}
	return env
}

// applyParts records each part's changes under its key, until one fails;
// what is held back is kept for "Record anyway" under a code of source
// (the message's key) and env. sent is when the message was sent (Unix
// ms, 0: unknown): the store refuses it once env was reset after that.
func (b *Bot) applyParts(ctx context.Context, workspace, env, actor, source string, sent int64, parts []partChanges, repeats bool) recordOutcome {
	out := recordOutcome{env: env}
	parts, err := b.whileOpen(ctx, workspace, env, parts)
	if err != nil {
		out.err = b.storeError("read the state of the upgrade", err)
		return out
	}
	for _, pc := range parts {
		if out = b.apply(ctx, workspace, env, actor, pc.Key, sent, pc.Changes, repeats, out); out.err != nil {
			return out
		}
		for i, p := range pc.Held {
			out.held = append(out.held, heldChange{Key: fmt.Sprintf("%s#s%d", pc.Key, i), Change: p, Why: cmp.Or(pc.Why, heldSentence)})
		}
	}
	if len(out.held) > 0 {
		// Answered again (a late screenshot): what was recorded anyway stays so.
		before, _, err := b.heldFor(ctx, workspace, heldCode(source, env))
		if err == nil && before.Recorded != "" {
			out.held = nil
			return out
		}
		if out.heldCode, err = b.keepHeld(ctx, workspace, heldChanges{Env: env, Source: source, Changes: out.held, Round: before.Round}); err != nil {
			b.log.Warn("cannot keep held changes", "err", err)
			out.heldCode = ""
		}
		out.heldWhy = b.heldLines(ctx, workspace, env, out.held)
	}
	return out
}

// guardAttempts bounds how often an add is decided again because its
// environment changed between the guard's read and the write.
const guardAttempts = 8

// applyPlanned records p under its key. A guarded add is first split by
// guardAdd (what it holds back goes to out.held) and written only while
// the environment is as the guard read it: a done or another report in
// between makes it read and decide again, so that neither a stale paste
// lists again a module just marked republished, nor two pastes at once
// list more modules than Service Center counted. p comes back with the
// modules it recorded; none, with a zero Result, when all were held.
func (b *Bot) applyPlanned(ctx context.Context, workspace, env, actor, key string, sent int64, p planned, guarded bool, out *recordOutcome) (planned, progress.Result, error) {
	mods := p.Modules
	for attempt := 1; ; attempt++ {
		var beyond, again []string
		var rev *int64
		if guarded {
			p.Modules, beyond, again, rev = b.guardAdd(ctx, workspace, env, key, p, mods)
		}
		var res progress.Result
		var err error
		if len(p.Modules) > 0 || !guarded {
			c := p.change(p.key(key), actor, key)
			if correcting(ctx) && p.outcome() && p.Version == "" {
				// An edit of a message that recorded a summary or banner
				// corrects it (its first version undone): not older news.
				c.Force, c.Correction = true, true
			}
			c.IfRevision, c.SentAt = rev, sentTime(sent)
			res, err = b.store.Apply(ctx, workspace, env, c)
			if errors.Is(err, progress.ErrChanged) && attempt < guardAttempts {
				continue
			}
		}
		if err != nil {
			return p, res, err
		}
		if len(beyond) > 0 {
			h := p
			h.Modules = beyond
			out.held = append(out.held, heldChange{Key: p.key(key) + "#counts", Change: h, Why: heldCounts})
		}
		if len(again) > 0 {
			h := p
			h.Modules = again
			out.held = append(out.held, heldChange{Key: p.key(key) + "#again", Change: h, Why: heldAgain})
		}
		return p, res, nil
	}
}

// apply records changes under key (#i appended for each); a change already
// recorded is skipped, and described again when repeats is set.
func (b *Bot) apply(ctx context.Context, workspace, env, actor, key string, sent int64, changes []planned, repeats bool, out recordOutcome) recordOutcome {
	out.env = env
	var envs []string // the workspace's environments, read once, when a name may be one
	for _, p := range changes {
		guarded := false
		if p.Kind == progress.ChangeAddModules {
			var named []string
			if p.Modules, named = b.environmentNames(ctx, workspace, env, p.Modules, &envs); len(named) > 0 {
				h := p
				h.Modules = named
				out.held = append(out.held, heldChange{Key: p.key(key) + "#env", Change: h, Why: heldEnvironment})
			}
			p.Modules = slices.DeleteFunc(slices.Clone(p.Modules), func(m string) bool { return keptByEdit(ctx, m) })
			guarded = !correcting(ctx) && len(p.Modules) > 0
			if len(p.Modules) == 0 {
				continue
			}
		}
		p, res, err := b.applyPlanned(ctx, workspace, env, actor, key, sent, p, guarded, &out)
		if err != nil {
			out.err = b.writeError(ctx, workspace, env, err)
			return out
		}
		if p.Kind == progress.ChangeAddModules && len(p.Modules) == 0 {
			continue // all held by the guard
		}
		if res.Refused == progress.VerdictRecorded {
			out.lines = append(out.lines, append(Line{T("Already recorded for "), B(env), T(": ")}, describePlanned(p, res)...))
			continue
		}
		if res.Refused != "" {
			out.held = append(out.held, heldChange{Key: p.key(key), Change: p, Why: res.Refused})
			continue
		}
		if res.Duplicate {
			if repeats {
				out.lines = append(out.lines, describeRecorded(env, p, res))
			}
			continue
		}
		if p.Kind == progress.ChangeAddModules && len(res.Added) == 0 && len(res.Updated) == 0 {
			// Listed already, for the same reason: nothing new to show, and
			// nothing to undo unless the store marked something on them (a
			// producer not prepared: the same paste's first report of it
			// cannot be undone without this one).
			l := append(Line{T("Already on "), B(env), T("'s list: ")}, nameSpans(p.Modules, 5)...)
			out.lines = append(out.lines, append(l, T(fmt.Sprintf("; %d on the list", res.Remaining))))
			if len(res.Marked) == 0 {
				continue
			}
		} else {
			out.lines = append(out.lines, describeRecorded(env, p, res))
		}
		for _, m := range res.Reopened {
			out.lines = append(out.lines, b.reopenedLine(m))
		}
		out.cleared = out.cleared || res.AllClear()
		out.outcome = out.outcome || p.outcome()
		out.keys = append(out.keys, p.key(key))
		out.state = res.State
		if res.NotReplicated && !out.unreplicated {
			out.unreplicated = true
			out.lines = append(out.lines, notReplicatedLine())
		}
	}
	return out
}

// reopenedLine says that a module marked republished is listed again.
func (b *Bot) reopenedLine(m progress.Module) Line {
	return append(b.republishedLine(m), T("; it is listed again."))
}

// republishedLine says who marked m republished, and when.
func (b *Bot) republishedLine(m progress.Module) Line {
	l := Line{C(m.Name), T(" was marked republished")}
	if m.RepublishedBy != "" {
		l = append(l, T(" by "), M(m.RepublishedBy))
	}
	if !m.RepublishedAt.IsZero() {
		l = append(l, T(" ("+b.when(m.RepublishedAt)+")"))
	}
	return l
}

// environmentNames splits mods into the module names kept and those that
// are an environment's name ("upgrade failed for prod" names no module):
// env's, in any letter case, or, written in lower case as people write
// environments, another of the workspace's (envs, read at the first such name).
func (b *Bot) environmentNames(ctx context.Context, workspace, env string, mods []string, envs *[]string) (kept, named []string) {
	for _, m := range mods {
		isEnv := strings.EqualFold(m, env)
		if !isEnv && m == strings.ToLower(m) {
			if *envs == nil {
				*envs = []string{}
				list, err := b.store.Environments(ctx, workspace)
				if err != nil {
					b.log.Warn("cannot list the environments to check module names", "err", err)
				}
				for _, e := range list {
					*envs = append(*envs, e.Name)
				}
			}
			isEnv = slices.Contains(*envs, m)
		}
		if isEnv {
			named = append(named, m)
		} else {
			kept = append(kept, m)
		}
	}
	return kept, named
}

func describeRecorded(env string, p planned, res progress.Result) Line {
	l := Line{T("Recorded for "), B(env), T(": ")}
	if p.Kind == progress.ChangeAddModules {
		names := res.Added
		if len(names) == 0 {
			names = p.Modules
		}
		l = append(l, T(plural(len(names), "module", "modules")+" to republish ("))
		l = append(l, nameSpans(names, 5)...)
		if res.Duplicate {
			return append(l, T(")")) // recorded before: today's count is in status
		}
		return append(l, T(fmt.Sprintf("); %d on the list", res.Remaining)))
	}
	l = append(l, describePlanned(p, res)...)
	if p.Kind == progress.ChangeState && res.State == progress.StateReady && res.Refused == "" && !res.Duplicate && res.Remaining > 0 {
		// Service Center's "ready" does not say the modules listed were
		// republished: the list stays, and says why the reminders go on.
		it, is := "them", "they are"
		if res.Remaining == 1 {
			it, is = "it", "it is"
		}
		l = append(l, T(fmt.Sprintf(", with %s still on the list: mark %s republished once %s", plural(res.Remaining, "module", "modules"), it, is)))
	}
	return l
}

// describePlanned says in words what a planned change records.
func describePlanned(p planned, res progress.Result) Line {
	var l Line
	switch p.Kind {
	case progress.ChangeAddModules:
		l = append(append(append(l, T(plural(len(p.Modules), "module", "modules")+" to republish (")), nameSpans(p.Modules, 10)...), T(")"))
	case progress.ChangePreparing:
		s := "modules preparation running"
		if p.Percent != nil {
			s += fmt.Sprintf(", %d%%", *p.Percent)
		}
		if p.Current != nil && p.Total != nil {
			s += fmt.Sprintf(", module %d of %d", *p.Current, *p.Total)
		}
		if p.Expect != "" {
			s += ", expected at " + p.Expect + " by Service Center's clock"
		}
		l = append(l, T(s))
	case progress.ChangeSummary:
		l = append(l, T(fmt.Sprintf("preparation finished: %s prepared, %s failed, %s skipped", countText(p.Counts[0]), countText(p.Counts[1]), countText(p.Counts[2]))))
	case progress.ChangeState:
		s := p.State
		if res.Refused == progress.VerdictRecorded {
			s = res.State // what is recorded: "ready" after done is done
		}
		l = append(l, T(stateText(s)))
	}
	return l
}
