package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/upgradebot/upgradebot/bot"
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

// A message read in two decodings (messageCallback) is what slack-go's
// ParseEvent reads; what those do not take goes to ParseEvent.
func TestMessageReadAsSlackGoReadsIt(t *testing.T) {
	withBlocks := slackfake.Message(channel, ana, "1700000000.000400", "see *this*")
	withBlocks["blocks"] = []any{map[string]any{"type": "rich_text", "block_id": "b1", "elements": []any{
		map[string]any{"type": "rich_text_section", "elements": []any{map[string]any{"type": "text", "text": "see "},
			map[string]any{"type": "text", "text": "this", "style": map[string]any{"bold": true}}}}}}}
	broadcast := slackfake.InThread(slackfake.Message(channel, ana, "1700000000.000500", "for all"), "1700000000.000100")
	broadcast["subtype"] = "thread_broadcast"
	cases := []struct {
		name  string
		body  []byte
		taken bool // by the two decodings
	}{
		{"message", slackfake.EventCallback("Ev1", slackfake.Message(channel, ana, "1700000000.000100", producerPaste)), true},
		{"in a thread", slackfake.EventCallback("Ev2", slackfake.InThread(slackfake.Message(channel, ana, "1700000000.000101", "hi"), "1700000000.000100")), true},
		{"thread broadcast", slackfake.EventCallback("Ev3", broadcast), true},
		{"with rich-text blocks", slackfake.EventCallback("Ev4", withBlocks), true},
		{"a bot's", slackfake.EventCallback("Ev5", slackfake.BotMessage(channel, "B0CI", "A0CI", "1700000000.000102", producerPaste)), true},
		{"file share", slackfake.EventCallback("Ev6", slackfake.FileShare(channel, ana, "1700000000.000103", "look",
			map[string]any{"id": "F1", "name": "a.png", "mimetype": "image/png", "size": 87})), true},
		{"edit (carries the new message)", slackfake.EventCallback("Ev7", slackfake.Edit(channel, "1700000000.000100", "new")), false},
		{"deletion (carries the previous message)", slackfake.EventCallback("Ev7d", slackfake.Delete(channel, "1700000000.000100", "old")), false},
		{"a channel join", slackfake.EventCallback("Ev7j", map[string]any{"type": "message", "subtype": "channel_join", "channel": channel, "user": ana, "ts": "1700000000.000106"}), false},
		{"mention", slackfake.EventCallback("Ev8", slackfake.AppMention(channel, ana, "1700000000.000104", "<@U0BOT> help")), false},
		{"file with a size as a string", slackfake.EventCallback("Ev9", slackfake.FileShare(channel, ana, "1700000000.000105", "look",
			map[string]any{"id": "F2", "name": "odd.png", "size": "87"})), false},
		{"two events, the last one read", []byte(`{"type":"event_callback","event":{"type":"message","channel":"C1","ts":"1.1","text":"first"},` +
			`"event":{"type":"message","channel":"C1","ts":"1.2"}}`), true},
		{"url_verification", slackfake.URLVerification("c"), false},
		// What encoding/json tolerates, the decodings tolerate too.
		{"invalid UTF-8", []byte("{\"type\":\"event_callback\",\"event_id\":\"Ev10\",\"event\":{\"type\":\"message\",\"channel\":\"C1\",\"ts\":\"1.3\",\"text\":\"Billing\xff_CS\"}}"), true},
		{"names in another case", []byte(`{"type":"event_callback","Event_ID":"Ev14","authorizations":[{"tEam_id":"T0FAKE"}],"event":{"TYPE":"message","Channel":"C1","ts":"1.5","Text":"a"}}`), true},
		{"a name twice in the event", []byte(`{"type":"event_callback","event_id":"Ev11","event":{"type":"message","channel":"C1","ts":"1.4","text":"a","text":"b","user":"U1"}}`), true},
		{"a bot's, in attachments", slackfake.EventCallback("Ev13", func() map[string]any {
			m := slackfake.BotMessage(channel, "B0CI", "A0CI", "1700000000.000108", "")
			m["bot_profile"] = map[string]any{"id": "B0CI", "app_id": "A0CI", "name": "ci", "team_id": "T0FAKE"}
			m["attachments"] = []any{map[string]any{"id": 1, "fallback": "build failed", "color": "danger", "pretext": "Deploy", "title": "Billing_CS",
				"text": producerPaste, "author_name": "ci", "is_share": true, "fields": []any{map[string]any{"title": "env", "value": "qa", "short": true}}}}
			return m
		}()), true},
		{"a Slack Connect author", slackfake.EventCallback("Ev12", func() map[string]any {
			m := slackfake.Message(channel, ana, "1700000000.000107", "from a partner")
			m["user_team"], m["source_team"] = "T0OTHER", "T0OTHER"
			return m
		}()), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, taken := new(messageCallback).event(c.body); taken != c.taken {
				t.Errorf("taken by the two decodings: %v, want %v", taken, c.taken)
			}
			sameAsSlackGo(t, c.body)
			if _, err := parseEvent(c.body); err != nil {
				t.Errorf("parseEvent: %v", err)
			}
		})
	}
}

