package diagnosis

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// must returns the pattern newTriggerPattern made, which must fit.
func must(p triggerPattern, ok bool) *triggerPattern {
	if !ok {
		panic("bad test pattern")
	}
	return &p
}

// set returns the bytes of s as a set.
func set(s string) *[256]bool {
	var f [256]bool
	for _, c := range []byte(s) {
		f[c] = true
	}
	return &f
}

var (
	trigPQ  = must(newTriggerPattern([]byte("pq"), set(" "))) // p P q Q, anything after
	trigJPQ = must(newTriggerPattern([]byte("jpq"), set(" ")))
	// trigScan is the scanner's: p or q followed by d, g, r or u.
	trigScan = must(newTriggerPattern([]byte("pq"), set("dgru")))
)

var triggerChat200 = func() string {
	s := "morning all! deploy of the billing app to QA went fine, thanks Ana. can someone review my PR for the new invoice screen before lunch? also the dashboard looks a bit slow today, I'll have a look later on, cheers"
	return s[:200]
}()

var triggerSink int

func TestNewTriggerPattern(t *testing.T) {
	for _, tt := range []struct {
		triggers string
		ok       bool
	}{{"pq", true}, {"jpq", true}, {"", true}, {"abcdefghijklmno", true}, {"eu", false}, {"p1", false}, {"P", false}} {
		if _, ok := newTriggerPattern([]byte(tt.triggers), set("")); ok != tt.ok {
			t.Errorf("triggers %q: ok = %v, want %v", tt.triggers, ok, tt.ok)
		}
	}
	tests := []struct {
		letters string
		anyNext bool
	}{
		{"dgru", false},
		{"", false},
		{"abcdefghijklmno", false},
		{"eu", true}, // e and u share the low nibble 5
		{"a ", true}, // a space follows: a trigger ends a word
		{"a1", true},
	}
	for _, tt := range tests {
		p := must(newTriggerPattern([]byte("pq"), set(tt.letters)))
		if got := p.anyNext != 0; got != tt.anyNext {
			t.Errorf("followers %q: anyNext = %v, want %v", tt.letters, got, tt.anyNext)
		}
		if tt.anyNext {
			continue
		}
		for c := range 256 {
			b := []byte{'p', byte(c)}
			want := strings.ContainsRune(tt.letters, rune(c|0x20)) && (c|0x20) >= 'a' && (c|0x20) <= 'z' && c < 0x80
			if got := p.selects(b, 0); got != want {
				t.Errorf("followers %q: p then %q selected = %v, want %v", tt.letters, rune(c), got, want)
			}
		}
	}
}

// triggerPositionsRef is the definition of triggerPositions, one byte at a
// time.
func triggerPositionsRef(b []byte, p *triggerPattern, out []int32) (n int, next int) {
	if len(out) == 0 {
		return 0, 0
	}
	for i := range b {
		if p.selects(b, i) {
			out[n] = int32(i)
			n++
			if n == len(out) {
				return n, i + 1
			}
		}
	}
	return n, len(b)
}

// allPositionsRef lists every position of b that p selects.
func allPositionsRef(b []byte, p *triggerPattern) []int32 {
	var all []int32
	for i := range b {
		if p.selects(b, i) {
			all = append(all, int32(i))
		}
	}
	return all
}

type positionsFunc func([]byte, *triggerPattern, []int32) (int, int)

// collectPositions calls f with an out of capacity outCap, resuming at next
// until all of b is scanned, and checks every call against the reference
// (which fixes n and next exactly, not only their union) and that out[n:]
// is left alone. On amd64 with AVX2 and len(b[at:]) >= 33, triggerPositions
// is the kernel.
func collectPositions(t *testing.T, name string, f positionsFunc, b []byte, p *triggerPattern, outCap int) []int32 {
	t.Helper()
	const guard = -7
	var all []int32
	out := make([]int32, outCap)
	ref := make([]int32, outCap)
	for at, calls := 0, 0; at < len(b) || calls == 0; calls++ {
		if calls > len(b)+1 {
			t.Fatalf("%s: no progress at %d of %d", name, at, len(b))
		}
		for i := range out {
			out[i] = guard
		}
		n, next := f(b[at:], p, out)
		rn, rnext := triggerPositionsRef(b[at:], p, ref)
		if n != rn || next != rnext || !slices.Equal(out[:n], ref[:rn]) {
			t.Fatalf("%s: at %d cap %d: got n=%d next=%d %v, want n=%d next=%d %v (input %q, %+v)",
				name, at, outCap, n, next, out[:n], rn, rnext, ref[:rn], b[at:], p)
		}
		for i := n; i < len(out); i++ {
			if out[i] != guard {
				t.Fatalf("%s: at %d: out[%d] = %d written past n = %d", name, at, i, out[i], n)
			}
		}
		for _, pos := range out[:n] {
			all = append(all, int32(at)+pos)
		}
		at += next
	}
	return all
}

