package slackbot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// eventCallback is the outer Events API payload with its event: the body
// of an HTTP request, or the payload of a Socket Mode events_api envelope.
// One json.Unmarshal reads it all; the acknowledgement waits for it.
type eventCallback struct {
	callbackHead
	Event slackEvent `json:"event"`
}

// callbackHead is the outer payload without its event.
type callbackHead struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"` // url_verification only
	TeamID    string `json:"team_id"`
	EventID   string `json:"event_id"`
}

// parseCallback reads an Events API payload. An event whose fields are not
// what the bot reads still yields the outer fields, with ok false for the event.
func parseCallback(raw []byte) (cb eventCallback, eventOK bool, err error) {
	if err := json.Unmarshal(raw, &cb); err == nil {
		return cb, true, nil
	}
	// The outer payload alone, so that one odd event is logged and
	// acknowledged rather than refused (Slack would retry it for nothing).
	var head callbackHead
	if err := json.Unmarshal(raw, &head); err != nil {
		return eventCallback{}, false, err
	}
	return eventCallback{callbackHead: head}, false, nil
}

// slackEvent holds the fields of the inner events the bot reads.
type slackEvent struct {
	Type       string `json:"type"`
	Subtype    string `json:"subtype"`
	User       string `json:"user"`
	BotID      string `json:"bot_id"`
	AppID      string `json:"app_id"`
	BotProfile *struct {
		AppID string `json:"app_id"`
	} `json:"bot_profile"`
	Text        string          `json:"text"`
	TS          string          `json:"ts"`
	ThreadTS    string          `json:"thread_ts"`
	Channel     string          `json:"channel"`
	ChannelType string          `json:"channel_type"`
	Hidden      bool            `json:"hidden"`
	Edited      json.RawMessage `json:"edited"`
	Tab         string          `json:"tab"`
	// Files are the files shared with the message (file_share, or files
	// attached), read one by one (screenshots) so that a file Slack
	// describes unexpectedly never makes the message unreadable.
	Files []json.RawMessage `json:"files"`
}

// interaction holds the fields of a block_actions payload the bot reads.
type interaction struct {
	Type      string              `json:"type"`
	Team      struct{ ID string } `json:"team"`
	User      struct{ ID string } `json:"user"`
	Channel   struct{ ID string } `json:"channel"`
	Container struct {
		Type        string `json:"type"`
		MessageTS   string `json:"message_ts"`
		ChannelID   string `json:"channel_id"`
		IsEphemeral bool   `json:"is_ephemeral"`
	} `json:"container"`
	Message *struct {
		TS       string            `json:"ts"`
		ThreadTS string            `json:"thread_ts"`
		Text     string            `json:"text"`
		Blocks   []json.RawMessage `json:"blocks"`
	} `json:"message"`
	ResponseURL string `json:"response_url"`
	TriggerID   string `json:"trigger_id"`
	Actions     []struct {
		ActionID string `json:"action_id"`
		BlockID  string `json:"block_id"`
		Value    string `json:"value"`
		ActionTS string `json:"action_ts"`
	} `json:"actions"`
}

// onEvent takes an Events API payload that is (being) acknowledged.
func (a *App) onEvent(raw []byte, retry int, retryReason string) {
	cb, eventOK, err := parseCallback(raw)
	if err != nil {
		a.log.Warn("unreadable Events API payload", "err", err)
		return
	}
	a.onCallback(cb, eventOK, retry, retryReason)
}

// onCallback takes a parsed Events API payload; eventOK false says its
// event could not be read.
func (a *App) onCallback(cb eventCallback, eventOK bool, retry int, retryReason string) {
	received := time.Now()
	if cb.Type != "event_callback" {
		a.log.Debug("ignoring Events API payload", "type", cb.Type)
		return
	}
	if !eventOK {
		a.log.Warn("unreadable event", "event_id", cb.EventID)
		return
	}
	ev := cb.Event
	a.metrics.Event(ev.Type)
	if retry > 0 {
		a.log.Debug("Slack re-delivered an event", "event_id", cb.EventID, "retry", retry, "reason", retryReason)
	}
	switch ev.Type {
	case "message", "app_mention":
		m, ok := a.newText(cb.TeamID, ev)
		if !ok {
			return
		}
		im := ev.ChannelType == "im"
		shots := a.screenshots(ev)
		a.submit("message", received, func(ctx context.Context) { a.handleMessage(ctx, cb.EventID, m, im, shots, received) })
	case "app_home_opened":
		if ev.Tab != "" && ev.Tab != "home" {
			return
		}
		a.submit("home", received, func(ctx context.Context) { a.handleHome(ctx, cb.EventID, cb.TeamID, ev.User) })
	default:
		a.log.Debug("ignoring event", "type", ev.Type, "event_id", cb.EventID)
	}
}

