package diagnosis

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Step 3 of the pipeline (README.md): match a template's elements at a candidate, as OCR and pasting left the words.

// match is one message found in normalized text.
type match struct {
	start, end int
	values     []Value
}

// wordStartsAt reports whether a letter or digit starts at l[i]; an emoji or a full-width colon starts no word.
func wordStartsAt(l []byte, i int) bool {
	r, _ := utf8.DecodeRune(l[min(i, len(l)):])
	return isWordRune(r)
}

// wordEndsAt reports whether a letter or digit ends just before l[i].
func wordEndsAt(l []byte, i int) bool {
	r, _ := utf8.DecodeLastRune(l[:max(i, 0)])
	return isWordRune(r)
}

func isWordRune(r rune) bool {
	return r < utf8.RuneSelf && isWordByte(byte(r)) || r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func skipSpaces(l []byte, i int) int {
	for i < len(l) && isSpace(l[i]) {
		i++
	}
	return i
}

// matchWord matches a lowercase word at i, tolerating a line break inside it (a wrapped table
// cell), a missing apostrophe and OCR's confusions (fuzzyWord): one edit in a word of six
// letters or more, so chat one letter away from a message stays chat.
func matchWord(l []byte, i int, w string) (int, bool) {
	i = skipSpaces(l, i)
	// At the word's place, or past a short line of OCR debris (an icon read as "Od", "@ o<").
	for _, at := range []int{i, skipDebris(l, i)} {
		if j, ok := exactWord(l, at, w); ok {
			return j, true
		}
		if j, ok := fuzzyWord(l, at, w, 0, min(1, len(w)/6)); ok {
			return j, true
		}
	}
	return i, false
}

// exactWord matches w at i as written, but for a line break in it or its apostrophe left out.
func exactWord(l []byte, i int, w string) (int, bool) {
	for k := 0; k < len(w); {
		if i < len(l) && l[i] == w[k] {
			i++
			k++
			continue
		}
		if k > 0 && i < len(l) && l[i] == '\n' {
			// A table cell wrapped mid-word, maybe with the row's time column between ("update\n2021-02-24 16:05:38 d").
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
	return i, !wordStartsAt(l, i)
}

// skipCellNoise skips at i a time column: at most 24 bytes of digits, separators and line breaks, letters after.
func skipCellNoise(l []byte, i int) int {
	cell := l[i:min(len(l), i+24)]
	j := i + len(cell) - len(bytes.TrimLeft(cell, "0123456789-:/. \n\t"))
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

// fuzzyWord matches w[k:] at l[i:] with confusable letters, "rn" for "m" and at most edits letters
// wrong, missing or extra; a reading that stops inside a word tries the next way ("lockin×g").
func fuzzyWord(l []byte, i int, w string, k, edits int) (int, bool) {
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
		// One substitution, deletion or insertion, in that order, of whole characters: a value never starts inside one.
		if i < len(l) && isWordByte(l[i]) {
			_, size := utf8.DecodeRune(l[i:])
			if j, ok := fuzzyWord(l, i+size, w, k+1, edits-1); ok {
				return j, true
			}
			if j, ok := fuzzyWord(l, i+size, w, k, edits-1); ok {
				return j, true
			}
		}
		return fuzzyWord(l, i, w, k+1, edits-1)
	}
	return i, !wordStartsAt(l, i)
}

// skipDebris skips up to two short lines with no real word (OCR of an icon or a button)
// starting at i, past spaces, returning where the text goes on (i when there is none).
func skipDebris(l []byte, i int) int {
	for n := 0; n < 2 && i > 0 && l[i-1] == '\n'; n++ {
		end := bytes.IndexByte(l[i:min(len(l), i+8)], '\n')
		if end < 0 || threeLetters.Match(l[i:i+end]) {
			break
		}
		i += end + 1
	}
	return skipSpaces(l, i)
}

var threeLetters = regexp.MustCompile(`[a-z]{3}`)

// matchAt matches t at start; past the required elements, a mismatch ends a message cut off in the paste.
func (t *template) matchAt(n *normalized, start int) (match, bool) {
	l, m, i := n.lower, match{start: start}, start
	for k := 0; k < len(t.elems); k++ {
		e := &t.elems[k]
		var next int
		ok := true
		switch e.kind {
		case elWord:
			if next, ok = matchWord(l, i, e.word); !ok {
				next, ok = t.joinedWord(l, i, k)
			}
			// "environments ready": OCR ate the next word's first letter and the space.
			if !ok {
				if next, ok = t.swallowedWord(l, i, k); ok {
					k++
				}
			}
		case elPunct:
			next = i
			if j := skipSpaces(l, i); j < len(l) && (l[j] == e.word[0] || l[j] == '|') {
				next = j + 1
			}
		case elGap:
			next, ok = t.skipGap(l, i, k)
		case elValue:
			var val []byte
			next, val, ok = t.capture(n, i, k, t.prefix != "" && bytes.HasSuffix(bytes.TrimRight(l[:start], " \t"), []byte(t.prefix)))
			// A message may repeat a value ('{module}' twice): the first counts. A value cut off
			// with an ellipsis ("Employ...") would be recorded wrong: its message stands without it.
			if ok && len(val) > 0 && !bytes.HasSuffix(val, []byte("..")) && !slices.ContainsFunc(m.values, func(v Value) bool { return v.Name == e.name }) {
				m.values = append(m.values, valueOf(e, val))
			}
		}
		if !ok {
			if k < t.required && !(e.kind == elWord && t.cutInLastWord(l, i, k)) {
				return m, false
			}
			break // the rest was cut off in the paste
		}
		i = next
		if e.kind != elPunct {
			m.end = i
		}
	}
	return m, true
}

// cutInLastWord reports whether the paste (or its line) ends at i with at least half
// of word k, the key's last word, maybe with an ellipsis: "… 2 modules skip", "… skip…".
func (t *template) cutInLastWord(l []byte, i, k int) bool {
	i, w := skipSpaces(l, i), t.elems[k].word
	cut, _, _ := bytes.Cut(l[i:min(len(l), i+len(w)+4)], []byte("\n")) // longer than w: not cut in it
	cut = bytes.TrimSuffix(cut, []byte("..."))
	return len(cut) >= 3 && 2*len(cut) >= len(w) && strings.HasPrefix(w, string(cut)) &&
		!slices.ContainsFunc(t.elems[k+1:t.required], func(e elem) bool { return e.kind != elPunct })
}

// joinedWord matches word k when OCR dropped the space after it ("thatis locking"): the next word follows at once.
func (t *template) joinedWord(l []byte, i, k int) (int, bool) {
	w := t.elems[k].word
	if k+1 >= len(t.elems) || t.elems[k+1].kind != elWord || len(w) < 2 {
		return i, false
	}
	i = skipSpaces(l, i)
	_, ok := exactWord(l, i+len(w), t.elems[k+1].word)
	return i + len(w), ok && bytes.HasPrefix(l[i:], []byte(w))
}

// joinsNext reports whether the word after element k follows at l[j] with no space (OCR's "12of 30").
func (t *template) joinsNext(l []byte, j, k int) bool {
	w, _ := t.wordsAfter(k)
	return w != "" && t.elems[k+1].kind == elWord && bytes.HasPrefix(l[j:], []byte(w)) && !wordStartsAt(l, j+len(w))
}

// swallowedWord matches word k glued to the next without its first letter ("environment" + "is": "environments").
func (t *template) swallowedWord(l []byte, i, k int) (int, bool) {
	if k+1 >= len(t.elems) || t.elems[k+1].kind != elWord || len(t.elems[k].word) < 5 || len(t.elems[k+1].word) < 2 {
		return i, false
	}
	return exactWord(l, skipSpaces(l, i), t.elems[k].word+t.elems[k+1].word[1:])
}

// wordsAfter returns the literal word after element k past punctuation ("" when a value comes first), and the next.
func (t *template) wordsAfter(k int) (next, then string) {
	for j := k + 1; j < len(t.elems) && t.elems[j].kind != elValue && t.elems[j].kind != elGap; j++ {
		if t.elems[j].kind == elWord {
			if j+1 < len(t.elems) && t.elems[j+1].kind == elWord {
				then = t.elems[j+1].word
			}
			return t.elems[j].word, then
		}
	}
	return "", ""
}

// findWord finds w as a whole word in l[i:limit], returning its start.
func findWord(l []byte, i, limit int, w string) int {
	limit = min(limit, len(l))
	for i < limit {
		j := bytes.Index(l[i:limit], []byte(w))
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

// skipGap skips what may stand between two parts of a message: an aside like "(Release Notes)", punctuation; no words.
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
	// A screenshot may put a short line of other UI text (a sidebar title) between the parts; not a sentence on the line.
	word, _ := t.wordsAfter(k)
	for n := 0; word != "" && n < 2 && i > 0 && l[i-1] == '\n'; n++ {
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
