package diagnosis

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
	for k := 0; k < len(s); k++ {
		if c := s[k]; !plain[c] && (c != ' ' || k+1 >= len(s) || s[k+1] == ' ') {
			return k
		}
	}
	return len(s)
}
