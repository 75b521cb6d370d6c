package diagnosis

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// normalized is text with Slack markup, typography and layout folded away.
// orig keeps the letter case (values are reported as written); lower is
// the same bytes ASCII-lowercased, so offsets are shared. Whitespace runs
// are one byte: '\n' when they held a line break, '\t' a tab, else ' '.
type normalized struct {
	orig  []byte
	lower []byte
	// asIs is set when orig is the raw text itself, which needed no
	// folding: read-only, and values are cut from it without a copy.
	// own keeps the buffer orig had before.
	asIs bool
	own  []byte
	// matches is a buffer for Engine.Diagnose, pooled with the rest.
	matches []matchResult
	// values and findings are room for one text's results, handed out
	// and never reused: see takeValues.
	values   []Value
	findings []Finding
	roomed   bool
}

// findingsBlock is the room for a text's first findings and their values
// in one allocation: most texts with an error hold one.
type findingsBlock struct {
	findings [1]Finding
	values   [3]Value
}

// reset forgets the text and the results of the last Diagnose, so that a
// pooled buffer keeps neither alive.
func (n *normalized) reset() {
	if n.asIs {
		n.orig, n.own, n.asIs = n.own, nil, false
	}
	n.values, n.findings, n.roomed = nil, nil, false
}

func (n *normalized) room() {
	b := new(findingsBlock)
	n.findings, n.values, n.roomed = b.findings[:0], b.values[:0], true
}

// takeValues returns an empty slice with room for k values and the
// version the engine may add after them.
func (n *normalized) takeValues(k int) []Value {
	k++
	if !n.roomed {
		n.room()
	}
	if cap(n.values)-len(n.values) < k {
		n.values = make([]Value, 0, max(8, k))
	}
	at := len(n.values)
	n.values = n.values[:at+k]
	return n.values[at : at : at+k]
}

// takeFindings returns the room for the text's first findings.
func (n *normalized) takeFindings() []Finding {
	if !n.roomed {
		n.room()
	}
	f := n.findings
	n.findings = nil
	return f
}

func (n *normalized) emit(c byte) {
	n.orig = append(n.orig, c)
	n.lower = append(n.lower, lowerByte(c))
}

// emitRun copies a run of raw text as it is, and lowercased into lower.
func (n *normalized) emitRun(s string) {
	n.orig = append(n.orig, s...)
	at := len(n.lower)
	n.lower = slices.Grow(n.lower, len(s))[:at+len(s)]
	lowerASCII(n.lower[at:], s)
}

// lowerASCII sets dst, as long as src, to src with A-Z lowercased: bytes of
// multi-byte characters never change.
func lowerASCII(dst []byte, src string) {
	if useAVX2 && len(src) >= 32 {
		lowerASCIIAVX2(dst, src)
		return
	}
	lowerASCIIGeneric(dst, src)
}

// lowerASCIIGeneric is the portable lowerASCII, eight bytes at a time.
func lowerASCIIGeneric(dst []byte, src string) {
	dst = dst[:len(src)]
	i := 0
	for ; i+8 <= len(src); i += 8 {
		w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(src[i:]), 8))
		h := w & 0x7f7f7f7f7f7f7f7f
		ge := h + 0x3f3f3f3f3f3f3f3f // high bit set where the byte is >= 'A'
		gt := h + 0x2525252525252525 // high bit set where the byte is > 'Z'
		upper := ge &^ gt &^ w & 0x8080808080808080
		binary.LittleEndian.PutUint64(dst[i:i+8], w|upper>>2)
	}
	for ; i < len(src); i++ {
		dst[i] = lowerByte(src[i])
	}
}

func (n *normalized) emitString(s string) {
	for i := 0; i < len(s); i++ {
		n.emit(s[i])
	}
}

