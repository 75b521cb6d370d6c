package slackbot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	json2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// parseEvent reads an Events API payload (the body of an HTTP request, or
// the payload of a Socket Mode events_api envelope) with slack-go; the
// request was verified by its signature (or came over Socket Mode), so the
// legacy verification token is not checked. Invalid JSON is errInvalidJSON.
//
// A message, nearly all the traffic, is read in two decodings into
// slack-go's types (messageCallback); everything else, and any message
// those cannot take, by slackevents.ParseEvent, which decodes the body
// five times over.
//
// slack-go refuses a whole message for one field of a file it does not
// expect (a size sent as a string): such a message or mention is read
// again with those fields left empty (encoding/json fills all the others),
// so that a file Slack describes unexpectedly never makes it unreadable.
func parseEvent(raw []byte) (slackevents.EventsAPIEvent, error) {
	if ev, ok := new(messageCallback).event(raw); ok {
		return ev, nil
	}
	if !json.Valid(raw) {
		return slackevents.EventsAPIEvent{}, errInvalidJSON
	}
	ev, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err == nil || !oddFile(err) {
		return ev, err
	}
	var cb slackevents.EventsAPICallbackEvent
	if json.Unmarshal(raw, &cb) != nil || cb.InnerEvent == nil {
		return ev, err
	}
	inner := slackevents.EventsAPIInnerEvent{}
	switch inner.Type = eventType(*cb.InnerEvent); inner.Type {
	case string(slackevents.Message):
		var me slackevents.MessageEvent
		_ = json.Unmarshal(*cb.InnerEvent, &me) // fills the event's own fields before its message fails
		me.Message = &slack.Msg{}
		if e := json.Unmarshal(*cb.InnerEvent, me.Message); e != nil && !oddFile(e) {
			return ev, err
		}
		inner.Data = &me
	case string(slackevents.AppMention):
		var am slackevents.AppMentionEvent
		if e := json.Unmarshal(*cb.InnerEvent, &am); e != nil && !oddFile(e) {
			return ev, err
		}
		inner.Data = &am
	default:
		return ev, err
	}
	return slackevents.EventsAPIEvent{Token: cb.Token, TeamID: cb.TeamID, Type: cb.Type, APIAppID: cb.APIAppID,
		EnterpriseID: cb.EnterpriseID, IsExtSharedChannel: cb.IsExtSharedChannel, Data: &cb, InnerEvent: inner}, nil
}

// errInvalidJSON: the payload is not JSON.
var errInvalidJSON = errors.New("invalid JSON")

// messageCallback is an Events API callback whose event is a message,
// read in two decodings (the callback, then its event) into slack-go's
// types, where slackevents.ParseEvent takes five: the same result in less
// than half the time and a fifth of the allocations (nearly all traffic
// comes this way). They use the json/v2 project's decoder under
// encoding/json's rules (names in any case, invalid UTF-8, a name given
// twice), which read as slack-go does (FuzzEventsEndpoint), and report an
// error as it comes: about 20 % less time than encoding/json's way of
// reporting errors, which reads the whole input first (BenchmarkParseEvent).
type messageCallback struct {
	cb  slackevents.EventsAPICallbackEvent
	msg struct {
		slack.Msg
		ChannelType string `json:"channel_type"`
		UserTeam    string `json:"user_team"` // the author's workspace, in a Slack Connect channel
		// Blocks repeat the text as rich text, which the bot does not read:
		// skipped rather than decoded (slack-go's decoding of them costs more
		// than all the rest of the event).
		Blocks unread `json:"blocks"`
		// Nested is message_changed's new message, which slackevents.MessageEvent reads instead.
		Nested json.RawMessage `json:"message"`
	}
	me slackevents.MessageEvent // what event gives, allocated with the rest
}

// slackJSON are the decoding options of messageCallback: encoding/json's,
// but an error ends the decoding at once rather than after the rest is
// read (it makes the event go to ParseEvent all the same).
var slackJSON = json2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv1.ReportErrorsWithLegacySemantics(false))

// unread is a JSON value left unread.
type unread struct{}

func (*unread) UnmarshalJSON([]byte) error { return nil }

