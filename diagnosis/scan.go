package diagnosis

import (
	"encoding/binary"
	"math/bits"
	"slices"
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
}

type scanner struct {
	patterns []swarPattern
	trigger  [256]bool       // lowercase trigger letters
	letters  [26]letterStems // by trigger letter
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

	seen := map[string]*stem{}
	for ti, t := range ts {
		before := 0
		total := t.span()
		for _, e := range t.elems[:t.required] {
			if e.kind == elWord {
				for pos := 0; pos < len(e.word); pos++ {
					c := e.word[pos]
					if !s.trigger[c] {
						continue
					}
					// Six letters around the trigger: long enough to be rare,
					// short enough to survive a line wrapped inside the word.
					lo := max(0, min(pos-3, len(e.word)-6))
					hi := min(len(e.word), lo+6)
					text := e.word[lo:hi]
					key := text + "\x00" + string(rune(pos-lo))
					st := seen[key]
					if st == nil {
						st = &stem{text: text, offset: pos - lo}
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
				}
			}
			switch e.kind {
			case elWord:
				before += len(e.word) + 1
			case elPunct:
				before += 2
			default:
				before += e.maxLen + 2
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

type region struct {
	start, end int
	mask       uint64
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
	// A read-only byte view of the string, so eight bytes load as one word.
	b := unsafe.Slice(unsafe.StringData(text), len(text))
	i := 0
	if len(s.patterns) == 1 {
		p := s.patterns[0]
		for ; i+16 <= len(b); i += 16 {
			x := (binary.LittleEndian.Uint64(b[i:])|0x2020202020202020)&p.and ^ p.xor
			y := (binary.LittleEndian.Uint64(b[i+8:])|0x2020202020202020)&p.and ^ p.xor
			mx, my := (x-ones)&^x&highs, (y-ones)&^y&highs
			if mx|my != 0 {
				out = s.checkBits(text, i, mx, out)
				out = s.checkBits(text, i+8, my, out)
			}
		}
	}
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:]) | 0x2020202020202020
		for _, p := range s.patterns {
			if x := w&p.and ^ p.xor; (x-ones)&^x&highs != 0 {
				out = s.checkRange(text, i, i+8, out)
				break
			}
		}
	}
	return s.checkRange(text, i, len(text), out)
}

// checkBits checks the bytes of the word at i whose high bit is set in m
// (a zero-byte mask: exact at its lowest bit, possibly loose above it).
func (s *scanner) checkBits(text string, i int, m uint64, out []region) []region {
	for m != 0 {
		k := i + bits.TrailingZeros64(m)>>3
		m &= m - 1
		sl := s.slot[text[k]]
		if sl == 0 {
			if s.trigger[text[k]|0x20] {
				out = s.check(text, k, out) // a trigger beyond the pair filter's slots
			}
			continue
		}
		var prev, after uint8
		if k > 0 {
			prev = s.cls[text[k-1]]
		}
		if k+1 < len(text) {
			after = s.cls[text[k+1]]
		}
		if s.pairs[sl-1][prev]&(1<<after) != 0 {
			out = s.check(text, k, out)
		}
	}
	return out
}

func (s *scanner) checkRange(text string, from, to int, out []region) []region {
	for k := from; k < to; k++ {
		if s.trigger[text[k]|0x20] {
			out = s.check(text, k, out)
		}
	}
	return out
}

// stemAt reports whether the lowercase stem w stands at text[lo:],
// ignoring ASCII case and zero-width characters pasted inside the word.
func stemAt(text string, lo int, w string) bool {
	i := lo
	for k := 0; k < len(w); {
		if i >= len(text) {
			return false
		}
		if lowerByte(text[i]) == w[k] {
			i++
			k++
			continue
		}
		if n := zeroWidthLen(text[i:]); n > 0 && k > 0 {
			i += n
			continue
		}
		return false
	}
	return true
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
		if lo < 0 || !stemAt(text, lo, st.text) {
			continue
		}
		r := region{start: max(0, i-st.back), end: min(len(text), i+st.fwd), mask: st.mask}
		if n := len(out); n == 0 || r.start > out[n-1].end {
			r.start = lineStart(text, r.start)
		}
		if n := len(out); n > 0 && r.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, r.end)
			out[n-1].mask |= r.mask
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
