//go:build amd64 && !purego

#include "textflag.h"

// MATCHPAIR sets out to 0xFF in each byte of x0 that the pattern selects,
// given x1, the 32 bytes one further on: trigger[c&15] == c for c =
// x0|0x20, and follow[f&15] == f for f = x1|0x20 or anyNext. VPSHUFB
// reads the low nibble of each index byte and gives 0 when its high bit
// is set, so a byte of a multi-byte character is in no set. x0, x1 and t
// are clobbered. Y0 = 0x20 and Y13 = anyNext broadcast, Y1 = trigger and
// Y11 = follow in both lanes.
#define MATCHPAIR(x0, x1, t, out) \
	VPOR     Y0, x0, x0;   \
	VPSHUFB  x0, Y1, out;  \
	VPCMPEQB x0, out, out; \
	VPOR     Y0, x1, x1;   \
	VPSHUFB  x1, Y11, t;   \
	VPCMPEQB x1, t, t;     \
	VPOR     Y13, t, t;    \
	VPAND    t, out, out

// func triggerPositionsAVX2(b []byte, p *triggerPattern, out []int32) (n int, next int)
// Requires AVX2, len(b) >= 33, len(out) >= 1 and len(b) <= MaxInt32.
// Reads only inside b.
//
// Offsets, not pointers: DI is the index in b of the next unscanned byte,
// so it is also the base of the positions of the block just loaded, and
// R8 = len(b)-65 may be negative (signed compares) when b is short.
//
//	SI  b base            BX  len(b)           DI  next unscanned index
//	R8  len(b)-65         R12 out base         R13 len(out)
//	R9  n                 R11 index of bit 0 of AX
//	AX  mask of the block being reported       R10 last position, DX, CX temps
TEXT ·triggerPositionsAVX2(SB), NOSPLIT, $0-72
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	MOVQ p+24(FP), CX
	MOVQ out_base+32(FP), R12
	MOVQ out_len+40(FP), R13

	// VEX-encoded only (VMOVD, not MOVQ AX, X0): a legacy SSE write to an
	// X register after a 256-bit op costs a state transition, measured
	// here at ~450 ns per call.
	MOVL           $0x20, AX
	VMOVD          AX, X0
	VPBROADCASTB   X0, Y0
	VBROADCASTI128 0(CX), Y1
	VBROADCASTI128 16(CX), Y11
	VPBROADCASTB   32(CX), Y13

	XORL DI, DI
	XORL R9, R9
	LEAQ -65(BX), R8

	// 64 bytes per iteration, both masks in one 64-bit word.
loop64:
	CMPQ      DI, R8
	JGT       rest
	VMOVDQU   (SI)(DI*1), Y5
	VMOVDQU   1(SI)(DI*1), Y6
	VMOVDQU   32(SI)(DI*1), Y7
	VMOVDQU   33(SI)(DI*1), Y8
	MATCHPAIR(Y5, Y6, Y9, Y10)
	MATCHPAIR(Y7, Y8, Y9, Y14)
	VPMOVMSKB Y10, AX
	VPMOVMSKB Y14, DX
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

	// Fewer than 65 bytes left: 32-byte blocks while a block and the byte
	// after it fit, then a tail. Each is reached at most twice per call.
rest:
	MOVQ      BX, DX
	SUBQ      DI, DX            // DX: bytes left, 0..64
	CMPQ      DX, $33
	JB        tail
	VMOVDQU   (SI)(DI*1), Y5
	VMOVDQU   1(SI)(DI*1), Y6
	MATCHPAIR(Y5, Y6, Y9, Y10)
	VPMOVMSKB Y10, AX           // zero-extends into RAX
	MOVQ      DI, R11
	ADDQ      $32, DI
	TESTQ     AX, AX
	JZ        rest
	JMP       bits

