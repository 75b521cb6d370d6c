package slackbot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
)

// The Slack rendering of the core's reply model (bot.Reply): Block Kit
// blocks in mrkdwn, within Slack's limits, every user-supplied value
// escaped here and only here.

// Slack's Block Kit limits.
const (
	MaxBlocks        = 50
	MaxHomeBlocks    = 100 // an App Home view holds up to 100 blocks
	MaxSectionChars  = 3000
	MaxHeaderChars   = 150
	MaxFieldChars    = 2000
	MaxFields        = 10
	MaxButtons       = 25
	MaxButtonLabel   = 75
	MaxButtonA11y    = 75 // a button's accessibility_label
	MaxButtonValue   = 2000
	MaxContextItems  = 10
	MaxFallbackChars = 4000
	MaxBlockID       = 255
	MaxAltChars      = 1000 // an uploaded image's alt text (an image block's may be 2000)
)

var userID = regexp.MustCompile(`^[UWB][A-Z0-9]{2,20}$`)

// channelID is a Slack channel id (public, private or shared).
var channelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)

// EscapeSlack escapes text for Slack once: & < > are the only characters
// Slack treats as markup, so a module named <!channel> pings nobody.
func EscapeSlack(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// UnescapeSlack undoes Slack's escaping of & < > once, on the way in.
func UnescapeSlack(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func mrkdwnLine(l bot.Line) string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(mrkdwnSpan(s))
	}
	return b.String()
}

// mrkdwnSpan renders one span: its text escaped, then its style's markup.
func mrkdwnSpan(s bot.Span) string {
	t := EscapeSlack(s.Text)
	if strings.TrimSpace(t) == "" {
		return t
	}
	switch s.Style {
	case bot.Bold:
		// Emphasis markers must touch the text, so spaces stay outside.
		lead, core, trail := splitSpace(t)
		return lead + "*" + core + "*" + trail
	case bot.Italic:
		lead, core, trail := splitSpace(t)
		return lead + "_" + core + "_" + trail
	case bot.Code:
		return "`" + strings.ReplaceAll(t, "`", "'") + "`"
	case bot.Verbatim:
		// mrkdwn has no escape: text that could turn into formatting
		// ("*Orders*", "_Internal_") is shown in a code span instead.
		if formats(t) {
			return "`" + strings.ReplaceAll(t, "`", "'") + "`"
		}
		return t
	case bot.Link:
		return "<" + EscapeSlack(s.URL) + "|" + strings.ReplaceAll(t, "|", "¦") + ">"
	case bot.Mention:
		if userID.MatchString(s.Text) {
			return "<@" + s.Text + ">"
		}
		return t
	case bot.Channel:
		if channelID.MatchString(s.Text) {
			return "<#" + s.Text + ">"
		}
		return "#" + t
	}
	return t
}