// sameAsSlackGo fails t when body, read in two decodings, reads otherwise
// than slackevents.ParseEvent reads it (blocks aside). When slack-go
// refuses it, for a field the two decodings do not read, they take it.
func sameAsSlackGo(t *testing.T, body []byte) {
	t.Helper()
	fast, ok := new(messageCallback).event(body)
	if !ok {
		return
	}
	slow, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		return
	}
	outer := func(e slackevents.EventsAPIEvent) []any {
		return []any{e.Token, e.TeamID, e.Type, e.APIAppID, e.EnterpriseID, e.IsExtSharedChannel, e.Data, e.InnerEvent.Type}
	}
	if !reflect.DeepEqual(outer(fast), outer(slow)) {
		t.Fatalf("the callback of %q reads\n%#v\nwhere slack-go reads\n%#v", body, outer(fast), outer(slow))
	}
	fm, sm := fast.InnerEvent.Data.(*slackevents.MessageEvent), slow.InnerEvent.Data.(*slackevents.MessageEvent)
	inner := func(e *slackevents.MessageEvent) []any {
		return []any{e.ClientMsgID, e.Type, e.User, e.Text, e.ThreadTimeStamp, e.TimeStamp, e.Channel, e.ChannelType,
			e.EventTimeStamp, e.SubType, e.BotID, e.Username}
	}
	msg := *sm.Message
	msg.Blocks = slack.Blocks{}
	if !reflect.DeepEqual(inner(fm), inner(sm)) || !reflect.DeepEqual(*fm.Message, msg) {
		t.Fatalf("the message of %q reads\n%#v\n%#v\nwhere slack-go reads\n%#v\n%#v", body, inner(fm), *fm.Message, inner(sm), msg)
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

// Commands and clicks come from people of the installation's workspace
// only. In a Slack Connect channel, another organization's member's
// mention or click is refused, told so privately, and records nothing,
// while their pasted error is answered; an allowed bot's message naming
// the bot is diagnosed, never run as a command.
func TestCommandsOnlyFromOurOwnPeople(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) { o.AllowedBots = []string{"B0CI"} }})
	h.track("prod")
	h.postEvent("EvOurs", slackfake.Message(channel, ana, "1700003100.000100", producerPaste), 0)
	h.waitIdle()
	reply := h.fake.Calls("chat.postMessage")[0]
	replyTS, _ := reply.Answer["ts"].(string)
	listed := func() bool {
		resp := h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: fmt.Sprint("st-", time.Now().UnixNano()), Text: "status prod"})
		return strings.Contains(bot.RenderText(resp.Reply), "Billing_CS")
	}
	if !listed() {
		t.Fatal("setup: Billing_CS not listed")
	}
	shared := func(eventID, team string, ev map[string]any) { h.postShared(eventID, team, ev) }
	ephemerals := len(h.fake.Calls("chat.postEphemeral"))
	shared("EvOutsiderCmd", "T0OTHERORG", slackfake.AppMention(channel, "U0EXT", "1700003100.000200", "<@U0BOT> done prod: all --yes"))

	h.postEvent("EvBotCmd", slackfake.BotMessage(channel, "B0CI", "A0CI", "1700003100.000300", "<@U0BOT> done prod: Billing_CS"), 0)
	click := slackfake.BlockActions(channel, "U0EXT", replyTS, "1700003100.000100", false, json.RawMessage(reply.Field("blocks")),
		"mark_done:0", buttons(t, reply.Field("blocks"))["mark_done:0"], h.fake.ResponseURL("ext-click"), "ext-click")
	click["user"].(map[string]any)["team_id"] = "T0OTHERORG"
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, click)); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	shared("EvOutsiderPaste", "T0OTHERORG", slackfake.Message(channel, "U0EXT", "1700003100.000400", strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")))
	h.waitIdle()
	h.fake.WaitCalls(1, 5*time.Second, "response_url")

	if !listed() {
		t.Error("a command or click from outside, or a bot's message, marked Billing_CS republished")
	}
	eph := h.fake.Calls("chat.postEphemeral")[ephemerals:]
	if len(eph) != 1 || eph[0].Field("user") != "U0EXT" || !strings.Contains(eph[0].Field("text"), "Only people of the workspace") {
		t.Errorf("the outsider's mention: ephemeral replies %+v", eph)
	}
	if rs := h.fake.Calls("response_url"); len(rs) != 1 || !strings.Contains(rs[0].Field("text"), "Only people of the workspace") {
		t.Errorf("the outsider's click: %+v", rs)
	}
	if n := len(h.fake.Calls("chat.update")); n != 0 {
		t.Errorf("the outsider's click updated %d messages", n)
	}
	var answered bool
	for _, p := range h.fake.Calls("chat.postMessage") {
		answered = answered || p.Field("thread_ts") == "1700003100.000400"
		if strings.Contains(p.Field("text"), "republished") {
			t.Errorf("a command ran: %s", p.Field("text"))
		}
	}
	if !answered {
		t.Error("the outsider's pasted error was not answered")
	}
}

// gridFake is a fake Slack whose auth.test names the installation's
// workspace (slackfake.TeamID) and, org set, its Enterprise Grid organization.
func gridFake(t *testing.T, org string) *slackfake.Server {
	fake := newFake(t)
	if org != "" {
		fake.Queue("auth.test", slackfake.Response{Body: map[string]any{"ok": true, "team": "Fake Team", "user": "upgradebot",
			"team_id": slackfake.TeamID, "user_id": slackfake.BotUserID, "bot_id": slackfake.BotID, "enterprise_id": org}})
	}
	return fake
}

// A click from another organization's member (Slack Connect) is refused,
// told so and records nothing, in an Enterprise Grid organization too:
// there a click names the organization (E…) as its own members' team.
func TestClicksOnlyFromOurOwnPeople(t *testing.T) {
	for _, c := range []struct {
		name, org, userTeam string
		refused             bool
	}{
		{"our member", "", slackfake.TeamID, false},
		{"another organization's member", "", "E0PARTNER", true},
		{"a member of our Grid organization", "E0ORG", "E0ORG", false},
		{"our workspace, in a Grid organization", "E0ORG", slackfake.TeamID, false},
		{"another organization's member, in a Grid organization", "E0ORG", "E0PARTNER", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP, fake: gridFake(t, c.org)})
			reply := h.pastedReply("EvPaste", "1700003300.000100")
			replyTS, _ := reply.Answer["ts"].(string)
			click := slackfake.BlockActions(channel, "U0CLICK", replyTS, "1700003300.000100", false, json.RawMessage(reply.Field("blocks")),
				"mark_done:0", buttons(t, reply.Field("blocks"))["mark_done:0"], h.fake.ResponseURL("click"), "click")
			click["user"].(map[string]any)["team_id"] = c.userTeam
			if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, click)); code != http.StatusOK {
				t.Fatalf("click: %d", code)
			}
			h.waitIdle()
			if got := h.listed(); strings.Contains(got, "Billing_CS") != c.refused {
				t.Errorf("listed %q after the click; refused: %v", got, c.refused)
			}
			if c.refused {
				rs := h.fake.WaitCalls(1, 5*time.Second, "response_url")
				mustContain(t, "the answer to the click", rs[0].Field("text"), "Only people of the workspace")
			}
		})
	}
}