tail:
	// 0 <= DX <= 32 bytes left. Test the 32 positions len(b)-33 .. len(b)-2
	// with their followers (len(b) >= 33), and the last byte, which has
	// none, as bit 32; then shift out the bits of the 33-DX positions
	// before DI, already reported, so that bit 0 is byte DI.
	TESTQ     DX, DX
	JZ        done
	LEAQ      -33(BX), CX       // first position of the tail block
	VMOVDQU   (SI)(CX*1), Y5
	VMOVDQU   1(SI)(CX*1), Y6
	MATCHPAIR(Y5, Y6, Y9, Y10)
	// Y6 now holds the folded bytes len(b)-32 .. len(b)-1: its byte 31 is
	// the last byte, selected by the trigger set and anyNext.
	VPSHUFB   Y6, Y1, Y7
	VPCMPEQB  Y6, Y7, Y7
	VPAND     Y13, Y7, Y7
	VPMOVMSKB Y10, AX
	VPMOVMSKB Y7, R10
	SHRL      $31, R10
	SHLQ      $32, R10
	ORQ       R10, AX
	NEGQ      CX
	ADDQ      DI, CX            // CX = DI - (len(b)-33) = 33 - DX, in 1..32
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

// specialsA and specialsB hold the bytes plainSpan stops at among 0x21..
// 0x7E, at the index of their low nibble (two tables: * and : share one);
// 0x80 where there is none, which no byte VPSHUFB looks up can equal.
DATA specialsA<>+0(SB)/8, $0x8026808080808060  // [0] ` [6] &
DATA specialsA<>+8(SB)/8, $0x5F7E803C802A8080  // [A] * [C] < [E] ~ [F] _
GLOBL specialsA<>(SB), RODATA|NOPTR, $16
DATA specialsB<>+0(SB)/8, $0x8080808080808080
DATA specialsB<>+8(SB)/8, $0x80808080803A8080  // [A] :
GLOBL specialsB<>(SB), RODATA|NOPTR, $16

// PLAIN32 sets out to 0xFF in each byte of x that is plain: 0x20 < x <
// 0x7F and x not special. t and u are clobbered.
// Y0 = 0x20, Y1 = 0x7F broadcast; Y2, Y3 = specialsA, specialsB in both lanes.
#define PLAIN32(x, t, u, out) \
	VPCMPGTB Y0, x, out;   \
	VPCMPGTB x, Y1, t;     \
	VPAND    t, out, out;  \
	VPSHUFB  x, Y2, t;     \
	VPCMPEQB x, t, t;      \
	VPSHUFB  x, Y3, u;     \
	VPCMPEQB x, u, u;      \
	VPOR     u, t, t;      \
	VPANDN   out, t, out

// GOOD32 sets out to 0xFF in each byte of x that plainSpan copies, given
// x1, the 32 bytes one further on: x plain, or x a space and x1 not one.
#define GOOD32(x, x1, t, u, out) \
	PLAIN32(x, t, u, out); \
	VPCMPEQB Y0, x, t;     \
	VPCMPEQB Y0, x1, u;    \
	VPANDN   t, u, t;      \
	VPOR     t, out, out

// PLAINSETUP loads the constants of PLAIN32 and GOOD32 (clobbers AX),
// VEX-encoded only, as in triggerPositionsAVX2.
#define PLAINSETUP \
	MOVL           $0x20, AX;            \
	VMOVD          AX, X0;               \
	VPBROADCASTB   X0, Y0;               \
	MOVL           $0x7F, AX;            \
	VMOVD          AX, X1;               \
	VPBROADCASTB   X1, Y1;               \
	VBROADCASTI128 specialsA<>(SB), Y2;  \
	VBROADCASTI128 specialsB<>(SB), Y3

// func plainSpanAVX2(s string) int
// Requires AVX2 and len(s) >= 33. Reads only inside s.
//
//	SI  s base   BX  len(s)   DI  next index   R8  len(s)-33   AX, CX, DX temps
TEXT ·plainSpanAVX2(SB), NOSPLIT, $0-24
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX

	PLAINSETUP

	XORL DI, DI
	LEAQ -33(BX), R8

loop:
	CMPQ      DI, R8
	JGT       tail
	VMOVDQU   (SI)(DI*1), Y4
	VMOVDQU   1(SI)(DI*1), Y5
	GOOD32(Y4, Y5, Y6, Y7, Y8)
	VPMOVMSKB Y8, AX
	NOTL      AX
	TESTL     AX, AX
	JNZ       found
	ADDQ      $32, DI
	JMP       loop

