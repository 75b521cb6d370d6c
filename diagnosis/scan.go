package diagnosis

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// The scanner is the hot path: most channel traffic is not an error, so it
// rejects a text in about one read. It looks for a few rare "trigger"
// letters (chosen from the knowledge base so that every message has one in
// its key) followed by a "follower" letter (p or q before d, g, r or u for
// the built-in base), 32 bytes at a time with AVX2, then filters each hit
// by the bytes around it and checks it against the stems of the keys'
// words. A template is matched where a quorum of its stems stands (two
// when its key has several), and only the text around those stems is
// normalized.

// English letter frequencies (per mille), to pick rare trigger letters.
var letterFreq = [26]int{82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24, 67, 75, 19, 1, 60, 63, 91, 28, 10, 24, 2, 20, 1}

type stem struct {
	text   string // lowercase
	offset int    // position of the trigger letter in text
	// wordStart, wordEnd: the stem begins or ends its word, so the text
	// must have a word boundary there.
	wordStart, wordEnd bool
	// wins are the windows of the templates the stem belongs to;
	// backTight, fwdTight the widest of their tight windows, which group
	// the hits of one message.
	wins                []stemWin
	backTight, fwdTight int
	// id is the stem's bit in a template's votes (ids past 63 share bit 63).
	id uint8
	// index is the stem's place in scanner.stems.
	index uint32
	// text8 is text in eight-byte words for equalAt, mask8 the bytes of
	// each that belong to it, fold8 the case bit of those bytes; words is
	// 0 when text holds a byte other than a letter.
	text8, mask8, fold8 [2]uint64
	words               int
}

// stemWin is where a message of template ti may stand around a stem's
// hit: back and fwd bytes for the longest values, the tight ones for usual values.
type stemWin struct {
	bit                 uint64
	ti                  int
	slot                uint8 // ti % 64, its entry in the votes
	quorum              int   // distinct stems of template ti that must stand in a region
	back, fwd           int
	backTight, fwdTight int
	// prev and next are the template's words around the stem's word ("" for
	// a value, or none): a hit counts for the template only when one of
	// them stands beside it in the text, or neither is known. wordPos is
	// the trigger's index in its word.
	prev, next   string
	prev8, next8 word8
	wordPos      int
	// rest is the length of the stem's word from the trigger on: where the
	// word usually ends.
	rest int
}

// neighbour returns the word next to element k in direction dir (-1, 1),
// past punctuation; "" when a value or the end comes first.
func neighbour(elems []elem, k, dir int) string {
	for j := k + dir; j >= 0 && j < len(elems); j += dir {
		switch elems[j].kind {
		case elPunct:
			continue
		case elWord:
			return elems[j].word
		}
		return ""
	}
	return ""
}

// fits reports whether the template's words around the stem stand beside
// the hit at i: the one before its word or the one after.
func (w *stemWin) fits(text string, i int) bool {
	if w.prev == "" && w.next == "" {
		return true
	}
	start := i - w.wordPos
	if w.prev != "" && start > 0 && wordEndsBefore(text, start, w.prev, &w.prev8) {
		return true
	}
	if w.next == "" {
		return false
	}
	// The word ends where the template's does, unless it was broken or
	// joined to more.
	end := i + w.rest
	if end > len(text) || end < len(text) && (isWordByte(text[end]) || text[end] == '\'') {
		for end = i; end < len(text) && end-i < 32 && (isWordByte(text[end]) || text[end] == '\''); end++ {
		}
	}
	return wordStartsAfter(text, end, w.next, &w.next8)
}

// wordEndsBefore reports whether the lowercase word w ends just before
// text[i], past a few bytes of spaces, punctuation or markup.
func wordEndsBefore(text string, i int, w string, w8 *word8) bool {
	for k := 0; k < 6 && i > 0 && !isWordByte(text[i-1]); k++ {
		i--
	}
	if i < len(w) || i > 0 && i-len(w) > 0 && isWordByte(text[i-len(w)-1]) {
		return false
	}
	return w8.equalAt(text, i-len(w)) || sameWordAt(text, i-len(w), w)
}