// Slack sends all the installations' payloads of an app to its one
// request URL (or any Socket Mode connection): another workspace's event,
// command or click is acknowledged and left alone (this token cannot
// answer it, its data is that workspace's), and counted. A command from
// another workspace of the installation's Grid organization is ours: a
// channel shared between them, seen from there.
func TestOtherInstallationsIgnored(t *testing.T) {
	command := func(team, org string) func(h *harness) {
		return func(h *harness) {
			f := slackfake.SlashCommand("C0THEIRS", "U0BOB", "track prod", h.fake.ResponseURL("cmd"), "cmd")
			f.Set("team_id", team)
			if org != "" {
				f.Set("enterprise_id", org)
			}
			if code, _ := h.do(slackfake.FormRequest(h.events(), secret, f)); code != http.StatusOK {
				t.Fatalf("command: %d", code)
			}
		}
	}
	for _, c := range []struct {
		name, org string
		send      func(h *harness)
		ignored   bool
	}{
		{"another workspace's event", "E0ORG", func(h *harness) {
			ev := slackfake.Message("C0THEIRS", "U0BOB", "1700003400.000100", producerPaste)
			body := envelope("EvTheirs", ev, map[string]any{"team_id": "T0OTHER", "enterprise_id": "E0ORG",
				"authorizations": []map[string]any{{"enterprise_id": "E0ORG", "team_id": "T0OTHER", "user_id": "U0BOTB", "is_bot": true}}})
			if code, _ := h.do(slackfake.EventRequest(h.events(), secret, body, 0)); code != http.StatusOK {
				t.Fatalf("event: %d", code)
			}
		}, true},
		{"another organization's command", "", command("T0OTHER", ""), true},
		{"another Grid organization's command", "E0ORG", command("T0OTHER", "E0ELSE"), true},
		{"another organization's click", "", func(h *harness) {
			click := slackfake.BlockActions("C0THEIRS", "U0BOB", "1700003400.000200", "", false, json.RawMessage(`[]`),
				"mark_done:0", "prod", h.fake.ResponseURL("click"), "click")
			click["team"] = map[string]any{"id": "T0OTHER", "domain": "other"}
			click["user"].(map[string]any)["team_id"] = "T0OTHER"
			if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, click)); code != http.StatusOK {
				t.Fatalf("click: %d", code)
			}
		}, true},
		{"a command from another workspace of our Grid organization", "E0ORG", command("T0OTHER", "E0ORG"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP, fake: gridFake(t, c.org)})
			c.send(h)
			h.waitIdle()
			answers := h.fake.Calls("chat.postMessage", "chat.postEphemeral", "response_url")
			ignored := h.counter("upgradebot_slack_events_total", "type", "other_installation")
			if c.ignored && (len(answers) > 0 || ignored != 1) {
				t.Errorf("%d answers, counted %v; want it ignored and counted", len(answers), ignored)
			}
			if !c.ignored && (len(answers) == 0 || ignored != 0) {
				t.Errorf("%d answers, counted %v ignored; want it taken", len(answers), ignored)
			}
			if envs, err := h.store.Environments(t.Context(), "T0OTHER"); err != nil || len(envs) > 0 {
				t.Errorf("recorded under the other workspace: %v %v", envs, err)
			}
		})
	}
}

