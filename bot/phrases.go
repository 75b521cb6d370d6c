package bot

import "fmt"

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// nameSpans lists names as code spans, at most max of them.
func nameSpans(names []string, max int) []Span {
	var out []Span
	for i, n := range names {
		if i == max {
			out = append(out, T(fmt.Sprintf(" … and %d more", len(names)-max)))
			break
		}
		if i > 0 {
			out = append(out, T(", "))
		}
		out = append(out, C(n))
	}
	return out
}

func countText(p *int) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprint(*p)
}
