package diagnosis

import (
	"bytes"
	"fmt"
	"strings"
)

type elemKind uint8

const (
	elWord  elemKind = iota // a literal word, compared case-insensitively
	elPunct                 // punctuation: consumed when present, never required
	elValue                 // a captured value
	elGap                   // a short uncaptured gap ({_})
)

// ValueKind is how a placeholder's value is read.
type ValueKind uint8

// Value kinds.
const (
	ValueText ValueKind = iota
	ValueNumber
)

type elem struct {
	kind   elemKind
	word   string // elWord: lowercase; elPunct: the character
	name   string // elValue
	vkind  ValueKind
	quoted bool // elValue written between quotes in the template
	maxLen int  // elValue, elGap: longest accepted value in bytes
}

// template is a compiled message: the elements from the start of its key
// to the end of the message, of which the first `required` must match.
type template struct {
	elems     []elem
	required  int
	lead      int    // number of leading number values before the first word
	first     string // first literal word
	firstWord needle
	// anchor is the word searched for first: the longest of the key's
	// opening words, before any value, as "the" or "this" would be found
	// everywhere. The message starts at most anchorBack bytes before it.
	anchor     needle
	anchorBack int
	values     int // number of value elements, the most a match can hold
	// phrases[k] is the run of words and punctuation from element k, as
	// it reads when pasted as written, for one compare instead of a word
	// at a time; elems 0 when no run of two words starts there.
	phrases []phrase
	// swallowed[k] is word k glued to word k+1 without its first letter,
	// as OCR may read them ("environments" for "environment is"); "" when
	// the two are not words of such lengths.
	swallowed []string
	// restart holds the first two words of the message and of its key: a
	// last value stops where the message starts again on the same line.
	restart [][2]string
}

var numberNames = map[string]bool{"percent": true, "prepared": true, "failed": true, "skipped": true, "current": true, "total": true}

// phrase is a run of literal elements as one string.
type phrase struct {
	text  string
	elems int
}

// phrasesOf returns the phrase starting at each element: words joined by
// a space, punctuation against the word before it, ending with a word.
func phrasesOf(elems []elem) []phrase {
	out := make([]phrase, len(elems))
	for k := range elems {
		if elems[k].kind != elWord {
			continue
		}
		var b strings.Builder
		words, last := 0, 0
		for j := k; j < len(elems) && (elems[j].kind == elWord || elems[j].kind == elPunct); j++ {
			if elems[j].kind == elWord {
				if j > k {
					b.WriteByte(' ')
				}
				b.WriteString(elems[j].word)
				words, last = words+1, j
				out[k].text = b.String()
				continue
			}
			b.WriteString(elems[j].word)
		}
		if words >= 2 {
			out[k].elems = last - k + 1
		} else {
			out[k].text = ""
		}
	}
	return out
}

// needle is a word to search for by its rarest letter, which
// bytes.IndexByte finds at vector speed: bytes.Index would stop at every
// occurrence of its first letter, an e or a t as often as not.
type needle struct {
	w    []byte
	rare int // index in w of its rarest letter
}

func newNeedle(w string) needle {
	n := needle{w: []byte(w)}
	// Not a letter OCR confuses: misread, it would not be found.
	steady := func(c byte) bool { return confusable(c) == c && c != 'l' }
	for i := range len(w) {
		if steady(w[i]) && (!steady(w[n.rare]) || freq(w[i]) < freq(w[n.rare])) {
			n.rare = i
		}
	}
	return n
}

// freq is how common c is in English text, per mille; 100 for a non-letter.
func freq(c byte) int {
	if c >= 'a' && c <= 'z' {
		return letterFreq[c-'a']
	}
	return 100
}

// index returns the index of the first occurrence of the needle in l, or -1.
func (n *needle) index(l []byte) int {
	r := n.w[n.rare]
	for from := n.rare; from < len(l); {
		j := bytes.IndexByte(l[from:], r)
		if j < 0 {
			return -1
		}
		p := from + j - n.rare
		if p >= 0 && p+len(n.w) <= len(l) && sameWord(l[p:p+len(n.w)], n.w) {
			return p
		}
		from += j + 1
	}
	return -1
}

// sameWord reports whether b reads as w, allowing the letters OCR confuses (see confusable).
func sameWord(b, w []byte) bool {
	if bytes.Equal(b, w) {
		return true
	}
	for k := range b {
		if b[k] != w[k] && confusable(b[k]) != confusable(w[k]) {
			return false
		}
	}
	return true
}

