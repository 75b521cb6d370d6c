package slackbot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/upgradebot/upgradebot/bot"
)

// Edits and deletions. The reply to a message is remembered (its ts and the
// event id its first block_id carries, EventBlockID) for as long as its
// record can be undone, so an edit or a deletion of the message updates
// that reply in place with chat.update.

// sentReply is where the reply to a message is.
type sentReply struct {
	TS    string `json:"ts"`
	Event string `json:"event,omitempty"`
}

func sentReplyKey(m bot.Message) string { return "slack:reply:" + m.Channel + ":" + m.TS }

// noteReply remembers the reply ts posted to message m under event eventID.
func (a *App) noteReply(ctx context.Context, m bot.Message, eventID, ts string) {
	js, _ := json.Marshal(sentReply{TS: ts, Event: eventID})
	if err := a.store.PutValue(ctx, m.Workspace, sentReplyKey(m), js, replyMemory); err != nil {
		a.storeFailed("remember a reply", err)
	}
}

// editReply puts e.Reply in place of the reply to e.Message; false when
// none is remembered (or the store cannot say).
func (a *App) editReply(ctx context.Context, e bot.Edit) (bool, error) {
	var sent sentReply
	if js, found, err := a.store.Value(ctx, e.Message.Workspace, sentReplyKey(e.Message)); err != nil {
		a.storeFailed("read a reply", err)
	} else if found {
		_ = json.Unmarshal(js, &sent)
	}
	if sent.TS == "" {
		return false, nil
	}
	var err error
	if sent.Event != "" { // its first block keeps the event id
		err = a.api.UpdateEventReply(ctx, e.Message.Channel, sent.TS, sent.Event, e.Reply)
	} else {
		err = a.api.Update(ctx, e.Message.Channel, sent.TS, e.Reply)
	}
	if err == nil {
		a.metrics.Reply("update")
		// Remembered as long as what it recorded can be undone, which each answer renews.
		a.noteReply(ctx, e.Message, sent.Event, sent.TS)
	}
	return true, err
}

// wasDeleted reports whether m was deleted before its answer (its
// screenshots were being read, or it was taken up late): then it records
// and posts nothing. The core marks it (HandleDelete).
func (a *App) wasDeleted(ctx context.Context, m bot.Message) bool {
	_, ok, err := a.store.Value(ctx, m.Workspace, bot.DeletedKey(m.Channel, m.TS))
	return err == nil && ok
}

// changedSince reports whether an edit or the deletion of m was answered.
func (a *App) changedSince(ctx context.Context, m bot.Message) bool {
	if a.wasDeleted(ctx, m) {
		return true
	}
	_, found, err := a.store.Value(ctx, m.Workspace, editedKey(m))
	return err == nil && found
}

func editedKey(m bot.Message) string { return "slack:edited:" + m.Channel + ":" + m.TS }

// replyMemory is how long a reply is remembered: as long as an undo can happen.
const replyMemory = 3 * 24 * time.Hour

// takeChange takes a message_changed or message_deleted event (d.rec set:
// recovered from the journal). One that may have something to do (see
// changeMatters) is journaled like a message: acknowledged, it must not
// be lost at a stop, or the paste's journaled first version, answered by
// the next process, would stand as the record. An edit of plain chat is
// not (most edits are): it costs no store write before its acknowledgement.
func (a *App) takeChange(cb *slackevents.EventsAPICallbackEvent, e *slackevents.MessageEvent, d durable, size int64, received time.Time) bool {
	prev := e.PreviousMessage
	// People's messages, and allowed bots' (a deployment bot edits its
	// "Deploying…" into the error): the bot's own replies change too (a
	// thread's reply count).
	if prev == nil || e.Channel == "" || prev.Timestamp == "" {
		return true
	}
	// A message with thread replies is not removed when deleted: it
	// becomes a tombstone ("This message was deleted.").
	deleted := e.SubType == "message_deleted" || e.Message != nil && e.Message.SubType == "tombstone"
	if prev.User == a.botUser && prev.User != "" {
		if deleted && a.living != nil && d.rec == nil && (prev.ThreadTimestamp == "" || prev.ThreadTimestamp == prev.Timestamp) { // perhaps a status message
			return a.submit(job{key: laneKey(cb.TeamID, e.Channel), bytes: size, kind: "message", received: received,
				run: func(ctx context.Context) { a.living.Deleted(ctx, cb.TeamID, e.Channel, prev.Timestamp) }})
		}
		return true
	}
	author := prev.User
	if prev.BotID != "" {
		app := ""
		for _, m := range []*slack.Msg{prev, e.Message} { // the profile, where Slack gives it
			if m != nil && m.BotProfile != nil && app == "" {
				app = m.BotProfile.AppID
			}
		}
		if prev.BotID == a.botID || !a.allowedBot(prev.BotID, app) {
			return true
		}
		author = cmp.Or(author, prev.BotID)
	}
	if author == "" {
		return true
	}
	m := bot.Message{Workspace: cb.TeamID, Channel: e.Channel, User: author, TS: prev.Timestamp, ThreadTS: prev.ThreadTimestamp}
	if m.ThreadTS == m.TS {
		m.ThreadTS = ""
	}
	if deleted {
		// What its reply answered, kept in it, and the version it answered
		// last (what was held back of it is kept under that one) (HandleDelete).
		m.Text = messageText(prev)
		if prev.Edited != nil {
			m.Edited = prev.Edited.Timestamp
		}
	} else {
		cur := e.Message
		// An unfurl or new metadata changes a message without an edit of its text.
		edited := ""
		switch {
		case cur == nil:
		case cur.Edited != nil:
			edited = cur.Edited.Timestamp
		case prev.BotID != "":
			edited = e.TimeStamp // a bot's chat.update carries no "edited"
		}
		if edited == "" || messageText(cur) == messageText(prev) {
			return true
		}
		m.Text, m.Edited = messageText(cur), edited
	}
	j := job{key: laneKey(m.Workspace, m.Channel), bytes: size, kind: "message", received: received,
		run: func(ctx context.Context) { a.handleChange(ctx, cb.EventID, m, deleted) }}
	if a.changeMatters(m, prev, deleted) {
		return a.submitEvent(j, m, nil, d)
	}
	if d.rec != nil || deleted {
		return true // chat deleted: the bot never answered it, and nothing marks it (a mark would stay 14 days)
	}
	return a.submit(j)
}

