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