// word8 is a lowercase word of at most eight bytes, packed for equalAt.
type word8 struct {
	text, mask, fold uint64
	ok               bool
}

func newWord8(w string) word8 {
	if len(w) == 0 || len(w) > 8 {
		return word8{}
	}
	p := word8{ok: true}
	for k := range len(w) {
		p.text |= uint64(w[k]) << (8 * k)
		p.mask |= 0xFF << (8 * k)
		if w[k] >= 'a' && w[k] <= 'z' {
			p.fold |= 0x20 << (8 * k)
		}
	}
	return p
}

// equalAt reports whether text[i:] starts with the word as written, in
// any ASCII case; false when it cannot tell with one load (sameWordAt decides then).
func (p *word8) equalAt(text string, i int) bool {
	if !p.ok || i < 0 || i+8 > len(text) {
		return false
	}
	b := unsafe.Slice(unsafe.StringData(text[i:]), 8)
	return (binary.LittleEndian.Uint64(b)&p.mask|p.fold)^p.text == 0
}

// sameLetter reports whether c reads as the lowercase letter l, in any
// case or as a letter OCR confuses with it.
func sameLetter(c, l byte) bool {
	c = lowerByte(c)
	return c == l || confusable(c) == confusable(l)
}

// wordStartsAfter reports whether the lowercase word w starts at text[i],
// past a few bytes of spaces, punctuation or markup.
func wordStartsAfter(text string, i int, w string, w8 *word8) bool {
	for k := 0; k < 6 && i < len(text) && !isWordByte(text[i]); k++ {
		i++
	}
	if i+len(w) > len(text) || i+len(w) < len(text) && isWordByte(text[i+len(w)]) {
		return false
	}
	return w8.equalAt(text, i) || sameWordAt(text, i, w)
}

// sameWordAt reports whether text[i:] reads as w, with the tolerance of
// fuzzyWord for substitutions: letters OCR confuses anywhere, and one other
// letter wrong in a word of six or more.
func sameWordAt(text string, i int, w string) bool {
	wrong := 0
	for k := range len(w) {
		if !sameLetter(text[i+k], w[k]) {
			if wrong++; wrong > 1 || len(w) < 6 {
				return false
			}
		}
	}
	return true
}

type scanner struct {
	patterns []swarPattern
	stems    []*stem
	// kernel is set when the trigger letters fit triggerPattern, so the
	// scan runs at vector speed; letters sharing a low nibble use the SWAR loop.
	kernel  bool
	pattern triggerPattern
	trigger [256]bool       // lowercase trigger letters
	letters [26]letterStems // by trigger letter
	// pairs[slot<<5|class of the byte before] has bit (class of the byte
	// after) set when some stem has the trigger between those two, and
	// thirds[slot<<5|class after] bit (class of the byte after that): two
	// lookups reject most hits (deploy, app, PR) without reading further.
	// Slot 0, for a trigger letter without a slot of its own, passes all.
	// A byte index needs no bounds check.
	slot   [256]uint8 // slot<<5 of a trigger letter, either case
	pairs  [256]uint32
	thirds [256]uint32
	cls    [256]uint8
	cls2   [256]uint8 // cls, with line breaks apart: a cell may wrap a word there
	// follows marks the bytes that follow a trigger letter in some stem.
	follows [256]bool
	// sights is set when the kernel also stops at "tf", for sightings.
	sights bool
}

// maxLinkURL is how long a link's URL may make a gap in raw text.
const maxLinkURL = 400

const (
	maxSlots = 4
	// classWrap is the class of a line break in cls2; classWide (28) that
	// of a byte of a multi-byte character, which may be an invisible one.
	classWrap = 29
	classWide = 28
	// anyClass passes every class in a pairs or thirds bitmap.
	anyClass = 1<<30 - 1
)

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

