package bot

import (
	"context"
	"errors"
	"regexp"
	"slices"

	"github.com/upgradebot/upgradebot/progress"
)

// handleEdit answers an edited message (HandleEdit).
func (b *Bot) handleEdit(ctx context.Context, m Message) Response {
	if _, isCmd := b.CommandText(m.Text); isCmd {
		r := errorReply("An edited command is not run again: send it anew (and `" + b.cmd + " undo` takes back what the first one did).")
		return private(r)
	}
	// What its author struck through (Slack's ~strikethrough~) is taken
	// back: a paste struck out reads as an edit into plain chat.
	m.Text = struck.ReplaceAllStringFunc(m.Text, func(s string) string {
		lead, trail := "", "" // the space or parenthesis around a span stays
		if s[0] != '~' {
			lead = s[:1]
		}
		if s[len(s)-1] != '~' {
			trail = s[len(s)-1:]
		}
		return lead + trail
	})
	was, found, err := b.keptAt(ctx, m.Workspace, replyKey(m))
	if err != nil {
		return private(b.storeError("read the edited message", err))
	}
	if len(m.Images) == 0 && found {
		m.Images = was.Images
	}
	u, recorded, err := b.undoable(ctx, m.Workspace, replyKey(m))
	if err == nil && recorded && u.Undone != "" && u.Undone != m.User {
		// A teammate took back what it recorded (another environment's
		// error, say): the author's edit, perhaps only a note that says
		// so, does not overrule them. It is held back: Record anyway.
		ctx = context.WithValue(ctx, undoneByKey{}, u.Undone)
	}
	recorded = err == nil && recorded && u.Undone == ""
	if recorded && found && was.KeptAt > 0 {
		if r := b.beforeRestart(ctx, m.Workspace, u.Env, was.KeptAt); r != nil {
			return private(r) // neither its first version undone nor the edit recorded: the new upgrade is not the old one's
		}
	}
	if recorded && u.Outcome {
		ctx = context.WithValue(ctx, correctingKey{}, true)
	}
	res, undone, errR := b.undoMessage(ctx, m, "edit:"+messageKey(m))
	if errR != nil {
		return private(errR)
	}
	// A module the first version reported and someone republished since
	// stays republished: the edit corrects that report, it is no new one.
	ctx = context.WithValue(ctx, keptKey{}, res.Kept)
	resp := b.Answer(ctx, b.Read(m))
	if !undone {
		return resp
	}
	note := Line{T(":pencil2: The message was edited: what it recorded before was undone, and this is what it says now.")}
	if resp.Reply.Empty() {
		resp.Reply = &Reply{Summary: "Edited: no upgrade error any more"}
		note = Line{T(":pencil2: The message was edited and no longer shows an upgrade error I know: what it recorded was undone.")}
	}
	resp.Reply.Context(note)
	if l := keptLine(res); l != nil {
		resp.Reply.Context(l)
	}
	if resp.React != "" {
		// A quiet diagnosis (a reaction, what it recorded for the author
		// only) replaces a reply everyone saw: it is public too.
		resp.Private, resp.React = false, ""
	}
	// The first version's mark, if it was recorded quietly, no longer holds.
	resp.Unreact = quietMark
	return resp
}

// quietMark is the reaction that says a message was recorded quietly.
const quietMark = "white_check_mark"

// struck is Slack's strikethrough: ~ after a space or a line's start up to
// a ~ before a space, punctuation or a line's end, with no space just
// inside either (so "after ~20 min … ETA ~ 1h" is none), on one line; over
// lines only from a line's start ("~<paste>~ wrong env", "note:\n~<paste>~")
// or as the whole text.
var struck = regexp.MustCompile(`(?m)(?:^|[ \t(])~[^~\s](?:[^~\n]*[^~\s])?~(?:[ \t).,;:!?]|$)|^~[^~\s][^~]*[^~\s]~(?:[ \t).,;:!?]|$)|\A\s*~[^~\s][^~]*[^~\s]~\s*\z`)

type correctingKey struct{}

// undoneByKey holds who undid what an edited message recorded, when not its author.
type undoneByKey struct{}

func undoneBy(ctx context.Context) string {
	by, _ := ctx.Value(undoneByKey{}).(string)
	return by
}

// keptKey holds the modules an edit's undo left as they were (changed since).
type keptKey struct{}

// keptByEdit reports whether module is one an edit's undo left as changed since.
func keptByEdit(ctx context.Context, module string) bool {
	kept, _ := ctx.Value(keptKey{}).([]string)
	return slices.ContainsFunc(kept, func(k string) bool { return moduleKey(k) == moduleKey(module) })
}

// correcting reports whether ctx is an edit's of a message that recorded a
// summary or banner: what the edit says of them is its author's correction.
func correcting(ctx context.Context) bool {
	c, _ := ctx.Value(correctingKey{}).(bool)
	return c
}

// messageEnvState is "env/state" of the environment message m recorded
// for; "" when it recorded nothing.
func (b *Bot) messageEnvState(ctx context.Context, m Message) string {
	u, ok, err := b.undoable(ctx, m.Workspace, replyKey(m))
	if err != nil || !ok || u.Env == "" {
		return ""
	}
	if st, err := b.store.Status(ctx, m.Workspace, u.Env, 0); err == nil {
		return st.Name + "/" + string(st.State)
	}
	return ""
}

