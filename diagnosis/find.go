package diagnosis

import "bytes"

// Step 2 of the pipeline (README.md): find where a template may stand, cheaply, by its anchor in the search view.

// searchKey is a lowercase word as the search view reads it.
func searchKey(w string) []byte {
	key := []byte(w)
	for k, c := range key {
		key[k] = confusable(c)
	}
	return key
}

// findAll returns every non-overlapping occurrence of t in n, in order.
func (t *template) findAll(n *normalized) []match {
	var out []match
	done := 0 // where the last message found ends
	for from := 0; ; {
		a := wordAt(n, t.anchor, from, len(n.search))
		if a < 0 {
			return out
		}
		from = a + 1
		// The message starts at its anchor or in the few bytes before it.
		lo, hi := a, a+1
		if t.anchorBack > 0 {
			lo, hi = max(done, a-t.anchorBack), a
		}
		for p := lo; ; p++ {
			if p = wordAt(n, t.first, p, hi); p < 0 {
				break
			}
			start := leadStart(n.lower, p, t.lead) // p itself when no number leads
			if start < 0 {
				continue
			}
			if m, ok := t.matchAt(n, start); ok {
				out = append(out, m)
				done = m.end
				from = max(from, done)
				break
			}
		}
	}
}

// wordAt returns where key next starts a word in n at from or after, before hi (the word may run past hi), or -1.
func wordAt(n *normalized, key []byte, from, hi int) int {
	for from < hi {
		j := bytes.Index(n.search[from:min(len(n.search), hi+len(key))], key)
		if j < 0 {
			return -1
		}
		if p := from + j; !wordEndsAt(n.lower, p) {
			return p
		}
		from += j + 1
	}
	return -1
}

// leadStart walks back over count numbers (and the spaces between) before p.
func leadStart(l []byte, p, count int) int {
	i := p
	for range count {
		for i > 0 && isSpace(l[i-1]) {
			i--
		}
		d := i
		for d > 0 && l[d-1] >= '0' && l[d-1] <= '9' && i-d < 9 {
			d--
		}
		if d == i {
			return -1
		}
		i = d
	}
	if wordEndsAt(l, i) {
		return -1
	}
	return i
}

// pairs marks a text's pairs of adjacent bytes (6 bits each): an anchor with a pair the text lacks is not searched for.
type pairs [64]uint64

func pairsOf(b []byte) (p pairs) {
	for k := 1; k < len(b); k++ {
		p[b[k-1]&63] |= 1 << (b[k] & 63)
	}
	return p
}

// mayHold is false when key cannot be in the text.
func (p *pairs) mayHold(key []byte) bool {
	k := 1
	for k < len(key) && p[key[k-1]&63]&(1<<(key[k]&63)) != 0 {
		k++
	}
	return k >= len(key)
}