// newText returns a message event as new human text for the core, or false:
// edits, deletions, joins, the bot's own messages and other bots' (unless
// allowed) are not.
func (a *App) newText(team string, ev slackEvent) (bot.Message, bool) {
	switch ev.Subtype {
	case "", "thread_broadcast", "file_share", "bot_message":
	default:
		return bot.Message{}, false
	}
	if ev.Hidden || (len(ev.Edited) > 0 && string(ev.Edited) != "null") || ev.Channel == "" || ev.TS == "" {
		return bot.Message{}, false
	}
	if (ev.User != "" && ev.User == a.botUser) || (ev.BotID != "" && ev.BotID == a.botID) {
		return bot.Message{}, false
	}
	if ev.BotID != "" || ev.Subtype == "bot_message" {
		app := ev.AppID
		if app == "" && ev.BotProfile != nil {
			app = ev.BotProfile.AppID
		}
		if !a.allowedBot(ev.BotID, app) {
			a.log.Debug("ignoring a bot's message (not in UPGRADEBOT_ALLOWED_BOTS)", "bot_id", ev.BotID, "app_id", app, "channel", ev.Channel)
			return bot.Message{}, false
		}
	}
	user := ev.User
	if user == "" {
		user = ev.BotID
	}
	thread := ev.ThreadTS
	if thread == ev.TS {
		thread = ""
	}
	return bot.Message{Workspace: team, Channel: ev.Channel, User: user, TS: ev.TS, ThreadTS: thread, Text: ev.Text}, true
}

// claim is a deduplication key and the reason counted when it is taken.
type claim struct{ key, reason string }

// heldClaims are the keys one delivery holds, under its own token, so a
// delivery never renews or frees what another holds.
type heldClaims struct {
	token string
	keys  []string
}