// letterStems are the stems of one trigger letter, by the classes of the
// two bytes after it, so that a hit tries only the stems it may start.
type letterStems struct {
	cell   [28][28]uint16 // 1 + index into groups; 0 for none
	groups [][]*stem
	discs  []disc // for each group
}

// disc tells a group's stems apart by one letter: at bytes after the
// trigger, stem k has letter[k]. at is 0 when no letter does (a group of
// one, or stems that start at different offsets or are prefixes of others).
type disc struct {
	at     int
	letter []byte
}

// discOf returns the disc of a group.
func discOf(group []*stem) disc {
	if len(group) < 2 {
		return disc{}
	}
	for at := 1; at < 16; at++ {
		var seen [256]bool
		d := disc{at: at}
		for _, st := range group {
			k := st.offset + at
			if st.offset != group[0].offset || k >= len(st.text) || seen[st.text[k]] {
				d.at = 0
				break
			}
			seen[st.text[k]] = true
			d.letter = append(d.letter, st.text[k])
		}
		if d.at > 0 {
			return d
		}
	}
	return disc{}
}

const (
	nextEnd   = 26 // the byte ends the word (or the text)
	nextOther = 27 // a digit or a byte of a multi-byte character
)

// nextClass folds a byte after a trigger: a letter by letter, else word end or other.
func nextClass(c byte) int {
	switch {
	case c|0x20 >= 'a' && c|0x20 <= 'z':
		return int(c|0x20) - 'a'
	case isWordByte(c):
		return nextOther
	}
	return nextEnd
}

// add files st under the byte classes c1, c2 after its trigger.
func (ls *letterStems) add(c1, c2 int, st *stem) {
	if ls.cell[c1][c2] == 0 {
		ls.groups = append(ls.groups, nil)
		ls.cell[c1][c2] = uint16(len(ls.groups))
	}
	g := &ls.groups[ls.cell[c1][c2]-1]
	*g = append(*g, st)
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
		if i < maxSlots {
			s.slot[c] = uint8(i+1) << 5
			s.slot[c-'a'+'A'] = uint8(i+1) << 5
		}
	}
	for k := range 32 {
		s.pairs[k], s.thirds[k] = anyClass, anyClass
	}
	for c := range 256 {
		s.cls[c] = byteClass(byte(c))
		s.cls2[c] = s.cls[c]
	}
	s.cls2['\n'], s.cls2['\r'] = classWrap, classWrap
	s.patterns = patternsFor(chosen)

	// Stems: the first trigger letter of each key's first word that has
	// one; then of its other words, and of long words after the key (a key
	// word broken by a screenshot's table layout leaves those to find it),
	// when the letter after the trigger already follows one: the kernel
	// passes a hit only when a known letter follows its trigger, so the
	// fewer followers, the fewer hits.
	seen := map[string]*stem{}
	keyStems := make([]map[*stem]bool, len(ts))
	for _, first := range []bool{true, false} {
		for ti, t := range ts {
			before, beforeTight := 0, 0
			total, totalTight := t.span(), t.spanTight()
			for _, e := range t.elems {
				if e.kind == elGap {
					total += maxLinkURL
				}
			}
			found := false
			if keyStems[ti] == nil {
				keyStems[ti] = map[*stem]bool{}
			}
			for k, e := range t.elems {
				if e.kind == elWord && (k < t.required || len(e.word) >= 7) {
					if pos := s.firstTrigger(e.word); pos >= 0 && (first && !found && k < t.required || !first && s.follows[followerOf(e.word, pos)]) {
						found = true
						st := s.addStem(seen, e.word, pos)
						if k < t.required {
							keyStems[ti][st] = true
						}
						// Markup and wide characters can make raw text longer than normalized.
						w := stemWin{bit: 1 << uint(ti%64), ti: ti, slot: uint8(ti % 64),
							back: before*3/2 + 64, fwd: (total-before)*3/2 + 64,
							backTight: beforeTight + 32, fwdTight: totalTight - beforeTight + 32,
							wordPos: pos, rest: len(e.word) - pos, prev: neighbour(t.elems, k, -1), next: neighbour(t.elems, k, 1)}
						w.prev8, w.next8 = newWord8(w.prev), newWord8(w.next)
						if !slices.Contains(st.wins, w) {
							st.wins = append(st.wins, w)
						}
						st.backTight, st.fwdTight = max(st.backTight, w.backTight), max(st.fwdTight, w.fwdTight)
					}
				}
				switch e.kind {
				case elWord:
					before += len(e.word) + 1
					beforeTight += len(e.word) + 1
				case elPunct:
					before += 2
					beforeTight += 2
				case elGap:
					// A gap may hold a Slack link ("(<https://…|Release
					// Notes>)"), whose URL the raw text carries in full.
					before += e.maxLen + 2 + maxLinkURL
					beforeTight += typicalValue
				default:
					before += e.maxLen + 2
					beforeTight += typicalValue
				}
			}
		}
	}
	// A key with several stems is sought only where two of them (or of the
	// long words after it) stand: one of its words may be misread, but not
	// all, and one word alone ("publish", "proceed") is common in chat
	// and logs.
	for _, st := range s.stems {
		for k := range st.wins {
			st.wins[k].quorum = min(2, len(keyStems[st.wins[k].ti]))
		}
	}
	for c := range s.letters {
		ls := &s.letters[c]
		for _, g := range ls.groups {
			ls.discs = append(ls.discs, discOf(g))
		}
	}
	s.pattern, s.kernel = newTriggerPattern(chosen, &s.follows)
	// The kernel also stops at "tf", so that the scan notes where the text
	// says "platform" (which names a version) without a pass of its own,
	// when the letters fit without making the kernel pass more.
	if s.kernel && !s.trigger['t'] {
		follows := s.follows
		follows['f'] = true
		if p, ok := newTriggerPattern(append(chosen, 't'), &follows); ok && p.anyNext == s.pattern.anyNext {
			s.pattern, s.sights = p, true
		}
	}
	return s
}

