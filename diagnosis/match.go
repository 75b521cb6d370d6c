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
	first := t.firstBytes
	from := 0
	for from < len(n.lower) {
		j := bytes.Index(n.lower[from:], first)
		if j < 0 {
			break
		}
		p := from + j
		from = p + 1
		if wordEndsAt(n.lower, p) {
			continue
		}
		start := p
		if t.lead > 0 {
			if start = leadStart(n.lower, p, t.lead); start < 0 {
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
// inside it (text wrapped mid-word in a table cell) and a missing apostrophe.
func matchWord(l []byte, i int, w string) (int, bool) {
	i = skipSpaces(l, i)
	for k := 0; k < len(w); {
		if i < len(l) && l[i] == w[k] {
			i++
			k++
			continue
		}
		if k > 0 && i < len(l) && l[i] == '\n' {
			i++
			continue
		}
		if w[k] == '\'' {
			k++
			continue
		}
		return i, false
	}
	if wordStartsAt(l, i) {
		return i, false
	}
	return i, true
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
		switch e.kind {
		case elWord:
			next, ok = matchWord(l, i, e.word)
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
			var v Value
			next, v, ok = t.capture(n, i, k)
			if ok && v.Name != "" && !m.has(v.Name) {
				m.values = append(m.values, v)
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
	for i < len(l) && (isSpace(l[i]) || l[i] == '.' || l[i] == ':' || l[i] == ';' || l[i] == '-' || l[i] == '|') {
		i++
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
	return notNames[string(bytes.ToLower(first))]
}

// capture reads the value of element k at i.
func (t *template) capture(n *normalized, i, k int) (int, Value, bool) {
	e := &t.elems[k]
	l := n.lower
	i = skipSpaces(l, i)
	v := Value{Name: e.name, Kind: e.vkind}
	if e.vkind == ValueNumber {
		j := i
		for j < len(l) && j-i < 9 && l[j] >= '0' && l[j] <= '9' {
			j++
		}
		if j == i || wordStartsAt(l, j) {
			return i, v, false
		}
		for _, c := range l[i:j] {
			v.Num = v.Num*10 + int(c-'0')
		}
		v.Text = string(n.orig[i:j])
		return j, v, true
	}
	word, hasNext := t.nextWord(k)
	if e.quoted && i < len(l) && isQuote(l[i]) {
		q := l[i]
		limit := min(len(l), i+1+e.maxLen)
		// The closing quote is the first one the rest of the message agrees with,
		// so a name like Men's Portal in double quotes survives.
		for j := i + 1; j < limit; j++ {
			if l[j] != q {
				continue
			}
			if !hasNext {
				if !wordStartsAt(l, j+1) {
					return j + 1, valueText(v, n.orig[i+1:j]), j > i+1
				}
				continue
			}
			if _, ok := matchWord(l, j+1, word); ok || atEnd(l, j+1) {
				return j + 1, valueText(v, n.orig[i+1:j]), j > i+1
			}
		}
		if !hasNext {
			return i, v, false
		}
		i++ // an unclosed quote: read the name up to the next word
	}
	if hasNext {
		p := findWord(l, i, i+e.maxLen+len(word), word)
		if p <= i {
			return i, v, false
		}
		val := trimValue(n.orig[i:p])
		if len(val) == 0 || (e.name == "module" && looksLikeChat(val)) {
			return i, v, false
		}
		return p, valueText(v, val), true
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
		// The same message again on one line: "… for A Upgrade Failure: … for B".
		if c == ' ' && t.restartsAt(l, j+1) {
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
		return i, v, false
	}
	return j, valueText(v, val), true
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
	for len(b) > 0 && (isSpace(b[0]) || isQuote(b[0])) {
		b = b[1:]
	}
	return b
}

func valueText(v Value, b []byte) Value {
	b = bytes.TrimSpace(b)
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
