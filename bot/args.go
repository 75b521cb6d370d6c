package bot

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/upgradebot/upgradebot/progress"
)

// splitEnvPrefix takes a leading "prod:" off arguments.
func splitEnvPrefix(args string) (env, rest string) {
	first, after, _ := strings.Cut(strings.TrimSpace(args), " ")
	if strings.HasSuffix(first, ":") && len(first) > 1 && !strings.ContainsAny(first, "\"'“‘„‚«") {
		return strings.TrimSuffix(first, ":"), strings.TrimSpace(after)
	}
	if env, ok := strings.CutPrefix(first, "--env="); ok {
		return env, strings.TrimSpace(after)
	}
	// "prod:B_Core" without a space: a typed name holds no colon.
	if env, name, ok := strings.Cut(first, ":"); ok && envName.MatchString(env) && name != "" && !strings.HasPrefix(name, "/") {
		return env, strings.TrimSpace(name + " " + after)
	}
	return "", args
}

// envName is how an environment's name is written before a colon (a letter first: "10:30" is a time).
var envName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,39}$`)

// moduleNames reads module names from command arguments (CONTRACTS.md):
// pasted Error Log rows and errors name their modules; otherwise names are
// separated by commas, semicolons, lines, spaces or the word "and", a name
// with spaces is quoted, text in parentheses is a comment and sentence
// punctuation after a name is not part of it. refused holds, as typed, what
// cannot be a module name; names holds the rest, each once.
func moduleNames(engine Diagnoser, args string) (names, refused []string) {
	seen := map[string]bool{}
	for _, f := range engine.Diagnose(args) {
		n, err := progress.NormalizeModule(f.Text("module"))
		if k := moduleKey(n); err == nil && !seen[k] {
			seen[k] = true
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		return names, nil
	}
	return typedNames(args)
}

// typedNames reads module names typed in command arguments, as moduleNames
// does when they are no pasted rows or errors.
func typedNames(args string) (names, refused []string) {
	seen := map[string]bool{}
	toks := nameTokens(args)
	for i, tok := range toks {
		if !tok.quoted && yesFlag.MatchString(tok.text) {
			continue // the confirmation of done and reset, typed out of habit: no module "yes" (a module so named is quoted)
		}
		if !tok.quoted && i > 0 && i < len(toks)-1 && slices.Contains(conjunctions, tok.text) {
			continue // "A, B e C": "and" in the team's language
		}
		if !tok.quoted {
			tok.text = gluedMarker.ReplaceAllString(tok.text, "$1")
		}
		n, ok := moduleName(tok.text, tok.quoted)
		switch {
		case !tok.quoted && listMarker.MatchString(tok.text),
			tok.afterTab && !tok.quoted && slices.Contains(statusWords, strings.ToLower(n)):
			// "1." or "-" of a pasted list, a table's status: no name, nor anything to point out.
		case !ok:
			if !slices.Contains(refused, tok.text) {
				refused = append(refused, tok.text)
			}
		case n != "" && !seen[moduleKey(n)]:
			seen[moduleKey(n)] = true
			names = append(names, n)
		}
	}
	return names, refused
}

// listMarker is a list's item marker: "1.", "2)", "3:", "1.1", "4", "i.", "b)", "-", "•".
// A bare number is one too: a module name starts with a letter.
var listMarker = regexp.MustCompile(`^(?:[0-9]{1,3}(?:\.[0-9]{1,3})*[.):]?|[ivxIVX]{1,4}[.)]|[a-zA-Z][.)]|[-–•‣◦*])$`)

// gluedMarker is a list's item marker typed without a space before the name ("1.Customer_IS", "•Billing_CS").
var gluedMarker = regexp.MustCompile(`^(?:[0-9]{1,3}[.)]|[-–—•‣◦▪→☐*]+)(\pL)`)

// nameToken is one name as typed: quoted, or between separators; afterTab
// when a tab came before it on its line (a table row's later column).
type nameToken struct {
	text     string
	quoted   bool
	afterTab bool
}

// conjunctions are "and" in Portuguese, Spanish, Dutch, French, German
// and Catalan: written in lower case between names, no name ("Gestão_Clientes e
// Faturação_CS"). A module so named is quoted.
var conjunctions = []string{"e", "y", "en", "et", "und", "i"}

// statusWords are a table's status column ("Pricing_Lib<tab>Failed<tab>02:11"), no module's name.
var statusWords = []string{"failed", "skipped", "prepared", "success", "successful", "succeeded", "error", "errors", "warning", "ok", "done", "pending"}

// closingQuotes are the quotes that close a name opened with a quote:
// German and Dutch open low („…“, „…”, ‚…‘, ‚…’).
var closingQuotes = map[rune]string{'"': `"`, '\'': `'`, '“': `”`, '‘': `’`, '«': `»`, '„': `“”`, '‚': `‘’`}

