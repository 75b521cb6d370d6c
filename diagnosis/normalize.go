package diagnosis

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Step 1 of the pipeline (README.md): fold what a paste adds to a product message, as the product wrote it.

// normalized is a text after normalize. The three views share offsets.
type normalized struct {
	orig   []byte // letter case as written: values are cut from here
	lower  []byte // orig with A-Z lowercased: templates are matched here
	search []byte // lower with the characters OCR confuses folded (confusable): candidates are found here
	ascii  bool   // every byte is a character (a value's length is quick to find)
}

var entities = []struct{ from, to string }{
	{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", `"`}, {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "},
}

// normalize folds raw Slack text, typography first (for the markup rules); a whitespace run becomes '\n', '\t' or ' '.
func normalize(raw string) *normalized {
	for k := range len(raw) { // a byte loop: ContainsFunc's call per byte cost 1 µs per 4 KB, on every message
		if raw[k] >= utf8.RuneSelf {
			raw = typography.Replace(raw)
			break
		}
	}
	n := normalized{orig: make([]byte, 0, len(raw)+8)}
	lineStart, italic, quoted := true, false, false // italic: an underscore opened italics on this line; quoted: in inline code that quotes
	for i := 0; i < len(raw); {
		if lineStart {
			if i, lineStart = skipLineMarkers(raw, i), false; i >= len(raw) {
				break
			}
		}
		c := raw[i]
		switch {
		case plain[c]:
			// Most of a text is copied as it is: ordinary bytes, and single spaces between them.
			j := i + 1
			for j < len(raw) && (plain[raw[j]] || raw[j] == ' ' && j+1 < len(raw) && plain[raw[j+1]]) {
				j++
			}
			n.orig = append(n.orig, raw[i:j]...)
			i = j
		case c == '\n' || c == '\r':
			n.space('\n')
			i++
			lineStart, italic, quoted = true, false, false
		case c == ' ' || c == '\t':
			n.space(c)
			i++
		case c == '`' && (quoted || codeMessage.MatchString(raw[i+1:])): // inline code holding a message quotes it: "if you see `…`" is a sentence's
			n.emit(`"`)
			quoted, i = !quoted, i+1
		case c == '`': // other code stands apart, as on a line of its own
			n.space('\n')
			i++
		case c == 0x1b: // a terminal's code in a CI log (escCode)
			i += len(escCode.FindString(raw[i:min(len(raw), i+600)]))
		case c < 0x20 || c == 0x7f:
			n.space(' ')
			i++
		case c == '\\':
			i = unescape(raw, i, &n)
		case c == '<':
			i = slackLink(raw, i, &n)
		case c == '&':
			i = entity(raw, i, &n)
		case c == '*' || c == '_' || c == '~': // a run of one marker: "**" opens bold as "*" does
			j := i + len(raw[i:]) - len(strings.TrimLeft(raw[i:], string(c)))
			prev, next := n.last(), byte(' ')
			if j < len(raw) {
				next = raw[j]
			}
			opening, closing := !isWordByte(prev) && !isSpace(next), !isSpace(prev) && !isWordByte(next)
			// A name's underscore a hard wrap touches (Billing_\nCS, Billing\n_CS), unless italics opened or close on its line.
			wrap := c == '_' && (closing && !italic && isWordByte(prev) && (next == '\n' || next == '\r') ||
				opening && i > 0 && (raw[i-1] == '\n' || raw[i-1] == '\r') && isWordByte(next) && !closesItalic.MatchString(raw[j:]))
			if wrap || !opening && !closing {
				n.orig = append(n.orig, raw[i:j]...) // part of a name like Billing_CS or Billing__CS, not emphasis
			}
			italic = italic || c == '_' && opening && !wrap
			i = j
		case c == ':' && !isWordByte(n.last()) && emojiEnd(raw, i) > i:
			i = emojiEnd(raw, i)
			n.space(' ')
		default: // a colon, or a character outside ASCII
			r, size := utf8.DecodeRuneInString(raw[i:])
			if r == utf8.RuneError {
				n.orig = append(n.orig, '?')
			} else {
				n.orig = append(n.orig, raw[i:i+size]...)
			}
			i += size
		}
	}
	views := make([]byte, 2*len(n.orig))
	lower, search := views[:len(n.orig)], views[len(n.orig):]
	ascii := true
	for k, c := range n.orig {
		lower[k], search[k] = lowerByte(c), searchByte[c]
		ascii = ascii && c < utf8.RuneSelf
	}
	return &normalized{orig: n.orig, lower: lower, search: search, ascii: ascii}
}

