//go:build amd64 && !purego

package diagnosis

const haveAsm = true

// triggerPositionsAVX2 is triggerPositions for len(b) >= 33 on a CPU with
// AVX2 (trigger_amd64.s); it also requires len(out) > 0 (it checks for a
// full out only after a write) and len(b) <= math.MaxInt32.
//
//go:noescape
func triggerPositionsAVX2(b []byte, p *triggerPattern, out []int32) (n int, next int)

// plainSpanAVX2 is plainSpan for len(s) >= 33 on a CPU with AVX2
// (trigger_amd64.s). Shorter input would make it read before s.
//
//go:noescape
func plainSpanAVX2(s string) int

// plainMaskAVX2 is plainMask for whole 64-byte blocks on a CPU with AVX2
// (trigger_amd64.s): it requires len(s) >= 64*len(out)+1, as it reads the
// byte after each block.
//
//go:noescape
func plainMaskAVX2(s string, out []uint64)

// lowerASCIIAVX2 is lowerASCII for len(dst) == len(src) >= 32 on a CPU
// with AVX2 (trigger_amd64.s).
//
//go:noescape
func lowerASCIIAVX2(dst []byte, src string)