tail:
	// Fewer than 33 bytes left, from DI. Test the 32 positions len(s)-33 ..
	// len(s)-2 with the bytes after them, and the last byte, which has none
	// (a space there stops the span), as bit 32; shift out the positions
	// before DI, already known good, so that bit 0 is byte DI.
	CMPQ      DI, BX
	JEQ       all
	VMOVDQU   (SI)(R8*1), Y4
	VMOVDQU   1(SI)(R8*1), Y5
	GOOD32(Y4, Y5, Y6, Y7, Y8)
	// The last byte, byte 31 of Y5: plain only.
	PLAIN32(Y5, Y6, Y7, Y10)
	VPMOVMSKB Y8, AX
	VPMOVMSKB Y10, DX
	SHRL      $31, DX
	SHLQ      $32, DX
	ORQ       DX, AX
	NOTQ      AX
	MOVQ      $0x1FFFFFFFF, DX
	ANDQ      DX, AX            // bad positions among the 33
	MOVQ      DI, CX
	SUBQ      R8, CX            // DI - (len(s)-33), in 1..33
	SHRQ      CX, AX
	TESTQ     AX, AX
	JZ        all
	BSFQ      AX, AX
	ADDQ      DI, AX
	MOVQ      AX, ret+16(FP)
	VZEROUPPER
	RET

found:
	BSFL AX, AX
	ADDQ DI, AX
	MOVQ AX, ret+16(FP)
	VZEROUPPER
	RET

all:
	MOVQ BX, ret+16(FP)
	VZEROUPPER
	RET

// func plainMaskAVX2(s string, out []uint64)
// Requires AVX2 and len(s) >= 64*len(out)+1. Reads only inside s.
// Bit k of out[w] is set when byte 64*w+k is not one plainSpan copies.
//
//	SI  next block of s   DI  next word of out   CX  words left   AX, DX temps
TEXT ·plainMaskAVX2(SB), NOSPLIT, $0-40
	MOVQ s_base+0(FP), SI
	MOVQ out_base+16(FP), DI
	MOVQ out_len+24(FP), CX

	PLAINSETUP

maskloop:
	TESTQ     CX, CX
	JZ        maskdone
	VMOVDQU   (SI), Y4
	VMOVDQU   1(SI), Y5
	GOOD32(Y4, Y5, Y6, Y7, Y8)
	VMOVDQU   32(SI), Y9
	VMOVDQU   33(SI), Y10
	GOOD32(Y9, Y10, Y6, Y7, Y11)
	VPMOVMSKB Y8, AX
	VPMOVMSKB Y11, DX
	SHLQ      $32, DX
	ORQ       DX, AX
	NOTQ      AX
	MOVQ      AX, (DI)
	ADDQ      $64, SI
	ADDQ      $8, DI
	DECQ      CX
	JMP       maskloop

maskdone:
	VZEROUPPER
	RET

// func lowerASCIIAVX2(dst []byte, src string)
// Requires AVX2 and len(dst) == len(src) >= 32. dst = src with A-Z
// lowercased. Reads only inside src, writes only inside dst; the last,
// partial block is done again as the last full 32 bytes.
TEXT ·lowerASCIIAVX2(SB), NOSPLIT, $0-40
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), BX

	MOVL         $0x40, AX      // 'A'-1
	VMOVD        AX, X0
	VPBROADCASTB X0, Y0
	MOVL         $0x5B, AX      // 'Z'+1
	VMOVD        AX, X1
	VPBROADCASTB X1, Y1
	MOVL         $0x20, AX
	VMOVD        AX, X2
	VPBROADCASTB X2, Y2

	XORL CX, CX
	LEAQ -32(BX), DX            // last start of a full block

lowerloop:
	CMPQ     CX, DX
	JGT      lowertail
	VMOVDQU  (SI)(CX*1), Y3
	VPCMPGTB Y0, Y3, Y4         // > '@'
	VPCMPGTB Y3, Y1, Y5         // < '['
	VPAND    Y5, Y4, Y4
	VPAND    Y2, Y4, Y4
	VPOR     Y4, Y3, Y3
	VMOVDQU  Y3, (DI)(CX*1)
	ADDQ     $32, CX
	JMP      lowerloop

lowertail:
	CMPQ     CX, BX
	JEQ      lowerdone
	MOVQ     DX, CX
	VMOVDQU  (SI)(CX*1), Y3
	VPCMPGTB Y0, Y3, Y4
	VPCMPGTB Y3, Y1, Y5
	VPAND    Y5, Y4, Y4
	VPAND    Y2, Y4, Y4
	VPOR     Y4, Y3, Y3
	VMOVDQU  Y3, (DI)(CX*1)

lowerdone:
	VZEROUPPER
	RET