// undoMessage takes back what message m recorded, as m's author, and
// says what the undo did; false when it recorded nothing (left). What it recorded unread (a store
// error) is an error: the edit is not answered as if nothing was.
func (b *Bot) undoMessage(ctx context.Context, m Message, key string) (progress.Result, bool, *Reply) {
	ref := replyKey(m)
	u, ok, err := b.undoable(ctx, m.Workspace, ref)
	if err != nil {
		return progress.Result{}, false, b.storeError("read what the message recorded", err)
	}
	if !ok || u.Undone != "" {
		return progress.Result{}, false, nil
	}
	res, err := b.store.Apply(ctx, m.Workspace, u.Env, progress.Change{Kind: progress.ChangeUndo, Key: key, Actor: m.User, Undoes: u.Keys, At: b.now()})
	if err != nil && !errors.Is(err, progress.ErrNothingToUndo) {
		return progress.Result{}, false, b.storeError("undo", err)
	}
	if res.Duplicate {
		return res, false, nil // this edit was answered already: what it recorded stays undoable
	}
	u.Undone = m.User
	b.putUndoable(ctx, m.Workspace, ref, u)
	return res, true, nil
}

// DeletedKey is the store key (a value) that marks the message channel/ts
// deleted, kept as long as its reply's buttons (keepFor): a click on
// them, or the message's work taken up late, finds it deleted.
func DeletedKey(channel, ts string) string { return "deleted:" + channel + ":" + ts }

// wasDeleted reports whether the message channel/ts was deleted (false
// when the store cannot say: the click goes on as before).
func (b *Bot) wasDeleted(ctx context.Context, workspace, channel, ts string) bool {
	_, found, err := b.store.Value(ctx, workspace, DeletedKey(channel, ts))
	return err == nil && found
}

// deletedMessage refuses a click or command that would record from the
// deleted message channel/ts; nil when it was not deleted.
func (b *Bot) deletedMessage(ctx context.Context, workspace, channel, ts string) *Reply {
	if channel == "" || !b.wasDeleted(ctx, workspace, channel, ts) {
		return nil
	}
	return errorReply("That message was deleted, so nothing was recorded from it. If what it said was right, paste it again.")
}

// handleDelete answers the deletion of message m (HandleDelete).
func (b *Bot) handleDelete(ctx context.Context, m Message) Response {
	if err := b.store.PutValue(ctx, m.Workspace, DeletedKey(m.Channel, m.TS), []byte("1"), keepFor); err != nil {
		b.log.Warn("cannot mark a message deleted", "channel", m.Channel, "ts", m.TS, "err", err)
	}
	ref := replyKey(m)
	u, ok, err := b.undoable(ctx, m.Workspace, ref)
	if err != nil {
		b.log.Warn("cannot read what a deleted message recorded", "err", err)
		return Response{}
	}
	if !ok || u.Undone != "" {
		// Recorded nothing (held back, asked about, undone): its reply, if
		// it has one, loses its buttons, which would record it.
		note := nothingRecorded(u.Undone)
		if h, found := b.recordedAnyway(ctx, m); found {
			// Held back, then recorded anyway: that stays, and its own
			// announcement has the Undo.
			note = Line{T(":wastebasket: The message this answered was deleted. What "), M(h.Recorded), T(" recorded anyway from it for "), B(h.Env), T(" stays until someone clicks Undo on that announcement (or "), C(b.cmd + " undo"), T(").")}
		}
		return Response{Edit: &Edit{Message: m, Reply: b.deletedReply(m, note)}}
	}
	note := Line{T(":wastebasket: The message this answered was deleted. What it recorded for "), B(u.Env), T(" stays until someone clicks Undo.")}
	if r := b.rebuild(ctx, m.Workspace, ref, u.Env, "", note); r != nil {
		return Response{Reply: r} // the explanation, what it recorded, its buttons and Undo
	}
	r := &Reply{Summary: "The message this answered was deleted"}
	r.Section(note).Context(Line{V(Shorten(u.What, 300))})
	return Response{Reply: withUndo(r, ref, u.What)}
}

// recordedAnyway is what of message m someone recorded anyway, in one of
// its channel's environments; false when nothing was.
func (b *Bot) recordedAnyway(ctx context.Context, m Message) (heldChanges, bool) {
	envs, err := b.store.ChannelEnvironments(ctx, m.Workspace, m.Channel)
	if err != nil {
		return heldChanges{}, false
	}
	for _, e := range envs {
		if h, ok, err := b.heldFor(ctx, m.Workspace, heldCode(messageKey(m), e.Name)); err == nil && ok && h.Recorded != "" {
			return h, true
		}
	}
	return heldChanges{}, false
}

// deletedReply replaces the reply of a deleted message m that recorded
// nothing itself, with note: its diagnosis stays, people may be
// discussing it, without the buttons that would record it.
func (b *Bot) deletedReply(m Message, note Line) *Reply {
	r := &Reply{Summary: "The message this answered was deleted"}
	if reading := b.Read(m); !reading.Silent() {
		r = b.diagnosisReply(findingsOf(reading.parts), known{internal: internalError(m.Text)})
		r.Summary = "The message this answered was deleted · " + r.Summary
	}
	return r.Context(note)
}

// nothingRecorded notes that a deleted message records nothing (what it
// recorded was undone by undoneBy, when not "").
func nothingRecorded(undoneBy string) Line {
	l := Line{T(":wastebasket: The message this answered was deleted; nothing it said is recorded")}
	if undoneBy != "" {
		l = append(l, T(" (what it recorded was undone by "), M(undoneBy), T(")"))
	}
	return append(l, T("."))
}
