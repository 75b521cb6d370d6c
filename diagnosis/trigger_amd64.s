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

// func triggerPositionsAVX2(b []byte, p triggerPattern, out []int32) (n int, next int)
// Requires AVX2, len(b) >= 32, len(out) >= 1 and len(b) <= MaxInt32.
// Reads only inside b.
//
// Offsets, not pointers: DI is the index in b of the next unscanned byte,
// so it is also the base of the positions of the block just loaded, and
// R8 = len(b)-64 may be negative (signed compares) when b is short.
//
//	SI  b base            BX  len(b)           DI  next unscanned index
//	R8  len(b)-64         R12 out base         R13 len(out)
//	R9  n                 R11 index of bit 0 of AX
//	AX  mask of the block being reported       R10 last position, DX, CX temps
TEXT ·triggerPositionsAVX2(SB), NOSPLIT, $0-72
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	MOVQ out_base+32(FP), R12
	MOVQ out_len+40(FP), R13

	// VEX-encoded only, as in indexTriggerAVX2.
	MOVL         $0x20, AX
	VMOVD        AX, X0
	VPBROADCASTB X0, Y0
	VPBROADCASTB p_and1+24(FP), Y1
	VPBROADCASTB p_xor1+25(FP), Y2
	VPBROADCASTB p_and2+26(FP), Y3
	VPBROADCASTB p_xor2+27(FP), Y4

	XORL DI, DI
	XORL R9, R9
	LEAQ -64(BX), R8

	// 64 bytes per iteration, both masks in one 64-bit word.
loop64:
	CMPQ      DI, R8
	JGT       rest
	VMOVDQU   (SI)(DI*1), Y5
	VMOVDQU   32(SI)(DI*1), Y6
	MATCH32(Y5, Y8, Y7)
	MATCH32(Y6, Y10, Y9)
	VPMOVMSKB Y7, AX
	VPMOVMSKB Y9, DX
	SHLQ      $32, DX
	ORQ       DX, AX
	MOVQ      DI, R11
	ADDQ      $64, DI
	TESTQ     AX, AX
	JZ        loop64

	// Report every set bit of AX, lowest first, then go on scanning at DI.
	// No BMI1 needed: LEA+AND, not BLSR, and REP BSF, which is the encoding
	// of TZCNT (F3 0F BC). A CPU without BMI1 ignores the prefix and runs
	// BSF; one with it runs TZCNT, measured ~25% faster per call here (AMD
	// EPYC, where BSF is slow). Both agree since AX != 0, and the flags,
	// where they differ, are not read.
bits:
	REP; BSFQ AX, R10
	ADDQ R11, R10
	MOVL R10, (R12)(R9*4)
	INCQ R9
	CMPQ R9, R13
	JEQ  full
	LEAQ -1(AX), DX
	ANDQ DX, AX
	JNZ  bits
	JMP  loop64

	// Fewer than 64 bytes left: at most one 32-byte block, then a tail.
	// Each is reached at most once per call.
rest:
	MOVQ      BX, DX
	SUBQ      DI, DX            // DX: bytes left, 0..63
	CMPQ      DX, $32
	JB        tail
	VMOVDQU   (SI)(DI*1), Y5
	MATCH32(Y5, Y8, Y7)
	VPMOVMSKB Y7, AX            // zero-extends into RAX
	MOVQ      DI, R11
	ADDQ      $32, DI
	TESTQ     AX, AX
	JZ        rest
	JMP       bits

tail:
	// 0 < DX < 32 bytes left: test the last 32 bytes of b (len(b) >= 32)
	// and shift out the bits of the 32-DX bytes before DI, already
	// reported; bit 0 is then byte DI.
	TESTQ     DX, DX
	JZ        done
	LEAQ      -32(BX), CX       // start of the last 32 bytes
	VMOVDQU   (SI)(CX*1), Y5
	MATCH32(Y5, Y8, Y7)
	VPMOVMSKB Y7, AX
	NEGQ      CX
	ADDQ      DI, CX            // CX = DI - (len(b)-32) = 32 - DX, in 1..31
	SHRQ      CX, AX
	MOVQ      DI, R11
	MOVQ      BX, DI            // all of b scanned once these are reported
	TESTQ     AX, AX
	JNZ       bits

done:
	MOVQ R9, n+56(FP)
	MOVQ BX, next+64(FP)
	VZEROUPPER
	RET

full:
	// out is full: resume one past the position just written (R10).
	INCQ R10
	MOVQ R9, n+56(FP)
	MOVQ R10, next+64(FP)
	VZEROUPPER
	RET