// checkPositions runs collectPositions for triggerPositions and the portable
// path and compares the union with every position.
func checkPositions(t *testing.T, name string, b []byte, p *triggerPattern, outCap int, want []int32) {
	t.Helper()
	if ref := allPositionsRef(b, p); !slices.Equal(ref, want) {
		t.Fatalf("%s: reference = %v, want %v (bad test)", name, ref, want)
	}
	for _, f := range []struct {
		name string
		f    positionsFunc
	}{{"triggerPositions", triggerPositions}, {"triggerPositionsGeneric", triggerPositionsGeneric}} {
		if got := collectPositions(t, name+" "+f.name, f.f, b, p, outCap); !slices.Equal(got, want) {
			t.Errorf("%s: %s cap %d collected %v, want %v", name, f.name, outCap, got, want)
		}
	}
}

func TestTriggerPositionsTable(t *testing.T) {
	t.Logf("useAVX2 = %v", useAVX2)
	filler := func(n int) string { return strings.Repeat("abcdefghi ", n/10+1)[:n] }
	every := func(n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(i)
		}
		return s
	}
	tests := []struct {
		name string
		in   string
		p    *triggerPattern
		want []int32
	}{
		{"empty", "", trigPQ, nil},
		{"one hit", "p", trigPQ, []int32{0}},
		{"one miss", "o", trigPQ, nil},
		{"7 all", "pPqQpPq", trigPQ, every(7)},
		{"8 all", "pPqQpPqQ", trigPQ, every(8)},
		{"short miss", filler(31), trigPQ, nil},
		{"short hits", "p" + filler(9) + "Q" + filler(10) + "qq" + filler(7) + "P", trigPQ, []int32{0, 10, 21, 22, 30}},
		{"32 miss", filler(32), trigPQ, nil},
		{"32 first and last", "q" + filler(30) + "P", trigPQ, []int32{0, 31}},
		{"33 miss", filler(33), trigPQ, nil},
		{"33 first and last", "Q" + filler(31) + "p", trigPQ, []int32{0, 32}},
		{"33 around 32", filler(31) + "pq", trigPQ, []int32{31, 32}},
		{"64 edges", "p" + filler(30) + "qQ" + filler(30) + "P", trigPQ, []int32{0, 31, 32, 63}},
		{"65 edges", "p" + filler(62) + "qQ", trigPQ, []int32{0, 63, 64}},
		{"96 +1", filler(95) + "pq", trigPQ, []int32{95, 96}},
		{"tail only", filler(200) + "p", trigPQ, []int32{200}},
		{"tail only after 32", filler(32+7) + "Q", trigPQ, []int32{39}},
		{"tail only after 64", filler(64+31) + "q", trigPQ, []int32{95}},
		// Hits in the bytes the tail re-reads must not be reported twice.
		{"hits in re-read bytes", filler(40) + "pp" + filler(30) + "q", trigPQ, []int32{40, 41, 72}},
		{"all 32", strings.Repeat("pQ", 16), trigPQ, every(32)},
		{"all 33", strings.Repeat("Pq", 16) + "p", trigPQ, every(33)},
		{"all 64", strings.Repeat("qPpQ", 16), trigPQ, every(64)},
		{"all 65", strings.Repeat("qPpQ", 16) + "p", trigPQ, every(65)},
		{"all 200", strings.Repeat("qPpQ", 50), trigPQ, every(200)},
		{"neighbours r s o", filler(40) + "rRsSoO", trigPQ, nil},
		{"high bytes miss", filler(40) + "\xf0\xf1\xd0\xd1\x80\xff" + filler(40), trigPQ, nil},
		{"high bytes with a trigger's low nibble", filler(40) + "\xf0\xd0\x90\xf1\xd1" + filler(40), trigPQ, nil},
		{"both tests", filler(45) + "Qj" + filler(20) + "J" + filler(9) + "p", trigJPQ, []int32{45, 46, 67, 77}},
		{"no triggers", "PQ" + strings.Repeat("PpQq\x00\xff", 20), must(newTriggerPattern(nil, set(" "))), nil},
		{"p, not q", strings.Repeat("pq", 40), must(newTriggerPattern([]byte("p"), set(" "))), func() []int32 {
			var s []int32
			for i := int32(0); i < 80; i += 2 {
				s = append(s, i)
			}
			return s
		}()},
		// Followers: only a trigger followed by d, g, r or u, either case.
		{"followers", "upgrade, app, PR, QA, pd, pq" + filler(40) + "qU", trigScan, []int32{1, 14, 22, 68}},
		{"follower is the next byte", filler(40) + "p-r p\nr p\u200br pR", trigScan, []int32{54}},
		{"no follower at the end", filler(40) + "p", trigScan, nil},
		{"follower is the last byte", filler(40) + "pr", trigScan, []int32{40}},
		{"follower across 32", filler(31) + "pr" + filler(40), trigScan, []int32{31}},
		{"follower across 64", filler(63) + "pg" + filler(40), trigScan, []int32{63}},
		{"follower just past the tail block", filler(64) + "pu", trigScan, []int32{64}},
		{"high byte after", filler(40) + "p\xf2p\xd2" + filler(9), trigScan, nil},
	}
	for _, tt := range tests {
		for _, outCap := range []int{1, 2, 3, 5, 64, 200} {
			checkPositions(t, tt.name, []byte(tt.in), tt.p, outCap, tt.want)
		}
	}
}