// event reads raw as slackevents.ParseEvent would (but for the message's
// blocks, and the fields of MessageEvent that slack.Msg lacks) when it is a
// new message (the subtypes newText takes) that carries no other message,
// what nearly all traffic is; false for anything else, edits and deletions
// included (their previous and new messages are MessageEvent's).
func (mc *messageCallback) event(raw []byte) (slackevents.EventsAPIEvent, bool) {
	cb, e := &mc.cb, &mc.msg
	if json2.Unmarshal(raw, cb, slackJSON) != nil || cb.Type != string(slackevents.CallbackEvent) || cb.InnerEvent == nil ||
		json2.Unmarshal(*cb.InnerEvent, e, slackJSON) != nil || e.Type != string(slackevents.Message) || e.Nested != nil {
		return slackevents.EventsAPIEvent{}, false
	}
	switch e.SubType {
	case "", "thread_broadcast", "file_share", "bot_message", "me_message":
	default:
		return slackevents.EventsAPIEvent{}, false
	}
	mc.me = slackevents.MessageEvent{ClientMsgID: e.ClientMsgID, Type: e.Type, User: e.User, Text: e.Text,
		ThreadTimeStamp: e.ThreadTimestamp, TimeStamp: e.Timestamp, Channel: e.Channel, ChannelType: e.ChannelType,
		EventTimeStamp: e.EventTimestamp, SubType: e.SubType, BotID: e.BotID, Username: e.Username, UserTeam: e.UserTeam, Message: &e.Msg}
	return slackevents.EventsAPIEvent{Token: cb.Token, TeamID: cb.TeamID, Type: cb.Type, APIAppID: cb.APIAppID,
		EnterpriseID: cb.EnterpriseID, IsExtSharedChannel: cb.IsExtSharedChannel, Data: cb,
		InnerEvent: slackevents.EventsAPIInnerEvent{Type: e.Type, Data: &mc.me}}, true
}

// oddFile: err is a value of an unexpected JSON type in a message's files.
func oddFile(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te) && strings.HasPrefix(te.Field, "files")
}

func eventType(raw []byte) string {
	var e struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Type
}

// onEvent takes an Events API payload; false when it is refused (at the
// bound): not to be acknowledged, so Slack resends it. ack is Socket
// Mode's (see onCallback), nil in HTTP mode.
func (a *App) onEvent(raw []byte, retry int, retryReason string, ack *socketAck) bool {
	ev, err := parseEvent(raw)
	if err != nil {
		a.log.Warn("unreadable Events API payload", "err", err)
		return true
	}
	return a.onCallback(ev, raw, retry, retryReason, ack)
}

// onCallback takes a parsed Events API payload (raw, as received) before
// it is acknowledged; false when refused at the bound. With ack (Socket
// Mode), a journal write may still be under way when it returns: ack.write,
// to wait for before acknowledging.
func (a *App) onCallback(ev slackevents.EventsAPIEvent, raw []byte, retry int, retryReason string, ack *socketAck) bool {
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if ev.Type != slackevents.CallbackEvent || !ok {
		a.log.Debug("ignoring Events API payload", "type", ev.Type)
		return true
	}
	a.metrics.Event(ev.InnerEvent.Type)
	if retry > 0 {
		a.log.Debug("Slack re-delivered an event", "event_id", cb.EventID, "retry", retry, "reason", retryReason)
	}
	return a.take(ev, cb, raw, nil, ack, retry > 0)
}

