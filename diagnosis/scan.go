package diagnosis

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// The scanner is the hot path: most channel traffic is not an error, so it
// rejects a text in about one read. It looks for a few rare "trigger"
// letters (chosen from the knowledge base so that every message has one in
// its key), eight bytes at a time, and checks the word around each hit
// against stems of the keys' words. Only the text around a confirmed stem
// is normalized and matched.

// English letter frequencies (per mille), to pick rare trigger letters.
var letterFreq = [26]int{82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24, 67, 75, 19, 1, 60, 63, 91, 28, 10, 24, 2, 20, 1}

type stem struct {
	text   string // lowercase
	offset int    // position of the trigger letter in text
	back   int    // bytes of message that may precede the stem
	fwd    int    // bytes of message that may follow the stem
	mask   uint64 // templates the stem belongs to
	// wordStart, wordEnd: the stem begins or ends its word, so the text
	// must have a word boundary there.
	wordStart, wordEnd bool
	// probe is the index in text of the byte checked first: two past the
	// trigger, or the stem's last byte.
	probe int
	// backTight, fwdTight bound the message when its values are of a
	// usual length; the engine widens to back/fwd only when that is not enough.
	backTight, fwdTight int
}

type scanner struct {
	patterns []swarPattern
	// kernel is set when the patterns fit indexTrigger's two tests, so the
	// scan runs at vector speed; more trigger groups use the SWAR loop.
	kernel  bool
	pattern triggerPattern
	trigger [256]bool       // lowercase trigger letters
	letters [26]letterStems // by trigger letter
	// pairs[trigger slot][class of the byte before] has bit (class of the
	// byte after) set when some stem has the trigger between those two:
	// one lookup rejects most hits (deploy, app) without reading further.
	slot  [256]uint8 // 1 + pairs index of a trigger letter, either case
	pairs [4][32]uint32
	cls   [256]uint8
}

// byteClass folds a byte for the pair filter: letters by letter, digits
// together, bytes of multi-byte characters together, all else as a boundary.
func byteClass(c byte) uint8 {
	switch {
	case c >= 'a' && c <= 'z':
		return c - 'a' + 1
	case c >= 'A' && c <= 'Z':
		return c - 'A' + 1
	case c >= '0' && c <= '9':
		return 27
	case c >= 0x80:
		return 28
	}
	return 0
}

// letterStems are the stems of one trigger letter, with a bitmap of the
// bytes that may follow it, so most hits are rejected with one lookup.
type letterStems struct {
	group  [256]uint8 // 1 + index into groups of the stems whose letter is followed by this byte
	groups [][]*stem
}

type swarPattern struct{ and, xor uint64 }

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