func TestTriggerPositionsEmptyOut(t *testing.T) {
	for _, s := range []string{"", "p", strings.Repeat("p", 40), strings.Repeat("a", 40)} {
		if n, next := triggerPositions([]byte(s), trigPQ, nil); n != 0 || next != 0 {
			t.Errorf("triggerPositions(%q, nil) = %d, %d, want 0, 0", s, n, next)
		}
	}
}

// TestTriggerPositionsEvery puts one or two hits at every position of every
// length up to 131 and many alignments, with out capacities 1, 2, 3 and 64.
func TestTriggerPositionsEvery(t *testing.T) {
	const maxLen = 131
	buf := make([]byte, maxLen+32)
	for n := 0; n <= maxLen; n++ {
		for _, off := range []int{0, 1, 7, 13, 31} {
			b := buf[off : off+n]
			for i := range b {
				b[i] = 'a' + byte(i%15) // a..o: no p or q, and no r or u after one
			}
			for _, outCap := range []int{1, 2, 3, 64} {
				checkPositions(t, "none", b, trigPQ, outCap, nil)
			}
			for pos := range n {
				b[pos] = "pPqQ"[pos%4]
				want := []int32{int32(pos)}
				checkPositions(t, "one", b, trigPQ, 1, want)
				checkPositions(t, "one", b, trigPQ, 64, want)
				if pos+5 < n {
					b[pos+5] = 'q'
					want = append(want, int32(pos+5))
				}
				for _, outCap := range []int{1, 2, 3, 64} {
					checkPositions(t, "two", b, trigPQ, outCap, want)
				}
				b[pos] = 'a'
				if pos+5 < n {
					b[pos+5] = 'a'
				}
				// The follower test: a pair at pos, its follower cut off by
				// the end when pos is the last byte.
				b[pos] = "pPqQ"[pos%4]
				want = nil
				if pos+1 < n {
					b[pos+1] = "rRuU"[pos%4]
					want = []int32{int32(pos)}
				}
				for _, outCap := range []int{1, 64} {
					checkPositions(t, "pair", b, trigScan, outCap, want)
				}
				b[pos] = 'a' + byte(pos%15)
				if pos+1 < n {
					b[pos+1] = 'a' + byte((pos+1)%15)
				}
			}
			if t.Failed() {
				t.Fatalf("len %d offset %d failed", n, off)
			}
		}
	}
}

func FuzzTriggerPositions(f *testing.F) {
	f.Add([]byte("deploy of the billing app went fine, thanks Ana"), "pq", uint8(0), uint8(4), " ")
	f.Add(bytes.Repeat([]byte("x"), 100), "xz", uint8(3), uint8(1), "x")
	f.Add([]byte(strings.Repeat("abc", 40)+"Q"), "jpq", uint8(1), uint8(2), " ")
	f.Add([]byte(strings.Repeat("pq", 70)), "p", uint8(0), uint8(69), "q")
	f.Add([]byte("\x80\xff\x00 é"), "p", uint8(0), uint8(0), "")
	f.Add([]byte(strings.Repeat("upgrade PR qu ", 9)), "pq", uint8(0), uint8(9), "dgru")
	f.Fuzz(func(t *testing.T, b []byte, triggers string, off, outCap uint8, followers string) {
		// off varies the alignment and start of the same data.
		if len(b) > 0 {
			b = b[int(off)%len(b):]
		}
		pv, ok := newTriggerPattern([]byte(triggers), set(followers))
		if !ok {
			return
		}
		p := &pv
		c := 1 + int(outCap)%70
		want := allPositionsRef(b, p)
		if got := collectPositions(t, "triggerPositions", triggerPositions, b, p, c); !slices.Equal(got, want) {
			t.Errorf("triggerPositions cap %d on %q, %+v: %v, want %v", c, b, p, got, want)
		}
		if got := collectPositions(t, "triggerPositionsGeneric", triggerPositionsGeneric, b, p, c); !slices.Equal(got, want) {
			t.Errorf("triggerPositionsGeneric cap %d on %q, %+v: %v, want %v", c, b, p, got, want)
		}
	})
}

