package bot

import (
	"fmt"
	"strings"
)

// RenderText renders a reply as plain text for a terminal: the same
// content as in Slack, without markup.
func RenderText(r *Reply) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	for _, bl := range r.Blocks {
		switch bl.Kind {
		case HeaderBlock:
			fmt.Fprintf(&b, "== %s ==\n", bl.Text)
		case SectionBlock:
			for _, l := range bl.Lines {
				b.WriteString(textLine(l))
				b.WriteByte('\n')
			}
		case FieldsBlock:
			for _, f := range bl.Fields {
				fmt.Fprintf(&b, "%s: %s\n", f.Label, textLine(f.Value))
			}
		case ListBlock:
			for i, l := range bl.Lines {
				fmt.Fprintf(&b, "  %d. %s\n", i+1, textLine(l))
			}
		case ContextBlock:
			for _, l := range bl.Lines {
				fmt.Fprintf(&b, "  (%s)\n", textLine(l))
			}
		case ActionsBlock:
			labels := make([]string, len(bl.Buttons))
			for i, bt := range bl.Buttons {
				labels[i] = "[" + bt.Label + "]"
			}
			b.WriteString(strings.Join(labels, " "))
			b.WriteByte('\n')
		case DividerBlock:
			b.WriteString("--\n")
		case ImageBlock:
			fmt.Fprintf(&b, "[%s: %s]\n", bl.Image.Title, bl.Image.Alt)
		}
	}
	if b.Len() == 0 {
		return r.Summary + "\n"
	}
	return b.String()
}

func textLine(l Line) string {
	var b strings.Builder
	for _, s := range l {
		switch s.Style {
		case Link:
			if s.Text == "" || s.Text == s.URL {
				b.WriteString(s.URL)
			} else {
				fmt.Fprintf(&b, "%s <%s>", s.Text, s.URL)
			}
		case Code:
			b.WriteString(s.Text)
		case Channel:
			b.WriteString("#" + s.Text)
		default:
			b.WriteString(s.Text)
		}
	}
	return b.String()
}
