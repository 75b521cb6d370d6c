package ocr

import (
	"slices"
	"strconv"
	"strings"
)

// Screens are laid out in columns and table cells, and Tesseract's reading
// order cuts through them: in Service Center's Error Log a message wrapped
// over three lines of its cell has the row's time, centred vertically, read
// between its first and second line. With Pipeline.Layout, the text is
// rebuilt from the word boxes of sparse-text segmentation (TSV output):
//
//  1. lines on one visual row with a small gap between them (up to 1.2
//     line heights: the two spaces of "Preparing Module Database  5 of 30"
//     in the Configuration Tool, an icon and its message) join into one;
//     table columns stay apart;
//  2. a line continues the one above it when it sits tightly below (less
//     than a line height of leading), starts at the same left edge (or at
//     the left of one of its first words, past an icon read as "©" or "x)")
//     and has a similar height: the lines of a paragraph, a banner or a
//     table cell form a chain;
//  3. chains are printed whole, top to bottom, left to right.
//
// Cells of separate columns stay apart (their gap is wide), and a message
// keeps its lines together whatever the row around it holds.

// box is a line of text and its bounds in pixels.
type box struct {
	text                     string
	left, top, right, bottom int
	words                    []int // left edges of the first words
}

func (b box) height() int { return max(1, b.bottom-b.top) }

// parseTSV reads Tesseract's TSV output into its text lines (level 4), with
// the words (level 5) of each as text.
func parseTSV(tsv string) []box {
	type key struct{ block, par, line int }
	var order []key
	lines := map[key]*box{}
	for row := range strings.Lines(tsv) {
		f := strings.Split(strings.TrimRight(row, "\r\n"), "\t")
		if len(f) < 12 || f[0] != "5" {
			continue
		}
		var n [10]int
		ok := true
		for i := range 10 {
			v, err := strconv.Atoi(f[i])
			if err != nil {
				ok = false
				break
			}
			n[i] = v
		}
		text := strings.TrimSpace(strings.Join(f[11:], "\t"))
		if !ok || text == "" {
			continue
		}
		k := key{n[2], n[3], n[4]}
		left, top, w, h := n[6], n[7], n[8], n[9]
		b := lines[k]
		if b == nil {
			b = &box{left: left, top: top, right: left + w, bottom: top + h}
			lines[k] = b
			order = append(order, k)
		} else {
			b.text += " "
			b.left, b.top = min(b.left, left), min(b.top, top)
			b.right, b.bottom = max(b.right, left+w), max(b.bottom, top+h)
		}
		b.text += text
		if len(b.words) < 3 {
			b.words = append(b.words, left)
		}
	}
	out := make([]box, 0, len(order))
	for _, k := range order {
		out = append(out, *lines[k])
	}
	return out
}

// layoutText orders the lines of a page as described above.
func layoutText(lines []box) string {
	rows := joinRows(lines)
	chains := chainLines(rows)
	var b strings.Builder
	for _, c := range chains {
		for _, i := range c {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(rows[i].text)
		}
	}
	return b.String()
}

// similar reports whether two heights are within a factor of 1.5.
func similar(a, b int) bool { return 2*a <= 3*b && 2*b <= 3*a }

// joinRows joins lines side by side on one visual row with a small gap.
func joinRows(lines []box) []box {
	sorted := slices.Clone(lines)
	slices.SortStableFunc(sorted, func(a, b box) int { return a.left - b.left })
	var rows []box
	for _, l := range sorted {
		joined := false
		for i := range rows {
			r := &rows[i]
			h := min(r.height(), l.height())
			overlap := min(r.bottom, l.bottom) - max(r.top, l.top)
			gap := l.left - r.right
			if overlap*5 >= h*3 && similar(r.height(), l.height()) && gap >= -h && 5*gap <= 6*taller(r, l) {
				r.text += " " + l.text
				r.right = max(r.right, l.right)
				r.top, r.bottom = min(r.top, l.top), max(r.bottom, l.bottom)
				joined = true
				break
			}
		}
		if !joined {
			rows = append(rows, l)
		}
	}
	// Top to bottom; rows whose tops are within half a line of the first
	// row of their band count as one band, read left to right.
	slices.SortStableFunc(rows, func(a, b box) int { return a.top - b.top })
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].top < rows[i].top+rows[i].height()/2 {
			j++
		}
		slices.SortStableFunc(rows[i:j], func(a, b box) int { return a.left - b.left })
		i = j
	}
	return rows
}

// taller is the larger height of two boxes.
func taller(a *box, b box) int { return max(a.height(), b.height()) }

// chainLines groups rows (in reading order) into chains of lines that
// continue each other, and returns them in reading order of their heads.
func chainLines(rows []box) [][]int {
	next := make([]int, len(rows))
	prev := make([]int, len(rows))
	for i := range next {
		next[i], prev[i] = -1, -1
	}
	for j, m := range rows {
		best, bestDist := -1, 0
		for i, l := range rows {
			if next[i] >= 0 || i == j {
				continue
			}
			h := l.height()
			if m.top <= l.top+h/2 || m.top-l.bottom > h || !similar(h, m.height()) {
				continue // not the line below, or not tightly below, or another size
			}
			if 2*(l.right-m.left) < m.right-m.left {
				continue // an icon or a short cell, not a line the next one continues
			}
			d, ok := alignment(l, m.left, (3*h+1)/2)
			if ok && (best < 0 || d < bestDist) {
				best, bestDist = i, d
			}
		}
		if best >= 0 {
			next[best], prev[j] = j, best
		}
	}
	var chains [][]int
	for i := range rows {
		if prev[i] >= 0 {
			continue
		}
		var c []int
		for j := i; j >= 0; j = next[j] {
			c = append(c, j)
		}
		chains = append(chains, c)
	}
	return chains
}

// alignment returns how far x is from l's left edge or the left edge of one
// of its first words (the text after an icon), and whether that is within tol.
func alignment(l box, x, tol int) (int, bool) {
	d := abs(x - l.left)
	for _, w := range l.words {
		d = min(d, abs(x-w))
	}
	return d, d <= tol
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