// triggerPositionsBenchPattern is the scanner's: 1 hit in triggerChat200
// (PR), where p and q alone have 5 (deploy, app, QA, PR).
var triggerPositionsBenchPattern = trigScan

// benchTriggerPositions times collecting every hit of text: triggerPositions
// with an out of 64 (one call at 200 bytes, resuming if it fills), the
// portable path the same way, the kernel without the follower test, and
// strings.IndexByte of an absent byte (the floor of one read).
func benchTriggerPositions(b *testing.B, text string) {
	buf := []byte(text)
	p := triggerPositionsBenchPattern
	hits := len(allPositionsRef(buf, p))
	if strings.IndexByte(text, 0) >= 0 {
		b.Fatal("NUL present")
	}
	var out [64]int32
	collect := func(f positionsFunc) int {
		total := 0
		for at := 0; at < len(buf); {
			n, next := f(buf[at:], p, out[:])
			total += n
			at += next
		}
		return total
	}
	if got := collect(triggerPositions); got != hits {
		b.Fatalf("triggerPositions found %d hits, want %d", got, hits)
	}
	b.Logf("%d bytes, %d hits, useAVX2 = %v", len(buf), hits, useAVX2)
	// Direct calls, as the scanner makes them: collect's func value would
	// add an indirect call per call.
	b.Run("positions", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			total := 0
			for at := 0; at < len(buf); {
				n, next := triggerPositions(buf[at:], p, out[:])
				total += n
				at += next
			}
			triggerSink += total
		}
	})
	b.Run("generic", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			total := 0
			for at := 0; at < len(buf); {
				n, next := triggerPositionsGeneric(buf[at:], p, out[:])
				total += n
				at += next
			}
			triggerSink += total
		}
	})
	b.Run("anynext", func(b *testing.B) {
		// The same letters with any byte following: the follower test's cost.
		q := *p
		q.anyNext, q.follow = 0xFF, [16]byte{}
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			total := 0
			for at := 0; at < len(buf); {
				n, next := triggerPositions(buf[at:], &q, out[:])
				total += n
				at += next
			}
			triggerSink += total
		}
	})
	b.Run("indexbyte", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			triggerSink += strings.IndexByte(text, 0)
		}
	})
}

func BenchmarkTriggerPositions200(b *testing.B) { benchTriggerPositions(b, triggerChat200) }

func BenchmarkTriggerPositions4K(b *testing.B) {
	benchTriggerPositions(b, strings.Repeat(triggerChat200+"\n", 21)[:4096])
}

// TestCheckByDisc checks that telling a group's stems apart by one letter
// finds the same stems as checking each of them, at every trigger letter
// of the corpora, also with line breaks and invisible characters put
// inside their words.
func TestCheckByDisc(t *testing.T) {
	s := New(Builtin()).scan
	withDisc := 0
	for _, ls := range s.letters {
		for _, d := range ls.discs {
			if d.at > 0 {
				withDisc++
			}
		}
	}
	if withDisc == 0 {
		t.Fatal("no group has a disc: the test checks nothing")
	}
	r := rand.New(rand.NewPCG(7, 8))
	var texts []string
	for _, name := range corpora {
		for _, c := range loadCorpus(t, name) {
			texts = append(texts, c.Text)
			for range 4 {
				b := []byte(c.Text)
				for range 1 + len(b)/40 {
					k := r.IntN(len(b) + 1)
					ins := []string{"\n", "\r\n", "\u200b", "\u00ad"}[r.IntN(4)]
					b = append(b[:k], append([]byte(ins), b[k:]...)...)
				}
				texts = append(texts, string(b))
			}
		}
	}
	found := 0
	for _, text := range texts {
		for i := range len(text) {
			if !s.trigger[text[i]|0x20] {
				continue
			}
			got := s.check(text, i, nil)
			var want []hit
			group, _ := s.candidates(text, i)
			for _, st := range group {
				if st.standsAt(text, i) {
					want = append(want, hit{pos: int32(i), stem: st.index})
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("check(%q, %d) = %v, want %v", text, i, got, want)
			}
			found += len(got)
		}
	}
	if found < 1000 {
		t.Errorf("only %d stems found in the corpora: the test checks too little", found)
	}
}