func onlyLetters(w string) bool {
	for i := range len(w) {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func tokenizeTemplate(text string) ([]elem, error) {
	var out []elem
	s := text
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '{':
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("unclosed placeholder at %q", s[i:])
			}
			spec := s[i+1 : i+j]
			i += j + 1
			if spec == "_" {
				out = append(out, elem{kind: elGap, maxLen: 80})
				continue
			}
			name, kindName, _ := strings.Cut(spec, ":")
			if name == "" || strings.IndexFunc(name, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9') }) >= 0 {
				return nil, fmt.Errorf("placeholder {%s}: names are lowercase letters, digits and _", spec)
			}
			e := elem{kind: elValue, name: name, maxLen: 120}
			switch kindName {
			case "":
				if numberNames[name] {
					e.vkind = ValueNumber
				}
			case "number":
				e.vkind = ValueNumber
			case "text":
			default:
				return nil, fmt.Errorf("placeholder {%s}: kind must be number or text", spec)
			}
			if strings.HasSuffix(name, "_at") {
				e.maxLen = 64
			}
			// A value written between quotes: absorb the opening quote.
			if n := len(out); n > 0 && out[n-1].kind == elPunct && (out[n-1].word == "'" || out[n-1].word == `"`) {
				out = out[:n-1]
				e.quoted = true
				if i < len(s) && (s[i] == '\'' || s[i] == '"') {
					i++
				}
			}
			out = append(out, e)
		case isWordByte(c):
			j := i
			for j < len(s) {
				d := s[j]
				if isWordByte(d) {
					j++
					continue
				}
				// Apostrophes, hyphens and & inside a word belong to it (can't, 1-Click).
				if (d == '\'' || d == '-' || d == '&') && j+1 < len(s) && isWordByte(s[j+1]) && j > i {
					j++
					continue
				}
				break
			}
			out = append(out, elem{kind: elWord, word: strings.ToLower(s[i:j])})
			i = j
		default:
			out = append(out, elem{kind: elPunct, word: s[i : i+1]})
			i++
		}
	}
	return out, nil
}

func compileTemplate(text, key string) (*template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("empty text")
	}
	full, err := tokenizeTemplate(text)
	if err != nil {
		return nil, err
	}
	var keyElems []elem
	if key == "" {
		// Default key: up to the end of the first sentence.
		keyElems = full
		for i, e := range full {
			if e.kind == elPunct && e.word == "." && i > 0 {
				keyElems = full[:i+1]
				break
			}
		}
	} else if keyElems, err = tokenizeTemplate(key); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	start := -1
	for s := 0; s+len(keyElems) <= len(full) && start < 0; s++ {
		match := true
		for k, ke := range keyElems {
			fe := full[s+k]
			if fe.kind != ke.kind || fe.word != ke.word || fe.name != ke.name {
				match = false
				break
			}
		}
		if match {
			start = s
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("key %q is not part of the text", key)
	}
	for _, e := range full[:start] {
		if e.kind == elValue {
			return nil, fmt.Errorf("key must include every placeholder before it ({%s} comes first)", e.name)
		}
	}
	t := &template{elems: full[start:], required: len(keyElems)}
	for _, from := range [][]elem{full, full[start:]} {
		var words []string
		for _, e := range from {
			if e.kind == elWord && len(words) < 2 {
				words = append(words, e.word)
			} else if e.kind != elPunct {
				break
			}
		}
		if len(words) == 2 {
			t.restart = append(t.restart, [2]string{words[0], words[1]})
		}
	}
	for t.lead < len(t.elems) && t.elems[t.lead].kind == elValue && t.elems[t.lead].vkind == ValueNumber {
		t.lead++
	}
	if t.lead >= len(t.elems) || t.elems[t.lead].kind != elWord {
		return nil, fmt.Errorf("the key must start with a word (or numbers followed by a word)")
	}
	t.first = t.elems[t.lead].word
	t.phrases = phrasesOf(t.elems)
	t.swallowed = make([]string, len(t.elems))
	for k := range len(t.elems) - 1 {
		if a, b := t.elems[k], t.elems[k+1]; a.kind == elWord && b.kind == elWord && len(b.word) >= 2 && len(a.word) >= 5 {
			t.swallowed[k] = a.word + b.word[1:]
		}
	}
	for _, e := range t.elems {
		if e.kind == elValue {
			t.values++
		}
	}
	t.firstWord = newNeedle(t.first)
	t.anchor = t.firstWord
	prefix := 0
	for _, e := range t.elems[t.lead:t.required] {
		if e.kind == elValue || e.kind == elGap {
			break
		}
		if e.kind == elWord && len(e.word) > len(t.anchor.w) && onlyLetters(e.word) {
			t.anchor, t.anchorBack = newNeedle(e.word), prefix
		}
		prefix += len(e.word) + 1
	}
	if t.anchorBack > 0 {
		// Room for what may stand between the words: line breaks, OCR
		// debris, a time column (see matchWord).
		t.anchorBack = 2*t.anchorBack + 48
	}
	words := 0
	for _, e := range t.elems[:t.required] {
		if e.kind == elWord {
			words++
		}
	}
	if words < 3 {
		return nil, fmt.Errorf("the key needs at least three literal words to be recognizable")
	}
	return t, nil
}

// typicalValue is the length of a usual value (a module name, a user, a
// time), used to size the first window the engine normalizes.
const typicalValue = 40

// spanTight is the message's length with values of a usual length.
func (t *template) spanTight() int { return t.length(typicalValue) }

// span is the longest the message can be in normalized text, in bytes.
func (t *template) span() int { return t.length(-1) }

// length sums the message's parts, counting each value as value bytes
// (its maximum when value < 0).
func (t *template) length(value int) int {
	n := 0
	for _, e := range t.elems {
		switch e.kind {
		case elWord:
			n += len(e.word) + 1
		case elPunct:
			n += 2
		default:
			if value < 0 {
				n += e.maxLen + 2
			} else {
				n += value
			}
		}
	}
	return n
}