// take works out what an event asks for, before it is acknowledged (or,
// rec set, when a stopped process left it in the journal): a message is
// diagnosed here (µs, no I/O), so one with nothing to answer ends at once
// and takes no queue space or journal entry; other work is journaled and
// offered to its channel's lane. False when refused at the bound.
func (a *App) take(ev slackevents.EventsAPIEvent, cb *slackevents.EventsAPICallbackEvent, raw []byte, rec *recovery, ack *socketAck, retried bool) bool {
	if !a.eventForUs(cb) {
		a.otherInstallation("event", cb.TeamID, cb.EnterpriseID)
		return true
	}
	// Kept under the installation's workspace, as commands and clicks are,
	// not the envelope's team_id: in a shared channel (Slack Connect, or
	// between workspaces of a Grid organization) that may name another.
	cb.TeamID = a.team
	received := time.Now()
	size := int64(len(raw))
	var msg *slack.Msg
	var subtype, channelType, userTeam string
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		if e.SubType == "message_changed" || e.SubType == "message_deleted" {
			return a.takeChange(cb, e, durable{eventID: cb.EventID, raw: raw, rec: rec, ack: ack, retried: retried}, size, received)
		}
		if e.SubType == "channel_unarchive" || e.SubType == "channel_join" && e.User == a.botUser {
			return rec != nil || a.resume(cb.TeamID, e.Channel, size, received)
		}
		// Message holds the message itself (for message_changed, the new one);
		// the subtype and channel type are the event's.
		msg, subtype, channelType, userTeam = e.Message, e.SubType, e.ChannelType, e.UserTeam
	case *slackevents.AppMentionEvent:
		userTeam = e.UserTeam
		msg = &slack.Msg{Type: e.Type, User: e.User, Text: e.Text, Timestamp: e.TimeStamp, ThreadTimestamp: e.ThreadTimeStamp,
			Channel: e.Channel, BotID: e.BotID, Files: e.Files}
		if e.Edited != nil {
			msg.Edited = &slack.Edited{User: e.Edited.User, Timestamp: e.Edited.TimeStamp}
		}
	// Back in a channel (Slack may withhold the join's message, so both
	// kinds of event are taken).
	case *slackevents.MemberJoinedChannelEvent:
		return e.User != a.botUser || rec != nil || a.resume(cb.TeamID, e.Channel, size, received)
	case *slackevents.ChannelUnarchiveEvent:
		return rec != nil || a.resume(cb.TeamID, e.Channel, size, received)
	case *slackevents.GroupUnarchiveEvent:
		return rec != nil || a.resume(cb.TeamID, e.Channel, size, received)
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab != "" && e.Tab != "home" || rec != nil {
			return true
		}
		// Not journaled: App Home is published again when next opened.
		return a.submit(job{kind: "home", bytes: size, received: received,
			run: func(ctx context.Context) { a.handleHome(ctx, cb.EventID, cb.TeamID, e.User) }})
	default:
		a.log.Debug("ignoring event", "type", ev.InnerEvent.Type, "event_id", cb.EventID)
		return true
	}
	if msg == nil {
		return true
	}
	m, ok := a.newText(cb.TeamID, subtype, msg, cb.InnerEvent)
	if !ok || (rec != nil && !a.recoverOnce(m)) {
		return true
	}
	j := job{key: laneKey(m.Workspace, m.Channel), bytes: size, kind: "message", received: received}
	d := durable{eventID: cb.EventID, raw: raw, rec: rec, ack: ack, retried: retried}
	// A bot's message is only diagnosed, never run as a command: a CI or
	// deployment bot may relay text anyone wrote (a commit title).
	fromBot := msg.BotID != "" || subtype == "bot_message"
	if command, isCmd := a.commandText(m, channelType == slackevents.ChannelTypeIM); isCmd && !fromBot {
		if a.core.ReadOnly(command) {
			j.key = ""
		}
		// In a Slack Connect channel, someone of another organization: their
		// pastes are answered, but the record and its commands are ours. (In
		// a Grid organization user_team may name the organization itself.)
		outsider := cb.IsExtSharedChannel && userTeam != "" && userTeam != a.team && userTeam != a.org
		j.run = d.tag(func(ctx context.Context) { a.handleMention(ctx, cb.EventID, m, command, outsider) })
		return a.submitEvent(j, m, nil, d)
	}
	// The message's one diagnosis. Most channel traffic gets no answer:
	// find that out before anything is queued, journaled or claimed.
	r := a.core.Read(m)
	shots := a.screenshots(m.Channel, m.TS, msg.Files)
	switch {
	case len(shots) > 0:
		return a.answerWithScreenshots(j, d, r, shots)
	case r.Silent() && channelType == slackevents.ChannelTypeIM && !fromBot && len(msg.Files) == 0 && commandLike(m.Text):
		// A direct message only the bot reads: a word or two it does not
		// know is answered as a command would be ("did you mean", or the
		// help). A file, or a paste it does not recognize, is no command.
		j.run = d.tag(func(ctx context.Context) { a.handleMention(ctx, cb.EventID, m, m.Text, false) })
		return a.submitEvent(j, m, nil, d)
	case r.Silent():
		return true
	}
	j.run = d.tag(func(ctx context.Context) { a.handleText(ctx, cb.EventID, r) })
	return a.submitEvent(j, m, r, d)
}

