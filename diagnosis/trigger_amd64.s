//go:build amd64 && !purego

#include "textflag.h"

// MATCH32 sets out to 0xFF in each byte of in (clobbered) that the pattern
// selects: ((in|0x20)&and1 == xor1) | ((in|0x20)&and2 == xor2).
// Y0 = 0x20, Y1 = and1, Y2 = xor1, Y3 = and2, Y4 = xor2, all broadcast.
#define MATCH32(in, tmp, out) \
	VPOR     Y0, in, in;   \
	VPAND    Y1, in, out;  \
	VPAND    Y3, in, tmp;  \
	VPCMPEQB Y2, out, out; \
	VPCMPEQB Y4, tmp, tmp; \
	VPOR     tmp, out, out

// func indexTriggerAVX2(b []byte, p triggerPattern) int
// Requires AVX2 and len(b) >= 32. Reads only inside b.
TEXT ·indexTriggerAVX2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX

	// VEX-encoded only (VMOVD, not MOVQ AX, X0): a legacy SSE write to an
	// X register after a 256-bit op costs a state transition, measured
	// here at ~450 ns per call with MOVQ.
	MOVL         $0x20, AX
	VMOVD        AX, X0
	VPBROADCASTB X0, Y0
	VPBROADCASTB p_and1+24(FP), Y1
	VPBROADCASTB p_xor1+25(FP), Y2
	VPBROADCASTB p_and2+26(FP), Y3
	VPBROADCASTB p_xor2+27(FP), Y4

	MOVQ SI, DI             // DI: next block
	LEAQ (SI)(BX*1), DX     // DX: end of b
	CMPQ BX, $64
	JB   block32
	LEAQ -64(DX), R8        // last start of a 64-byte block

	// 64 bytes per iteration: one test and branch for two vectors.
loop64:
	VMOVDQU (DI), Y5
	VMOVDQU 32(DI), Y6
	MATCH32(Y5, Y8, Y7)
	MATCH32(Y6, Y10, Y9)
	VPOR    Y7, Y9, Y10
	VPTEST  Y10, Y10
	JNZ     found64
	ADDQ    $64, DI
	CMPQ    DI, R8
	JBE     loop64

block32:
	LEAQ -32(DX), R8        // start of the last 32 bytes; >= SI
	CMPQ DI, R8
	JA   tail
	VMOVDQU   (DI), Y5
	MATCH32(Y5, Y8, Y7)
	VPMOVMSKB Y7, AX
	TESTL     AX, AX
	JNZ       found
	ADDQ      $32, DI

tail:
	// Fewer than 32 bytes left: test the last 32 bytes of b. The bytes
	// before DI in that block were tested already and hold no match, so
	// the lowest set bit is the first match of the tail.
	CMPQ      DI, DX
	JEQ       notfound
	MOVQ      R8, DI
	VMOVDQU   (DI), Y5
	MATCH32(Y5, Y8, Y7)
	VPMOVMSKB Y7, AX
	TESTL     AX, AX
	JNZ       found

notfound:
	MOVQ $-1, ret+32(FP)
	VZEROUPPER
	RET

found64:
	VPMOVMSKB Y7, AX
	TESTL     AX, AX
	JNZ       found
	VPMOVMSKB Y9, AX
	ADDQ      $32, DI

found:
	// BSF, not TZCNT: AX != 0 here, and BSF needs no BMI1 check.
	BSFL AX, AX
	SUBQ SI, DI
	ADDQ DI, AX
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET
