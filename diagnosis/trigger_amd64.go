//go:build amd64 && !purego

package diagnosis

const haveAsm = true

// indexTriggerAVX2 is indexTrigger for len(b) >= 32 on a CPU with AVX2
// (trigger_amd64.s). Shorter input would make it read before b.
//
//go:noescape
func indexTriggerAVX2(b []byte, p triggerPattern) int