// eventForUs reports whether an event is for this installation: Slack
// sends every installation's events to the app's one request URL (or any
// of its Socket Mode connections), and lists in authorizations the
// installations an event is for. An event without them (Slack has sent
// them since 2021) is taken as ours.
func (a *App) eventForUs(cb *slackevents.EventsAPICallbackEvent) bool {
	for _, au := range cb.Authorizations {
		if au.TeamID == a.team {
			return true
		}
	}
	return len(cb.Authorizations) == 0
}

// forUs reports whether a command or click is for this installation: from
// its workspace or, in an Enterprise Grid organization, from another of
// its workspaces (a channel shared between them, seen from there). Every
// payload is this app's (its signing secret or app token brought it), so
// api_app_id would tell nothing more: it is the same for all of the app's
// installations.
func (a *App) forUs(team, enterprise string) bool {
	return team == a.team || a.org != "" && enterprise == a.org
}

// otherInstallation notes a payload left alone because it is another
// installation's: this process's token cannot answer it, and its data is
// that workspace's.
func (a *App) otherInstallation(kind, team, enterprise string) {
	a.metrics.Event("other_installation")
	a.log.Debug("ignoring a payload for another installation of the app", "kind", kind, "team_id", team, "enterprise_id", enterprise, "our_team_id", a.team)
}

// resume resumes the reminders of a channel the bot is back in (invited
// again, or the channel unarchived) that were paused when it was out of
// reach; false when refused at the bound. In the channel's line: after a
// `remind off` sent before it, never beside it.
func (a *App) resume(workspace, channel string, size int64, received time.Time) bool {
	return a.submit(job{key: laneKey(workspace, channel), kind: "resume", bytes: size, received: received, run: func(ctx context.Context) {
		if err := a.core.ResumeReminders(ctx, workspace, channel); err != nil {
			a.log.Warn("cannot resume the reminders of a channel the bot is back in", "channel", channel, "err", err)
		}
	}})
}

// newText returns a message event as new human text for the core, or false:
// edits, deletions, joins, the bot's own messages and other bots' (unless
// allowed) are not. raw is the event, for the app_id slack-go's message lacks.
func (a *App) newText(team, subtype string, ev *slack.Msg, raw *json.RawMessage) (bot.Message, bool) {
	switch subtype {
	case "", "thread_broadcast", "file_share", "bot_message", "me_message":
	default:
		return bot.Message{}, false
	}
	if ev.Hidden || ev.Edited != nil || ev.Channel == "" || ev.Timestamp == "" {
		return bot.Message{}, false
	}
	if (ev.User != "" && ev.User == a.botUser) || (ev.BotID != "" && ev.BotID == a.botID) {
		return bot.Message{}, false
	}
	if ev.BotID != "" || subtype == "bot_message" {
		var app struct {
			AppID string `json:"app_id"`
		}
		if raw != nil {
			_ = json.Unmarshal(*raw, &app)
		}
		if app.AppID == "" && ev.BotProfile != nil {
			app.AppID = ev.BotProfile.AppID
		}
		if !a.allowedBot(ev.BotID, app.AppID) {
			a.log.Debug("ignoring a bot's message (not in UPGRADEBOT_ALLOWED_BOTS)", "bot_id", ev.BotID, "app_id", app.AppID, "channel", ev.Channel)
			return bot.Message{}, false
		}
	}
	user := ev.User
	if user == "" {
		user = ev.BotID
	}
	thread := ev.ThreadTimestamp
	if thread == ev.Timestamp {
		thread = ""
	}
	return bot.Message{Workspace: team, Channel: ev.Channel, User: user, TS: ev.Timestamp, ThreadTS: thread, Text: messageText(ev)}, true
}

// messageText is a message's text with that of the attachments holding
// someone's words: a forwarded message's (is_share), or a bot's (CI and
// deployment bots post in attachments); a link's preview is not.
func messageText(ev *slack.Msg) string {
	text := ev.Text
	for _, at := range ev.Attachments {
		if at.IsShare || ev.BotID != "" && at.FromURL == "" && at.OriginalURL == "" {
			text = strings.TrimSpace(strings.Join([]string{text, at.Pretext, at.Text}, "\n"))
		}
	}
	return text
}

// claim is a deduplication key and the reason counted when it is taken.
type claim struct{ key, reason string }