// isApostrophe reports whether r may stand in a word ("O'Brien", "Men’s").
func isApostrophe(r rune) bool { return r == '\'' || r == '’' }

// isWordRune reports whether r is a letter, a digit or a mark.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// nameTokens splits command arguments into names as typed, leaving out
// comments in parentheses (to the end of the line when not closed) and the
// word "and". An apostrophe followed by a letter does not close a quote:
// 'Men's Portal' is one name.
func nameTokens(args string) []nameToken {
	var out []nameToken
	var cur strings.Builder
	var quote string // the closing quotes of the quote open, if any
	depth := 0
	tab := false // met on this line: the cells after it are a table row's columns
	flush := func(quoted bool) {
		t := cur.String()
		cur.Reset()
		if quoted {
			t = strings.TrimSpace(t)
		}
		if t != "" && (quoted || !strings.EqualFold(t, "and")) {
			out = append(out, nameToken{t, quoted, tab})
		}
	}
	for i, r := range args {
		if r == '\n' {
			flush(quote != "")
			tab, quote, depth = false, "", 0
			continue
		}
		// The bytes as typed, even when they are not UTF-8: refused names quote them.
		raw := args[i:]
		if r == utf8.RuneError {
			raw = raw[:1]
		} else {
			raw = string(r)
		}
		switch {
		case depth > 0:
			switch r {
			case '(':
				depth++
			case ')':
				depth--
			}
		case quote != "":
			if next, _ := utf8.DecodeRuneInString(args[i+len(raw):]); strings.ContainsRune(quote, r) && !(isApostrophe(r) && isWordRune(next)) {
				flush(true)
				quote = ""
			} else {
				cur.WriteString(raw)
			}
		case r == '(':
			flush(false)
			depth = 1
		case closingQuotes[r] != "" && cur.Len() == 0:
			quote = closingQuotes[r]
		case r == '\t':
			flush(false)
			tab = true
		case r == ',' || r == ';' || unicode.IsSpace(r):
			flush(false)
		default:
			cur.WriteString(raw)
		}
	}
	flush(quote != "")
	return out
}

// moduleName is the module a token names: markdown markers around it and
// sentence punctuation after it left out, invisible characters removed.
// "" with ok when nothing is left (a stray "*"); not ok when it cannot be a
// module name. A quoted name may hold whatever the store keeps (spaces,
// commas, parentheses, quotes: every name a paste can record), with at
// least a letter or a digit; one typed without quotes holds letters,
// digits, "_", "-", "." and apostrophes within a word ("O'Brien_Core")
// only, so that chat ("&", "#42", "Orders/UI", "log)") is refused.
func moduleName(tok string, quoted bool) (string, bool) {
	// Invisible characters out and NFC first: they may hide the punctuation
	// at the end, and NFC makes some (Greek ";", U+037E) the ASCII it trims.
	s := norm.NFC.String(strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, tok))
	// Spaces too (any, as the store trims them): a quoted "Name. *" ends in punctuation behind a space.
	s = strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(".,;:!?*`~", r) })
	s = strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("*`~", r) })
	if moduleKey(s) == "" && utf8.ValidString(tok) {
		return "", true // punctuation or invisible characters alone name nothing
	}
	n, err := progress.NormalizeModule(s)
	if err != nil {
		return "", false
	}
	letters := false
	prev := rune(0)
	for i, r := range n {
		switch {
		case isWordRune(r):
			letters = true
		case quoted || r == '_' || r == '-' || r == '.':
		case isApostrophe(r) && isWordRune(prev):
			if next, _ := utf8.DecodeRuneInString(n[i+len(string(r)):]); !isWordRune(next) {
				return "", false
			}
		default:
			return "", false
		}
		prev = r
	}
	return n, letters
}

// commandName writes a module name as commands read it back: as it is
// when typed so it names itself, else in quotes the name does not hold
// (`"Men's Portal"`, `'A "B" C'`); quoted too are "all" (which done takes
// for every module), "and" and its kin between names ("e") and "--yes".
func commandName(module string) string {
	if !strings.EqualFold(module, "all") && !strings.EqualFold(module, "--yes") && !slices.Contains(conjunctions, module) && readsAs(module, module) {
		return module
	}
	for _, q := range [][2]string{{`"`, `"`}, {"'", "'"}, {"“", "”"}, {"‘", "’"}, {"«", "»"}} {
		if s := q[0] + module + q[1]; readsAs(s, module) {
			return s
		}
	}
	return `"` + module + `"` // none reads back (a name ending in "?"): done all still covers it
}

// readsAs reports whether typed arguments name module alone.
func readsAs(args, module string) bool {
	names, refused := typedNames(args)
	return len(names) == 1 && names[0] == module && len(refused) == 0
}

// moduleKey is how the core compares module names: as the store does.
func moduleKey(name string) string { return progress.ModuleKey(name) }
