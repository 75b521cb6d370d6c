package diagnosis

import (
	"bytes"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// matchResult is one message found in normalized text.
type matchResult struct {
	start, end int
	values     []Value
	// cut is set when the message stopped before its last part: cut off in
	// the paste, or by the edge of the window the engine normalized.
	cut bool
}

func (m *matchResult) has(name string) bool {
	for _, v := range m.values {
		if v.Name == name {
			return true
		}
	}
	return false
}

// findAll returns every non-overlapping occurrence of t in n.
func (t *template) findAll(n *normalized, out []matchResult) []matchResult {
	if t.anchorBack == 0 {
		return t.findFrom(n, 0, len(n.lower), out)
	}
	l := n.lower
	done := 0 // where the last message found ends
	for from := 0; ; {
		a := t.anchor.wordAt(l, from, len(l))
		if a < 0 {
			break
		}
		from = a + 1
		// The message starts in the few bytes before its anchor.
		k := len(out)
		if out = t.findFrom(n, max(done, a-t.anchorBack), a, out); len(out) > k {
			done = out[len(out)-1].end
			from = max(from, done)
		}
	}
	return out
}

// findFrom appends the occurrences of t that start in n.lower[lo:hi].
func (t *template) findFrom(n *normalized, lo, hi int, out []matchResult) []matchResult {
	l := n.lower
	for from := lo; ; {
		p := t.firstWord.wordAt(l, from, hi)
		if p < 0 {
			break
		}
		from = p + 1
		start := p
		if t.lead > 0 {
			if start = leadStart(l, p, t.lead); start < 0 {
				continue
			}
		}
		if m, ok := t.matchAt(n, start); ok {
			out = append(out, m)
			from = max(m.end, p+1)
		}
	}
	return out
}

// wordAt returns where the needle next starts a word in l at from or
// after, before hi (the word itself may run past hi), or -1.
func (nd *needle) wordAt(l []byte, from, hi int) int {
	for from < hi {
		j := nd.index(l[from:min(len(l), hi+len(nd.w))])
		if j < 0 {
			return -1
		}
		p := from + j
		if !wordEndsAt(l, p) {
			return p
		}
		from = p + 1
	}
	return -1
}

// leadStart walks back over count numbers (and the spaces between) before p.
func leadStart(l []byte, p, count int) int {
	i := p
	for range count {
		for i > 0 && isSpace(l[i-1]) {
			i--
		}
		d := i
		for d > 0 && l[d-1] >= '0' && l[d-1] <= '9' && i-d < 9 {
			d--
		}
		if d == i {
			return -1
		}
		i = d
	}
	if wordEndsAt(l, i) {
		return -1
	}
	return i
}

// wordStartsAt reports whether a letter or digit starts at l[i]: an emoji
// or a full-width colon touching a message is not part of its first word.
func wordStartsAt(l []byte, i int) bool {
	if i >= len(l) {
		return false
	}
	if l[i] < utf8.RuneSelf {
		return isWordByte(l[i])
	}
	r, _ := utf8.DecodeRune(l[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordEndsAt reports whether a letter or digit ends just before l[i].
func wordEndsAt(l []byte, i int) bool {
	if i <= 0 {
		return false
	}
	if l[i-1] < utf8.RuneSelf {
		return isWordByte(l[i-1])
	}
	r, _ := utf8.DecodeLastRune(l[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func skipSpaces(l []byte, i int) int {
	for i < len(l) && isSpace(l[i]) {
		i++
	}
	return i
}

// matchWord matches a lowercase literal word at i, tolerating a line break
// inside it (text wrapped mid-word in a table cell), a missing apostrophe
// and the confusions OCR makes (see fuzzyWord).
func matchWord(l []byte, i int, w string) (int, bool) {
	i = skipSpaces(l, i)
	// A first letter no reading of w starts with, and no line of debris
	// before it: every way below fails at once ("Producer: Producer").
	if i < len(l) && w != "" {
		if c, f := l[i], w[0]; c != f && confusable(c) != confusable(f) && !(f == 'm' && c == 'r') && f != '\'' && (i == 0 || l[i-1] != '\n') {
			return i, false
		}
	}
	if j, ok := exactWord(l, i, w); ok {
		return j, true
	}
	if j, ok := fuzzyWord(l, i, w); ok {
		return j, true
	}
	// A short line of OCR debris (an icon read as "Od", "@ o<") between two words.
	if k := skipDebris(l, i); k > i {
		if j, ok := exactWord(l, k, w); ok {
			return j, true
		}
		return fuzzyWord(l, k, w)
	}
	return i, false
}

func exactWord(l []byte, i int, w string) (int, bool) {
	// Most words are pasted as written: one compare decides.
	if j := i + len(w); j <= len(l) && string(l[i:j]) == w {
		return j, !wordStartsAt(l, j)
	}
	for k := 0; k < len(w); {
		if i < len(l) && l[i] == w[k] {
			i++
			k++
			continue
		}
		if k > 0 && i < len(l) && l[i] == '\n' {
			// A table cell wrapped mid-word; OCR may put the row's time
			// column between the two halves ("update\n2021-02-24 16:05:38 d").
			i = skipCellNoise(l, i+1)
			continue
		}
		if w[k] == '\'' {
			k++
			// "hasn t": the apostrophe read as a space.
			if i < len(l) && l[i] == ' ' && k < len(w) && i+1 < len(l) && l[i+1] == w[k] {
				i++
			}
			continue
		}
		return i, false
	}
	if wordStartsAt(l, i) {
		return i, false
	}
	return i, true
}

// skipCellNoise skips a run of digits, separators and line breaks (a
// time column) of at most 24 bytes at i, when letters follow it.
func skipCellNoise(l []byte, i int) int {
	j := i
	for j < len(l) && j-i < 24 && (l[j] >= '0' && l[j] <= '9' || l[j] == '-' || l[j] == ':' || l[j] == '/' || l[j] == '.' || isSpace(l[j])) {
		j++
	}
	if j > i && j < len(l) && l[j] >= 'a' && l[j] <= 'z' {
		return j
	}
	return i
}

// confusable folds the characters OCR mixes up (l I 1 |, o 0) into one.
func confusable(c byte) byte {
	switch c {
	case 'i', '1', '|', '!':
		return 'l'
	case '0':
		return 'o'
	}
	return c
}

// fuzzyWord matches w with OCR's usual mistakes: confusable letters, "rn"
// read for "m", and, in words of six letters or more, one other letter
// wrong, missing or extra. The rest of the message must still match, so a
// chat message one letter away from a template word stays a chat message.
func fuzzyWord(l []byte, i int, w string) (int, bool) {
	edits := 0
	if len(w) >= 6 {
		edits = 1
	}
	if j, ok := fuzzyFrom(l, i, w, 0, edits); ok {
		return j, true
	}
	return i, false
}

// fuzzyFrom matches w[k:] at l[i:] with at most edits other mistakes, up
// to the end of a word: a reading that stops inside one is not a match,
// so the next way of spending the edit is tried ("lockin×g").
func fuzzyFrom(l []byte, i int, w string, k, edits int) (int, bool) {
	for k < len(w) {
		if i < len(l) && confusable(l[i]) == confusable(w[k]) {
			i++
			k++
			continue
		}
		if w[k] == 'm' && i+1 < len(l) && l[i] == 'r' && l[i+1] == 'n' {
			i += 2
			k++
			continue
		}
		if w[k] == '\'' {
			k++
			continue
		}
		if edits == 0 || k == 0 {
			return i, false
		}
		// One substitution, deletion or insertion, in that order. A wrong
		// letter is a whole character: a value never starts inside one.
		if i < len(l) && isWordByte(l[i]) {
			size := 1
			if l[i] >= utf8.RuneSelf {
				_, size = utf8.DecodeRune(l[i:])
			}
			if j, ok := fuzzyFrom(l, i+size, w, k+1, edits-1); ok {
				return j, true
			}
			if j, ok := fuzzyFrom(l, i+size, w, k, edits-1); ok {
				return j, true
			}
		}
		return fuzzyFrom(l, i, w, k+1, edits-1)
	}
	return i, !wordStartsAt(l, i)
}

// skipDebris skips up to two short lines that hold no real word (OCR of an
// icon or a button) when i is at the start of one, returning where the text
// goes on; i itself when there is none.
func skipDebris(l []byte, i int) int {
	start := i
	for n := 0; n < 2; n++ {
		if i == 0 || l[i-1] != '\n' {
			break
		}
		end := bytes.IndexByte(l[i:min(len(l), i+8)], '\n')
		if end < 0 {
			break
		}
		letters, run := 0, 0
		for _, c := range l[i : i+end] {
			if c >= 'a' && c <= 'z' {
				run++
				letters = max(letters, run)
			} else {
				run = 0
			}
		}
		if letters > 2 {
			break
		}
		i += end + 1
	}
	if i == start {
		return start
	}
	return skipSpaces(l, i)
}

// matchAt matches t at start. Past the required elements a mismatch ends
// the message early (it was cut off in the paste) instead of failing.
func (t *template) matchAt(n *normalized, start int) (matchResult, bool) {
	l := n.lower
	m := matchResult{start: start}
	i := start
	for k := 0; k < len(t.elems); k++ {
		e := &t.elems[k]
		required := k < t.required
		var next int
		ok := true
		if ph := &t.phrases[k]; ph.elems > 0 {
			// The words as written: skip them all at once.
			j := skipSpaces(l, i)
			if end := j + len(ph.text); end <= len(l) && string(l[j:end]) == ph.text && !wordStartsAt(l, end) {
				i, m.end = end, end
				k += ph.elems - 1
				continue
			}
		}
		switch e.kind {
		case elWord:
			next, ok = matchWord(l, i, e.word)
			if !ok {
				next, ok = t.joinedWord(l, i, k)
			}
			if !ok {
				// "environments ready": OCR ate the first letter of the next
				// word and the space before it; both words are matched.
				if j, ok2 := t.swallowedWord(l, i, k); ok2 {
					next, ok = j, true
					k++
				}
			}
		case elPunct:
			next = skipSpaces(l, i)
			if next < len(l) && (l[next] == e.word[0] || l[next] == '|') {
				next++
			} else {
				next = i
			}
		case elGap:
			next, ok = t.skipGap(l, i, k)
		case elValue:
			var val []byte
			next, val, ok = t.capture(n, i, k)
			// A message may repeat a value ('{module}' twice): the first counts.
			if ok && e.name != "" && !m.has(e.name) {
				if m.values == nil {
					m.values = n.takeValues(t.values)
				}
				m.values = append(m.values, valueOf(n, e, val))
			}
		}
		if !ok {
			if required {
				return m, false
			}
			m.cut = true
			break
		}
		i = next
		if e.kind != elPunct {
			m.end = i
		}
	}
	if m.end == 0 {
		m.end = i
	}
	return m, true
}

// joinedWord matches word k when OCR dropped the space after it ("thatis
// locking", "itis on hold"): the next word must follow at once.
func (t *template) joinedWord(l []byte, i, k int) (int, bool) {
	w := t.elems[k].word
	if k+1 >= len(t.elems) || t.elems[k+1].kind != elWord || len(w) < 2 {
		return i, false
	}
	i = skipSpaces(l, i)
	if i+len(w) > len(l) || string(l[i:i+len(w)]) != w {
		return i, false
	}
	if _, ok := exactWord(l, i+len(w), t.elems[k+1].word); !ok {
		return i, false
	}
	return i + len(w), true
}

// joinsNext reports whether the word after element k follows at l[j]
// with no space (OCR's "12of 30").
func (t *template) joinsNext(l []byte, j, k int) bool {
	if k+1 >= len(t.elems) || t.elems[k+1].kind != elWord {
		return false
	}
	w := t.elems[k+1].word
	return bytes.HasPrefix(l[j:], []byte(w)) && !wordStartsAt(l, j+len(w))
}

// wordAfter returns the word that follows word w after element k, when
// both are literal words in a row.
func (t *template) wordAfter(k int, w string) (string, bool) {
	for i := k + 1; i+1 < len(t.elems); i++ {
		if t.elems[i].kind == elWord && t.elems[i].word == w {
			if t.elems[i+1].kind == elWord {
				return t.elems[i+1].word, true
			}
			return "", false
		}
		if t.elems[i].kind != elPunct {
			return "", false
		}
	}
	return "", false
}

// swallowedWord matches word k glued to the next word without its first
// letter ("environment" + "is" read as "environments").
func (t *template) swallowedWord(l []byte, i, k int) (int, bool) {
	if t.swallowed[k] == "" {
		return i, false
	}
	return exactWord(l, skipSpaces(l, i), t.swallowed[k])
}

// nextWord returns the literal word following element k, if any.
func (t *template) nextWord(k int) (string, bool) {
	for _, e := range t.elems[k+1:] {
		switch e.kind {
		case elWord:
			return e.word, true
		case elPunct:
			continue
		default:
			return "", false
		}
	}
	return "", false
}

// findWord finds w as a whole word in l[i:limit], returning its start.
func findWord(l []byte, i, limit int, w string) int {
	limit = min(limit, len(l))
	for i < limit {
		j := bytes.Index(l[i:limit], unsafe.Slice(unsafe.StringData(w), len(w)))
		if j < 0 {
			return -1
		}
		p := i + j
		if !wordEndsAt(l, p) && !wordStartsAt(l, p+len(w)) {
			return p
		}
		i = p + 1
	}
	return -1
}

// skipGap skips what may stand between two parts of a message: a
// parenthesized aside like "(Release Notes)" and punctuation, not words.
func (t *template) skipGap(l []byte, i, k int) (int, bool) {
	i = skipSpaces(l, i)
	if i < len(l) && l[i] == '(' {
		end := bytes.IndexByte(l[i:min(len(l), i+t.elems[k].maxLen)], ')')
		if end < 0 {
			return i, false
		}
		i += end + 1
	}
	for i < len(l) && (isSpace(l[i]) || l[i] == '.' || l[i] == ':' || l[i] == ';' || l[i] == '-' || l[i] == '|' || l[i] == 'x' && i+1 < len(l) && isSpace(l[i+1])) {
		i++
	}
	// A screenshot may put a short line of other UI text (a sidebar title)
	// between the two parts; a sentence on the same line is not skipped.
	word, ok := t.nextWord(k)
	for n := 0; ok && n < 2 && i > 0 && l[i-1] == '\n'; n++ {
		if _, ok := matchWord(l, i, word); ok {
			break
		}
		end := bytes.IndexByte(l[i:min(len(l), i+26)], '\n')
		if end < 0 {
			break
		}
		i = skipSpaces(l, i+end+1)
	}
	return i, true
}

func isQuote(c byte) bool { return c == '\'' || c == '"' }

// atEnd reports whether only spaces and sentence punctuation are left: a
// paste that ends right after a closing quote.
func atEnd(l []byte, i int) bool {
	for ; i < len(l); i++ {
		if !isSpace(l[i]) && l[i] != '.' && l[i] != ':' {
			return false
		}
	}
	return true
}

// notNames are words that begin chat, not a module name: "the upgrade
// failed for me", "… for the second time".
var notNames = map[string]bool{
	"me": true, "us": true, "you": true, "him": true, "her": true, "them": true, "it": true,
	"the": true, "a": true, "an": true, "this": true, "that": true, "these": true, "those": true,
	"some": true, "all": true, "any": true, "my": true, "our": true, "your": true, "their": true,
	"his": true, "its": true, "no": true, "every": true, "each": true, "both": true,
	"environment": true, "environments": true, "everyone": true, "everything": true, "now": true,
}

// looksLikeChat reports whether an unquoted module value starts like a sentence.
func looksLikeChat(val []byte) bool {
	first := val
	if i := bytes.IndexAny(val, " \n\t"); i >= 0 {
		first = val[:i]
	}
	// Lowercased on the stack: every word in notNames is short.
	var buf [16]byte
	if len(first) > len(buf) {
		return false
	}
	for k, c := range first {
		buf[k] = lowerByte(c)
	}
	return notNames[string(buf[:len(first)])]
}

// capture reads the value of element k at i: where the text goes on, and
// the value as written, a part of n.orig. Only a match that keeps it
// makes a Value of it (valueOf), so a repeated value costs no copy.
func (t *template) capture(n *normalized, i, k int) (int, []byte, bool) {
	e := &t.elems[k]
	l := n.lower
	i = skipSpaces(l, i)
	if e.vkind == ValueNumber {
		j := i
		for j < len(l) && j-i < 9 && l[j] >= '0' && l[j] <= '9' {
			j++
		}
		if j == i || wordStartsAt(l, j) && !t.joinsNext(l, j, k) {
			return i, nil, false
		}
		return j, n.orig[i:j], true
	}
	word, hasNext := t.nextWord(k)
	if e.quoted && i < len(l) && isQuote(l[i]) {
		q := l[i]
		// OCR doubles quotes: ''Directory''.
		for i+1 < len(l) && l[i+1] == q {
			i++
		}
		limit := min(len(l), i+1+e.maxLen)
		// The closing quote is the first one the rest of the message agrees with,
		// so a name like Men's Portal in double quotes survives.
		for j := i + 1; j < limit; j++ {
			if l[j] != q {
				continue
			}
			val := trimValue(n.orig[i+1 : j])
			if !hasNext {
				if !wordStartsAt(l, j+1) {
					return j + 1, val, len(val) > 0
				}
				continue
			}
			if _, ok := matchWord(l, j+1, word); ok || atEnd(l, j+1) {
				return j + 1, val, len(val) > 0
			}
		}
		if !hasNext {
			return i, nil, false
		}
		i++ // an unclosed quote: read the name up to the next word
	}
	if hasNext {
		p := findWord(l, i, i+e.maxLen+len(word), word)
		if p <= i {
			// OCR may have joined the next two words: "thatis locking".
			if w2, ok := t.wordAfter(k, word); ok {
				p = findWord(l, i, i+e.maxLen+len(word)+len(w2), word+w2)
			}
		}
		if p <= i {
			return i, nil, false
		}
		val := trimValue(n.orig[i:p])
		if len(val) == 0 || (e.name == "module" && looksLikeChat(val)) {
			return i, nil, false
		}
		return p, val, true
	}
	// Last value of the message: it runs to the end of the line, a column
	// break, the end of the sentence or the punctuation that closes it.
	var closer byte
	if k+1 < len(t.elems) && t.elems[k+1].kind == elPunct {
		closer = t.elems[k+1].word[0]
	}
	j := i
	for j < len(l) && j-i < e.maxLen {
		c := l[j]
		if c == '\n' || c == '\t' || c == '|' || (c == '.' || c == ',' || c == ';' || c == '?' || c == '!') && (j+1 >= len(l) || isSpace(l[j+1])) {
			break
		}
		if closer != 0 && c == closer && closer != '.' {
			break
		}
		// Names hold no double quotes or angle brackets: they end a value
		// quoted in a sentence, a CSV cell or an arrow of chatter.
		if c == '"' || c == '<' || c == '>' || c == ' ' && j+1 < len(l) && l[j+1] == '(' {
			break
		}
		// The same message again on one line: "… for A Upgrade Failure: … for B";
		// or the Error Log's next column, when OCR joined the cells.
		if c == ' ' && (t.restartsAt(l, j+1) || errorLogSource(l, j+1)) {
			break
		}
		j++
	}
	val := trimValue(n.orig[i:j])
	// "… for HR_Onboarding-API - any idea?": a question after a dash is chatter.
	if j < len(l) && (l[j] == '?' || l[j] == '!') {
		if d := bytes.LastIndex(val, []byte(" - ")); d > 0 {
			val = trimValue(val[:d])
		}
	}
	if len(val) == 0 || (e.name == "module" && looksLikeChat(val)) {
		return i, nil, false
	}
	return j, val, true
}

// errorLogSources are the Source column values of Service Center's Error Log.
var errorLogSources = []string{"compilerservice", "deployservice", "deploymentcontroller", "scheduler", "platformserver"}

// errorLogSource reports whether an Error Log Source value starts at l[i].
func errorLogSource(l []byte, i int) bool {
	for _, s := range errorLogSources {
		if bytes.HasPrefix(l[i:], []byte(s)) && !wordStartsAt(l, i+len(s)) {
			return true
		}
	}
	return false
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

func trimValue(b []byte) []byte {
	for len(b) > 0 {
		c := b[len(b)-1]
		// OCR reads a closing quote as ! or *.
		if c == '!' || c == '*' {
			b = b[:len(b)-1]
			continue
		}
		// "10:15 p.m." and Spanish "10:15 p. m." keep their final dot.
		if c == '.' && len(b) >= 3 && (b[len(b)-2] == 'm' || b[len(b)-2] == 'M') && (b[len(b)-3] == '.' || b[len(b)-3] == ' ') {
			break
		}
		if isSpace(c) || c == ',' || c == '.' || c == ':' || c == ';' || isQuote(c) || c == ')' {
			b = b[:len(b)-1]
			continue
		}
		break
	}
	for len(b) > 0 && (isSpace(b[0]) || isQuote(b[0]) || b[0] == '-') {
		b = b[1:]
	}
	return b
}

// valueOf returns the value of element e read as b, a part of n.orig.
func valueOf(n *normalized, e *elem, b []byte) Value {
	v := Value{Name: e.name, Kind: e.vkind}
	if e.vkind == ValueNumber {
		for _, c := range b {
			v.Num = v.Num*10 + int(c-'0')
		}
		v.Text = n.str(b)
		return v
	}
	return valueText(n, v, b)
}

func valueText(n *normalized, v Value, b []byte) Value {
	if len(b) > 0 && (b[0] <= ' ' || b[len(b)-1] <= ' ' || b[0] >= utf8.RuneSelf || b[len(b)-1] >= utf8.RuneSelf) {
		b = bytes.TrimSpace(b)
	}
	// Most values hold single spaces only: copy them as they are.
	plainSpaces := true
	for k, c := range b {
		if c == '\n' || c == '\t' || c == ' ' && k > 0 && b[k-1] == ' ' {
			plainSpaces = false
			break
		}
	}
	if plainSpaces {
		v.Text = n.str(b)
		return v
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if isSpace(c) {
			if len(out) > 0 && out[len(out)-1] == ' ' {
				continue
			}
			c = ' '
		}
		out = append(out, c)
	}
	v.Text = string(out)
	return v
}
