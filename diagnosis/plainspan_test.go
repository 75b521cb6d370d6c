package diagnosis

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// plainSpanRef is the definition of plainSpan.
func plainSpanRef(s string) int {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c > 0x20 && c < 0x7F && !strings.ContainsRune("<&`*_~:", rune(c)) {
			continue
		}
		if c == ' ' && k+1 < len(s) && s[k+1] != ' ' {
			continue
		}
		return k
	}
	return len(s)
}

func checkPlainSpan(t *testing.T, s string) {
	t.Helper()
	want := plainSpanRef(s)
	if got := plainSpan(s); got != want {
		t.Fatalf("plainSpan(%q) = %d, want %d", s, got, want)
	}
	if got := plainSpanGeneric(s); got != want {
		t.Fatalf("plainSpanGeneric(%q) = %d, want %d", s, got, want)
	}
}

// TestPlainSpan puts every byte value, and a double space, at every
// position of lengths up to 100 (the kernel from 33 bytes on).
func TestPlainSpan(t *testing.T) {
	t.Logf("useAVX2 = %v", useAVX2)
	base := strings.Repeat("Producer module 'Billing-CS' hasn't been prepared. ", 3)
	for n := 0; n <= 100; n++ {
		b := []byte(base[:n])
		checkPlainSpan(t, string(b))
		for pos := range n {
			old := b[pos]
			for c := range 256 {
				b[pos] = byte(c)
				checkPlainSpan(t, string(b))
			}
			b[pos] = ' '
			if pos+1 < n {
				b[pos+1] = ' '
				checkPlainSpan(t, string(b))
				b[pos+1] = base[pos+1]
			}
			b[pos] = old
		}
	}
}

func TestPlainSpanRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab Z09 :_*~<&`\n\t\x00\x7f\xc2\xa0'.,-"
	for range 20000 {
		b := make([]byte, r.IntN(200))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = "abcdefgh ijklmn"[r.IntN(15)]
			}
		}
		checkPlainSpan(t, string(b))
	}
}

func FuzzPlainSpan(f *testing.F) {
	f.Add("Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.")
	f.Add(strings.Repeat("a ", 40) + " ")
	f.Fuzz(func(t *testing.T, s string) {
		for off := 0; off < min(len(s), 40); off++ {
			checkPlainSpan(t, s[off:])
		}
	})
}

// TestLowerASCII checks both paths against strings.Map on every byte value
// at every position of lengths up to 80 (the kernel from 32 bytes on).
func TestLowerASCII(t *testing.T) {
	ref := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	base := strings.Repeat("Producer MODULE 'Billing_CS' @[`{ ", 3)
	for n := 0; n <= 80; n++ {
		b := []byte(base[:n])
		for pos := range max(n, 1) {
			for c := 0; c < 256 && n > 0; c++ {
				b[pos] = byte(c)
				src := string(b)
				want := ref(src)
				for _, f := range []func([]byte, string){lowerASCII, lowerASCIIGeneric} {
					dst := make([]byte, n+1)
					dst[n] = '#'
					f(dst[:n], src)
					if string(dst[:n]) != want || dst[n] != '#' {
						t.Fatalf("lower of %q = %q, want %q (or wrote past the end)", src, dst, want)
					}
				}
			}
			if n > 0 {
				b[pos] = base[pos]
			}
		}
	}
}

func checkPlainMask(t *testing.T, s string) {
	t.Helper()
	var got, generic [4]uint64
	for i := range got {
		got[i], generic[i] = 0x5555, 0x5555 // stale bits must be overwritten
	}
	plainMask(s, got[:])
	plainMaskGeneric(s, generic[:])
	for k := range len(s) {
		want := plainSpanRef(s[k:]) == 0
		if bit := got[k/64]>>(k%64)&1 == 1; bit != want {
			t.Fatalf("plainMask(%q) bit %d = %v, want %v", s, k, bit, want)
		}
		if bit := generic[k/64]>>(k%64)&1 == 1; bit != want {
			t.Fatalf("plainMaskGeneric(%q) bit %d = %v, want %v", s, k, bit, want)
		}
	}
}