// Plain is text as the diagnosis reads it: Slack's escapes, links and markup folded (a pasted grid's cells).
func Plain(text string) string { return string(bytes.TrimSpace(normalize(text).orig)) }

// searchByte is what the search view makes of a byte.
var searchByte = func() (t [256]byte) {
	for c := range t {
		t[c] = confusable(lowerByte(byte(c)))
	}
	return t
}()

// plain marks the ASCII bytes normalize copies as they are.
var plain = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = !strings.ContainsRune("<&`*_~:\\", c)
	}
	return t
}()

// typography replaces typographic quotes, dashes, spaces, C1 controls (a terminal acts on some), invisible
// characters (a bidi override reverses a name) and line separators by what they stand for.
var typography = func() *strings.Replacer {
	pairs := []string{"\u2026", "...", "\u2028", "\n", "\u2029", "\n", "\u0085", "\n"}
	for to, runes := range map[string]string{
		"'": "\u2018\u2019\u201a\u201b\u2032\u00b4",
		`"`: "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb",
		" ": "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\u0080\u0081\u0082\u0083\u0084\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f",
		"":  "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069", // and bidi controls
		"-": "\u2010\u2011\u2012\u2013\u2014\u2212",
	} {
		for _, r := range runes {
			pairs = append(pairs, string(r), to)
		}
	}
	return strings.NewReplacer(pairs...)
}()

// emit appends s; a lone space, tab or line break folds into the whitespace run before it.
func (n *normalized) emit(s string) {
	if len(s) == 1 && isSpace(s[0]) {
		n.space(s[0])
	} else {
		n.orig = append(n.orig, s...)
	}
}

func (n *normalized) last() byte {
	if len(n.orig) == 0 {
		return '\n'
	}
	return n.orig[len(n.orig)-1]
}

// space folds a whitespace run into one byte, a line break winning over a tab over a space.
func (n *normalized) space(c byte) {
	switch l := n.last(); {
	case len(n.orig) == 0:
		n.orig = append(n.orig, '\n')
	case !isSpace(l):
		n.orig = append(n.orig, c)
	case c == '\n' || (c == '\t' && l == ' '):
		n.orig[len(n.orig)-1] = c
	}
}

// skipLineMarkers skips block-quote markers and list bullets ("- ", "• ", "1. ", "2) ") at a line start, but the last space.
func skipLineMarkers(raw string, i int) int {
	for {
		rest := strings.TrimLeft(raw[i:], " \t")
		j, digits := len(raw)-len(rest), min(3, len(rest)-len(strings.TrimLeft(rest, "0123456789")))
		r, size := utf8.DecodeRuneInString(rest)
		switch {
		case strings.HasPrefix(rest, "&gt;"):
			i = j + 4
		case r == '>':
			i = j + 1
		case strings.ContainsRune("-*+", r) && len(rest) > 1 && (rest[1] == ' ' || rest[1] == '\t'):
			i = j + 1
		case strings.ContainsRune("\u2022\u25e6\u25aa\u2023", r) && strings.HasPrefix(rest[size:], " "):
			i = j + size
		case digits > 0 && digits+1 < len(rest) && (rest[digits] == '.' || rest[digits] == ')') && rest[digits+1] == ' ':
			i = j + digits + 1
		default:
			return i
		}
	}
}