// In an Enterprise Grid organization a channel shared between two of its
// workspaces is seen from either: a command or click there names the
// workspace the user is in (and an event may list another installation
// first). The process has one workspace's token, so its data is that
// workspace's: all of them are kept under it.
func TestSharedGridChannelKeptUnderOurWorkspace(t *testing.T) {
	const other = "T0WSB"
	command := func(t *testing.T, h *harness, text string) slackfake.Call {
		t.Helper()
		f := slackfake.SlashCommand(channel, ana, text, h.fake.ResponseURL("cmd"), "cmd")
		f.Set("team_id", other)
		f.Set("enterprise_id", "E0ORG")
		if code, _ := h.do(slackfake.FormRequest(h.events(), secret, f)); code != http.StatusOK {
			t.Fatalf("%s: %d", text, code)
		}
		h.waitIdle()
		return h.fake.WaitCalls(1, 5*time.Second, "response_url")[0]
	}
	for _, c := range []struct {
		name string
		from func(t *testing.T, h *harness, reply slackfake.Call)
		want string // listed after it
	}{
		{"status", func(t *testing.T, h *harness, _ slackfake.Call) {
			mustContain(t, "status from the other workspace", command(t, h, "status prod").Field("blocks"), "Billing_CS")
		}, "Billing_CS"},
		{"track", func(t *testing.T, h *harness, _ slackfake.Call) {
			command(t, h, "track prod")
			if envs, err := h.store.Environments(t.Context(), other); err != nil || len(envs) > 0 {
				t.Errorf("an environment under the other workspace: %v %v", envs, err)
			}
		}, "Billing_CS"},
		{"click", func(t *testing.T, h *harness, reply slackfake.Call) {
			replyTS, _ := reply.Answer["ts"].(string)
			click := slackfake.BlockActions(channel, ana, replyTS, "1700003500.000100", false, json.RawMessage(reply.Field("blocks")),
				"mark_done:0", buttons(t, reply.Field("blocks"))["mark_done:0"], h.fake.ResponseURL("click"), "click")
			click["team"] = map[string]any{"id": other, "domain": "b", "enterprise_id": "E0ORG"}
			click["user"].(map[string]any)["team_id"] = "E0ORG"
			if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, click)); code != http.StatusOK {
				t.Fatalf("click: %d", code)
			}
			h.waitIdle()
		}, ""},
		{"paste", func(t *testing.T, h *harness, _ slackfake.Call) {
			ev := slackfake.Message(channel, ana, "1700003500.000200", strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS"))
			body := envelope("EvOther", ev, map[string]any{"team_id": other, "enterprise_id": "E0ORG", "authorizations": []map[string]any{
				{"enterprise_id": "E0ORG", "team_id": other, "is_bot": true}, {"enterprise_id": "E0ORG", "team_id": slackfake.TeamID, "is_bot": true}}})
			if code, _ := h.do(slackfake.EventRequest(h.events(), secret, body, 0)); code != http.StatusOK {
				t.Fatalf("paste: %d", code)
			}
			h.waitIdle()
		}, "Billing_CS,Orders_CS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP, fake: gridFake(t, "E0ORG")})
			c.from(t, h, h.pastedReply("EvOurs", "1700003500.000100"))
			if got := h.listed(); got != c.want {
				t.Errorf("prod lists %q, want %q", got, c.want)
			}
		})
	}
}

