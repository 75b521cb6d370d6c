package slackbot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
)

// originKind is what a response answers.
type originKind int

const (
	fromMessage originKind = iota // a pasted message: diagnosis
	fromMention                   // "@upgradebot <subcommand>" in a message
	fromSlash                     // /upgrade <subcommand>
	fromAction                    // a button click
)

// origin is where a response goes.
type origin struct {
	kind                     originKind
	workspace, channel, user string
	ts                       string // the message answered (fromMessage, fromMention)
	thread                   string // its thread, "" at the top level
	responseURL              string // fromSlash, fromAction
	eventID                  string // fromMessage, fromMention: its reply carries it (EventBlockID)
	recovered                bool   // an event a stopped process left: answered unless its reply is in the thread
	retried                  bool   // Slack's re-delivery: also answered unless its reply is in the thread
	screenshots              bool   // a message with screenshots: its reply may have been posted before they were read

	// fromAction: the message holding the clicked button.
	msgTS, msgThread string
	ephemeral        bool
	blocks           []json.RawMessage
	actionID, value  string
}

// replyThread is the thread a public reply to a message goes in.
func (o origin) replyThread() string {
	if o.thread != "" {
		return o.thread
	}
	return o.ts
}

// deliver carries a response out. It returns the first error a
// re-delivery could fix (nil when everything the response asked for was
// posted, or could never be).
func (a *App) deliver(ctx context.Context, resp bot.Response, o origin) error {
	_, err := a.deliverTS(ctx, resp, o)
	return err
}

// deliverTS is deliver, also returning the ts of the public reply posted
// in a channel ("" when none was), for a later update.
func (a *App) deliverTS(ctx context.Context, resp bot.Response, o origin) (string, error) {
	if o.recovered || o.retried {
		if ts := a.replied(ctx, o); ts != "" {
			// Its reply is in the thread. Posted before its screenshots
			// were read, it is updated with what they show; the status
			// messages show what the run recorded.
			if o.screenshots && !resp.Reply.Empty() && !resp.Private {
				if err := a.api.UpdateEventReply(ctx, o.channel, ts, o.eventID, resp.Reply); err != nil {
					a.log.Warn("could not update the reply of a recovered message with screenshots", "channel", o.channel, "reply_ts", ts, "err", err)
				}
			}
			if a.living != nil && len(resp.Changed) > 0 {
				a.living.Changed(ctx, o.workspace, o.channel, resp.Changed, resp.Following)
			}
			return ts, nil
		}
	}
	var ts string
	var errs []error
	note := func(kind string, err error) {
		if err == nil {
			a.metrics.Reply(kind)
			return
		}
		errs = append(errs, err)
	}
	if resp.Unreact != "" && o.ts != "" {
		note("reaction", a.api.Unreact(ctx, o.channel, o.ts, resp.Unreact))
	}
	if resp.React != "" && o.ts != "" {
		note("reaction", a.api.React(ctx, o.channel, o.ts, resp.React))
	}
	if !resp.Reply.Empty() {
		switch {
		case resp.Replace && o.kind == fromAction:
			note("update", a.replace(ctx, o, resp.Reply))
		case resp.Private:
			if o.kind == fromMessage && resp.React != "" {
				break // the reaction says it; the shell prints what Slack shows as a reaction
			}
			note("ephemeral", a.private(ctx, o, resp.Reply))
		default:
			var err error
			ts, err = a.public(ctx, o, resp.Reply)
			note("thread", err)
		}
	}
	resp.Announce = a.namedActor(ctx, o, resp.Announce)
	if threaded, err := a.threadAnnouncement(ctx, resp, o); threaded && (err == nil || !refused(err) || resp.Announce.Empty()) {
		note("announce", err)
	} else if !resp.Announce.Empty() {
		// No status message, or its thread refused the post: in the channel (or by the command's response_url).
		note("announce", a.announce(ctx, o, resp.Announce, resp.Quiet))
	}
	if !resp.Update.Empty() && o.kind == fromAction {
		note("update", a.replace(ctx, o, resp.Update))
	}
	if resp.Edit != nil {
		switch edited, err := a.editReply(ctx, *resp.Edit); {
		case err != nil:
			a.log.Warn("could not update an earlier reply", "channel", resp.Edit.Message.Channel, "ts", resp.Edit.Message.TS, "err", err)
		case !edited:
			a.log.Debug("no reply remembered to update", "channel", resp.Edit.Message.Channel, "ts", resp.Edit.Message.TS)
		}
	}
	if resp.File != nil {
		note("file", a.file(ctx, o, resp.File))
	}
	if a.living != nil && len(resp.Changed) > 0 {
		a.living.Changed(ctx, o.workspace, o.channel, resp.Changed, resp.Following)
	}
	return ts, firstFixable(errs)
}

