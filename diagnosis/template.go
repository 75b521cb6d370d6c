package diagnosis

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// A template is a message compiled into what the matcher walks: words, punctuation, values ({name}) and gaps ({_}).

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
	stamp  bool // elValue: a number or time, which a hard wrap may cut ("6\n7%": wrapJoins)
	maxLen int  // elValue, elGap: longest accepted value (characters; a gap's, bytes)
}

// template is a compiled message: the elements from the start of its key to the end of the
// message, of which the first `required` must match (a paste may cut off the rest).
type template struct {
	elems    []elem
	required int
	lead     int // number of leading number values before the first word
	// first is the first literal word, where a match starts; anchor the longest of the key's words before any value
	// ("the" is everywhere), candidates are found by. The message starts at most anchorBack bytes before its anchor.
	// Both are search keys (searchKey).
	first, anchor []byte
	anchorBack    int
	// restart: the message's and its key's first two words; a last value stops where the message starts again on its line.
	restart [][2]string
	prefix  string // the text before the key, lower case ("upgrade failure:"): with it, the key is the message, not chat
}

// numberNames are the placeholders read as numbers unless told otherwise.
var numberNames = map[string]bool{"percent": true, "prepared": true, "failed": true, "skipped": true, "current": true, "total": true}

var (
	// templateToken reads a placeholder, a word (with inner apostrophes, hyphens and &: can't, 1-Click, R&D) or a mark.
	templateToken   = regexp.MustCompile(`\{[^}]*\}?|[0-9A-Za-z\x{80}-\x{10FFFF}]+(?:['&-][0-9A-Za-z\x{80}-\x{10FFFF}]+)*|[^ \t\r\n]`)
	placeholderName = regexp.MustCompile(`^[a-z0-9_]+$`)
)

func tokenizeTemplate(s string) ([]elem, error) {
	var out []elem
	closeQuote := -1 // where a quoted value's closing quote would stand
	for _, loc := range templateToken.FindAllStringIndex(s, -1) {
		tok := s[loc[0]:loc[1]]
		switch {
		case tok[0] == '{':
			e, err := placeholder(tok)
			if err != nil {
				return nil, err
			}
			// A value written between quotes: the quotes are read with it.
			if n := len(out); e.kind == elValue && n > 0 && out[n-1].kind == elPunct && isQuote(out[n-1].word[0]) {
				out, e.quoted, closeQuote = out[:n-1], true, loc[1]
			}
			out = append(out, e)
		case isWordByte(tok[0]):
			out = append(out, elem{kind: elWord, word: strings.ToLower(tok)})
		case loc[0] != closeQuote || !isQuote(tok[0]):
			out = append(out, elem{kind: elPunct, word: tok})
		}
	}
	return out, nil
}

// placeholder reads "{name}", "{name:number}", "{name:text}" or "{_}".
func placeholder(tok string) (elem, error) {
	spec, closed := strings.CutSuffix(tok[1:], "}")
	if !closed {
		return elem{}, fmt.Errorf("unclosed placeholder at %q", tok)
	}
	if spec == "_" {
		return elem{kind: elGap, maxLen: 80}, nil
	}
	name, kind, _ := strings.Cut(spec, ":")
	if !placeholderName.MatchString(name) {
		return elem{}, fmt.Errorf("placeholder {%s}: names are lowercase letters, digits and _", spec)
	}
	e := elem{kind: elValue, name: name, maxLen: 202} // the store's longest name, and quotes
	if strings.HasSuffix(name, "_at") {
		e.maxLen, e.stamp = 64, true // a time
	}
	switch {
	case kind == "number" || kind == "" && numberNames[name]:
		e.vkind, e.stamp = ValueNumber, true
	case kind != "" && kind != "text":
		return elem{}, fmt.Errorf("placeholder {%s}: kind must be number or text", spec)
	}
	return e, nil
}

func compileTemplate(text, key string) (*template, error) {
	full, err := tokenizeTemplate(text)
	if err != nil || len(full) == 0 {
		return nil, cmp.Or(err, errors.New("empty text"))
	}
	keyElems := full
	if key != "" {
		if keyElems, err = tokenizeTemplate(key); err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
	} else if end := slices.Index(full[1:], elem{kind: elPunct, word: "."}); end >= 0 {
		keyElems = full[:end+2] // the default key: the first sentence
	}
	start := 0
	for start+len(keyElems) <= len(full) && !slices.Equal(full[start:start+len(keyElems)], keyElems) {
		start++
	}
	if start+len(keyElems) > len(full) {
		return nil, fmt.Errorf("key %q is not part of the text", key)
	}
	for _, e := range full[:start] {
		if e.kind == elValue {
			return nil, fmt.Errorf("key must include every placeholder before it ({%s} comes first)", e.name)
		}
	}
	t := &template{elems: full[start:], required: len(keyElems), prefix: strings.ToLower(strings.TrimSpace(text[:max(0, strings.Index(text, key))]))}
	for _, from := range [][]elem{full, t.elems} {
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
		return nil, errors.New("the key must start with a word (or numbers followed by a word)")
	}
	t.first = searchKey(t.elems[t.lead].word)
	t.anchor = t.first
	prefix := 0
	for _, e := range t.elems[t.lead:t.required] {
		if e.kind == elValue || e.kind == elGap {
			break
		}
		if e.kind == elWord && len(e.word) > len(t.anchor) && strings.Trim(e.word, "abcdefghijklmnopqrstuvwxyz") == "" {
			t.anchor, t.anchorBack = searchKey(e.word), prefix
		}
		prefix += len(e.word) + 1
	}
	if t.anchorBack > 0 {
		t.anchorBack = 2*t.anchorBack + 48 // room for line breaks, OCR debris, a time column between the words (matchWord)
	}
	if words := slices.DeleteFunc(slices.Clone(t.elems[:t.required]), func(e elem) bool { return e.kind != elWord }); len(words) < 3 {
		return nil, errors.New("the key needs at least three literal words to be recognizable")
	}
	return t, nil
}
