package bot

import (
	"context"
	"errors"

	"github.com/upgradebot/upgradebot/progress"
)

// handleEdit answers an edited message (HandleEdit).
func (b *Bot) handleEdit(ctx context.Context, m Message) Response {
	if len(m.Images) == 0 {
		was, found, err := b.kept(ctx, m.Workspace, replyKey(m))
		if err != nil {
			return private(b.storeError("read the edited message's screenshots", err))
		}
		if found {
			m.Images = was.Images
		}
	}
	if u, ok, err := b.undoable(ctx, m.Workspace, replyKey(m)); err == nil && ok && u.Undone == "" && u.Outcome {
		ctx = context.WithValue(ctx, correctingKey{}, true)
	}
	res, undone, errR := b.undoMessage(ctx, m, "edit:"+messageKey(m))
	if errR != nil {
		return private(errR)
	}
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
	return resp
}

type correctingKey struct{}

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
	u.Undone = m.User
	b.putUndoable(ctx, m.Workspace, ref, u)
	return res, true, nil
}

// handleDelete answers the deletion of message m (HandleDelete).
func (b *Bot) handleDelete(ctx context.Context, m Message) Response {
	ref := replyKey(m)
	u, ok, err := b.undoable(ctx, m.Workspace, ref)
	if err != nil {
		b.log.Warn("cannot read what a deleted message recorded", "err", err)
	}
	if err != nil || !ok || u.Undone != "" {
		return Response{}
	}
	note := Line{T(":wastebasket: The message this answered was deleted. What it recorded for "), B(u.Env), T(" stays until someone clicks Undo.")}
	if r := b.rebuild(ctx, m.Workspace, ref, u.Env, "", note); r != nil {
		return Response{Reply: r} // the explanation, what it recorded, its buttons and Undo
	}
	r := &Reply{Summary: "The message this answered was deleted"}
	r.Section(note).Context(Line{T(u.What)})
	return Response{Reply: withUndo(r, ref)}
}