// TestPlainMask checks both paths against plainSpan's definition with
// every byte value, and a double space, at every position of lengths up
// to 200 (whole kernel blocks from 65 bytes on, the padded last block
// below that).
func TestPlainMask(t *testing.T) {
	base := strings.Repeat("Producer module 'Billing-CS' hasn't been prepared. ", 5)
	for _, n := range []int{0, 1, 2, 31, 32, 33, 63, 64, 65, 66, 127, 128, 129, 130, 200} {
		b := []byte(base[:n])
		checkPlainMask(t, string(b))
		for pos := range n {
			old := b[pos]
			for _, c := range []byte{' ', ':', '_', '\n', 0, 0x7f, 0x80, 0xff, '<', 'a', '~'} {
				b[pos] = c
				checkPlainMask(t, string(b))
			}
			if pos+1 < n {
				b[pos], b[pos+1] = ' ', ' '
				checkPlainMask(t, string(b))
				b[pos+1] = base[pos+1]
			}
			b[pos] = old
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "ab Z09 :_*~<&`\n\t\x00\x7f\xc2\xa0'.,-"
	for range 5000 {
		b := make([]byte, r.IntN(256))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		checkPlainMask(t, string(b))
	}
}

// TestAsIs pins which texts normalize takes as they are (orig is then the
// text itself), and checks on random text that every one it takes is one
// the byte-by-byte fold leaves unchanged.
func TestAsIs(t *testing.T) {
	log := "2024-03-12 10:15:02 ERROR Old Producer: Producer module 'Billing_CS' hasn't been prepared.\n2024-03-12 10:16:00 INFO Rolling back module Orders, step 3 of 40\n"
	tests := []struct {
		in        string
		lineStart bool
		want      bool
	}{
		{log, true, true},
		{strings.Repeat(log, 12), false, true}, // many 64-byte blocks
		{"x ", false, true},
		{"x:", false, true},
		{"time 10:15:02 and snake_case", false, true},
		{"two  spaces", false, false},
		{"line \nbreak", false, false},
		{"see\n> quoted", false, false},
		{"see\n- bullet", false, false},
		{"see\n1. item", false, false},
		{"see\n123. item", false, false},
		{"log\n2024-03-12 10:15", false, true},
		{"log\n12) x", false, false},
		{"log\n12:30 x", false, true},
		{"a _stressed_ word", false, false},
		{"an :emoji: here", false, false},
		{"R&amp;D", false, false},
		{"<http://x.y|x.y>", false, false},
		{"x\u00a0y", false, false},
		{"crlf\r\nnext", false, false},
		{"tab\tthere", false, true},
		{"tab\t there", false, false},
		{"R&D and Men's Café 10:15 a.m.", false, true},
		{"„quoted”", false, false},
		{"line\n\nbreak", false, false},
		{"- bullet", true, false},
		{"- bullet", false, true},
		{" lead", false, false},
		{"", false, false},
		{strings.Repeat("a", 64*maxAsIs+1), false, false},
	}
	for _, tt := range tests {
		if got := asIs(tt.in, tt.lineStart); got != tt.want {
			t.Errorf("asIs(%q, %v) = %v, want %v", tt.in, tt.lineStart, got, tt.want)
		}
		checkAsIs(t, tt.in, tt.lineStart)
	}
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = "ab Z09 :_*~<&`>-+.)\n\t\x00\xc2\xa0'"
	taken := 0
	for range 20000 {
		b := make([]byte, 1+r.IntN(300))
		for i := range b {
			if r.IntN(8) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = "abcdefgh ijklmn"[r.IntN(15)]
			}
		}
		if checkAsIs(t, string(b), r.IntN(2) == 0) {
			taken++
		}
	}
	if taken < 1000 {
		t.Errorf("only %d random texts were taken as they are: the test checks too little", taken)
	}
}

// checkAsIs checks that when asIs takes s, fold leaves it unchanged, and
// that normalizeFrom then shares s's bytes.
func checkAsIs(t *testing.T, s string, lineStart bool) bool {
	t.Helper()
	if !asIs(s, lineStart) {
		return false
	}
	var folded normalized
	fold(s, lineStart, &folded)
	if string(folded.orig) != s {
		t.Fatalf("asIs(%q, %v) is true, but fold makes it %q", s, lineStart, folded.orig)
	}
	var n normalized
	normalizeFrom(s, lineStart, &n)
	if !n.asIs || string(n.orig) != s || string(n.lower) != string(folded.lower) {
		t.Fatalf("normalizeFrom(%q) took it as it is = %v, orig %q lower %q", s, n.asIs, n.orig, n.lower)
	}
	return true
}

func FuzzAsIs(f *testing.F) {
	f.Add("2024-03-12 10:15:02 ERROR Old Producer: Producer module 'Billing_CS' hasn't been prepared.\n", true)
	f.Add("snake_case and a*b\n-5 degrees\n12) x", false)
	f.Fuzz(func(t *testing.T, s string, lineStart bool) {
		checkPlainMask(t, s[:min(len(s), 256)])
		checkAsIs(t, s, lineStart)
	})
}
