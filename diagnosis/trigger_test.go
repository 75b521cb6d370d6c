package diagnosis

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// indexTriggerRef is the definition of indexTrigger, one byte at a time.
func indexTriggerRef(b []byte, p triggerPattern) int {
	for i, c := range b {
		c |= 0x20
		if c&p.and1 == p.xor1 || c&p.and2 == p.xor2 {
			return i
		}
	}
	return -1
}

var (
	trigPQ = triggerPattern{0xFE, 0x70, 0xFE, 0x70} // p P q Q
	// trigJPQ: j J by the first test, p P q Q by the second.
	trigJPQ = triggerPattern{0xFF, 0x6A, 0xFE, 0x70}
)

// checkTrigger compares both paths with the reference. On amd64 with AVX2
// and len(b) >= 32, indexTrigger is the kernel.
func checkTrigger(t *testing.T, name string, b []byte, p triggerPattern, want int) {
	t.Helper()
	if ref := indexTriggerRef(b, p); ref != want {
		t.Fatalf("%s: reference = %d, want %d (bad test)", name, ref, want)
	}
	if got := indexTrigger(b, p); got != want {
		t.Errorf("%s: indexTrigger(%q, %+v) = %d, want %d", name, b, p, got, want)
	}
	if got := indexTriggerGeneric(b, p); got != want {
		t.Errorf("%s: indexTriggerGeneric(%q, %+v) = %d, want %d", name, b, p, got, want)
	}
}

func TestIndexTriggerTable(t *testing.T) {
	t.Logf("useAVX2 = %v", useAVX2)
	filler := func(n int) string { return strings.Repeat("abcdefghi ", n/10+1)[:n] }
	tests := []struct {
		name string
		in   string
		p    triggerPattern
		want int
	}{
		{"nil", "", trigPQ, -1},
		{"one hit", "p", trigPQ, 0},
		{"one miss", "o", trigPQ, -1},
		{"short miss", filler(31), trigPQ, -1},
		{"short hit", filler(20) + "Q" + filler(10), trigPQ, 20},
		{"32 miss", filler(32), trigPQ, -1},
		{"32 hit first", "q" + filler(31), trigPQ, 0},
		{"32 hit last", filler(31) + "P", trigPQ, 31},
		{"33 miss", filler(33), trigPQ, -1},
		{"33 hit last", filler(32) + "p", trigPQ, 32},
		{"33 hit first and last", "Q" + filler(31) + "p", trigPQ, 0},
		{"64 hit last", filler(63) + "q", trigPQ, 63},
		{"65 hit last", filler(64) + "P", trigPQ, 64},
		{"tail only", filler(200) + "p", trigPQ, 200},
		{"tail only after 32", filler(32+7) + "Q", trigPQ, 39},
		{"lower p", filler(40) + "p", trigPQ, 40},
		{"upper P", filler(40) + "P", trigPQ, 40},
		{"lower q", filler(40) + "q", trigPQ, 40},
		{"upper Q", filler(40) + "Q", trigPQ, 40},
		{"neighbours r s o", filler(40) + "rRsSoO", trigPQ, -1},
		// 0xF0|0x20 = 0xF0 and 0xD0|0x20 = 0xF0: bit 7 keeps them from p.
		{"high bytes miss", filler(40) + "\xf0\xf1\xd0\xd1\x80\xff" + filler(40), trigPQ, -1},
		{"high byte hit", filler(50) + "é" + filler(50), triggerPattern{0x80, 0x80, 0x80, 0x80}, 50},
		{"0xFF hit", filler(70) + "\xff", triggerPattern{0xFF, 0xFF, 0xFF, 0xFF}, 70},
		{"second pattern only", filler(45) + "Q" + filler(45), trigJPQ, 45},
		{"first pattern only", filler(45) + "J" + filler(45), trigJPQ, 45},
		{"first of either", filler(45) + "qj" + filler(45), trigJPQ, 45},
		// c|0x20 always has bit 5, so an xor without it never matches.
		{"impossible pattern", "PQ" + strings.Repeat("PpQq\x00\xff", 20), triggerPattern{0xFF, 0x50, 0xFF, 0x51}, -1},
		{"any byte", filler(40), triggerPattern{0, 0, 0, 0}, 0},
	}
	for _, tt := range tests {
		checkTrigger(t, tt.name, []byte(tt.in), tt.p, tt.want)
	}
}