// heldClaims are the keys one delivery holds, under its own token, so a
// delivery never renews or frees what another holds.
type heldClaims struct {
	workspace, token string
	keys             []string
	done             bool // taken for DoneTTL already (claimTTL): nothing to renew
}

// claimTTL is how long a delivery's claims are taken for: a journaled
// event's for DoneTTL at once, as the journal, not Slack's re-delivery,
// finishes it if this process stops (a round trip fewer per answer: no
// renewal); any other's for ClaimTTL, renewed once done.
func (a *App) claimTTL(ctx context.Context) (ttl time.Duration, done bool) {
	if journaled(ctx) {
		return a.opts.DoneTTL, true
	}
	return a.opts.ClaimTTL, false
}

// claimAll takes the keys in order. When one is already held the delivery is
// a duplicate: the keys taken are marked done (the other delivery answers)
// and duplicate is true. An unreachable store is counted and ignored: a rare
// duplicate reply is better than none.
func (a *App) claimAll(ctx context.Context, workspace string, keys []claim) (held heldClaims, duplicate bool) {
	held.workspace, held.token = workspace, progress.NewToken()
	ttl, done := a.claimTTL(ctx)
	held.done = done
	for _, k := range keys {
		ok, err := a.store.Claim(ctx, workspace, k.key, held.token, ttl)
		if err != nil {
			a.storeFailed("claim", err)
			continue
		}
		if !ok {
			a.metrics.Duplicate(k.reason)
			a.log.Debug("duplicate delivery not answered", "reason", k.reason)
			a.finish(ctx, held, nil)
			return heldClaims{}, true
		}
		held.keys = append(held.keys, k.key)
	}
	return held, false
}

// finish marks the keys done (renewed for DoneTTL, unless taken for it),
// or releases them when the reply failed for a reason a re-delivery could
// overcome (not a post Slack may have made).
func (a *App) finish(ctx context.Context, held heldClaims, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	release := err != nil && !final(err)
	if u, ok := ctx.Value(undeliveredKey{}).(*bool); ok && release {
		*u = true
	}
	for _, k := range held.keys {
		var serr error
		switch {
		case release:
			serr = a.store.Release(ctx, held.workspace, k, held.token)
		case held.done:
		default:
			_, serr = a.store.Renew(ctx, held.workspace, k, held.token, a.opts.DoneTTL)
		}
		if serr != nil {
			a.storeFailed("claim", serr)
		}
	}
}

func (a *App) storeFailed(op string, err error) {
	a.metrics.StoreError(op)
	level := slog.LevelWarn
	if errors.Is(err, progress.ErrBreakerOpen) {
		level = slog.LevelDebug // the store said once that it fails fast
	}
	a.log.Log(context.Background(), level, "store unavailable for deduplication; answering anyway", "op", op, "err", err)
}

// claimMessage claims a message's delivery; duplicate when another delivery
// has it. The message (channel + ts) is the key: a re-delivery of its event
// and its app_mention event name the same message, so its event id needs
// no claim of its own (one round trip fewer for each message answered).
func (a *App) claimMessage(ctx context.Context, m bot.Message) (held heldClaims, duplicate bool) {
	key := "slack:msg:" + m.Channel + ":" + m.TS
	if recovered(ctx) {
		// The journal gave it to this process alone, but the stopped
		// process's claim may still be held: then it goes on without one
		// (its reply is looked for in the thread first). Taken, the claim
		// keeps Slack's re-delivery of an event never acknowledged from
		// answering it again.
		held = a.claimFree(ctx, m.Workspace, key)
	} else if held, duplicate = a.claimAll(ctx, m.Workspace, []claim{{key, "message"}}); duplicate {
		return held, true
	}
	// Taken up late (recovered, or Slack's retry), the message may have
	// been edited or deleted meanwhile: that change was answered as the
	// message reads now, and its text here is out of date. (A live
	// delivery needs no look: its edit waits behind it in the lane.)
	if (recovered(ctx) || retried(ctx)) && a.changedSince(ctx, m) {
		a.metrics.Duplicate("changed")
		a.log.Info("a message taken up late was edited or deleted since; its first version is not answered", "channel", m.Channel, "ts", m.TS)
		a.finish(ctx, held, nil)
		return heldClaims{}, true
	}
	return held, false
}

