package diagnosis

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Step 4 of the pipeline (README.md): read a value at a template's placeholder.

func isQuote(c byte) bool { return c == '\'' || c == '"' }

// notNames are words that begin chat, not a module name: "the upgrade failed for me", "… for the second time".
var notNames = strings.Fields(`me us you him her them it the a an this that these those some all any
	my our your their his its no every each both environment environments everyone everything now`)

// environmentName is an environment's usual name: "… failed for UAT" speaks of one, not of a module.
var environmentName = regexp.MustCompile(`(?i)^(?:dev|development|qa|test|testing|uat|stg|stage|staging|preprod|prod|production|sandbox|environment .+)$`)

// looksLikeChat reports whether an unquoted module value holds a word no name holds ("again", ":("; names hold
// title-case words, identifiers like Orders2 or C:\temp\x, and "&") and, unless a sentence leads into it (strict: "…
// failed for mobile apps"), starts like one ("me", "the second time"). One word is a name unless it starts chat: an
// Error Log row's "orders" is one. After a sentence, an environment ("UAT", "Environment Dev") is chat too.
func looksLikeChat(val []byte, strict bool) bool {
	first, rest, _ := bytes.Cut(val, []byte(" "))
	return strict && environmentName.Match(val) || (strict && len(rest) > 0 || slices.Contains(notNames, strings.ToLower(string(first)))) && slices.ContainsFunc(bytes.Fields(val), func(w []byte) bool {
		return bytes.IndexFunc(w, unicode.IsUpper) != 0 && string(w) != "&" && !(bytes.ContainsAny(w, `0123456789_.-\`) && bytes.IndexFunc(w, isWordRune) >= 0)
	})
}

// capture reads the value of element k at i: where the text goes on, and the value as written, a part of n.orig.
func (t *template) capture(n *normalized, i, k int, framed bool) (int, []byte, bool) {
	e, l := &t.elems[k], n.lower
	i = skipSpaces(l, i)
	if e.vkind == ValueNumber {
		j := i
		for j < len(l) && j-i < 9 && (l[j] >= '0' && l[j] <= '9' || j > i && l[j] == '\n' && wrapJoins(l, j, true)) {
			j++
		}
		// Not the end of a larger number ("1,026", "1.026"): no count at all rather than a wrong one.
		if j == i || wordStartsAt(l, j) && !t.joinsNext(l, j, k) || i > 1 && (l[i-1] == ',' || l[i-1] == '.') && l[i-2] >= '0' && l[i-2] <= '9' {
			return i, nil, false
		}
		return j, n.orig[i:j], true
	}
	word, then := t.wordsAfter(k)
	hasNext, opened, end := word != "", i < len(l) && isQuote(l[i]), n.runesEnd(i, e.maxLen)
	if e.quoted && opened {
		q := l[i]
		for i+1 < len(l) && l[i+1] == q { // OCR doubles quotes: ''Directory''.
			i++
		}
		// The closing quote is the first one the rest of the message agrees with: Men's Portal in double quotes survives.
		for j := i + 1; j < end; j++ {
			if l[j] != q {
				continue
			}
			// The next word, or the end of a paste cut after the quote; after the last value, no letter.
			_, ok := matchWord(l, j+1, word)
			if hasNext && (ok || len(l)-j < 8 && len(bytes.TrimLeft(l[j+1:], " \n\t.:")) == 0) || !hasNext && !wordStartsAt(l, j+1) {
				val := trimValue(n.orig[i+1 : j])
				return j + 1, val, len(val) > 0
			}
		}
		if !hasNext {
			return i, nil, false
		}
		i++ // an unclosed quote: read the name up to the next word
	}
	if hasNext {
		lim := end + 1 + len(word) // the value, a space, the word
		p := findWord(l, i, lim, word)
		for _, sep := range []string{"", " "} { // "cant", "can t": the apostrophe left out, or read as a space
			if q := strings.ReplaceAll(word, "'", sep); p <= i && q != word {
				p = findWord(l, i, lim, q)
			}
		}
		if p <= i && then != "" { // OCR may have joined the next two words: "thatis locking"
			p = findWord(l, i, lim+len(then), word+then)
		}
		// Empty when the word is not found (p <= i); a name the template quotes, read without them (OCR drops
		// quotes), holds no quote and is not a lower-case word of chat ("the producer module uses outdated references").
		val := trimValue(n.orig[i:max(i, p)])
		if len(val) == 0 || (e.name == "module" && looksLikeChat(val, false)) || e.quoted && (bytes.ContainsAny(val, `'"`) || !opened && bytes.Equal(val, bytes.ToLower(val))) {
			return i, nil, false
		}
		return p, val, true
	}
	// The message's last value runs to the end of its line, column or sentence.
	var closer byte
	if k+1 < len(t.elems) && t.elems[k+1].kind == elPunct {
		closer = t.elems[k+1].word[0]
	}
	if i < len(l) && l[i] == '"' {
		i++ // a name in double quotes: they end it
	}
	j := i
	for j < end {
		c := l[j]
		if c == '\n' && !(e.stamp && wrapJoins(l, j, false)) || c == '\t' || c == '|' || c == closer && closer != 0 && closer != '.' ||
			(c == '.' || c == ',' || c == ';' || c == '?' || c == '!') && (j+1 >= len(l) || isSpace(l[j+1])) {
			break
		}
		// Names hold no double quotes or angle brackets (a CSV cell, a "quote", an arrow).
		if c == '"' || c == '<' || c == '>' || c == ' ' && j+1 < len(l) && l[j+1] == '(' {
			break
		}
		// The message again on one line ("… for A Upgrade Failure: … for B"), or the Error Log's next column joined by OCR.
		if c == ' ' && (t.restartsAt(l, j+1) || errorLogSource(l, j+1)) {
			break
		}
		j++
	}
	val := trimValue(n.orig[i:j])
	// "… for HR_Onboarding-API - any idea?": a question after a dash is chatter.
	if d := bytes.LastIndex(val, []byte(" - ")); d > 0 && j < len(l) && (l[j] == '?' || l[j] == '!') {
		val = trimValue(val[:d])
	}
	// After a word ("… failed for X"), not a field's colon ("… 5 of 30: X"), chat may go on the sentence.
	if len(val) == 0 || (e.name == "module" && looksLikeChat(val, t.elems[k-1].kind == elWord)) {
		if len(val) == 0 || !framed {
			return i, nil, false
		}
		// After the message's prefix it is the message all the same: its name is clear when one token
		// comes before an obvious trailer ("Employees again", "… outra vez", "… no prd", "Employees 😭"), else unknown ("QA again").
		name, rest, _ := bytes.Cut(val, []byte(" "))
		if !trailer.Match(rest) || looksLikeChat(name, len(rest) > 0) || !wordStartsAt(name, 0) {
			return j, nil, true
		}
		val = name
	}
	return j, val, true
}

var trailer = regexp.MustCompile(`^(?:-.*|(?:in|no|na|em|en|bij|im|op) [^ ]+|again|outra vez|de novo|otra vez|weer|encore|wieder)?[^\pL\pN]*$`)

// runesEnd is where count characters from i end: a value's longest length.
func (n *normalized) runesEnd(i, count int) int {
	if n.ascii {
		return min(len(n.lower), i+count)
	}
	for l := n.lower; i < len(l) && (count > 0 || !utf8.RuneStart(l[i])); i++ {
		if utf8.RuneStart(l[i]) {
			count--
		}
	}
	return i
}

// errorLogSource reports whether an Error Log Source value starts at l[i].
func errorLogSource(l []byte, i int) bool {
	return slices.ContainsFunc([]string{"compilerservice", "deployservice", "deploymentcontroller", "scheduler", "platformserver"},
		func(s string) bool { return bytes.HasPrefix(l[i:], []byte(s)) && !wordStartsAt(l, i+len(s)) })
}

// restartsAt reports whether the message (or its key) starts again at l[i].
func (t *template) restartsAt(l []byte, i int) bool {
	for _, w := range t.restart {
		if j, ok := matchWord(l, i, w[0]); ok {
			if _, ok := matchWord(l, j, w[1]); ok {
				return true
			}
		}
	}
	return false
}

// trimValue trims spaces, punctuation and the ! or * OCR reads a closing quote as; "10:15 p.m."
// ("p. m.") keeps its final dot, "Name (name@acme.com)" its bracket, "Employ..." two dots (see matchAt).
func trimValue(b []byte) []byte {
	for len(b) > 0 && strings.IndexByte(" \n\t,.:;'\")!*", b[len(b)-1]) >= 0 && !(b[len(b)-1] == '.' && keptDot.Match(b[max(0, len(b)-3):])) &&
		(b[len(b)-1] != ')' || bytes.Count(b, []byte("(")) < bytes.Count(b, []byte(")"))) {
		b = b[:len(b)-1]
	}
	return bytes.TrimLeft(b, " \n\t'\"-:")
}

var keptDot = regexp.MustCompile(`^(?:[ .][mM]|[^ .]\.)\.$`)

// valueOf returns element e's value read as b (of n.orig): whitespace as a space, a break inside a number or time as nothing.
func valueOf(e *elem, b []byte) Value {
	b, text := bytes.TrimSpace(b), make([]byte, 0, len(b))
	for k, c := range b {
		if c != '\n' || !e.stamp || !wrapJoins(b, k, false) {
			text = append(text, max(c, ' ')) // normalize left one byte of each whitespace run, and no other below ' '
		}
	}
	v := Value{Name: e.name, Kind: e.vkind, Text: string(text)}
	if e.vkind == ValueNumber {
		v.Num, _ = strconv.Atoi(v.Text) // at most 9 digits, read by capture
	}
	return v
}

// wrapJoins reports whether the line break at l[j] cut a number, date or time: the digits and separators around it
// read as one ("6\n7%", "18:\n21", "2026-03-0\n2"; not "2026-03-02\n09:00"), only digits for a number.
func wrapJoins(l []byte, j int, number bool) bool {
	before, after := l[max(0, j-32):j], l[j+1:min(len(l), j+33)]
	before, after = before[len(bytes.TrimRight(before, stampChars)):], after[:len(after)-len(bytes.TrimLeft(after, stampChars))]
	before, after = bytes.TrimLeft(before, ":./-"), bytes.TrimRight(after, ":./-") // "3\n0: Directory"
	joined := append(slices.Clip(before), after...)
	return len(before) > 0 && len(after) > 0 && stamp.Match(joined) && !(number && bytes.ContainsAny(joined, ":./-"))
}

var stamp, stampChars = regexp.MustCompile(`^(?:[0-9]+|[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{2,4}|[0-9]{1,2}[:.][0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)$`), "0123456789:./-"