// sightings are where a text says "platform", the word before a version,
// noted by the scan on its way. complete is false when the scan did not
// look, or saw more than fit.
type sightings struct {
	pos      [8]int32
	n        int
	complete bool
}

// sight notes "platform" when the kernel's position i is the "tf" in it.
func (sg *sightings) sight(text string, i int) {
	p := i - 3
	if p < 0 || p+8 > len(text) || !strings.EqualFold(text[p:p+8], "platform") {
		return
	}
	if sg.n == len(sg.pos) {
		sg.complete = false
		return
	}
	sg.pos[sg.n] = int32(p)
	sg.n++
}

// firstTrigger returns the index of the first trigger letter in word, or -1.
func (s *scanner) firstTrigger(word string) int {
	for i := range len(word) {
		if s.trigger[word[i]] {
			return i
		}
	}
	return -1
}

// followerOf returns the byte after word[pos], a space at the word's end.
func followerOf(word string, pos int) byte {
	if pos+1 < len(word) {
		return word[pos+1]
	}
	return ' '
}

// addStem returns the stem of the trigger at word[pos], adding it when new.
func (s *scanner) addStem(seen map[string]*stem, word string, pos int) *stem {
	// The whole word (or twelve letters of a longer one), with its word
	// boundaries: "publishing" is not "Publish".
	lo := max(0, min(pos-6, len(word)-12))
	hi := min(len(word), lo+12)
	text := word[lo:hi]
	key := text + "\x00" + string(rune(pos-lo))
	if st := seen[key]; st != nil {
		return st
	}
	st := &stem{text: text, offset: pos - lo, wordStart: lo == 0, wordEnd: hi == len(word), id: uint8(min(len(seen), 63)), index: uint32(len(s.stems))}
	s.stems = append(s.stems, st)
	if onlyLetters(text) && len(text) <= 16 {
		st.words = (len(text) + 7) / 8
		for k := range len(text) {
			st.text8[k/8] |= uint64(text[k]) << (8 * (k % 8))
			st.mask8[k/8] |= 0xFF << (8 * (k % 8))
			st.fold8[k/8] |= 0x20 << (8 * (k % 8))
		}
	}
	seen[key] = st
	next := followerOf(word, pos)
	ls := &s.letters[word[pos]-'a']
	c1 := nextClass(next)
	switch {
	case c1 == nextEnd || pos+2 >= len(word):
		for c2 := range 28 {
			ls.add(c1, c2, st)
		}
	default:
		// A line break or an invisible character may follow instead.
		ls.add(c1, nextClass(word[pos+2]), st)
		ls.add(c1, nextEnd, st)
		ls.add(c1, nextOther, st)
	}
	s.follows[next] = true
	s.allow(word, pos, true)
	return st
}