// postShared posts an event of a Slack Connect channel, from a member of team.
func (h *harness) postShared(eventID, team string, ev map[string]any) {
	h.t.Helper()
	ev["user_team"], ev["source_team"], ev["team"] = team, team, team
	var envelope map[string]any
	_ = json.Unmarshal(slackfake.EventCallback(eventID, ev), &envelope)
	envelope["is_ext_shared_channel"] = true
	body, _ := json.Marshal(envelope)
	if code, _ := h.do(slackfake.EventRequest(h.events(), secret, body, 0)); code != http.StatusOK {
		h.t.Fatalf("%s: %d", eventID, code)
	}
}

// In an Enterprise Grid organization, Slack may name the organization
// (E…) as a member's user_team: such a member's command in a shared
// channel is run, not refused.
func TestGridMemberCommandsInSharedChannel(t *testing.T) {
	fake := newFake(t)
	fake.Queue("auth.test", slackfake.Response{Body: map[string]any{"ok": true, "team": "Fake Team", "user": "upgradebot",
		"team_id": slackfake.TeamID, "user_id": slackfake.BotUserID, "bot_id": slackfake.BotID, "enterprise_id": "E0OURORG"}})
	h := start(t, setup{mode: ModeHTTP, fake: fake})
	h.track("prod")
	h.postShared("EvGridMember", "E0OURORG", slackfake.AppMention(channel, ana, "1700003200.000100", "<@U0BOT> status prod"))
	h.waitIdle()
	eph := fake.Calls("chat.postEphemeral")
	if len(eph) != 1 || strings.Contains(eph[0].Field("text"), "Only people") || !strings.Contains(eph[0].Field("text"), "prod") {
		t.Errorf("the Grid member's status: %+v", eph)
	}
}