// actorLookupTime bounds the wait for the name of who acted: past it, they are mentioned.
const actorLookupTime = 2 * time.Second

// namedActor is an announcement with the person who acted named, not
// mentioned: a post notifies everyone it mentions, and nobody needs a ping
// for what they just did. Without the users:read scope they stay mentioned.
func (a *App) namedActor(ctx context.Context, o origin, r *bot.Reply) *bot.Reply {
	if r.Empty() || o.user == "" || !slices.ContainsFunc(r.Blocks, func(b bot.Block) bool {
		return slices.ContainsFunc(b.Lines, func(l bot.Line) bool { return slices.Contains(l, bot.M(o.user)) })
	}) {
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, actorLookupTime)
	defer cancel()
	name := a.api.Names(ctx, o.workspace, []string{o.user})[o.user]
	if name == "" {
		return r
	}
	return mapSpans(r, func(s bot.Span) bot.Span {
		if s == bot.M(o.user) {
			return bot.B(name)
		}
		return s
	})
}

// firstFixable returns the first error a retry could overcome, else the
// first error; but a post Slack may have made wins: a retry could post it twice.
func firstFixable(errs []error) error {
	for _, err := range errs {
		if errors.Is(err, bot.ErrMaybePosted) {
			return err
		}
	}
	for _, err := range errs {
		if !errors.Is(err, bot.ErrChannelGone) {
			return err
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// private shows a reply to the asker only.
func (a *App) private(ctx context.Context, o origin, r *bot.Reply) error {
	if o.responseURL != "" {
		err := a.api.Respond(ctx, o.responseURL, respondEphemeral, r)
		if err == nil {
			return nil
		}
		a.log.Debug("response_url failed; posting ephemerally", "err", err)
	}
	return a.api.PostEphemeral(ctx, o.channel, o.user, o.thread, r)
}

// public posts a reply for everyone: in the message's thread, or the thread
// of the clicked message, or the channel. It returns the reply's ts ("" when
// it went through a response_url).
func (a *App) public(ctx context.Context, o origin, r *bot.Reply) (string, error) {
	thread := ""
	switch o.kind {
	case fromMessage, fromMention:
		thread = o.replyThread()
	case fromAction:
		if !o.ephemeral {
			thread = o.msgThread
			if thread == "" {
				thread = o.msgTS
			}
		}
	}
	var ts string
	var err error
	if o.eventID != "" && (o.kind == fromMessage || o.kind == fromMention) {
		ts, err = a.api.PostEventReply(ctx, o.channel, thread, o.eventID, r)
	} else {
		ts, err = a.api.PostMessage(ctx, o.channel, thread, false, r)
	}
	if refused(err) && o.responseURL != "" {
		// A slash command in a channel the bot is not in (or while Slack
		// rate-limits its posts) can still answer there.
		return "", a.api.Respond(ctx, o.responseURL, respondInChannel, r)
	}
	return ts, err
}

// refused reports whether a post failed for sure (Slack did not make it):
// another way of answering may be tried.
func refused(err error) bool {
	return err != nil && !errors.Is(err, bot.ErrMaybePosted)
}

// announce posts a tracking change in the channel: at the top level, or in
// the thread (also sent to the channel) of a mention made in a thread.
func (a *App) announce(ctx context.Context, o origin, r *bot.Reply, quiet bool) error {
	thread := ""
	if o.kind == fromMention {
		thread = o.thread
	}
	post, mentions := r, false
	if quiet {
		// Posted without its mentions, then edited to show them: an edit notifies nobody.
		post, mentions = withoutMentions(r)
	}
	ts, err := a.api.PostMessage(ctx, o.channel, thread, thread != "", post)
	if refused(err) && o.responseURL != "" {
		return a.api.Respond(ctx, o.responseURL, respondInChannel, post)
	}
	if err == nil && mentions {
		if err := a.api.Update(ctx, o.channel, ts, r); err != nil {
			a.log.Info("cannot show the mentions of a shared status", "channel", o.channel, "err", err)
		}
	}
	return err
}

// replace puts a reply in place of the message holding the clicked button.
func (a *App) replace(ctx context.Context, o origin, r *bot.Reply) error {
	mark := eventMark(o.blocks) // the reply to an event keeps the mark its first block carries
	if !o.ephemeral && o.msgTS != "" {
		err := a.api.UpdateBlocks(ctx, o.channel, o.msgTS, FallbackText(r), withBlockID(RenderBlocks(r), mark))
		if err == nil || o.responseURL == "" {
			return err
		}
	}
	if o.responseURL == "" {
		return errors.New("slackbot: no message or response_url to replace")
	}
	return a.api.RespondID(ctx, o.responseURL, respondReplace, mark, r)
}

// eventMark is the EventBlockID the first of blocks carries, "" when none.
func eventMark(blocks []json.RawMessage) string {
	if len(blocks) == 0 {
		return ""
	}
	var b struct {
		BlockID string `json:"block_id"`
	}
	if json.Unmarshal(blocks[0], &b) != nil || !strings.HasPrefix(b.BlockID, EventBlockID("")) {
		return ""
	}
	return b.BlockID
}

// maxFileText is how much of a file the code-block fallback shows.
const maxFileText = 35000

// file uploads a generated document to the channel (in the asker's thread);
// when the upload fails (no files:write scope, the bot not in the
// channel…) the content is shown to the asker in a code block instead.
func (a *App) file(ctx context.Context, o origin, f *bot.File) error {
	comment := ""
	if o.user != "" {
		comment = fmt.Sprintf("<@%s> asked for %s", o.user, EscapeSlack(f.Title))
	}
	thread := ""
	if o.kind == fromMention || o.kind == fromMessage {
		thread = o.thread
	}
	status := ""
	if f.Env != "" && a.living != nil {
		// A chart goes in the thread of its environment's status message.
		status = a.living.Thread(ctx, o.workspace, o.channel, f.Env)
		thread = cmp.Or(status, thread)
	}
	id, err := a.api.Upload(ctx, o.channel, thread, comment, f)
	if err == nil {
		if status != "" {
			a.keepChart(ctx, o.workspace, f, id) // App Home shows it too
		}
		return nil
	}
	text := codeBlock(f)
	switch f.Type {
	case "png":
		// No code block can show an image (the reply says what it shows): say it did not come.
		text = fmt.Sprintf("I could not upload %s to this channel (%s): the reply above says what it shows; try again in a minute.", EscapeSlack(f.Name), uploadProblem(err))
	case "xlsx":
		// Nor a workbook: its text form can be asked for.
		text = fmt.Sprintf("I could not upload %s to this channel (%s), and a workbook cannot be shown here instead: ask for the export as `csv` or `md`, which can.", EscapeSlack(f.Name), uploadProblem(err))
	default:
		a.log.Info("file upload failed; showing the file's content instead", "file", f.Name, "err", err)
	}
	if o.responseURL != "" {
		if err := a.api.RespondText(ctx, o.responseURL, respondEphemeral, text); err == nil {
			return nil
		}
	}
	return a.api.PostEphemeralText(ctx, o.channel, o.user, o.thread, text)
}

// uploadProblem says in a few words why an upload failed.
func uploadProblem(err error) string {
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Explanation != "":
		return ae.Explanation
	case errors.As(err, &ae):
		return "Slack answered " + ae.Code
	}
	return "Slack could not be reached"
}

// codeBlock is a file's content as a message: its name, then the content,
// escaped, in a code block, cut to maxFileText characters once escaped
// (& < > take four or five each), never inside an escape; a CSV's
// byte-order mark (for Excel) is left out.
func codeBlock(f *bot.File) string {
	content := EscapeSlack(strings.ReplaceAll(strings.TrimPrefix(string(f.Content), "\ufeff"), "```", "'''"))
	cut := ""
	if runes := []rune(content); len(runes) > maxFileText {
		end := maxFileText
		if amp := slices.Index(runes[end-4:end], '&'); amp >= 0 && !slices.Contains(runes[end-4+amp:end], ';') {
			end -= 4 - amp
		}
		rest := utf8.RuneCountInString(UnescapeSlack(string(runes[end:])))
		content, cut = string(runes[:end]), fmt.Sprintf("\n… %d more characters not shown", rest)
	}
	return fmt.Sprintf("*%s*\n```\n%s\n```%s", EscapeSlack(f.Name), content, cut)
}

// afterAction updates the message holding a button once the click did
// what it said, when the core did not rebuild it (Response.Update): a
// shared ephemeral status goes away, and a module marked republished
// loses its button (a reminder's) from the copy of the message the click
// brought. That copy may predate earlier clicks (two clicks before Slack
// shows the first update): the buttons those removed, kept in the store
// for the message (clickedKey), are removed from it again, so none comes
// back.
func (a *App) afterAction(ctx context.Context, resp bot.Response, o origin) {
	if resp.Replace || resp.Update != nil || (resp.Announce.Empty() && (resp.Reply.Empty() || resp.Private)) {
		return
	}
	kind, _, _ := strings.Cut(o.actionID, ":")
	switch kind {
	case bot.ActionShare:
		if o.ephemeral && o.responseURL != "" {
			if err := a.api.Respond(ctx, o.responseURL, respondDelete, nil); err == nil {
				a.metrics.Reply("update")
			}
		}
	case bot.ActionMarkDone, bot.ActionChooseEnv:
		if o.ephemeral || o.msgTS == "" || len(o.blocks) == 0 {
			return
		}
		key := clickedKey(o.channel, o.msgTS)
		var clicks []removal
		if v, ok, err := a.store.Value(ctx, o.workspace, key); err == nil && ok {
			_ = json.Unmarshal(v, &clicks)
		}
		clicks = append(clicks, removal{ActionID: o.actionID, Row: kind == bot.ActionChooseEnv, Note: clickNote(kind, o)})
		blocks, err := withoutButtons(o.blocks, clicks)
		if err != nil {
			a.log.Debug("cannot rewrite the clicked message", "err", err)
			return
		}
		if err := a.api.UpdateBlocks(ctx, o.channel, o.msgTS, blocksText(blocks), blocks); err == nil {
			a.metrics.Reply("update")
			if js, err := json.Marshal(clicks[max(len(clicks)-maxClicks, 0):]); err == nil {
				if err := a.store.PutValue(ctx, o.workspace, key, js, clickedTTL); err != nil {
					a.storeFailed("put value", err)
				}
			}
		}
	}
}

// blocksText is the top-level text of a message rewritten from its
// blocks: as FallbackText has it for a new post (screen readers read it,
// not the blocks), what the blocks say without their buttons or the
// bot's emoji codes, within MaxFallbackChars; the message's text from
// before the click would leave out what the click did.
func blocksText(blocks []slack.Block) string {
	var parts []string
	add := func(t *slack.TextBlockObject) {
		if t == nil {
			return
		}
		lines := strings.Split(t.Text, "\n")
		for i, l := range lines {
			_, words := bot.Line{bot.T(l)}.Emoji()
			lines[i] = words.PlainText()
			if t.Type == slack.PlainTextType {
				lines[i] = inertText(EscapeSlack(lines[i]))
			}
		}
		if s := strings.Join(lines, "\n"); strings.TrimSpace(s) != "" {
			parts = append(parts, s) // whole: a code span may hold a line break
		}
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			add(b.Text)
		case *slack.SectionBlock:
			add(b.Text)
			for _, f := range b.Fields {
				add(f)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					add(t)
				}
			}
		case *slack.ImageBlock:
			add(slack.NewTextBlockObject(slack.PlainTextType, b.AltText, false, false))
		}
	}
	if len(parts) == 0 {
		return "upgradebot"
	}
	return withinFallback(parts)
}