// claimFree takes those of keys no one holds, for recovered work: the
// journal gave it to this process alone, and the stopped process's
// claims may still be held.
func (a *App) claimFree(ctx context.Context, workspace string, keys ...string) heldClaims {
	ttl, done := a.claimTTL(ctx)
	held := heldClaims{workspace: workspace, token: progress.NewToken(), done: done}
	for _, k := range keys {
		if ok, err := a.store.Claim(ctx, workspace, k, held.token, ttl); err == nil && ok {
			held.keys = append(held.keys, k)
		}
	}
	return held
}

func messageOrigin(m bot.Message) origin {
	return origin{kind: fromMessage, workspace: m.Workspace, channel: m.Channel, user: m.User, ts: m.TS, thread: m.ThreadTS}
}

// handleMention runs a command given by mentioning the bot.
func (a *App) handleMention(ctx context.Context, eventID string, m bot.Message, command string, outsider bool) {
	held, dup := a.claimMessage(ctx, m)
	if dup {
		return
	}
	o := eventOrigin(ctx, eventID, m)
	o.kind = fromMention
	var resp bot.Response
	if outsider {
		r := &bot.Reply{Summary: outsiderText}
		r.Section(bot.Line{bot.T(outsiderText)})
		resp = bot.Response{Reply: r, Private: true}
	} else {
		c := bot.Command{Workspace: m.Workspace, Channel: m.Channel, User: m.User, ID: m.TS, Text: UnescapeSlack(command), Direct: direct(m.Channel)}
		resp = a.core.HandleCommand(ctx, c)
	}
	a.finish(ctx, held, a.deliver(ctx, resp, o))
}

// handleText answers a message read (r) that has something to say.
func (a *App) handleText(ctx context.Context, eventID string, r *bot.Reading) {
	held, dup := a.claimMessage(ctx, r.Message())
	if dup {
		return
	}
	_, err := a.answerText(ctx, r, eventOrigin(ctx, eventID, r.Message()))
	a.finish(ctx, held, err)
}

// commandText returns the subcommand of a message that is one: a mention
// of the bot, or in a direct message with the bot, "status" alone.
func (a *App) commandText(m bot.Message, im bool) (string, bool) {
	text, isCmd := a.core.CommandText(m.Text)
	if !isCmd && im && a.botUser != "" {
		// In a direct message with the bot, "status" is as good as "@upgradebot status".
		text, isCmd = a.core.CommandText("<@" + a.botUser + "> " + m.Text)
	}
	return text, isCmd
}

// answerText answers a message read (its text and screenshots) in its
// thread, unless the thread already has that diagnosis. It returns the ts
// of the reply posted ("" when none was).
func (a *App) answerText(ctx context.Context, r *bot.Reading, o origin) (string, error) {
	resp := a.core.Answer(ctx, r)
	var claimed heldClaims
	if !resp.Reply.Empty() && !resp.Private && !o.recovered {
		// (A recovered event's reply is looked for by its event id instead:
		// the stopped process may have claimed the thread and not posted.)
		if key := threadKey(r.Message(), r.Findings(), resp.Changed); key != "" {
			token := progress.NewToken()
			ok, err := a.store.Claim(ctx, r.Message().Workspace, key, token, a.opts.ThreadTTL)
			switch {
			case err != nil:
				a.storeFailed("claim", err)
			case !ok && !news(resp, r.Findings()):
				a.metrics.Duplicate("thread")
				a.log.Debug("this thread already has the diagnosis", "channel", o.channel)
				resp.Reply = nil
			case !ok: // the diagnosis again, but this paste recorded something or asks: it gets its reply
			default:
				claimed = heldClaims{workspace: r.Message().Workspace, token: token, keys: []string{key}}
			}
		}
	}
	ts, err := a.deliverTS(ctx, resp, o)
	if ts != "" {
		a.noteReply(ctx, r.Message(), o.eventID, ts)
	}
	if err != nil && claimed.keys != nil && !final(err) {
		a.finish(ctx, claimed, err)
	}
	return ts, err
}

