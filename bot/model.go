// Package bot is what upgradebot says and does, whatever the transport:
// a message in gives a response out, a command gives a response, a button
// click gives an update. Responses are a small document model that each
// transport renders (Slack's Block Kit in bot/slackbot, plain text here),
// so user-supplied values are escaped in exactly one place per transport.
package bot

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Style is how a span of text is shown.
type Style uint8

// Span styles.
const (
	Plain Style = iota
	Bold
	Code
	Italic
	Link
	Mention  // a Slack user id, shown as a mention where the id is well formed
	Verbatim // text people wrote or the store kept (a history detail): never formatted
	Channel  // a Slack channel id, shown as a link to the channel where the id is well formed
	// Graphic is a picture drawn in characters (a progress bar), after
	// the words that say it: a reader of plain text (a terminal, a
	// notification) goes without it, as a screen reader reads it glyph by glyph.
	Graphic
)

// Span is a run of text with one style. Text is never markup: renderers escape it.
type Span struct {
	Text  string
	Style Style
	URL   string // for Link
}

// Shorten cuts s to at most n characters, marking the cut with "…".
func Shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ShortenMiddle cuts s to n runes in its middle, keeping its end: names
// that differ only there ("…_Orders", "…_Invoices") stay apart.
func ShortenMiddle(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	tail := (n - 1) / 3
	return string(r[:n-1-tail]) + "…" + string(r[len(r)-tail:])
}

// Line is one line of spans.
type Line []Span

// T makes a plain span.
func T(s string) Span { return Span{Text: s} }

// B makes a bold span.
func B(s string) Span { return Span{Text: s, Style: Bold} }

// C makes a code span.
func C(s string) Span { return Span{Text: s, Style: Code} }

// I makes an italic span.
func I(s string) Span { return Span{Text: s, Style: Italic} }

// L makes a link span.
func L(label, url string) Span { return Span{Text: label, Style: Link, URL: url} }

// V makes a verbatim span.
func V(s string) Span { return Span{Text: s, Style: Verbatim} }

// M makes a user mention span from a Slack user id.
func M(userID string) Span { return Span{Text: userID, Style: Mention} }

// Ch is a channel by its id.
func Ch(channelID string) Span { return Span{Text: channelID, Style: Channel} }

// Words is the line without its Graphic spans.
func (l Line) Words() Line {
	return slices.DeleteFunc(slices.Clone(l), func(s Span) bool { return s.Style == Graphic })
}

// PlainText returns the line's text without styles.
func (l Line) PlainText() string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(s.Text)
	}
	return b.String()
}

// leadingEmoji is a Slack emoji code starting a line: the bot's own
// marks (":warning: ", ":bell: ").
var leadingEmoji = regexp.MustCompile(`^:[a-z0-9_+-]+:\s*`)

// Emoji splits the emoji code the bot starts the line with from the rest
// of it: ":warning: Not recorded…" is "warning" and "Not recorded…"; ""
// and the line when it starts with none, or with text that is not the
// bot's own words.
func (l Line) Emoji() (string, Line) {
	if len(l) == 0 || l[0].Style != Plain {
		return "", l
	}
	m := leadingEmoji.FindString(l[0].Text)
	if m == "" {
		return "", l
	}
	rest := slices.Clone(l)
	rest[0].Text = l[0].Text[len(m):]
	return strings.Trim(strings.TrimSpace(m), ":"), rest
}

// BlockKind says what a block is.
type BlockKind uint8

// Block kinds.
const (
	HeaderBlock  BlockKind = iota // a title
	SectionBlock                  // paragraphs of lines
	FieldsBlock                   // label/value pairs
	ListBlock                     // a numbered list
	ContextBlock                  // small print
	ActionsBlock                  // buttons
	DividerBlock
	ImageBlock // a picture the transport holds (an uploaded chart)
)

// Field is a label and its value.
type Field struct {
	Label string
	Value Line
}