// formats reports whether mrkdwn could format text: it holds "*", "~" or
// "`", or a "_" not inside a word ("Billing_CS" is safe, "_Core_" is not).
func formats(text string) bool {
	if strings.ContainsAny(text, "*~`") {
		return true
	}
	for i := strings.IndexByte(text, '_'); i >= 0; {
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[i+1:])
		if !wordRune(before) || !wordRune(after) {
			return true
		}
		j := strings.IndexByte(text[i+1:], '_')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func splitSpace(s string) (string, string, string) {
	core := strings.TrimSpace(s)
	i := strings.Index(s, core)
	return s[:i], core, s[i+len(core):]
}

func mrkdwn(text string) *slack.TextBlockObject {
	// verbatim: Slack must not turn names into links or mentions.
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

// RenderBlocks renders a reply as Block Kit blocks within Slack's limits.
func RenderBlocks(r *bot.Reply) []slack.Block { return RenderBlocksLimit(r, MaxBlocks) }

// RenderBlocksLimit renders a reply in at most limit blocks (MaxHomeBlocks
// for an App Home view; a message holds MaxBlocks).
func RenderBlocksLimit(r *bot.Reply, limit int) []slack.Block {
	// spare is how many blocks the reply can spend beyond the fewest it
	// takes, on context lines past ten and buttons past 25 in further blocks.
	spare := limit
	for _, bl := range r.Blocks {
		spare -= fewestBlocks(bl)
	}
	if spare < 0 {
		spare = 0
	}
	var out []slack.Block
	for _, bl := range r.Blocks {
		switch bl.Kind {
		case bot.HeaderBlock:
			out = append(out, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, bot.Shorten(bl.Text, MaxHeaderChars), false, false)))
		case bot.SectionBlock, bot.ListBlock:
			out = append(out, slack.NewSectionBlock(mrkdwn(joinWithin(bl.Lines, bl.Kind == bot.ListBlock, MaxSectionChars)), nil, nil))
		case bot.FieldsBlock:
			var fields []*slack.TextBlockObject
			for _, f := range bl.Fields {
				if len(fields) == MaxFields {
					out = append(out, slack.NewSectionBlock(nil, fields, nil))
					fields = nil
				}
				label := fmt.Sprintf("*%s*\n", EscapeSlack(bot.Shorten(f.Label, MaxHeaderChars)))
				fields = append(fields, mrkdwn(label+fitLine(f.Value, MaxFieldChars-utf8.RuneCountInString(label))))
			}
			out = append(out, slack.NewSectionBlock(nil, fields, nil))
		case bot.ContextBlock:
			want := (len(bl.Lines) + MaxContextItems - 1) / MaxContextItems
			extra := min(max(want-1, 0), spare)
			spare -= extra
			blocks := 1 + extra
			lines := bl.Lines
			for b := 0; b < blocks; b++ {
				n := min(len(lines), MaxContextItems)
				var elems []slack.MixedElement
				for i, l := range lines[:n] {
					text := fitLine(l, MaxFieldChars)
					if b == blocks-1 && i == n-1 && len(lines) > n {
						// No block to spare: the last element holds the lines left.
						text = joinWithin(lines[i:], false, MaxFieldChars)
					}
					elems = append(elems, mrkdwn(text))
				}
				out = append(out, slack.NewContextBlock("", elems...))
				lines = lines[n:]
			}
		case bot.ActionsBlock:
			want := (len(bl.Buttons) + MaxButtons - 1) / MaxButtons
			fewest := fewestBlocks(bl)
			extra := min(max(want-fewest, 0), spare)
			spare -= extra
			blocks := fewest + extra
			if blocks < want {
				blocks-- // the last one says which buttons are left out
			}
			buttons := bl.Buttons
			for b := 0; b < blocks; b++ {
				n := min(len(buttons), MaxButtons)
				var elems []slack.BlockElement
				for _, bt := range buttons[:n] {
					e := slack.NewButtonBlockElement(bt.ActionID, bot.Shorten(bt.Value, MaxButtonValue),
						slack.NewTextBlockObject(slack.PlainTextType, bot.ShortenMiddle(bt.Label, MaxButtonLabel), false, false))
					if bt.Primary {
						e.Style = slack.StylePrimary
					}
					e.AccessibilityLabel = bot.Shorten(bt.Describe, MaxButtonA11y)
					elems = append(elems, e)
				}
				out = append(out, slack.NewActionBlock("", elems...))
				buttons = buttons[n:]
			}
			if len(buttons) > 0 {
				out = append(out, slack.NewContextBlock("", mrkdwn(leftOutButtons(buttons))))
			}
		case bot.DividerBlock:
			out = append(out, slack.NewDividerBlock())
		case bot.ImageBlock:
			var title *slack.TextBlockObject
			if bl.Image.Title != "" {
				title = slack.NewTextBlockObject(slack.PlainTextType, bot.Shorten(bl.Image.Title, MaxHeaderChars), false, false)
			}
			out = append(out, slack.NewImageBlockSlackFile(&slack.SlackFileObject{ID: bl.Image.FileID}, bot.Shorten(bl.Image.Alt, MaxAltChars), "", title))
		}
	}
	if len(out) > limit {
		// The last buttons and what follows them (Undo, a rebuilt reply's
		// notes) are what the reply is acted on with: the cut comes before them.
		keep := out[len(out):]
		for i := len(out) - 1; i >= max(len(out)-maxKeptTail, 0); i-- {
			if out[i].BlockType() == slack.MBTAction {
				keep = out[i:]
				break
			}
		}
		head := limit - 1 - len(keep)
		more := slack.NewContextBlock("", mrkdwn(fmt.Sprintf("… and %d more blocks not shown", len(out)-head-len(keep))))
		out = append(append(out[:head:head], more), keep...)
	}
	return out
}