// clickNote is the small print left where a button was.
func clickNote(kind string, o origin) string {
	var v struct {
		Env    string `json:"env"`
		Module string `json:"module"`
	}
	_ = json.Unmarshal([]byte(o.value), &v)
	who := ""
	if o.user != "" {
		who = " by <@" + o.user + ">"
	}
	code := func(s string) string { return "`" + strings.ReplaceAll(EscapeSlack(s), "`", "'") + "`" }
	switch {
	case kind == bot.ActionMarkDone && v.Module != "":
		return ":white_check_mark: " + code(v.Module) + " marked republished" + who
	case kind == bot.ActionChooseEnv && v.Env != "":
		return ":white_check_mark: Recorded for " + code(v.Env) + who
	}
	return ":white_check_mark: Done" + who
}

// A message's clicks are remembered for a week, the last 50 of them.
const (
	clickedTTL = 7 * 24 * time.Hour
	maxClicks  = 50
)

// clickedKey names the clicks on a message in the store's values.
func clickedKey(channel, ts string) string { return "clicked:" + channel + ":" + ts }

// removal is what a click took out of its message: its button (Row: its
// whole row of buttons), with Note left as small print.
type removal struct {
	ActionID string `json:"action_id"`
	Row      bool   `json:"row,omitempty"`
	Note     string `json:"note"`
}