// Button is an interactive element: a click comes back as an Action.
type Button struct {
	ActionID string
	Label    string
	Value    string
	Primary  bool
	// Command is the command that does the same, as typed after the command
	// name (/upgrade), e.g. `done prod: Billing_CS`; "" when none does.
	// Each transport knows how its users name the command.
	Command string
	// Describe says what the button acts on when the label alone does
	// not ("Undo: Recorded for prod: …"): a screen reader reads it in
	// place of the label (Slack's accessibility_label). "" for none.
	Describe string
}

// Image is a picture the transport already holds: in Slack, a file it uploaded and shared.
type Image struct {
	FileID string
	Title  string
	Alt    string // the picture in words
}

// Block is one part of a reply.
type Block struct {
	Kind    BlockKind
	Text    string // HeaderBlock
	Lines   []Line // SectionBlock, ListBlock, ContextBlock
	Fields  []Field
	Buttons []Button
	Image   Image // ImageBlock
}

// Reply is a message the bot posts.
type Reply struct {
	// Summary is the one line a notification shows: a transport's plain
	// copy of the reply for screen readers (Slack's text) starts with it.
	Summary string
	Blocks  []Block
	// Files go with the message (the digest's charts): in Slack, uploaded
	// in its thread; a transport without files leaves them out.
	Files []*File
}

// Empty reports whether there is nothing to post.
func (r *Reply) Empty() bool { return r == nil || (r.Summary == "" && len(r.Blocks) == 0) }

// Header adds a title.
func (r *Reply) Header(s string) *Reply {
	r.Blocks = append(r.Blocks, Block{Kind: HeaderBlock, Text: s})
	return r
}

// Section adds a paragraph made of lines.
func (r *Reply) Section(lines ...Line) *Reply {
	if len(lines) > 0 {
		r.Blocks = append(r.Blocks, Block{Kind: SectionBlock, Lines: lines})
	}
	return r
}

// Fields adds label/value pairs.
func (r *Reply) Fields(fs ...Field) *Reply {
	if len(fs) > 0 {
		r.Blocks = append(r.Blocks, Block{Kind: FieldsBlock, Fields: fs})
	}
	return r
}

// List adds a numbered list.
func (r *Reply) List(items ...Line) *Reply {
	if len(items) > 0 {
		r.Blocks = append(r.Blocks, Block{Kind: ListBlock, Lines: items})
	}
	return r
}

// Context adds small print.
func (r *Reply) Context(lines ...Line) *Reply {
	if len(lines) > 0 {
		r.Blocks = append(r.Blocks, Block{Kind: ContextBlock, Lines: lines})
	}
	return r
}

// Actions adds buttons.
func (r *Reply) Actions(bs ...Button) *Reply {
	if len(bs) > 0 {
		r.Blocks = append(r.Blocks, Block{Kind: ActionsBlock, Buttons: bs})
	}
	return r
}

// Picture adds an image block.
func (r *Reply) Picture(img Image) *Reply {
	r.Blocks = append(r.Blocks, Block{Kind: ImageBlock, Image: img})
	return r
}

// MapLines is a copy of r with each line of its blocks and each field's value through f.
func (r *Reply) MapLines(f func(Line) Line) *Reply {
	q := *r
	q.Blocks = slices.Clone(r.Blocks)
	for i, b := range q.Blocks {
		b.Lines = slices.Clone(b.Lines)
		for j := range b.Lines {
			b.Lines[j] = f(b.Lines[j])
		}
		b.Fields = slices.Clone(b.Fields)
		for j := range b.Fields {
			b.Fields[j].Value = f(b.Fields[j].Value)
		}
		q.Blocks[i] = b
	}
	return &q
}

// Divider adds a separator.
func (r *Reply) Divider() *Reply {
	r.Blocks = append(r.Blocks, Block{Kind: DividerBlock})
	return r
}