// allow lets the pair and third filters pass the trigger at word[pos]:
// after the letter before it, or any byte when the stem may start inside
// a word (wordStart false).
func (s *scanner) allow(word string, pos int, wordStart bool) {
	sl := s.slot[word[pos]]
	if sl == 0 {
		return
	}
	class := func(i int) uint8 {
		if i < 0 || i >= len(word) {
			return 0
		}
		return s.cls[word[i]]
	}
	after := class(pos + 1)
	for prev := range uint8(32) {
		// At a word's start the byte before may also end a wide
		// character: a typographic quote („Producer) or an invisible one.
		if prev == class(pos-1) || pos == 0 && (!wordStart || prev == classWide) {
			s.pairs[sl|prev] |= 1 << after
		}
	}
	if pos+1 >= len(word) {
		// The trigger ends the word: anything may follow its boundary.
		s.thirds[sl|after] = anyClass
		return
	}
	// A line break or an invisible character may sit inside the word.
	s.thirds[sl|after] |= 1<<class(pos+2) | 1<<classWrap | 1<<classWide
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

// scan appends to out the regions of text that may hold a message, in
// order, and notes in sg where the text says "platform".
func (s *scanner) scan(text string, out []region, sg *sightings) []region {
	if !s.kernel {
		var buf [16]hit
		return s.regionsOf(text, s.hitsSWAR(text, buf[:0]), out)
	}
	sg.complete = s.sights
	// Most texts hold no stem: this loop only looks for the first one,
	// without the hit buffer, and hands over its hits and the kernel's
	// positions after it, so no byte is scanned or checked twice.
	b := unsafe.Slice(unsafe.StringData(text), len(text))
	var pos [16]int32
	for at := 0; at < len(b); {
		n, next := triggerPositions(b[at:], &s.pattern, pos[:])
		for j, k := range pos[:n] {
			i := at + int(k)
			if s.sights && text[i]|0x20 == 't' {
				sg.sight(text, i)
				continue
			}
			if !s.pass(text, i) {
				continue
			}
			var first [2]hit
			if hs := s.check(text, i, first[:0]); len(hs) > 0 {
				return s.scanFrom(text, hs, at, pos[j+1:n], at+next, out, sg)
			}
		}
		at += next
	}
	return out
}

// scanFrom is scan from its first hits on, with the kernel's positions
// pending after them (relative to base).
func (s *scanner) scanFrom(text string, first []hit, base int, pending []int32, resume int, out []region, sg *sightings) []region {
	var buf [16]hit
	return s.regionsOf(text, s.hits(text, base, pending, resume, append(buf[:0], first...), sg), out)
}

// regionsOf is regions, for a text with hits or none.
func (s *scanner) regionsOf(text string, hits []hit, out []region) []region {
	if len(hits) == 0 {
		return out
	}
	return s.regions(text, hits, out)
}

// hit is a stem found in a text, at its trigger letter: pointer-free, so
// a buffer of them is cheap to clear.
type hit struct {
	pos  int32
	stem uint32 // index in scanner.stems
}

// hits appends to out the stems that stand at the kernel's positions
// pending (relative to base) and from resume on, in order.
func (s *scanner) hits(text string, base int, pending []int32, resume int, out []hit, sg *sightings) []hit {
	for _, k := range pending {
		out = s.checkAt(text, base+int(k), out, sg)
	}
	// A read-only byte view of the string: the scan kernels take bytes.
	b := unsafe.Slice(unsafe.StringData(text), len(text))
	// One kernel call collects up to 16 hits: a call per hit would cost
	// more than the scan itself on a short line, and few pass the
	// kernel's follower test.
	var pos [16]int32
	for at := resume; at < len(b); {
		n, next := triggerPositions(b[at:], &s.pattern, pos[:])
		for _, k := range pos[:n] {
			out = s.checkAt(text, at+int(k), out, sg)
		}
		at += next
	}
	return out
}

// checkAt records the stems that stand at the kernel's position i, or the
// "platform" seen there.
func (s *scanner) checkAt(text string, i int, out []hit, sg *sightings) []hit {
	if s.sights && text[i]|0x20 == 't' {
		sg.sight(text, i)
		return out
	}
	if s.pass(text, i) {
		out = s.check(text, i, out)
	}
	return out
}

// hitsSWAR is hits for trigger letters the kernel cannot take, eight
// bytes at a time.
func (s *scanner) hitsSWAR(text string, out []hit) []hit {
	b := unsafe.Slice(unsafe.StringData(text), len(text))
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:]) | 0x2020202020202020
		var m uint64
		for _, p := range s.patterns {
			x := w&p.and ^ p.xor
			m |= (x - ones) &^ x & highs
		}
		// A zero-byte mask is exact at its lowest bit, possibly loose
		// above it: each byte is checked again.
		for ; m != 0; m &= m - 1 {
			if k := i + bits.TrailingZeros64(m)>>3; s.trigger[text[k]|0x20] && s.pass(text, k) {
				out = s.check(text, k, out)
			}
		}
	}
	for ; i < len(b); i++ {
		if s.trigger[text[i]|0x20] && s.pass(text, i) {
			out = s.check(text, i, out)
		}
	}
	return out
}

