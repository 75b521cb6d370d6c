package diagnosis

import (
	"bytes"
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