// maxKeptTail is how many blocks at most are kept after a cut: the last
// actions block and the blocks after it.
const maxKeptTail = 5

// fewestBlocks is how many Block Kit blocks a block of the reply takes at
// least: its fields ten to a section; its buttons, when more than one
// actions block holds, in an actions block and a second one, or a context
// block saying which are left out; its context lines past ten joined in the
// tenth element.
func fewestBlocks(bl bot.Block) int {
	switch {
	case bl.Kind == bot.FieldsBlock && len(bl.Fields) > MaxFields:
		return (len(bl.Fields) + MaxFields - 1) / MaxFields
	case bl.Kind == bot.ActionsBlock && len(bl.Buttons) > MaxButtons:
		return 2
	}
	return 1
}

// leftOutButtons says which buttons there was no block for.
func leftOutButtons(bs []bot.Button) string {
	l := bot.Line{bot.T(fmt.Sprintf("… and %d more buttons not shown: ", len(bs)))}
	for i, bt := range bs {
		if i > 0 {
			l = append(l, bot.T(", "))
		}
		l = append(l, bot.B(bt.Label))
	}
	return fitLine(l, MaxFieldChars)
}

// EventBlockID is the block_id marking the reply to a Slack event, "evt:"
// and the event's id, by which API.Replied finds the reply in its thread.
func EventBlockID(eventID string) string {
	id := "evt:" + eventID
	if len(id) > MaxBlockID {
		id = strings.ToValidUTF8(id[:MaxBlockID], "")
	}
	return id
}

// withBlockID gives the first block the block_id id.
func withBlockID(blocks []slack.Block, id string) []slack.Block {
	if len(blocks) == 0 || id == "" {
		return blocks
	}
	switch b := blocks[0].(type) {
	case *slack.HeaderBlock:
		b.BlockID = id
	case *slack.SectionBlock:
		b.BlockID = id
	case *slack.ContextBlock:
		b.BlockID = id
	case *slack.ActionBlock:
		b.BlockID = id
	case *slack.DividerBlock:
		b.BlockID = id
	}
	return blocks
}

// joinWithin joins lines with newlines (numbered "1. " and on for a
// list), keeping within max characters: it keeps the first lines and says
// how many were left out. A line that must be cut is cut by fitLine, at
// its spans, so the markup stays whole: the first line when it alone is
// too long, or a long line whose following lines all fit after it.
func joinWithin(lines []bot.Line, numbered bool, max int) string {
	prefix := func(i int) string {
		if numbered {
			return fmt.Sprintf("%d. ", i+1)
		}
		return ""
	}
	text := make([]string, len(lines))
	size := make([]int, len(lines)) // with the newline before it, but the first
	for i, l := range lines {
		text[i] = prefix(i) + mrkdwnLine(l)
		size[i] = utf8.RuneCountInString(text[i])
		if i > 0 {
			size[i]++
		}
	}
	var b strings.Builder
	used := 0
	for i, l := range lines {
		last := i == len(lines)-1
		note := fmt.Sprintf("… and %d more", len(lines)-i)
		if used+size[i] <= max && (last || used+size[i]+1+utf8.RuneCountInString(note) <= max) {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(text[i])
			used += size[i]
			continue
		}
		sep := ""
		if i > 0 {
			sep = "\n"
		}
		p := prefix(i)
		room := max - used - len(sep) - utf8.RuneCountInString(p)
		rest := 0
		for _, n := range size[i+1:] {
			rest += n
		}
		// The lines after this one fit with enough of it: cut it, keep them.
		if room-rest >= minCutLine {
			b.WriteString(sep + p + fitLine(l, room-rest))
			for _, t := range text[i+1:] {
				b.WriteString("\n" + t)
			}
			return b.String()
		}
		if i == 0 {
			// Nothing kept yet: the first line, cut, and how many more.
			more := ""
			if !last {
				more = fmt.Sprintf("\n… and %d more", len(lines)-1)
			}
			return p + fitLine(l, room-utf8.RuneCountInString(more)) + more
		}
		b.WriteString(sep + note)
		return b.String()
	}
	return b.String()
}

// minCutLine is the fewest characters a line cut short keeps when the lines
// after it are kept whole.
const minCutLine = 200

// moreNote is the text that closes a line listing some of its items: the
// core's "… and 280 more".
var moreNote = regexp.MustCompile(`^(\s*… and )(\d+)( more\b.*)$`)

