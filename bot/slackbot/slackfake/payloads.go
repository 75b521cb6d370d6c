package slackfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The payloads below follow the shapes in Slack's documentation (Events
// API event_callback, slash command form fields, block_actions).

// Message is a message event as Slack sends it in message.channels.
func Message(channel, user, ts, text string) map[string]any {
	return map[string]any{
		"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
		"event_ts": ts, "channel_type": "channel", "client_msg_id": "c0ffee-" + ts, "team": TeamID,
	}
}

// FileShare is the message event of files shared with a message (subtype
// file_share); files are AddFile's answers.
func FileShare(channel, user, ts, text string, files ...map[string]any) map[string]any {
	ev := Message(channel, user, ts, text)
	ev["subtype"] = "file_share"
	ev["upload"] = true
	ev["display_as_bot"] = false
	fs := make([]any, len(files))
	for i, f := range files {
		fs[i] = f
	}
	ev["files"] = fs
	return ev
}

// AppMention is the app_mention event of a message mentioning the bot.
func AppMention(channel, user, ts, text string) map[string]any {
	return map[string]any{"type": "app_mention", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts, "team": TeamID}
}

// InThread puts a message event in a thread.
func InThread(ev map[string]any, threadTS string) map[string]any {
	ev["thread_ts"] = threadTS
	ev["parent_user_id"] = "U0PARENT"
	return ev
}

// BotMessage is a message posted by a bot or app (subtype bot_message).
func BotMessage(channel, botID, appID, ts, text string) map[string]any {
	return map[string]any{
		"type": "message", "subtype": "bot_message", "channel": channel, "bot_id": botID, "app_id": appID,
		"text": text, "ts": ts, "event_ts": ts, "channel_type": "channel", "username": "ci-bot",
	}
}

// Edit is the message_changed event of an edited message.
func Edit(channel, ts, newText string) map[string]any {
	return map[string]any{
		"type": "message", "subtype": "message_changed", "channel": channel, "hidden": true, "ts": ts + "1", "event_ts": ts + "1",
		"channel_type":     "channel",
		"message":          map[string]any{"type": "message", "user": "U0ANA", "text": newText, "ts": ts, "edited": map[string]any{"user": "U0ANA", "ts": ts + "1"}},
		"previous_message": map[string]any{"type": "message", "user": "U0ANA", "text": "old", "ts": ts},
	}
}

// Delete is the message_deleted event of a deleted message that read text.
func Delete(channel, ts, text string) map[string]any {
	return map[string]any{
		"type": "message", "subtype": "message_deleted", "channel": channel, "hidden": true, "ts": ts + "2", "event_ts": ts + "2",
		"deleted_ts": ts, "channel_type": "channel",
		"previous_message": map[string]any{"type": "message", "user": "U0ANA", "text": text, "ts": ts},
	}
}

// HomeOpened is an app_home_opened event.
func HomeOpened(user string) map[string]any {
	return map[string]any{"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": "1700000000.000100"}
}

// EventCallback wraps an event as the Events API delivers it, its fields
// in the order Slack writes them (token first: the journal relies on it to
// drop the token cheaply).
func EventCallback(eventID string, event map[string]any) []byte {
	b, _ := json.Marshal(struct {
		Token          string           `json:"token"`
		TeamID         string           `json:"team_id"`
		APIAppID       string           `json:"api_app_id"`
		Event          map[string]any   `json:"event"`
		Type           string           `json:"type"`
		EventID        string           `json:"event_id"`
		EventTime      int              `json:"event_time"`
		Authorizations []map[string]any `json:"authorizations"`
		EventContext   string           `json:"event_context"`
	}{"legacy-verification-token", TeamID, AppID, event, "event_callback", eventID, 1700000000,
		[]map[string]any{{"team_id": TeamID, "user_id": BotUserID, "is_bot": true}}, "4-fake"})
	return b
}

// URLVerification is the challenge Slack sends when the request URL is set.
func URLVerification(challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"token": "legacy-verification-token", "challenge": challenge, "type": "url_verification"})
	return b
}

// SlashCommand is the form Slack posts for "/upgrade text".
func SlashCommand(channel, user, text, responseURL, triggerID string) url.Values {
	return url.Values{
		"token": {"legacy-verification-token"}, "team_id": {TeamID}, "team_domain": {"fake"},
		"channel_id": {channel}, "channel_name": {"upgrades"}, "user_id": {user}, "user_name": {"ana"},
		"command": {"/upgrade"}, "text": {text}, "api_app_id": {AppID}, "is_enterprise_install": {"false"},
		"response_url": {responseURL}, "trigger_id": {triggerID},
	}
}

// SlashCommandJSON is the same command as a Socket Mode slash_commands payload.
func SlashCommandJSON(f url.Values) map[string]any {
	m := map[string]any{}
	for k, v := range f {
		m[k] = v[0]
	}
	return m
}

// BlockActions is the block_actions payload of a click on a button of a
// message (blocks as posted; ephemeral when the message was).
func BlockActions(channel, user, messageTS, threadTS string, ephemeral bool, blocks json.RawMessage, actionID, value, responseURL, triggerID string) map[string]any {
	msg := map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "ts": messageTS, "text": "upgradebot", "blocks": blocks}
	if threadTS != "" {
		msg["thread_ts"] = threadTS
	}
	p := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": "ana", "team_id": TeamID},
		"api_app_id": AppID, "token": "legacy-verification-token", "trigger_id": triggerID,
		"team":         map[string]any{"id": TeamID, "domain": "fake"},
		"container":    map[string]any{"type": "message", "message_ts": messageTS, "channel_id": channel, "is_ephemeral": ephemeral},
		"channel":      map[string]any{"id": channel, "name": "upgrades"},
		"response_url": responseURL,
		"actions": []any{map[string]any{"type": "button", "action_id": actionID, "block_id": "b1", "value": value,
			"text": map[string]any{"type": "plain_text", "text": "button"}, "action_ts": "1700000001.000200"}},
		"state": map[string]any{"values": map[string]any{}},
	}
	if !ephemeral {
		p["message"] = msg
	}
	return p
}

// Sign returns Slack's v0 signature of a request body.
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts.Unix())
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Request builds a request to an events URL signed as Slack signs it at ts
// (secret "" leaves the signature headers out).
func Request(target, secret, contentType string, body []byte, ts time.Time) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	if secret != "" {
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set("X-Slack-Signature", Sign(secret, ts, body))
	}
	return req
}

// EventRequest is a signed Events API request; retry > 0 adds X-Slack-Retry-Num.
func EventRequest(target, secret string, body []byte, retry int) *http.Request {
	req := Request(target, secret, "application/json", body, time.Now())
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	return req
}

// FormRequest is a signed form request (a slash command, or payload= for interactivity).
func FormRequest(target, secret string, form url.Values) *http.Request {
	return Request(target, secret, "application/x-www-form-urlencoded", []byte(form.Encode()), time.Now())
}

// InteractionRequest is a signed interactivity request: payload=<JSON>.
func InteractionRequest(target, secret string, payload map[string]any) *http.Request {
	js, _ := json.Marshal(payload)
	return FormRequest(target, secret, url.Values{"payload": {string(js)}})
}
