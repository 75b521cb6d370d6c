package diagnosis

import (
	"encoding/binary"
	"math"
	"math/bits"

	"golang.org/x/sys/cpu"
)

// triggerPattern selects the bytes c with (c|0x20)&and1 == xor1 or
// (c|0x20)&and2 == xor2. The |0x20 folds ASCII case; a mask without one
// bit pairs two letters in one test (and 0xFE, xor 0x70: p P q Q). Set the
// second test equal to the first when only one is needed.
type triggerPattern struct{ and1, xor1, and2, xor2 byte }

// useAVX2 is read once: the CPU cannot change under a running process, and
// a plain bool costs the hot path one predictable branch. haveAsm is false
// when the kernel is not built (other GOARCH, or -tags purego).
var useAVX2 = haveAsm && cpu.X86.HasAVX2

// indexTrigger returns the index of the first byte of b selected by p, or -1.
func indexTrigger(b []byte, p triggerPattern) int {
	// The kernel needs one full 32-byte vector: it handles its tail by
	// re-reading the last 32 bytes instead of reading past the end.
	if useAVX2 && len(b) >= 32 {
		return indexTriggerAVX2(b, p)
	}
	return indexTriggerGeneric(b, p)
}

// indexTriggerGeneric is the portable path: SWAR, eight bytes per step.
func indexTriggerGeneric(b []byte, p triggerPattern) int {
	if len(b) < 8 {
		for i, c := range b {
			c |= 0x20
			if c&p.and1 == p.xor1 || c&p.and2 == p.xor2 {
				return i
			}
		}
		return -1
	}
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
		fold  = 0x2020202020202020
	)
	and1, xor1 := uint64(p.and1)*ones, uint64(p.xor1)*ones
	and2, xor2 := uint64(p.and2)*ones, uint64(p.xor2)*ones
	// zeros marks the bytes of w that the pattern selects. The zero-byte
	// test can also mark bytes above a true zero, never below one, so the
	// lowest mark is exact; that is all a first-index search needs.
	zeros := func(w uint64) uint64 {
		w |= fold
		x, y := w&and1^xor1, w&and2^xor2
		return ((x-ones)&^x | (y-ones)&^y) & highs
	}
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if m := zeros(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	// The tail re-reads the last eight bytes: those already read hold no
	// true zero, so they cannot mark a byte, and the lowest mark is the
	// first selected byte of the tail.
	if i < len(b) {
		i = len(b) - 8
		if m := zeros(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return -1
}

// triggerPositions writes to out, in increasing order, the index in b of
// every byte of b selected by p, stopping as soon as out is full. It returns
// n, the number of positions written (out[:n]), and next, the index in b at
// which a following call must resume: len(b) once the whole of b has been
// scanned, otherwise (out full) one past the last position written, so that
// no position is lost or repeated across calls:
//
//	for at := 0; at < len(b); {
//		n, next := triggerPositions(b[at:], p, out)
//		// use at+int(out[i]) for i < n
//		at += next
//	}
//
// Positions are relative to b. With len(out) == 0 it returns 0, 0 and the
// loop above would not advance: out must hold at least one position.
// Positions are int32: b longer than math.MaxInt32 is scanned up to there
// and next says where to resume, as if out had filled.
func triggerPositions(b []byte, p triggerPattern, out []int32) (n int, next int) {
	if len(out) == 0 {
		return 0, 0
	}
	if len(b) > math.MaxInt32 {
		b = b[:math.MaxInt32]
	}
	// Same rule as indexTrigger: the kernel re-reads the last full vector
	// for its tail, so it needs 32 bytes.
	if useAVX2 && len(b) >= 32 {
		return triggerPositionsAVX2(b, p, out)
	}
	return triggerPositionsGeneric(b, p, out)
}

// triggerPositionsGeneric is the portable triggerPositions, eight bytes per
// step. It requires len(out) > 0 and len(b) <= math.MaxInt32.
func triggerPositionsGeneric(b []byte, p triggerPattern, out []int32) (n int, next int) {
	if len(b) < 8 {
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
	const (
		ones  = 0x0101010101010101
		lows  = 0x7F7F7F7F7F7F7F7F
		highs = 0x8080808080808080
		fold  = 0x2020202020202020
	)
	and1, xor1 := uint64(p.and1)*ones, uint64(p.xor1)*ones
	and2, xor2 := uint64(p.and2)*ones, uint64(p.xor2)*ones
	// marks sets the high bit of exactly the bytes of w that p selects.
	// Unlike the borrow trick of indexTriggerGeneric it is exact in every
	// byte ((x&0x7F)+0x7F cannot carry out of a byte), so every mark is a
	// position and none needs checking again.
	marks := func(w uint64) uint64 {
		w |= fold
		x, y := w&and1^xor1, w&and2^xor2
		x |= (x & lows) + lows // high bit set iff the byte is nonzero
		y |= (y & lows) + lows
		return ^(x & y) & highs // zero in either test
	}
	i := 0
	for ; i+8 <= len(b); i += 8 {
		for m := marks(binary.LittleEndian.Uint64(b[i:])); m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			out[n] = int32(j)
			n++
			if n == len(out) {
				return n, j + 1
			}
		}
	}
	// The tail re-reads the last eight bytes and drops the marks of the
	// bytes before i, already reported.
	if i < len(b) {
		last := len(b) - 8
		m := marks(binary.LittleEndian.Uint64(b[last:])) >> (8 * uint(i-last))
		for ; m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			out[n] = int32(j)
			n++
			if n == len(out) {
				return n, j + 1
			}
		}
	}
	return n, len(b)
}