// fitLine renders a line within max characters. A line too long is cut at
// its spans, never inside the markup of one: whole spans are dropped from
// the end (a span of text is shortened, "…", when nothing before it would
// show otherwise), the line's closing "… and N more" is kept with N
// counting the dropped items too, and without one the line says how many
// items it left out.
func fitLine(l bot.Line, max int) string {
	parts := make([]string, len(l))
	total := 0
	for i, s := range l {
		parts[i] = mrkdwnSpan(s)
		total += utf8.RuneCountInString(parts[i])
	}
	if total <= max {
		return strings.Join(parts, "")
	}
	for i := len(l) - 1; i > 0; i-- {
		if l[i].Style == bot.Plain && moreNote.MatchString(l[i].Text) {
			if s, ok := cutSpans(l[:i], parts[:i], l[i:], max); ok {
				return s
			}
			break
		}
	}
	if s, ok := cutSpans(l, parts, nil, max); ok {
		return s
	}
	return "…"
}

// separator reports whether a span only separates items (", ").
func separator(s bot.Span) bool {
	return s.Style == bot.Plain && !strings.ContainsFunc(s.Text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
}

// cutSpans keeps the longest run of head's first spans that fits in max
// with the closing spans (tail) and a count of the items left out; see fitLine.
func cutSpans(head bot.Line, parts []string, tail bot.Line, max int) (string, bool) {
	// before[k] is the length of head[:k], items[k] the items in head[k:].
	before := make([]int, len(head)+1)
	for i, p := range parts {
		before[i+1] = before[i] + utf8.RuneCountInString(p)
	}
	items := make([]int, len(head)+1)
	for i := len(head) - 1; i >= 0; i-- {
		items[i] = items[i+1]
		if !separator(head[i]) {
			items[i]++
		}
	}
	// closing is what follows the kept spans when n items are left out.
	closing := func(n int) string {
		var b strings.Builder
		for i, s := range tail {
			if i == 0 {
				if m := moreNote.FindStringSubmatch(s.Text); m != nil {
					had, _ := strconv.Atoi(m[2])
					s.Text = m[1] + strconv.Itoa(had+n) + m[3]
					n = 0
				}
			}
			b.WriteString(mrkdwnSpan(s))
		}
		if n > 0 {
			return fmt.Sprintf(" … and %d more", n) + b.String()
		}
		return b.String()
	}
	for k := len(head); k >= 0; k-- {
		kept := k
		for kept > 0 && separator(head[kept-1]) {
			kept--
		}
		end := closing(items[kept])
		room := max - utf8.RuneCountInString(end)
		if k < len(head) && !separator(head[k]) && (kept == 0 || head[k].Style != bot.Code && head[k].Style != bot.Mention && head[k].Style != bot.Channel) {
			// Shorten the first span left out rather than show none of it.
			end = closing(items[k+1])
			if cut, ok := cutSpan(head[k], max-utf8.RuneCountInString(end)-before[k]); ok && (kept == 0 || utf8.RuneCountInString(cut) >= minCutSpan) {
				return strings.Join(parts[:k], "") + cut + end, true
			}
		}
		if kept > 0 && before[kept] <= room {
			return strings.Join(parts[:kept], "") + closing(items[kept]), true
		}
	}
	return "", false
}

// minCutSpan is the fewest characters of a span shortened after others.
const minCutSpan = 20

// cutSpan renders s shortened ("…") to at most max characters: its text
// is cut before it is escaped, so no entity or markup is split.
func cutSpan(s bot.Span, max int) (string, bool) {
	if s.Style == bot.Mention || s.Style == bot.Channel {
		return "", false
	}
	return cutText([]rune(s.Text), max, func(t string) string {
		c := s
		c.Text = t
		return mrkdwnSpan(c)
	})
}

// cutText renders r through render shortened ("…") to at most max
// characters, cut before it is rendered.
func cutText(r []rune, max int, render func(string) string) (string, bool) {
	if max <= 0 || len(r) < 2 {
		return "", false
	}
	lo, hi := 0, len(r)-1 // the longest n in [1, len(r)-1] whose rendering fits
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if utf8.RuneCountInString(render(string(r[:mid])+"…")) <= max {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return "", false
	}
	return render(string(r[:lo]) + "…"), true
}

// FallbackText is the top-level `text` of a message with blocks: screen
// readers read it rather than the blocks, and notifications and e-mails
// show it. Its first line is the summary (what a notification shows),
// then the reply's body as plain text without its buttons, as many whole
// lines as MaxFallbackChars holds.
func FallbackText(r *bot.Reply) string {
	s := r.Summary
	if s == "" {
		for _, bl := range r.Blocks {
			if bl.Kind == bot.HeaderBlock {
				s = bl.Text
				break
			}
		}
	}
	head := inertText(EscapeSlack(s)) // "" when the reply has neither: the body says it
	if utf8.RuneCountInString(head) > MaxFallbackChars {
		// Shortened before it is escaped, so no entity is split.
		head, _ = cutText([]rune(s), MaxFallbackChars, func(t string) string { return inertText(EscapeSlack(t)) })
	}
	return withinFallback(append([]string{head}, fallbackLines(r, s)...))
}

// withinFallback is as many of lines as MaxFallbackChars holds, whole (a
// line cut could split an entity or a code span), one a line, and "…"
// for those left out.
func withinFallback(lines []string) string {
	var b strings.Builder
	used := 0
	for i, l := range lines {
		n := utf8.RuneCountInString(l)
		if b.Len() > 0 {
			n++ // its line break
		}
		if used+n > MaxFallbackChars || i < len(lines)-1 && used+n+2 > MaxFallbackChars {
			if b.Len() > 0 && used+2 <= MaxFallbackChars {
				b.WriteString("\n…")
			} else if b.Len() == 0 {
				b.WriteString("…")
			}
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
		used += n
	}
	return b.String()
}

// fallbackLines are the lines of r's body in plain text: its buttons, and
// headers the summary already says, left out.
func fallbackLines(r *bot.Reply, summary string) []string {
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	for _, bl := range r.Blocks {
		switch bl.Kind {
		case bot.HeaderBlock:
			if !strings.Contains(summary, bl.Text) {
				add(fallbackLine(bot.Line{bot.T(bl.Text)}))
			}
		case bot.SectionBlock, bot.ContextBlock:
			for _, l := range bl.Lines {
				add(fallbackLine(l))
			}
		case bot.ListBlock:
			for i, l := range bl.Lines {
				add(fmt.Sprintf("%d. %s", i+1, fallbackLine(l)))
			}
		case bot.FieldsBlock:
			for _, f := range bl.Fields {
				add(fallbackLine(append(bot.Line{bot.T(f.Label + ": ")}, f.Value...)))
			}
		case bot.ImageBlock:
			add(fallbackLine(bot.Line{bot.T(bl.Image.Alt)}))
		}
	}
	return out
}

// fallbackLine is a line in the fallback text: without the bot's emoji
// code, its text escaped and plain but for mentions, a link's address
// after its label (Slack links it), and any word mrkdwn would format (a
// module named *Urgent*) in a code span.
func fallbackLine(l bot.Line) string {
	_, l = l.Emoji()
	var b strings.Builder
	for _, s := range l {
		switch s.Style {
		case bot.Mention, bot.Channel:
			b.WriteString(mrkdwnSpan(s))
		case bot.Graphic: // a screen reader would read it glyph by glyph: the words say it
		case bot.Link:
			if s.Text != "" && s.Text != s.URL {
				b.WriteString(inertText(EscapeSlack(s.Text)) + " ")
			}
			b.WriteString("(" + EscapeSlack(s.URL) + ")")
		default:
			b.WriteString(inertText(EscapeSlack(s.Text)))
		}
	}
	return b.String()
}

// inertText is escaped text with each word mrkdwn would format shown in
// a code span, as the blocks show such a name: mrkdwn has no escape.
func inertText(t string) string {
	if !formats(t) {
		return t
	}
	var b strings.Builder
	for len(t) > 0 {
		i := strings.IndexFunc(t, unicode.IsSpace)
		if i < 0 {
			i = len(t)
		}
		if w := t[:i]; formats(w) {
			b.WriteString("`" + strings.ReplaceAll(w, "`", "'") + "`")
		} else {
			b.WriteString(w)
		}
		t = t[i:]
		j := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsSpace(r) })
		if j < 0 {
			j = len(t)
		}
		b.WriteString(t[:j])
		t = t[j:]
	}
	return b.String()
}