// changeMatters reports, without I/O, whether an edit or deletion of m may
// have something to do: its earlier version had an error the bot knows or
// files (it may have been answered and recorded), or its new text has one.
func (a *App) changeMatters(m bot.Message, prev *slack.Msg, deleted bool) bool {
	if len(prev.Files) > 0 {
		return true
	}
	was := m
	was.Text, was.Edited = messageText(prev), ""
	if !a.core.Read(was).Silent() {
		return true
	}
	return !deleted && !a.core.Read(m).Silent()
}

// handleChange answers an edit (the message diagnosed and recorded again)
// or a deletion (its reply offers Undo), updating the message's reply.
func (a *App) handleChange(ctx context.Context, eventID string, m bot.Message, deleted bool) {
	// One answer per edit, however often it is delivered (under other event ids too).
	change := m.Edited
	if deleted {
		change = "deleted"
	}
	eventKey, changeKey := "slack:event:"+eventID, "slack:change:"+m.Channel+":"+m.TS+":"+change
	var held heldClaims
	if recovered(ctx) {
		// The stopped process's claims may be held: answered again, an
		// edit undoes and records under the same keys (once), and its
		// reply is updated in place or looked for in the thread.
		held = a.claimFree(ctx, m.Workspace, eventKey, changeKey)
	} else {
		var dup bool
		if held, dup = a.claimAll(ctx, m.Workspace, []claim{{eventKey, "event_id"}, {changeKey, "change"}}); dup {
			return
		}
	}
	// An edit delivered after the message's deletion (a retry) is stale:
	// the deletion's reply, and its Undo, stand.
	if !deleted && (a.olderEdit(ctx, m) || a.wasDeleted(ctx, m)) {
		a.finish(ctx, held, nil)
		return
	}
	// The message itself, delivered late (a retry), is not answered after its edit.
	ttl, _ := a.claimTTL(ctx)
	if ok, err := a.store.Claim(ctx, m.Workspace, "slack:msg:"+m.Channel+":"+m.TS, held.token, ttl); err == nil && ok {
		held.keys = append(held.keys, "slack:msg:"+m.Channel+":"+m.TS)
	}
	var resp bot.Response
	if deleted {
		// (It marks m deleted: a message whose screenshots are still being
		// read is answered later, and that answer must find it deleted.)
		resp = a.core.HandleDelete(ctx, m)
	} else {
		resp = a.core.HandleEdit(ctx, m)
	}
	o := eventOrigin(ctx, eventID, m)
	updated := false
	if !resp.Reply.Empty() && !resp.Private {
		if edited, err := a.editReply(ctx, bot.Edit{Message: m, Reply: resp.Reply}); edited {
			updated = true
			var ae *APIError
			switch {
			case errors.As(err, &ae) && ae.Code == "message_not_found":
				// Its reply was deleted: the new one is posted in the thread instead.
			case err != nil:
				a.log.Warn("could not update the reply to a changed message", "channel", m.Channel, "ts", m.TS, "err", err)
				resp.Reply = nil
			default:
				resp.Reply = nil
			}
		}
	}
	if deleted {
		// A reply updated is the answer. One recorded with no reply to
		// update (quietly, a reaction; or the thread had that diagnosis)
		// is posted in its thread: its Undo must be somewhere. A message
		// at the channel's top level may be gone with its thread (Slack
		// removes one deleted without replies): its author is told.
		if updated {
			resp.Reply = nil
		}
		resp.Private = resp.Private || m.ThreadTS == ""
		resp.React = ""
	}
	ts, err := a.deliverTS(ctx, resp, o)
	if ts != "" {
		a.noteReply(ctx, m, eventID, ts)
	}
	a.finish(ctx, held, err)
}

// olderEdit reports whether an edit of m newer than m's was answered already
// (edits delivered out of order: the message reads as the newest one), and
// else notes m's as the newest.
func (a *App) olderEdit(ctx context.Context, m bot.Message) bool {
	key := editedKey(m)
	if last, found, err := a.store.Value(ctx, m.Workspace, key); err == nil && found && tsBefore(m.Edited, string(last)) {
		a.log.Debug("an older edit after a newer one, not answered", "channel", m.Channel, "ts", m.TS)
		return true
	}
	if err := a.store.PutValue(ctx, m.Workspace, key, []byte(m.Edited), replyMemory); err != nil {
		a.storeFailed("remember an edit", err)
	}
	return false
}

// tsBefore reports whether Slack timestamp a ("1700001002.000100") is before b.
func tsBefore(a, b string) bool {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA != nil || errB != nil {
		return a < b
	}
	return x < y
}
