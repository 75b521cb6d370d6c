package bot

import (
	"fmt"
	"strings"
)

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// nameSpans lists names as code spans, at most max of them.
func nameSpans(names []string, max int) []Span { return nameSpansOf(names, max, len(names)) }

// nameSpansOf is nameSpans of the first of total names.
func nameSpansOf(names []string, max, total int) []Span {
	var out []Span
	for i, n := range names {
		if i == max {
			break
		}
		if i > 0 {
			out = append(out, T(", "))
		}
		if strings.Contains(n, ",") { // in plain text ("Orders, Billing") it would read as two
			n = commandName(n)
		}
		out = append(out, C(n))
	}
	if shown := min(len(names), max); total > shown {
		out = append(out, T(fmt.Sprintf(" … and %d more", total-shown)))
	}
	return out
}

// notShown is intro, the first of names a message had no room for (each
// whole, the rest counted), then hint.
func notShown(intro string, names []string, hint ...Span) Line {
	l := append(Line{T(intro)}, nameSpans(names, 20)...)
	return append(append(l, T(". ")), hint...)
}

func countText(p *int) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprint(*p)
}
