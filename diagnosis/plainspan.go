package diagnosis

import (
	"strings"
	"unsafe"
)

// plainSpan returns the length of the longest prefix of s that normalize
// copies as it is: plain bytes (see plain), and spaces not followed by
// another space. A space at the very end is left out, as what follows it
// is not known.
func plainSpan(s string) int {
	// The kernel reads each block and the byte after it; its tail re-reads
	// the last 33 bytes instead of reading past the end.
	if useAVX2 && len(s) >= 33 {
		return plainSpanAVX2(s)
	}
	return plainSpanGeneric(s)
}

// plainSpanGeneric is the portable plainSpan, a byte at a time.
func plainSpanGeneric(s string) int {
	for k := range len(s) {
		if plainStops(s, k) {
			return k
		}
	}
	return len(s)
}

// plainMask sets bit k%64 of out[k/64] for each byte s[k] that plainSpan
// stops at, and clears the others; the bits past len(s) in the last word
// are set. It requires len(out) >= (len(s)+63)/64.
func plainMask(s string, out []uint64) {
	if !useAVX2 {
		plainMaskGeneric(s, out)
		return
	}
	// The kernel reads the byte after each block: the last block, with
	// none after it, is copied and padded with spaces, which stop a space.
	full := max(0, len(s)-1) / 64
	if full > 0 {
		plainMaskAVX2(s, out[:full])
	}
	if rest := s[64*full:]; len(rest) > 0 {
		pad := spaces65
		copy(pad[:], rest)
		plainMaskAVX2(unsafe.String(&pad[0], len(pad)), out[full:full+1])
	}
}

// spaces65 pads plainMask's last block.
var spaces65 = [65]byte([]byte(strings.Repeat(" ", 65)))

// plainMaskGeneric is the portable plainMask, a byte at a time.
func plainMaskGeneric(s string, out []uint64) {
	words := (len(s) + 63) / 64
	clear(out[:words])
	for k := range len(s) {
		if plainStops(s, k) {
			out[k/64] |= 1 << (k % 64)
		}
	}
	if tail := len(s) % 64; tail != 0 {
		out[words-1] |= ^uint64(0) << tail
	}
}

// plainStops reports whether plainSpan stops at s[k].
func plainStops(s string, k int) bool {
	c := s[k]
	return !plain[c] && (c != ' ' || k+1 >= len(s) || s[k+1] == ' ')
}
