//go:build !amd64 || purego

package diagnosis

// No kernel here: haveAsm keeps useAVX2 false, so triggerPositions always
// takes the portable path and this stub is never reached.
const haveAsm = false

func triggerPositionsAVX2(b []byte, p *triggerPattern, out []int32) (n int, next int) {
	return triggerPositionsGeneric(b, p, out)
}

func plainSpanAVX2(s string) int { return plainSpanGeneric(s) }

func plainMaskAVX2(s string, out []uint64) {
	clear(out)
	for k := range 64 * len(out) {
		if plainStops(s, k) {
			out[k/64] |= 1 << (k % 64)
		}
	}
}

func lowerASCIIAVX2(dst []byte, src string) { lowerASCIIGeneric(dst, src) }
