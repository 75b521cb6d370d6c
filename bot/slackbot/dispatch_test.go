package slackbot

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// parseEvent reads what slack-go reads, and a message or mention whose
// files Slack describes unexpectedly too (those fields left empty).
func TestParseEvent(t *testing.T) {
	oddFile := map[string]any{"id": "F0ODD", "name": "odd.png", "mimetype": "image/png", "size": "87", "original_w": "20"}
	fileShare := slackfake.FileShare(channel, ana, "1700000000.000200", "look", oddFile)
	mention := slackfake.AppMention(channel, ana, "1700000000.000300", "<@U0BOT> look")
	mention["files"] = []any{oddFile, map[string]any{"id": 42, "name": []any{}}}
	cases := []struct {
		name      string
		body      []byte
		typ       string // outer type; "" when unreadable
		inner     string
		text      string
		files     int
		firstName string
	}{
		{"message", slackfake.EventCallback("Ev1", slackfake.Message(channel, ana, "1700000000.000100", "hello")), slackevents.CallbackEvent, "message", "hello", 0, ""},
		{"file with a size as a string", slackfake.EventCallback("Ev2", fileShare), slackevents.CallbackEvent, "message", "look", 1, "odd.png"},
		{"mention with odd files", slackfake.EventCallback("Ev3", mention), slackevents.CallbackEvent, "app_mention", "<@U0BOT> look", 2, "odd.png"},
		{"app home", slackfake.EventCallback("Ev4", slackfake.HomeOpened(ana)), slackevents.CallbackEvent, "app_home_opened", "", 0, ""},
		{"url_verification", slackfake.URLVerification("c"), slackevents.URLVerification, "", "", 0, ""},
		{"app_rate_limited", []byte(`{"type":"app_rate_limited","minute_rate_limited":1518467820}`), slackevents.AppRateLimited, "", "", 0, ""},
		{"text that is a number", slackfake.EventCallback("Ev5", map[string]any{"type": "message", "channel": channel, "ts": "1.2", "text": 42}), "", "", "", 0, ""},
		{"unknown event", slackfake.EventCallback("Ev6", map[string]any{"type": "no_such_event"}), "", "", "", 0, ""},
		{"null event", []byte(`{"type":"event_callback","event":null}`), "", "", "", 0, ""},
		{"not JSON", []byte(`{`), "", "", "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := parseEvent(c.body)
			if c.typ == "" {
				if err == nil {
					t.Fatalf("read as %+v, want an error", ev)
				}
				return
			}
			if err != nil || ev.Type != c.typ || ev.InnerEvent.Type != c.inner {
				t.Fatalf("type %q/%q, %v; want %q/%q", ev.Type, ev.InnerEvent.Type, err, c.typ, c.inner)
			}
			if c.typ == slackevents.CallbackEvent && ev.Data.(*slackevents.EventsAPICallbackEvent).EventID == "" {
				t.Error("no event_id")
			}
			var text, first string
			var files int
			switch e := ev.InnerEvent.Data.(type) {
			case *slackevents.MessageEvent:
				text, files = e.Message.Text, len(e.Message.Files)
				if files > 0 {
					first = e.Message.Files[0].Name
				}
				if e.ChannelType != "channel" {
					t.Errorf("channel type %q", e.ChannelType)
				}
			case *slackevents.AppMentionEvent:
				text, files = e.Text, len(e.Files)
				if files > 0 {
					first = e.Files[0].Name
				}
			}
			if text != c.text || files != c.files || first != c.firstName {
				t.Errorf("text %q, %d files (first %q); want %q, %d (%q)", text, files, first, c.text, c.files, c.firstName)
			}
		})
	}
}

// Over Socket Mode, an envelope slack-go cannot parse is acknowledged all
// the same; a message whose file Slack describes unexpectedly is answered,
// one whose text is not text is not.
func TestSocketOddEnvelopes(t *testing.T) {
	h := start(t, setup{mode: ModeSocket})
	h.fake.WaitConnected(1, 5*time.Second)
	h.track("prod")
	odd := slackfake.EventCallback("EvOddText", map[string]any{"type": "message", "channel": channel, "user": ana, "ts": "1700002200.000100", "text": 42})
	h.fake.WaitAck(h.fake.Send("events_api", json.RawMessage(odd), 0), 3*time.Second)
	file := map[string]any{"id": "F0ODD", "name": "odd.pdf", "mimetype": "application/pdf", "size": "87"}
	share := slackfake.EventCallback("EvOddFile", slackfake.FileShare(channel, ana, "1700002200.000200", producerPaste, file))
	h.fake.WaitAck(h.fake.Send("events_api", json.RawMessage(share), 0), 3*time.Second)
	h.waitJobs(1)
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 || posts[0].Field("thread_ts") != "1700002200.000200" || h.app.lanes.completed.Load() != 1 {
		t.Fatalf("%d replies, %d jobs; want one, to the message with the odd file", len(posts), h.app.lanes.completed.Load())
	}
}