// TestIndexTriggerPositions puts a hit at every position of every length
// up to 131 and every alignment, with a later second hit that must not win.
func TestIndexTriggerPositions(t *testing.T) {
	const maxLen = 131
	buf := make([]byte, maxLen+32)
	for n := 0; n <= maxLen; n++ {
		for off := range 32 {
			b := buf[off : off+n]
			for i := range b {
				b[i] = 'a' + byte(i%15) // a..o: no p or q
			}
			checkTrigger(t, "none", b, trigPQ, -1)
			for pos := range n {
				b[pos] = "pPqQ"[pos%4]
				if pos+5 < n {
					b[pos+5] = 'q'
				}
				checkTrigger(t, "hit", b, trigPQ, pos)
				b[pos] = 'a'
				if pos+5 < n {
					b[pos+5] = 'a'
				}
			}
			if t.Failed() {
				t.Fatalf("len %d offset %d failed", n, off)
			}
		}
	}
}

func FuzzIndexTrigger(f *testing.F) {
	f.Add([]byte("deploy of the billing app went fine, thanks Ana"), byte(0xFE), byte(0x70), byte(0xFE), byte(0x70), uint8(0))
	f.Add(bytes.Repeat([]byte("x"), 100), byte(0xFF), byte(0x78), byte(0xFF), byte(0x7A), uint8(3))
	f.Add([]byte(strings.Repeat("abc", 40)+"Q"), byte(0xFF), byte(0x6A), byte(0xFE), byte(0x70), uint8(1))
	f.Add([]byte("\x80\xff\x00 é"), byte(0x80), byte(0x80), byte(0), byte(1), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, and1, xor1, and2, xor2 byte, off uint8) {
		// off varies the alignment and start of the same data.
		if len(b) > 0 {
			b = b[int(off)%len(b):]
		}
		p := triggerPattern{and1, xor1, and2, xor2}
		want := indexTriggerRef(b, p)
		if got := indexTrigger(b, p); got != want {
			t.Errorf("indexTrigger(%q, %+v) = %d, want %d", b, p, got, want)
		}
		if got := indexTriggerGeneric(b, p); got != want {
			t.Errorf("indexTriggerGeneric(%q, %+v) = %d, want %d", b, p, got, want)
		}
	})
}

// triggerBenchPattern (z Z { [ and j J) is absent from the benchmark texts,
// so every call scans the whole input, as for an ordinary chat line.
var triggerBenchPattern = triggerPattern{0xFE, 0x7A, 0xFF, 0x6A}

var triggerChat200 = func() string {
	s := "morning all! deploy of the billing app to QA went fine, thanks Ana. can someone review my PR for the new invoice screen before lunch? also the dashboard looks a bit slow today, I'll have a look later on, cheers"
	return s[:200]
}()

var triggerSink int

// benchTrigger times the kernel (what indexTrigger dispatches to here),
// the portable path, and strings.IndexByte of an absent byte on the same
// text: the floor of one read. Compare kernel with indexbyte.
func benchTrigger(b *testing.B, text string) {
	buf := []byte(text)
	if i := indexTriggerRef(buf, triggerBenchPattern); i >= 0 {
		b.Fatalf("pattern present at %d", i)
	}
	if strings.IndexByte(text, 0) >= 0 {
		b.Fatal("NUL present")
	}
	b.Run("kernel", func(b *testing.B) {
		if !useAVX2 {
			b.Log("no AVX2 kernel: this is the portable path")
		}
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			triggerSink += indexTrigger(buf, triggerBenchPattern)
		}
	})
	b.Run("generic", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			triggerSink += indexTriggerGeneric(buf, triggerBenchPattern)
		}
	})
	b.Run("indexbyte", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			triggerSink += strings.IndexByte(text, 0)
		}
	})
}

func BenchmarkIndexTrigger200(b *testing.B) { benchTrigger(b, triggerChat200) }

func BenchmarkIndexTrigger4K(b *testing.B) {
	benchTrigger(b, strings.Repeat(triggerChat200+"\n", 21)[:4096])
}

