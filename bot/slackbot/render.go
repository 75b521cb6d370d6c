package slackbot

import (
	"fmt"
	"regexp"
	"strings"
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
	MaxButtonValue   = 2000
	MaxContextItems  = 10
	MaxFallbackChars = 4000
	MaxBlockID       = 255
	MaxAltChars      = 1000 // an uploaded image's alt text (an image block's may be 2000)
)

var userID = regexp.MustCompile(`^[UWB][A-Z0-9]{2,20}$`)

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
		t := EscapeSlack(s.Text)
		if strings.TrimSpace(t) == "" {
			b.WriteString(t)
			continue
		}
		switch s.Style {
		case bot.Bold:
			// Emphasis markers must touch the text, so spaces stay outside.
			lead, core, trail := splitSpace(t)
			fmt.Fprintf(&b, "%s*%s*%s", lead, core, trail)
		case bot.Italic:
			lead, core, trail := splitSpace(t)
			fmt.Fprintf(&b, "%s_%s_%s", lead, core, trail)
		case bot.Code:
			fmt.Fprintf(&b, "`%s`", strings.ReplaceAll(t, "`", "'"))
		case bot.Link:
			fmt.Fprintf(&b, "<%s|%s>", EscapeSlack(s.URL), strings.ReplaceAll(t, "|", "¦"))
		case bot.Mention:
			if userID.MatchString(s.Text) {
				fmt.Fprintf(&b, "<@%s>", s.Text)
			} else {
				b.WriteString(t)
			}
		default:
			b.WriteString(t)
		}
	}
	return b.String()
}

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

// RenderBlocksLimit renders a reply in at most max blocks (MaxHomeBlocks
// for an App Home view; a message holds MaxBlocks).
func RenderBlocksLimit(r *bot.Reply, max int) []slack.Block {
	var out []slack.Block
	for _, bl := range r.Blocks {
		switch bl.Kind {
		case bot.HeaderBlock:
			out = append(out, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, bot.Shorten(bl.Text, MaxHeaderChars), false, false)))
		case bot.SectionBlock, bot.ListBlock:
			lines := make([]string, len(bl.Lines))
			for i, l := range bl.Lines {
				lines[i] = mrkdwnLine(l)
				if bl.Kind == bot.ListBlock {
					lines[i] = fmt.Sprintf("%d. %s", i+1, lines[i])
				}
			}
			out = append(out, slack.NewSectionBlock(mrkdwn(joinWithin(lines, MaxSectionChars)), nil, nil))
		case bot.FieldsBlock:
			var fields []*slack.TextBlockObject
			for _, f := range bl.Fields {
				if len(fields) == MaxFields {
					out = append(out, slack.NewSectionBlock(nil, fields, nil))
					fields = nil
				}
				text := fmt.Sprintf("*%s*\n%s", EscapeSlack(f.Label), mrkdwnLine(f.Value))
				fields = append(fields, mrkdwn(bot.Shorten(text, MaxFieldChars)))
			}
			out = append(out, slack.NewSectionBlock(nil, fields, nil))
		case bot.ContextBlock:
			var elems []slack.MixedElement
			for _, l := range bl.Lines {
				if len(elems) == MaxContextItems {
					break
				}
				elems = append(elems, mrkdwn(bot.Shorten(mrkdwnLine(l), MaxFieldChars)))
			}
			out = append(out, slack.NewContextBlock("", elems...))
		case bot.ActionsBlock:
			var elems []slack.BlockElement
			for _, bt := range bl.Buttons {
				if len(elems) == MaxButtons {
					break
				}
				b := slack.NewButtonBlockElement(bt.ActionID, bot.Shorten(bt.Value, MaxButtonValue),
					slack.NewTextBlockObject(slack.PlainTextType, bot.Shorten(bt.Label, MaxButtonLabel), false, false))
				if bt.Primary {
					b.Style = slack.StylePrimary
				}
				elems = append(elems, b)
			}
			out = append(out, slack.NewActionBlock("", elems...))
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
	if len(out) > max {
		omitted := len(out) - (max - 1)
		out = append(out[:max-1], slack.NewContextBlock("", mrkdwn(fmt.Sprintf("… and %d more blocks not shown", omitted))))
	}
	return out
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

// joinWithin joins lines with newlines, keeping within max characters and
// saying how many lines were left out.
func joinWithin(lines []string, max int) string {
	var b strings.Builder
	used := 0
	for i, l := range lines {
		n := utf8.RuneCountInString(l) + 1
		rest := len(lines) - i
		note := fmt.Sprintf("… and %d more", rest)
		if used+n > max-len(note)-1 && (i < len(lines)-1 || used+n > max) {
			if i == 0 {
				return bot.Shorten(l, max)
			}
			b.WriteString(note)
			return b.String()
		}
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteByte('\n')
		}
		used += n
	}
	return b.String()
}

// FallbackText is the plain `text` of a message with blocks, for notifications.
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
	return bot.Shorten(EscapeSlack(s), MaxFallbackChars)
}