func newScanner(ts []*template) *scanner {
	s := &scanner{}
	// Greedy cover: the letter with the best rarity per template covered
	// until every template's key has a trigger.
	covered := make([]bool, len(ts))
	letters := make([][26]bool, len(ts))
	for i, t := range ts {
		for _, e := range t.elems[:t.required] {
			if e.kind != elWord {
				continue
			}
			for _, c := range []byte(e.word) {
				if c >= 'a' && c <= 'z' {
					letters[i][c-'a'] = true
				}
			}
		}
	}
	var chosen []byte
	for {
		best, bestScore := -1, 0.0
		for c := range 26 {
			n := 0
			for i := range ts {
				if !covered[i] && letters[i][c] {
					n++
				}
			}
			if n == 0 {
				continue
			}
			score := float64(letterFreq[c]) / float64(n)
			if best < 0 || score < bestScore {
				best, bestScore = c, score
			}
		}
		if best < 0 {
			break
		}
		chosen = append(chosen, byte('a'+best))
		for i := range ts {
			if letters[i][best] {
				covered[i] = true
			}
		}
	}
	slices.Sort(chosen)
	for i, c := range chosen {
		s.trigger[c] = true
		if i < len(s.pairs) {
			s.slot[c] = uint8(i + 1)
			s.slot[c-'a'+'A'] = uint8(i + 1)
		}
	}
	for c := range 256 {
		s.cls[c] = byteClass(byte(c))
	}
	s.patterns = patternsFor(chosen)
	if n := len(s.patterns); n <= 2 && n > 0 {
		p1, p2 := s.patterns[0], s.patterns[n-1]
		s.kernel = true
		s.pattern = triggerPattern{and1: byte(p1.and), xor1: byte(p1.xor), and2: byte(p2.and), xor2: byte(p2.xor)}
	}

	seen := map[string]*stem{}
	for ti, t := range ts {
		before, beforeTight := 0, 0
		total, totalTight := t.span(), t.spanTight()
		// Stems come from the key, and from long words after it: a key word
		// broken by a screenshot's table layout leaves those to find it.
		for k, e := range t.elems {
			if e.kind == elWord && (k < t.required || len(e.word) >= 7) {
				for pos := 0; pos < len(e.word); pos++ {
					c := e.word[pos]
					if !s.trigger[c] {
						continue
					}
					// The whole word (or twelve letters of a longer one), with its
					// word boundaries: "publishing" is not "Publish".
					lo := max(0, min(pos-6, len(e.word)-12))
					hi := min(len(e.word), lo+12)
					text := e.word[lo:hi]
					key := text + "\x00" + string(rune(pos-lo))
					st := seen[key]
					if st == nil {
						st = &stem{text: text, offset: pos - lo, wordStart: lo == 0, wordEnd: hi == len(e.word)}
						st.probe = min(st.offset+2, len(text)-1)
						seen[key] = st
						var next byte = ' '
						if pos+1 < len(e.word) {
							next = e.word[pos+1]
						}
						ls := &s.letters[c-'a']
						if ls.group[next] == 0 {
							ls.groups = append(ls.groups, nil)
							ls.group[next] = uint8(len(ls.groups))
						}
						ls.groups[ls.group[next]-1] = append(ls.groups[ls.group[next]-1], st)
					}
					st.mask |= 1 << uint(ti%64)
					var prev, after uint8
					if pos > 0 {
						prev = s.cls[e.word[pos-1]]
					}
					if pos+1 < len(e.word) {
						after = s.cls[e.word[pos+1]]
					}
					if sl := s.slot[c]; sl > 0 {
						s.pairs[sl-1][prev] |= 1 << after
					}
					// Markup and wide characters can make raw text longer than normalized.
					st.back = max(st.back, before*3/2+64)
					st.fwd = max(st.fwd, (total-before)*3/2+64)
					st.backTight = max(st.backTight, beforeTight+32)
					st.fwdTight = max(st.fwdTight, totalTight-beforeTight+32)
				}
			}
			switch e.kind {
			case elWord:
				before += len(e.word) + 1
				beforeTight += len(e.word) + 1
			case elPunct:
				before += 2
				beforeTight += 2
			default:
				before += e.maxLen + 2
				beforeTight += typicalValue
			}
		}
	}
	return s
}

// patternsFor packs trigger letters into SWAR tests; two letters that
// differ in one bit (p and q) share one test.
func patternsFor(letters []byte) []swarPattern {
	var out []swarPattern
	used := make([]bool, len(letters))
	for i, a := range letters {
		if used[i] {
			continue
		}
		mask := byte(0xff)
		for j := i + 1; j < len(letters); j++ {
			b := letters[j]
			if d := a ^ b; !used[j] && d&(d-1) == 0 && mask == 0xff {
				mask = ^d
				used[j] = true
			}
		}
		out = append(out, swarPattern{and: uint64(mask) * ones, xor: uint64(a&mask) * ones})
	}
	return out
}

// region is a part of the text to match: [start, end) sized for usual
// values, [fullStart, fullEnd) for the longest the messages allow.
type region struct {
	start, end         int
	fullStart, fullEnd int
	mask               uint64
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// regions returns the parts of text that may hold a message, in order.
func (s *scanner) regions(text string) []region {
	var out []region
	// A read-only byte view of the string: the scan kernels take bytes.
	b := unsafe.Slice(unsafe.StringData(text), len(text))
	if s.kernel {
		// One kernel call collects up to 64 hits: a call per hit would cost
		// more than the scan itself on a short line.
		var pos [64]int32
		for at := 0; at < len(b); {
			n, next := triggerPositions(b[at:], s.pattern, pos[:])
			for _, k := range pos[:n] {
				out = s.hit(text, at+int(k), out)
			}
			at += next
		}
		return out
	}
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:]) | 0x2020202020202020
		var m uint64
		for _, p := range s.patterns {
			x := w&p.and ^ p.xor
			m |= (x - ones) &^ x & highs
		}
		if m != 0 {
			out = s.checkBits(text, i, m, out)
		}
	}
	return s.checkRange(text, i, len(text), out)
}

// hit filters a trigger letter at k by its neighbours, then checks stems.
func (s *scanner) hit(text string, k int, out []region) []region {
	sl := s.slot[text[k]]
	if sl == 0 {
		if s.trigger[text[k]|0x20] {
			return s.check(text, k, out)
		}
		return out
	}
	var prev, after uint8
	if k > 0 {
		prev = s.cls[text[k-1]]
	}
	if k+1 < len(text) {
		after = s.cls[text[k+1]]
	}
	if s.pairs[sl-1][prev]&(1<<after) != 0 {
		return s.check(text, k, out)
	}
	return out
}