// claimAll takes the keys in order. When one is already held the delivery is
// a duplicate: the keys taken are marked done (the other delivery answers)
// and duplicate is true. An unreachable store is counted and ignored: a rare
// duplicate reply is better than none.
func (a *App) claimAll(ctx context.Context, keys []claim) (held heldClaims, duplicate bool) {
	held.token = progress.NewToken()
	for _, k := range keys {
		ok, err := a.store.Claim(ctx, k.key, held.token, a.opts.ClaimTTL)
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

// finish marks the keys done (renewed for DoneTTL), or releases them when
// the reply failed for a reason a re-delivery could overcome.
func (a *App) finish(ctx context.Context, held heldClaims, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	release := err != nil && !errors.Is(err, bot.ErrChannelGone)
	for _, k := range held.keys {
		var serr error
		if release {
			serr = a.store.Release(ctx, k, held.token)
		} else {
			_, serr = a.store.Renew(ctx, k, held.token, a.opts.DoneTTL)
		}
		if serr != nil {
			a.storeFailed("claim", serr)
		}
	}
}

func (a *App) storeFailed(op string, err error) {
	a.metrics.StoreError(op)
	a.log.Warn("store unavailable for deduplication; answering anyway", "op", op, "err", err)
}

func (a *App) handleMessage(ctx context.Context, eventID string, m bot.Message, im bool, shots []shot, received time.Time) {
	command, isCmd := a.commandText(m, im)
	var r *bot.Reading
	if !isCmd {
		// The message's one diagnosis. Most channel traffic gets no answer:
		// find that out before any store round trip, so only messages the
		// bot answers are claimed.
		if r = a.core.Read(m); len(shots) == 0 && r.Silent() {
			return
		}
	}
	var keys []claim
	if eventID != "" {
		keys = append(keys, claim{"slack:event:" + eventID, "event_id"})
	}
	keys = append(keys, claim{"slack:msg:" + m.Workspace + ":" + m.Channel + ":" + m.TS, "message"})
	held, dup := a.claimAll(ctx, keys)
	if dup {
		return
	}
	o := origin{kind: fromMessage, workspace: m.Workspace, channel: m.Channel, user: m.User, ts: m.TS, thread: m.ThreadTS}
	switch {
	case isCmd:
		o.kind = fromMention
		c := bot.Command{Workspace: m.Workspace, Channel: m.Channel, User: m.User, ID: m.TS, Text: UnescapeSlack(command)}
		a.finish(ctx, held, a.deliver(ctx, a.core.HandleCommand(ctx, c), o))
	case len(shots) > 0:
		// Screenshots take a while: the reply is posted off the workers.
		a.answerWithScreenshots(held, r, shots, o, received)
	default:
		_, err := a.answerText(ctx, r, o)
		a.finish(ctx, held, err)
	}
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
	if !resp.Reply.Empty() && !resp.Private {
		if key := threadKey(r.Message(), r.Findings()); key != "" {
			token := progress.NewToken()
			ok, err := a.store.Claim(ctx, key, token, a.opts.ThreadTTL)
			switch {
			case err != nil:
				a.storeFailed("claim", err)
			case !ok:
				a.metrics.Duplicate("thread")
				a.log.Debug("this thread already has the diagnosis", "channel", o.channel)
				resp.Reply = nil
			default:
				claimed = heldClaims{token, []string{key}}
			}
		}
	}
	ts, err := a.deliverTS(ctx, resp, o)
	if err != nil && claimed.keys != nil && !errors.Is(err, bot.ErrChannelGone) {
		a.finish(ctx, claimed, err)
	}
	return ts, err
}

// threadKey names the findings of a message within its thread, so the same
// diagnosis is not posted twice in one thread; "" when nothing was found.
func threadKey(m bot.Message, findings []diagnosis.Finding) string {
	if len(findings) == 0 {
		return ""
	}
	seen := map[string]bool{}
	var parts []string
	for _, f := range findings {
		p := f.ID + "=" + strings.ToLower(f.Text("module"))
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
	return "slack:thread:" + m.Workspace + ":" + m.Channel + ":" + thread + ":" + hex.EncodeToString(sum[:12])
}

func (a *App) handleHome(ctx context.Context, eventID, team, user string) {
	var held heldClaims
	if eventID != "" {
		var dup bool
		if held, dup = a.claimAll(ctx, []claim{{"slack:event:" + eventID, "event_id"}}); dup {
			return
		}
	}
	err := a.api.PublishHome(ctx, user, a.core.Home(ctx, team))
	if err == nil {
		a.metrics.Reply("home")
	}
	a.finish(ctx, held, err)
}

// onSlashCommand takes an acknowledged slash command.
func (a *App) onSlashCommand(sc slack.SlashCommand) {
	received := time.Now()
	a.metrics.Event("slash_command")
	a.submit("command", received, func(ctx context.Context) {
		id := sc.TriggerID
		if id == "" {
			id = fmt.Sprintf("slash-%d", received.UnixNano())
		}
		resp := a.core.HandleCommand(ctx, bot.Command{Workspace: sc.TeamID, Channel: sc.ChannelID, User: sc.UserID, ID: id, Text: UnescapeSlack(sc.Text)})
		_ = a.deliver(ctx, resp, origin{kind: fromSlash, workspace: sc.TeamID, channel: sc.ChannelID, user: sc.UserID, responseURL: sc.ResponseURL})
	})
}

// onInteraction takes an acknowledged interactivity payload.
func (a *App) onInteraction(raw []byte) {
	received := time.Now()
	var p interaction
	if err := json.Unmarshal(raw, &p); err != nil {
		a.log.Warn("unreadable interactivity payload", "err", err)
		return
	}
	a.metrics.Event(p.Type)
	if p.Type != "block_actions" || len(p.Actions) == 0 {
		a.log.Debug("ignoring interaction", "type", p.Type)
		return
	}
	a.submit("action", received, func(ctx context.Context) { a.handleAction(ctx, p) })
}

func (a *App) handleAction(ctx context.Context, p interaction) {
	act := p.Actions[0]
	channel := p.Container.ChannelID
	if channel == "" {
		channel = p.Channel.ID
	}
	id := p.TriggerID
	if id == "" {
		id = channel + ":" + act.ActionTS
	}
	o := origin{kind: fromAction, workspace: p.Team.ID, channel: channel, user: p.User.ID, responseURL: p.ResponseURL,
		msgTS: p.Container.MessageTS, ephemeral: p.Container.IsEphemeral, actionID: act.ActionID, value: act.Value}
	if p.Message != nil {
		if o.msgTS == "" {
			o.msgTS = p.Message.TS
		}
		o.msgThread, o.msgText, o.blocks = p.Message.ThreadTS, p.Message.Text, p.Message.Blocks
	}
	resp := a.core.HandleAction(ctx, bot.Action{Workspace: p.Team.ID, Channel: channel, User: p.User.ID, ID: id, ActionID: act.ActionID, Value: act.Value})
	if err := a.deliver(ctx, resp, o); err == nil {
		a.afterAction(ctx, resp, o)
	}
}