// pass filters the trigger letter at i by the byte before it and the two
// after it. It is small enough to inline: it runs for every trigger letter.
func (s *scanner) pass(text string, i int) bool {
	if i < 1 || i+2 >= len(text) {
		return true // check reads the edges with care
	}
	sl, after := s.slot[text[i]], s.cls[text[i+1]]
	return (s.pairs[sl|s.cls[text[i-1]]]>>(after&31))&(s.thirds[sl|after]>>(s.cls2[text[i+2]]&31))&1 != 0
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

// check records the stems that stand at the trigger letter at i.
func (s *scanner) check(text string, i int, out []hit) []hit {
	group, d := s.candidates(text, i)
	// One letter tells most groups' stems apart: the stem it names is
	// checked first, and when it stands no other can (they start at the
	// same offset and differ there). A line break or an invisible
	// character may stand there instead: then all are checked.
	if d.at > 0 && i+d.at < len(text) {
		c := lowerByte(text[i+d.at])
		for k, l := range d.letter {
			if l == c {
				if st := group[k]; st.standsAt(text, i) {
					return append(out, hit{pos: int32(i), stem: st.index})
				}
				break
			}
		}
	}
	for _, st := range group {
		if st.standsAt(text, i) {
			out = append(out, hit{pos: int32(i), stem: st.index})
		}
	}
	return out
}

// candidates returns the stems of the trigger letter at i that the
// letter after it may continue, and their disc.
func (s *scanner) candidates(text string, i int) ([]*stem, disc) {
	c := text[i] | 0x20
	if c < 'a' || c > 'z' {
		return nil, disc{}
	}
	c1, c2 := nextEnd, nextEnd
	if i+1 < len(text) {
		c1 = nextClass(text[i+1])
	}
	if i+2 < len(text) {
		c2 = nextClass(text[i+2])
	}
	ls := &s.letters[c-'a']
	if g := ls.cell[c1][c2]; g > 0 {
		return ls.groups[g-1], ls.discs[g-1]
	}
	return nil, disc{}
}

// standsAt reports whether the stem stands in text with its trigger at i.
func (st *stem) standsAt(text string, i int) bool {
	lo := i - st.offset
	if lo < 0 {
		return false
	}
	end := lo + len(st.text)
	if eq, broken := st.equalAt(text, lo); !eq {
		if !broken {
			return false
		}
		if end = stemAt(text, lo, st.text); end < 0 {
			return false
		}
	}
	return !(st.wordStart && wordBefore(text, lo)) && !(st.wordEnd && wordAt(text, end))
}

// fitting is a stem's window at a hit whose neighbouring words fit.
type fitting struct {
	pos int
	w   *stemWin
}

// regions groups hits whose windows overlap into regions, each with the
// templates whose quorum of stems stands in it.
func (s *scanner) regions(text string, hits []hit, out []region) []region {
	// votes[ti] has a bit per stem of template ti in the current group;
	// touched marks the entries to clear after it.
	var votes [64]uint64
	// fit lists the wins whose neighbouring words stand beside their hit,
	// flat: the later loops then run once each, not once per hit.
	var fitBuf [32]fitting
	for i := 0; i < len(hits); {
		st := s.stems[hits[i].stem]
		end := int(hits[i].pos) + st.fwdTight
		j := i + 1
		for ; j < len(hits); j++ {
			st := s.stems[hits[j].stem]
			if int(hits[j].pos)-st.backTight > end {
				break
			}
			end = max(end, int(hits[j].pos)+st.fwdTight)
		}
		group := hits[i:j]
		i = j
		fit := fitBuf[:0]
		var touched uint64
		for _, h := range group {
			st := s.stems[h.stem]
			for k := range st.wins {
				if w := &st.wins[k]; w.fits(text, int(h.pos)) {
					votes[w.slot] |= 1 << st.id
					touched |= 1 << w.slot
					fit = append(fit, fitting{pos: int(h.pos), w: w})
				}
			}
		}
		r := region{start: len(text), fullStart: len(text)}
		for _, f := range fit {
			if w := f.w; bits.OnesCount64(votes[w.slot]) >= w.quorum {
				r.start, r.end = min(r.start, f.pos-w.backTight), max(r.end, f.pos+w.fwdTight)
				r.fullStart, r.fullEnd = min(r.fullStart, f.pos-w.back), max(r.fullEnd, f.pos+w.fwd)
				r.mask |= w.bit
			}
		}
		for ; touched != 0; touched &= touched - 1 {
			votes[bits.TrailingZeros64(touched)] = 0
		}
		r.start, r.fullStart = max(0, r.start), max(0, r.fullStart)
		r.end, r.fullEnd = min(len(text), r.end), min(len(text), r.fullEnd)
		if r.mask == 0 {
			continue
		}
		r.start = wordStartBefore(text, r.start)
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

// equalAt reports whether the stem stands at text[lo:] as written, in any
// ASCII case, comparing eight bytes at a time. When it does not, broken
// says whether the first byte that differs may break the word (a line
// break, a byte of an invisible character), or equalAt could not tell:
// then stemAt must decide.
func (st *stem) equalAt(text string, lo int) (eq, broken bool) {
	if st.words == 0 || lo+8*st.words > len(text) {
		return false, true
	}
	b := unsafe.Slice(unsafe.StringData(text[lo:]), 8*st.words)
	for k := range st.words {
		if x := (binary.LittleEndian.Uint64(b[8*k:])&st.mask8[k] | st.fold8[k]) ^ st.text8[k]; x != 0 {
			c := b[8*k+bits.TrailingZeros64(x)/8]
			return false, c == '\n' || c == '\r' || c >= 0x80
		}
	}
	return true, false
}

// wordStartBefore moves i back to the start of the word it is in (a little
// way at most), so a window does not begin with half a word.
func wordStartBefore(text string, i int) int {
	for k := 0; k < 32 && i > 0 && text[i-1] > ' '; k++ {
		i--
	}
	return i
}
