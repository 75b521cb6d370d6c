package diagnosis

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
)

// Step 4 of the pipeline: read a value where the template has a
// placeholder. A value runs to the template's next word, or to its closing
// quote; the last value of a message to the end of its line or sentence.

func isQuote(c byte) bool { return c == '\'' || c == '"' }

// notNames are words that begin chat, not a module name: "the upgrade
// failed for me", "… for the second time".
var notNames = strings.Fields(`me us you him her them it the a an this that these those some all any
	my our your their his its no every each both environment environments everyone everything now`)

// looksLikeChat reports whether an unquoted module value starts like a sentence.
func looksLikeChat(val []byte) bool {
	end := bytes.IndexAny(val, " \n\t")
	if end < 0 {
		end = len(val)
	}
	return slices.Contains(notNames, strings.ToLower(string(val[:end])))
}

// capture reads the value of element k at i: where the text goes on, and
// the value as written, a part of n.orig.
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
	word, then := t.wordsAfter(k)
	hasNext := word != ""
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
			if _, ok := matchWord(l, j+1, word); ok || len(bytes.TrimLeft(l[j+1:], " \n\t.:")) == 0 {
				// the next word, or the end of a paste cut after the quote
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
			if then != "" {
				p = findWord(l, i, i+e.maxLen+len(word)+len(then), word+then)
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

// errorLogSource reports whether a Source value of Service Center's Error
// Log starts at l[i].
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

// trimValue trims the spaces and punctuation around a value, and the
// ! or * OCR reads a closing quote as; "10:15 p.m." and Spanish "10:15
// p. m." keep their final dot.
func trimValue(b []byte) []byte {
	for len(b) > 0 && strings.IndexByte(" \n\t,.:;'\")!*", b[len(b)-1]) >= 0 && !meridiem.Match(b[max(0, len(b)-3):]) {
		b = b[:len(b)-1]
	}
	return bytes.TrimLeft(b, " \n\t'\"-")
}

var meridiem = regexp.MustCompile(`^[ .][mM]\.$`)

// valueOf returns the value of element e read as b, a part of n.orig; a
// text value's line breaks and runs of spaces read as one space.
func valueOf(e *elem, b []byte) Value {
	text := strings.FieldsFunc(string(bytes.TrimSpace(b)), func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
	v := Value{Name: e.name, Kind: e.vkind, Text: strings.Join(text, " ")}
	for _, c := range b {
		if e.vkind == ValueNumber {
			v.Num = v.Num*10 + int(c-'0')
		}
	}
	return v
}
