// Package suggest finds the closest known word to a mistyped one, for
// "did you mean …?" messages.
package suggest

// Distance is the edit distance of a and b, in bytes: letters inserted,
// deleted, replaced, or two side by side swapped (the commonest typo:
// "stauts"), each one edit.
func Distance(a, b string) int {
	before := make([]int, len(b)+1) // the row before prev, for a swap
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}

// Closest returns the candidate nearest to word and its distance ("", -1 when there are none).
func Closest(word string, candidates []string) (string, int) {
	best, dist := "", -1
	for _, c := range candidates {
		if d := Distance(word, c); dist < 0 || d < dist {
			best, dist = c, d
		}
	}
	return best, dist
}