// triggerPositionsRef is the definition of triggerPositions, one byte at a
// time.
func triggerPositionsRef(b []byte, p triggerPattern, out []int32) (n int, next int) {
	if len(out) == 0 {
		return 0, 0
	}
	for i, c := range b {
		c |= 0x20
		if c&p.and1 == p.xor1 || c&p.and2 == p.xor2 {
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
func allPositionsRef(b []byte, p triggerPattern) []int32 {
	var all []int32
	for i, c := range b {
		c |= 0x20
		if c&p.and1 == p.xor1 || c&p.and2 == p.xor2 {
			all = append(all, int32(i))
		}
	}
	return all
}

type positionsFunc func([]byte, triggerPattern, []int32) (int, int)

// collectPositions calls f with an out of capacity outCap, resuming at next
// until all of b is scanned, and checks every call against the reference
// (which fixes n and next exactly, not only their union) and that out[n:]
// is left alone. On amd64 with AVX2 and len(b[at:]) >= 32, triggerPositions
// is the kernel.
func collectPositions(t *testing.T, name string, f positionsFunc, b []byte, p triggerPattern, outCap int) []int32 {
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
func checkPositions(t *testing.T, name string, b []byte, p triggerPattern, outCap int, want []int32) {
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
		p    triggerPattern
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
		{"any byte 131", filler(131), triggerPattern{0, 0, 0, 0}, every(131)},
		{"neighbours r s o", filler(40) + "rRsSoO", trigPQ, nil},
		{"high bytes miss", filler(40) + "\xf0\xf1\xd0\xd1\x80\xff" + filler(40), trigPQ, nil},
		{"high byte hits", filler(50) + "é" + filler(50), triggerPattern{0x80, 0x80, 0x80, 0x80}, []int32{50, 51}},
		{"0xFF hit", filler(70) + "\xff", triggerPattern{0xFF, 0xFF, 0xFF, 0xFF}, []int32{70}},
		{"both tests", filler(45) + "Qj" + filler(20) + "J" + filler(9) + "p", trigJPQ, []int32{45, 46, 67, 77}},
		{"impossible pattern", "PQ" + strings.Repeat("PpQq\x00\xff", 20), triggerPattern{0xFF, 0x50, 0xFF, 0x51}, nil},
		// The zero-byte borrow trick would mark 'q' (x=1) above 'p' (x=0)
		// under and 0xFF xor 0x70: the exact test must not.
		{"no borrow marks", strings.Repeat("pq", 40), triggerPattern{0xFF, 0x70, 0xFF, 0x70}, func() []int32 {
			var s []int32
			for i := int32(0); i < 80; i += 2 {
				s = append(s, i)
			}
			return s
		}()},
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
				b[i] = 'a' + byte(i%15) // a..o: no p or q
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
			}
			if t.Failed() {
				t.Fatalf("len %d offset %d failed", n, off)
			}
		}
	}
}

func FuzzTriggerPositions(f *testing.F) {
	f.Add([]byte("deploy of the billing app went fine, thanks Ana"), byte(0xFE), byte(0x70), byte(0xFE), byte(0x70), uint8(0), uint8(4))
	f.Add(bytes.Repeat([]byte("x"), 100), byte(0xFF), byte(0x78), byte(0xFF), byte(0x7A), uint8(3), uint8(1))
	f.Add([]byte(strings.Repeat("abc", 40)+"Q"), byte(0xFF), byte(0x6A), byte(0xFE), byte(0x70), uint8(1), uint8(2))
	f.Add([]byte(strings.Repeat("pq", 70)), byte(0xFF), byte(0x70), byte(0xFF), byte(0x70), uint8(0), uint8(69))
	f.Add([]byte("\x80\xff\x00 é"), byte(0x80), byte(0x80), byte(0), byte(1), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, and1, xor1, and2, xor2 byte, off, outCap uint8) {
		// off varies the alignment and start of the same data.
		if len(b) > 0 {
			b = b[int(off)%len(b):]
		}
		p := triggerPattern{and1, xor1, and2, xor2}
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

// triggerPositionsBenchPattern selects p P q Q: 5 hits in triggerChat200
// (deploy, app, QA, PR), as a scan for a trigger meets them.
var triggerPositionsBenchPattern = triggerPattern{0xFE, 0x70, 0xFE, 0x70}

// benchTriggerPositions times collecting every hit of text: triggerPositions
// with an out of 64 (one call at 200 bytes, resuming if it fills), the
// portable path the same way, indexTrigger called once per hit, and
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
	b.Run("indexloop", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			total := 0
			for at := 0; ; {
				i := indexTrigger(buf[at:], p)
				if i < 0 {
					break
				}
				total++
				at += i + 1
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