// In a direct message with the bot, a command works without its name,
// and text the bot does not know gets an answer, not silence: only the
// bot reads there.
func TestDirectMessageAnswersWhatItDoesNotKnow(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	dm := func(id, ts, text string) map[string]any {
		ev := slackfake.Message("D0DM", ana, ts, text)
		ev["channel_type"] = "im"
		return ev
	}
	h.postEvent("EvDM1", dm("EvDM1", "1700009000.000100", "stauts"), 0)
	h.waitJobs(1)
	posts := h.fake.WaitCalls(1, 5*time.Second, "chat.postMessage", "chat.postEphemeral")
	mustContain(t, "a typo in a direct message", posts[0].Field("blocks"), "Did you mean status?")
	h.postEvent("EvDM2", dm("EvDM2", "1700009000.000200", "hello there"), 0)
	h.waitJobs(2)
	posts = h.fake.WaitCalls(2, 5*time.Second, "chat.postMessage", "chat.postEphemeral")
	mustContain(t, "a greeting in a direct message", posts[1].Field("blocks"), "/upgrade status")
	// A file shared with a comment, or a long paste it does not recognize, is no command.
	share := slackfake.FileShare("D0DM", ana, "1700009000.000300", "Here is the error log from Service Center", h.fake.AddFile(slackfake.File{ID: "F0PDF", Name: "ErrorLog.pdf", Content: []byte("%PDF-1.4")}))
	share["channel_type"] = "im"
	h.postEvent("EvDM3", share, 0)
	h.postEvent("EvDM4", dm("EvDM4", "1700009000.000400", "Some error we have never seen\nwith a second line"), 0)
	h.postEvent("EvDM5", dm("EvDM5", "1700009000.000500", "hepl"), 0) // in the same line: answered after the two
	posts = h.fake.WaitCalls(3, 5*time.Second, "chat.postMessage", "chat.postEphemeral")
	mustContain(t, "the marker", posts[len(posts)-1].Field("blocks"), "Did you mean help?")
	for _, p := range h.fake.Calls("chat.postMessage", "chat.postEphemeral") {
		if strings.Contains(p.Field("blocks"), "I don't know the command \"here") || strings.Contains(p.Field("blocks"), "I don't know the command \"some") {
			t.Errorf("a file or a paste answered as a command: %s", p.Field("blocks"))
		}
	}
}