// slackLink renders Slack's <...> markup as its visible text.
func slackLink(raw string, i int, n *normalized) int {
	end := strings.IndexByte(raw[i:min(len(raw), i+600)], '>')
	if end < 0 || strings.ContainsAny(raw[i+1:i+end], "\r\n<") {
		n.emit("<")
		return i + 1
	}
	target, label, hasLabel := strings.Cut(raw[i+1:i+end], "|")
	if !hasLabel {
		label = strings.TrimPrefix(target, "mailto:")
		if said := bytes.TrimRight(n.orig, " "); bytes.HasSuffix(said, []byte(label)) {
			n.orig = said // "ana@x.com <mailto:ana@x.com>", as Outlook writes an address: said once
			return i + end + 1
		}
	}
	switch {
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
		label = target[:1] + strings.TrimPrefix(label, target[:1])
	case strings.HasPrefix(target, "!"):
		// <!channel>, <!here>, <!subteam^ID|@team>: a mention, never a value.
		label = "@" + strings.TrimPrefix(strings.TrimPrefix(label, "!"), "@")
	}
	// The label itself is escaped text.
	for k := 0; k < len(label); k++ {
		switch c := label[k]; {
		case c == '&':
			k = entity(label, k, n) - 1
		case c < 0x20 && c != '\t' || c == 0x7f:
			n.space(' ')
		default:
			n.emit(label[k : k+1])
		}
	}
	return i + end + 1
}

// unescape folds the JSON escapes of .NET logs and APIs (\u0027, \", \n, \\); a \n, \r or \t after a
// letter or a drive's colon, going on in lower case, is a Windows path (C:\temp\new).
func unescape(raw string, i int, n *normalized) int {
	r, _, tail, err := strconv.UnquoteChar(raw[i:], '"')
	path := (isWordByte(n.last()) || n.last() == ':') && tail != "" && tail[0] >= 'a' && tail[0] <= 'z'
	switch {
	case err != nil || !strings.ContainsRune(`u"\nrt`, rune(raw[i+1])) || r < 0x20 && path:
		n.emit(`\`)
		return i + 1
	case r == '\n' || r == '\r':
		n.space('\n')
	case r < 0x20 && r != '\t' || r == 0x7f || r == '`':
		n.space(' ')
	default:
		n.emit(typography.Replace(string(r)))
	}
	return len(raw) - len(tail)
}

func entity(raw string, i int, n *normalized) int {
	for _, e := range entities {
		if strings.HasPrefix(raw[i:], e.from) {
			n.emit(e.to)
			return i + len(e.from)
		}
	}
	n.emit("&")
	return i + 1
}

// escCode is a terminal's code (ESC [ … colours, ESC ( B reset, ESC ] … a link, ESC alone): it showed no text.
var escCode = regexp.MustCompile(`^\x1b(?:\[[\x20-\x3f]*[\x40-\x7e]?|[()].|\][^\x07\x1b]*(?:\x07|\x1b\\))?`)

var codeMessage = regexp.MustCompile("^[A-Z][^`\n]* [^`\n]*`") // inline code (after its opening backtick) that reads as a message: words from a capital, on its line

var closesItalic = regexp.MustCompile(`^[^\r\n]*[^\s_]_+(?:[^\pL\pN_]|$)`) // a line an underscore closes italics on (Slack's: on their line)

// emojiCode is an emoji code like :warning: or :+1:, at most 48 bytes.
var emojiCode = regexp.MustCompile(`^:[a-z0-9_+-]*[a-z][a-z0-9_+-]*:`)

// emojiEnd returns the index after an emoji code at i, or i.
func emojiEnd(raw string, i int) int {
	return i + len(emojiCode.FindString(raw[i:min(len(raw), i+48)]))
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' }

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