// checkBits checks the bytes of the word at i whose high bit is set in m
// (a zero-byte mask: exact at its lowest bit, possibly loose above it).
func (s *scanner) checkBits(text string, i int, m uint64, out []region) []region {
	for m != 0 {
		k := i + bits.TrailingZeros64(m)>>3
		m &= m - 1
		if s.trigger[text[k]|0x20] {
			out = s.hit(text, k, out)
		}
	}
	return out
}

func (s *scanner) checkRange(text string, from, to int, out []region) []region {
	for k := from; k < to; k++ {
		if s.trigger[text[k]|0x20] {
			out = s.hit(text, k, out)
		}
	}
	return out
}

// wordAt reports whether a letter or digit starts at text[i] (false at the end).
func wordAt(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	if text[i] < utf8.RuneSelf {
		return isWordByte(text[i])
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordBefore reports whether a letter or digit ends just before text[i].
func wordBefore(text string, i int) bool {
	if i <= 0 {
		return false
	}
	if text[i-1] < utf8.RuneSelf {
		return isWordByte(text[i-1])
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// stemAt returns where the lowercase stem w ends if it stands at text[lo:],
// or -1. It ignores ASCII case, zero-width characters pasted inside the
// word and a line break where a table cell wrapped it.
func stemAt(text string, lo int, w string) int {
	i := lo
	for k := 0; k < len(w); {
		if i >= len(text) {
			return -1
		}
		if lowerByte(text[i]) == w[k] {
			i++
			k++
			continue
		}
		if k > 0 {
			if n := zeroWidthLen(text[i:]); n > 0 {
				i += n
				continue
			}
			if text[i] == '\n' {
				i++
				continue
			}
			if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
				i += 2
				continue
			}
		}
		return -1
	}
	return i
}

// zeroWidthLen returns the UTF-8 length of an invisible character at the start of s, or 0.
func zeroWidthLen(s string) int {
	switch {
	case len(s) >= 3 && s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x8b && s[2] <= 0x8d, // U+200B..U+200D
		len(s) >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0xa0, // U+2060
		len(s) >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf: // U+FEFF
		return 3
	case len(s) >= 2 && s[0] == 0xc2 && s[1] == 0xad: // soft hyphen
		return 2
	}
	return 0
}

// check confirms a trigger letter at i as part of a key word and records its region.
func (s *scanner) check(text string, i int, out []region) []region {
	c := text[i] | 0x20
	if c < 'a' || c > 'z' {
		return out
	}
	var next byte = ' '
	if i+1 < len(text) {
		next = lowerByte(text[i+1])
		if !isWordByte(next) {
			next = ' '
		}
	}
	ls := &s.letters[c-'a']
	g := ls.group[next]
	if g == 0 {
		return out
	}
	for _, st := range ls.groups[g-1] {
		lo := i - st.offset
		if lo < 0 {
			continue
		}
		// One byte two past the trigger rejects most stems before a full compare.
		if p := lo + st.probe; p < len(text) && lowerByte(text[p]) != st.text[st.probe] && text[p] != '\n' && text[p] < 0x80 {
			continue
		}
		if st.wordStart && wordBefore(text, lo) {
			continue
		}
		end := stemAt(text, lo, st.text)
		if end < 0 || (st.wordEnd && wordAt(text, end)) {
			continue
		}
		r := region{start: max(0, i-st.backTight), end: min(len(text), i+st.fwdTight),
			fullStart: max(0, i-st.back), fullEnd: min(len(text), i+st.fwd), mask: st.mask}
		if n := len(out); n == 0 || r.start > out[n-1].end {
			r.start = lineStart(text, r.start)
		}
		if n := len(out); n > 0 && r.start <= out[n-1].end {
			last := &out[n-1]
			last.end = max(last.end, r.end)
			last.fullStart = min(last.fullStart, r.fullStart)
			last.fullEnd = max(last.fullEnd, r.fullEnd)
			last.mask |= r.mask
		} else {
			out = append(out, r)
		}
	}
	return out
}

// lineStart moves i back to the start of its line (a little way at most),
// so line markers like block quotes are seen.
func lineStart(text string, i int) int {
	for k := 0; k < 256 && i > 0; k++ {
		if text[i-1] == '\n' {
			return i
		}
		i--
	}
	return i
}