func (n *normalized) last() byte {
	if len(n.orig) == 0 {
		return '\n'
	}
	return n.orig[len(n.orig)-1]
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' }

// space folds a whitespace run into one byte, a line break winning over a tab over a space.
func (n *normalized) space(c byte) {
	if len(n.orig) == 0 {
		n.emit('\n')
		return
	}
	l := n.last()
	if !isSpace(l) {
		n.emit(c)
		return
	}
	if c == '\n' || (c == '\t' && l == ' ') {
		n.orig[len(n.orig)-1] = c
		n.lower[len(n.lower)-1] = c
	}
}

var entities = []struct{ from, to string }{
	{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", `"`}, {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "},
}

// plain marks the bytes normalize copies as they are.
var plain = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = true
	}
	for _, c := range "<&`*_~:" {
		t[c] = false
	}
	return t
}()

// normalize folds raw Slack message text. Its cost is linear in len(raw).
func normalize(raw string, buf *normalized) { normalizeFrom(raw, true, buf) }

// str returns b, a part of n.orig, as a string: cut from the text itself
// when orig is the text, which is immutable, so no copy is needed.
func (n *normalized) str(b []byte) string {
	if n.asIs && len(b) > 0 {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// maxAsIs is the longest text normalizeFrom checks for taking as it is,
// in 64-byte words of plainMask; longer ones are folded.
const maxAsIs = 32

// asIs reports whether normalizeFrom leaves raw as it is. It takes one
// vector pass, then checks each byte plainSpan stops at against what fold
// makes of it, knowing that fold left all before it as they were.
func asIs(raw string, lineStart bool) bool {
	if len(raw) == 0 || len(raw) > 64*maxAsIs || !plain[raw[0]] || lineStart && !plainLineStart(raw) {
		return false
	}
	var mask [maxAsIs]uint64
	plainMask(raw, mask[:])
	next := 0 // the byte after the last character checked
	for w, m := range mask[:(len(raw)+63)/64] {
		for ; m != 0; m &= m - 1 {
			j := 64*w + bits.TrailingZeros64(m)
			if j >= len(raw) {
				return true
			}
			if j < next {
				continue // inside a multi-byte character
			}
			// The most common stops: a colon in a time or after a label, and
			// a line break before a line of words or a log line's year.
			if c, prev := raw[j], raw[j-1]; c == ':' && isWordByte(prev) ||
				c == '\n' && j+4 < len(raw) && !isSpace(prev) && startsPlainLine(raw[j+1:j+5]) {
				continue
			}
			if next = keptAt(raw, j); next < 0 {
				return false
			}
		}
	}
	return true
}

// startsPlainLine reports whether a line starting with s, four bytes, is
// one fold leaves as it is: a letter, or four digits (no list number).
func startsPlainLine(s string) bool {
	if c := s[0] | 0x20; c >= 'a' && c <= 'z' {
		return true
	}
	for k := range 4 {
		if s[k] < '0' || s[k] > '9' {
			return false
		}
	}
	return true
}

// keptAt returns the end of the character at raw[j] (j > 0) when fold
// keeps it as it is, given that fold kept all before it; -1 when it does not.
func keptAt(raw string, j int) int {
	c, prev := raw[j], raw[j-1]
	var next byte = ' ' // what fold sees after the last byte
	if j+1 < len(raw) {
		next = raw[j+1]
	}
	switch {
	case c >= utf8.RuneSelf:
		r, size := utf8.DecodeRuneInString(raw[j:])
		if r == utf8.RuneError || foldOf(r) != keepRune {
			return -1
		}
		return j + size
	case c == ' ':
		// A double space is one; one at the end stays.
		if j+1 == len(raw) && !isSpace(prev) {
			return j + 1
		}
	case c == '\t':
		if !isSpace(prev) && !isSpace(next) {
			return j + 1
		}
	case c == '\n':
		// A line break stays, when no quote marker or bullet starts the next line.
		if !isSpace(prev) && (j+1 == len(raw) || plain[next] && plainLineStart(raw[j+1:])) {
			return j + 1
		}
	case c == ':':
		if isWordByte(prev) || emojiEnd(raw, j) == 0 {
			return j + 1
		}
	case c == '*' || c == '_' || c == '~':
		// Kept inside a word (Billing_CS), not as emphasis.
		opening := !isWordByte(prev) && !isSpace(next) && next != c
		closing := !isSpace(prev) && !isWordByte(next)
		if !opening && !closing && prev != c {
			return j + 1
		}
	case c == '&':
		for _, e := range entities {
			if strings.HasPrefix(raw[j:], e.from) {
				return -1
			}
		}
		return j + 1
	}
	return -1
}

// runeFold is what fold makes of a character outside ASCII.
type runeFold uint8

const (
	keepRune   runeFold = iota
	toQuote             // a typographic apostrophe or single quote: '
	toDouble            // a typographic double quote: "
	toSpace             // a wide or non-breaking space
	dropRune            // an invisible character
	toHyphen            // a dash or minus
	toEllipsis          // …: three dots
	toNewline           // a Unicode line or paragraph separator
)

// foldOf returns what fold makes of r, the one list asIs also checks against.
func foldOf(r rune) runeFold {
	switch r {
	case '\u2018', '\u2019', '\u201a', '\u201b', '\u2032', '\u00b4':
		return toQuote
	case '\u201c', '\u201d', '\u201e', '\u201f', '\u2033', '\u00ab', '\u00bb':
		return toDouble
	case '\u00a0', '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u202f', '\u205f', '\u3000':
		return toSpace
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad':
		return dropRune
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212':
		return toHyphen
	case '\u2026':
		return toEllipsis
	case '\u2028', '\u2029', '\u0085':
		return toNewline
	}
	return keepRune
}

// normalizeFrom is normalize for a part of a text: lineStart says whether
// raw starts a line, where block-quote markers and bullets are dropped.
func normalizeFrom(raw string, lineStart bool, buf *normalized) {
	n := buf
	if n.asIs {
		n.orig, n.own, n.asIs = n.own, nil, false
	}
	if asIs(raw, lineStart) {
		// Most pastes need no folding: orig is the text, lower one copy.
		n.own, n.asIs = n.orig, true
		n.orig = unsafe.Slice(unsafe.StringData(raw), len(raw))
		n.lower = slices.Grow(n.lower[:0], len(raw))[:len(raw)]
		lowerASCII(n.lower, raw)
		return
	}
	fold(raw, lineStart, n)
}

// fold is normalizeFrom for any text, byte by byte past the plain runs.
func fold(raw string, lineStart bool, n *normalized) {
	n.orig, n.lower = n.orig[:0], n.lower[:0]
	for i := 0; i < len(raw); {
		// Fast path: copy a run of ordinary bytes at once, single spaces
		// and colons that cannot start an emoji code included.
		if !lineStart && plain[raw[i]] {
			j := i + 1
			for j < len(raw) {
				// raw[j-1] is plain here: a run never starts with a space.
				j += plainSpan(raw[j:])
				if j >= len(raw) {
					break
				}
				c := raw[j]
				if j+1 >= len(raw) || !plain[raw[j+1]] {
					break
				}
				// Copied as they are, with the byte after them: a single
				// space or line break (one that starts no list or quote), a
				// colon that starts no emoji code, and _ * ~ inside a word
				// (Billing_CS), which mark no emphasis there.
				prevWord := raw[j-1] < utf8.RuneSelf && isWordByte(raw[j-1])
				if c == ' ' && raw[j-1] != ' ' || c == ':' && isWordByte(raw[j-1]) ||
					c == '\n' && raw[j-1] != ' ' && plainLineStart(raw[j+1:]) ||
					(c == '_' || c == '*' || c == '~') && prevWord && isWordByte(raw[j+1]) {
					j += 2
					continue
				}
				break
			}
			n.emitRun(raw[i:j])
			i = j
			continue
		}
		if lineStart {
			i = skipLineMarkers(raw, i)
			lineStart = false
			if i >= len(raw) {
				break
			}
		}
		c := raw[i]
		switch {
		case c == '\n' || c == '\r':
			n.space('\n')
			i++
			lineStart = true
		case c == ' ' || c == '\t':
			n.space(c)
			i++
		case c < 0x20 || c == 0x7f:
			n.space(' ')
			i++
		case c == '<':
			i = slackLink(raw, i, n)
		case c == '&':
			i = entity(raw, i, n)
		case c == '`':
			n.space(' ')
			i++
		case c == '*' || c == '_' || c == '~':
			prev := n.last()
			var next byte = ' '
			if i+1 < len(raw) {
				next = raw[i+1]
			}
			opening := !isWordByte(prev) && !isSpace(next) && next != c
			closing := !isSpace(prev) && !isWordByte(next)
			if opening || closing || (prev == c) {
				i++ // emphasis marker, not part of a name like Billing_CS
				continue
			}
			n.emit(c)
			i++
		case c == ':':
			if j := emojiEnd(raw, i); j > 0 && !isWordByte(n.last()) {
				n.space(' ')
				i = j
				continue
			}
			n.emit(c)
			i++
		case c < utf8.RuneSelf:
			n.emit(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(raw[i:])
			i += size
			if r == utf8.RuneError {
				n.emit('?')
				continue
			}
			switch foldOf(r) {
			case toQuote:
				n.emit('\'')
			case toDouble:
				n.emit('"')
			case toSpace:
				n.space(' ')
			case dropRune:
			case toHyphen:
				n.emit('-')
			case toEllipsis:
				n.emitString("...")
			case toNewline:
				n.space('\n')
				lineStart = true
			default:
				n.emitString(raw[i-size : i])
			}
		}
	}
}

// plainLineStart reports whether a line starting with s, a plain byte,
// starts with none of the markers skipLineMarkers skips.
func plainLineStart(s string) bool {
	switch c := s[0]; {
	case c == '>':
		return false
	case c == '-' || c == '+':
		return len(s) > 1 && s[1] != ' ' && s[1] != '\t'
	case c >= '0' && c <= '9':
		k := 0
		for k < len(s) && k < 3 && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		return !(k+1 < len(s) && (s[k] == '.' || s[k] == ')') && s[k+1] == ' ')
	}
	return true
}

// skipLineMarkers skips block-quote markers and list bullets at a line start.
func skipLineMarkers(raw string, i int) int {
	for {
		j := i
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t') {
			j++
		}
		rest := raw[j:]
		switch {
		case strings.HasPrefix(rest, "&gt;"):
			i = j + 4
		case strings.HasPrefix(rest, ">"):
			i = j + 1
		case strings.HasPrefix(rest, "\u2022 "), strings.HasPrefix(rest, "\u25e6 "), strings.HasPrefix(rest, "\u25aa "), strings.HasPrefix(rest, "\u2023 "):
			_, size := utf8.DecodeRuneInString(rest)
			i = j + size
		case len(rest) > 1 && (rest[0] == '-' || rest[0] == '*' || rest[0] == '+') && (rest[1] == ' ' || rest[1] == '\t'):
			i = j + 1
		default:
			// numbered list item: "1. " or "2) "
			k := 0
			for k < len(rest) && k < 3 && rest[k] >= '0' && rest[k] <= '9' {
				k++
			}
			if k > 0 && k+1 < len(rest) && (rest[k] == '.' || rest[k] == ')') && rest[k+1] == ' ' {
				i = j + k + 1
				continue
			}
			return i
		}
	}
}

// slackLink renders Slack's <...> markup as its visible text.
func slackLink(raw string, i int, n *normalized) int {
	end := strings.IndexByte(raw[i:min(len(raw), i+600)], '>')
	if end < 0 || strings.ContainsAny(raw[i+1:i+end], "\n<") {
		n.emit('<')
		return i + 1
	}
	inner := raw[i+1 : i+end]
	target, label, hasLabel := strings.Cut(inner, "|")
	switch {
	case strings.HasPrefix(target, "mailto:"):
		if !hasLabel {
			label = strings.TrimPrefix(target, "mailto:")
		}
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		if hasLabel {
			label = target[:1] + strings.TrimPrefix(label, target[:1])
		} else {
			label = target
		}
	case strings.HasPrefix(target, "!"):
		// <!channel>, <!here>, <!subteam^ID|@team>: a mention, never a value.
		if hasLabel {
			label = "@" + strings.TrimPrefix(label, "@")
		} else {
			label = "@" + strings.TrimPrefix(target, "!")
		}
	default:
		if !hasLabel {
			label = target
		}
	}
	// The label itself is escaped text.
	for k := 0; k < len(label); {
		if label[k] == '&' {
			k = entity(label, k, n)
			continue
		}
		n.emit(label[k])
		k++
	}
	return i + end + 1
}

func entity(raw string, i int, n *normalized) int {
	for _, e := range entities {
		if strings.HasPrefix(raw[i:], e.from) {
			if e.to == " " {
				n.space(' ')
			} else {
				n.emitString(e.to)
			}
			return i + len(e.from)
		}
	}
	n.emit('&')
	return i + 1
}

// emojiEnd returns the index after an emoji code like :warning: at i, or 0.
func emojiEnd(raw string, i int) int {
	letter := false
	for j := i + 1; j < len(raw) && j < i+48; j++ {
		c := raw[j]
		switch {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9' || c == '_' || c == '+' || c == '-':
		case c == ':':
			if letter && j > i+1 {
				return j + 1
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}