// news reports whether a reply asks a question, records modules again
// (listed again after they were republished: its Undo says so), or
// brings its environment to a milestone (failed again after a rerun): a thread
// that already has the diagnosis still needs it. (A state said again is
// no news; one recorded for another environment has a thread key of its own.)
func news(resp bot.Response, findings []diagnosis.Finding) bool {
	if resp.Milestone != nil || !resp.Announce.Empty() {
		return true // it brought the environment somewhere (failed again, all clear): its Undo must be at hand
	}
	modules := slices.ContainsFunc(findings, func(f diagnosis.Finding) bool { return f.Text("module") != "" })
	for _, b := range resp.Reply.Blocks {
		for _, bt := range b.Buttons {
			switch id, _, _ := strings.Cut(bt.ActionID, ":"); id {
			case bot.ActionMarkDone, bot.ActionShowStatus, bot.ActionShare:
			case bot.ActionUndo:
				if modules {
					return true
				}
			default:
				return true
			}
		}
	}
	return false
}

// threadKey names the findings of a message within its thread, so the same
// diagnosis is not posted twice in one thread; "" when nothing was found.
func threadKey(m bot.Message, findings []diagnosis.Finding, envs []string) string {
	if len(findings) == 0 {
		return ""
	}
	seen := map[string]bool{}
	var parts []string
	for _, e := range envs { // recorded for another environment, it is news there
		parts = append(parts, "env="+e)
	}
	for _, f := range findings {
		p := f.ID + "=" + progress.ModuleKey(f.Text("module"))
		if !seen[p] {
			seen[p] = true
			parts = append(parts, p)
		}
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	thread := m.ThreadTS
	if thread == "" {
		thread = m.TS
	}
	return "slack:thread:" + m.Channel + ":" + thread + ":" + hex.EncodeToString(sum[:12])
}

func (a *App) handleHome(ctx context.Context, eventID, team, user string) {
	var held heldClaims
	if eventID != "" {
		var dup bool
		if held, dup = a.claimAll(ctx, team, []claim{{"slack:event:" + eventID, "event_id"}}); dup {
			return
		}
	}
	charts := a.homeCharts(team, user)
	err := a.api.PublishHome(ctx, user, a.core.Home(ctx, team, charts.chart()))
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "invalid_blocks" && charts.forget(ctx) {
		a.log.Info("Slack refused App Home with its charts (one deleted?); publishing it without them", "err", err)
		err = a.api.PublishHome(ctx, user, a.core.Home(ctx, team, nil))
	}
	if err == nil {
		a.metrics.Reply("home")
	}
	a.finish(ctx, held, err)
}

// busyText tells a user their command or click was refused at the bound;
// stoppedText, that a shutdown dropped it before it ran (Slack never sends
// a command or click again, and neither is journaled).
const (
	busyText = "upgradebot is too busy to take this right now (nothing was recorded): try again in a minute."
	// outsiderText answers a command or click from another organization's
	// member in a Slack Connect channel.
	outsiderText = "Only people of the workspace upgradebot is installed in can run its commands or use its buttons (nothing was recorded). Errors you paste here are still answered."
	stoppedText  = "upgradebot restarted before it got to this (nothing was recorded): try again in a minute."
)

// tell answers, by its response_url, a command or click that will not run.
// In the background, at most busySlots at once: the rest are not told.
func (a *App) tell(responseURL, text string) {
	if responseURL == "" {
		return
	}
	select {
	case a.busySlots <- struct{}{}:
	default:
		return
	}
	if !a.startBackground(func() {
		defer func() { <-a.busySlots }()
		// Not bgCtx: a shutdown ends that, and this may tell of one.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.api.RespondText(ctx, responseURL, respondEphemeral, text)
	}) {
		<-a.busySlots
	}
}

// toldIfDropped is the done of a command's or click's job: one dropped at
// shutdown tells its user.
func (a *App) toldIfDropped(responseURL string) func(ran bool) {
	return func(ran bool) {
		if !ran {
			a.tell(responseURL, stoppedText)
		}
	}
}

// onSlashCommand takes a slash command before it is acknowledged; false
// when refused at the bound (the acknowledgement then says busyText).
// Read-only commands wait in no channel's lane.
func (a *App) onSlashCommand(sc slack.SlashCommand, size int64) bool {
	received := time.Now()
	a.metrics.Event("slash_command")
	if !a.forUs(sc.TeamID, sc.EnterpriseID) {
		a.otherInstallation("command", sc.TeamID, sc.EnterpriseID)
		return true
	}
	// The installation's workspace keeps the data: in a channel shared
	// between workspaces of a Grid organization, team_id is the one the
	// user is in, and this process's token and data are one workspace's.
	key := laneKey(a.team, sc.ChannelID)
	if a.core.ReadOnly(UnescapeSlack(sc.Text)) {
		key = ""
	}
	return a.submit(job{key: key, bytes: size, kind: "command", class: classInteractive, received: received,
		done: a.toldIfDropped(sc.ResponseURL),
		run: func(ctx context.Context) {
			id := sc.TriggerID
			if id == "" {
				id = fmt.Sprintf("slash-%d", received.UnixNano())
			}
			resp := a.core.HandleCommand(ctx, bot.Command{Workspace: a.team, Channel: sc.ChannelID, User: sc.UserID, ID: id, Text: UnescapeSlack(sc.Text), Direct: direct(sc.ChannelID)})
			_ = a.deliver(ctx, resp, origin{kind: fromSlash, workspace: a.team, channel: sc.ChannelID, user: sc.UserID, responseURL: sc.ResponseURL})
		}})
}

// onInteraction takes an interactivity payload of size bytes before it is
// acknowledged; a click refused at the bound is told busyText by its
// response_url (in the background: the ack does not wait).
func (a *App) onInteraction(p slack.InteractionCallback, size int64) {
	received := time.Now()
	a.metrics.Event(string(p.Type))
	if p.Team.ID == "" {
		p.Team.ID = p.User.TeamID // an org-wide installation's click may name no team
	}
	if p.Type != slack.InteractionTypeBlockActions || len(p.ActionCallback.BlockActions) == 0 {
		a.log.Debug("ignoring interaction", "type", p.Type)
		return
	}
	if org := cmp.Or(p.Enterprise.ID, p.Team.EnterpriseID); !a.forUs(p.Team.ID, org) {
		a.otherInstallation("click", p.Team.ID, org)
		return
	}
	// Someone of another organization (Slack Connect). In an Enterprise
	// Grid organization Slack names the organization (E…) as the user's
	// team, for every member of its workspaces.
	if p.User.TeamID != "" && p.User.TeamID != a.team && (a.org == "" || p.User.TeamID != a.org) {
		a.tell(p.ResponseURL, outsiderText)
		return
	}
	channel := p.Container.ChannelID
	if channel == "" {
		channel = p.Channel.ID
	}
	if !a.submit(job{key: laneKey(a.team, channel), bytes: size, kind: "action", class: classInteractive, received: received,
		done: a.toldIfDropped(p.ResponseURL),
		run:  func(ctx context.Context) { a.handleAction(ctx, p) }}) {
		a.tell(p.ResponseURL, busyText)
	}
}

func (a *App) handleAction(ctx context.Context, p slack.InteractionCallback) {
	act := p.ActionCallback.BlockActions[0]
	channel := p.Container.ChannelID
	if channel == "" {
		channel = p.Channel.ID
	}
	id := p.TriggerID
	if id == "" {
		id = channel + ":" + act.ActionTs
	}
	o := origin{kind: fromAction, workspace: a.team, channel: channel, user: p.User.ID, responseURL: p.ResponseURL,
		msgTS: p.Container.MessageTs, ephemeral: p.Container.IsEphemeral, actionID: act.ActionID, value: act.Value}
	if o.msgTS == "" {
		o.msgTS = p.Message.Timestamp
	}
	o.msgThread = p.Message.ThreadTimestamp
	if len(p.Message.Blocks.BlockSet) > 0 {
		// The clicked message's blocks as Slack sent them, for withoutButton.
		if js, err := json.Marshal(p.Message.Blocks.BlockSet); err == nil {
			_ = json.Unmarshal(js, &o.blocks)
		}
	}
	resp := a.core.HandleAction(ctx, bot.Action{Workspace: a.team, Channel: channel, User: p.User.ID, ID: id, ActionID: act.ActionID, Value: act.Value, Message: o.msgTS})
	if err := a.deliver(ctx, resp, o); err == nil {
		a.afterAction(ctx, resp, o)
	}
}

// direct reports whether a channel id is a direct message between two
// (Slack's ids start with D): what is posted there only its two see.
func direct(channel string) bool { return strings.HasPrefix(channel, "D") }

// commandLike reports whether text could be a command typed wrong: one
// short line.
func commandLike(text string) bool {
	text = strings.TrimSpace(text)
	return text != "" && len(text) <= 60 && !strings.Contains(text, "\n")
}