// withoutButtons removes the clicked buttons from a message's blocks: the
// last removal is this click's, whose note is always added; an earlier
// one's note only when its button was still there (the copy predates it).
func withoutButtons(raw []json.RawMessage, clicks []removal) ([]slack.Block, error) {
	found := map[string]bool{}
	var out []any
	for _, r := range raw {
		var b map[string]any
		if err := json.Unmarshal(r, &b); err != nil {
			return nil, err
		}
		if b["type"] == "actions" {
			elems, _ := b["elements"].([]any)
			var kept []any
			row := false
			for _, e := range elems {
				m, _ := e.(map[string]any)
				i := slices.IndexFunc(clicks, func(c removal) bool { return m != nil && m["action_id"] == c.ActionID })
				if i < 0 {
					kept = append(kept, e)
					continue
				}
				found[clicks[i].ActionID], row = true, row || clicks[i].Row
			}
			if len(kept) < len(elems) && (row || len(kept) == 0) {
				continue
			}
			b["elements"] = kept
		}
		out = append(out, b)
	}
	for i, c := range clicks {
		if (found[c.ActionID] || i == len(clicks)-1) && len(out) < MaxBlocks {
			out = append(out, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": c.Note, "verbatim": true}}})
		}
	}
	js, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var blocks slack.Blocks
	if err := json.Unmarshal(js, &blocks); err != nil {
		return nil, err
	}
	return blocks.BlockSet, nil
}
