package diagnosis

import (
	"math"

	"golang.org/x/sys/cpu"
)

// triggerPattern selects a trigger letter followed by a follower letter,
// either in either case. A letter c is in a set when set[c&15] == c, so a
// set holds at most one of the two letters that share a low nibble (a q,
// b r, …); newTriggerPattern says when the letters do not fit. With
// anyNext set to 0xFF any byte follows, and a trigger at the end of the
// text, with nothing after it, is selected too.
type triggerPattern struct {
	trigger, follow [16]byte
	anyNext         byte
}

// newTriggerPattern returns the pattern of the lowercase letters in
// triggers and follows; anyNext when a follower is not a letter (a
// trigger ends a word) or two share a low nibble. It reports false when
// the triggers are not lowercase letters with distinct low nibbles.
func newTriggerPattern(triggers []byte, follows *[256]bool) (triggerPattern, bool) {
	var p triggerPattern
	for _, c := range triggers {
		if c < 'a' || c > 'z' || p.trigger[c&15] != 0 {
			return p, false
		}
		p.trigger[c&15] = c
	}
	for c, ok := range follows {
		if !ok {
			continue
		}
		if c < 'a' || c > 'z' || p.follow[c&15] != 0 {
			p.anyNext, p.follow = 0xFF, [16]byte{}
			break
		}
		p.follow[c&15] = byte(c)
	}
	return p, true
}

// useAVX2 is read once: the CPU cannot change under a running process, and
// a plain bool costs the hot path one predictable branch. haveAsm is false
// when the kernel is not built (other GOARCH, or -tags purego).
var useAVX2 = haveAsm && cpu.X86.HasAVX2

// selects reports whether p selects the byte at b[i].
func (p *triggerPattern) selects(b []byte, i int) bool {
	if c := b[i] | 0x20; p.trigger[c&15] != c {
		return false
	}
	if p.anyNext != 0 {
		return true
	}
	if i+1 >= len(b) {
		return false
	}
	f := b[i+1] | 0x20
	return p.follow[f&15] == f
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
// Positions are int32: b longer than math.MaxInt32 is scanned up to there,
// as if it ended there, and next says where to resume.
func triggerPositions(b []byte, p *triggerPattern, out []int32) (n int, next int) {
	if len(out) == 0 {
		return 0, 0
	}
	if len(b) > math.MaxInt32 {
		b = b[:math.MaxInt32]
	}
	// The kernel reads each block and the block one byte on; for its tail
	// it re-reads the last 33 bytes instead of reading past the end.
	if useAVX2 && len(b) >= 33 {
		return triggerPositionsAVX2(b, p, out)
	}
	return triggerPositionsGeneric(b, p, out)
}

// triggerPositionsGeneric is the portable triggerPositions, a byte at a
// time. It requires len(out) > 0 and len(b) <= math.MaxInt32.
func triggerPositionsGeneric(b []byte, p *triggerPattern, out []int32) (n int, next int) {
	for j := range b {
		if !p.selects(b, j) {
			continue
		}
		out[n] = int32(j)
		n++
		if n == len(out) {
			return n, j + 1
		}
	}
	return n, len(b)
}
