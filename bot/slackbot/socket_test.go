package slackbot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// Socket Mode: every envelope type is acknowledged by envelope_id and
// handled; a re-delivered envelope (retry_attempt) is not answered twice;
// after Slack's refresh_requested disconnect the bot reconnects and keeps
// answering.
func TestSocketModeRoundTrip(t *testing.T) {
	h := start(t, setup{mode: ModeSocket})
	h.fake.WaitConnected(1, 5*time.Second)
	if c := h.fake.Calls("apps.connections.open"); len(c) != 1 || c[0].Token != appToken {
		t.Fatalf("apps.connections.open: %+v", c)
	}
	h.track("prod")

	ev := slackfake.EventCallback("EvS1", slackfake.Message(channel, ana, "1700002000.000100", producerPaste))
	id := h.fake.Send("events_api", json.RawMessage(ev), 0)
	if _, payload := h.fake.WaitAck(id, 3*time.Second); len(payload) != 0 && string(payload) != "null" {
		t.Errorf("ack payload %s, want none", payload)
	}
	retry := h.fake.Send("events_api", json.RawMessage(ev), 1)
	h.fake.WaitAck(retry, 3*time.Second)
	h.waitJobs(2)
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 || posts[0].Field("thread_ts") != "1700002000.000100" {
		t.Fatalf("replies: %d", len(posts))
	}

	slash := slackfake.SlashCommandJSON(slackfake.SlashCommand(channel, ana, "status prod", h.fake.ResponseURL("sock-slash"), "sock-trig"))
	h.fake.WaitAck(h.fake.Send("slash_commands", slash, 0), 3*time.Second)
	h.waitJobs(3)
	if rs := h.fake.Calls("response_url"); len(rs) != 1 || rs[0].Path != "/response/sock-slash" || rs[0].Field("response_type") != "ephemeral" {
		t.Fatalf("slash command over Socket Mode: %+v", rs)
	}

	value := buttons(t, posts[0].Field("blocks"))["mark_done:0"]
	replyTS, _ := posts[0].Answer["ts"].(string)
	click := slackfake.BlockActions(channel, ana, replyTS, "1700002000.000100", false, json.RawMessage(posts[0].Field("blocks")), "mark_done:0", value, h.fake.ResponseURL("sock-click"), "sock-click")
	h.fake.WaitAck(h.fake.Send("interactive", click, 0), 3*time.Second)
	h.waitJobs(4)
	if n := len(h.fake.Calls("chat.update")); n != 1 {
		t.Fatalf("click over Socket Mode: %d updates", n)
	}

	h.fake.Disconnect("refresh_requested")
	h.fake.WaitConnected(2, 5*time.Second)
	h.waitReady(http.StatusOK)
	id = h.fake.Send("events_api", json.RawMessage(slackfake.EventCallback("EvS2", slackfake.Message(channel, ana, "1700002000.000200", "There were errors preparing some modules."))), 0)
	h.fake.WaitAck(id, 3*time.Second)
	h.waitJobs(5)
	posts = h.fake.Calls("chat.postMessage")
	if len(posts) != 3 || posts[2].Field("thread_ts") != "1700002000.000200" {
		t.Fatalf("after reconnecting: %d posts", len(posts))
	}
	if got := h.counter("upgradebot_slack_reconnects_total"); got != 1 {
		t.Errorf("reconnects counted: %v", got)
	}
	// Slack refreshes connections routinely: no warning for it.
	for i := range 6 {
		h.fake.Disconnect("refresh_requested")
		h.fake.WaitConnected(3+i, 5*time.Second)
	}
	h.waitReady(http.StatusOK)
	if strings.Contains(h.logs.String(), "Socket Mode problem") {
		t.Errorf("a routine refresh logged a warning:\n%s", h.logs.String())
	}
}

// Acknowledgements stay prompt while the Web API is slow, and the reader
// is not held: a second envelope is acknowledged while the first reply is
// still being posted.
func TestSocketAckWhileWebAPIIsSlow(t *testing.T) {
	h := start(t, setup{mode: ModeSocket})
	h.fake.WaitConnected(1, 5*time.Second)
	h.track("prod")
	h.fake.SetDelay("chat.postMessage", 4*time.Second)
	sent := time.Now()
	first := h.fake.Send("events_api", json.RawMessage(slackfake.EventCallback("EvSlow1", slackfake.Message(channel, ana, "1700002100.000100", producerPaste))), 0)
	lat1, _ := h.fake.WaitAck(first, 3*time.Second)
	call := h.fake.WaitCalls(1, 3*time.Second, "chat.postMessage")[0]
	second := h.fake.Send("events_api", json.RawMessage(slackfake.EventCallback("EvSlow2", slackfake.Message(channel, ana, "1700002100.000200", "There was an error preparing your modules."))), 0)
	lat2, _ := h.fake.WaitAck(second, 3*time.Second)
	acked := time.Now()
	if c := h.fake.Calls("chat.postMessage")[0]; !c.Ended.IsZero() && c.Ended.Before(acked) {
		t.Fatalf("the second ack came only after the slow call ended")
	}
	h.waitJobs(2)
	if n := len(h.fake.Calls("chat.postMessage")); n != 2 {
		t.Fatalf("%d replies", n)
	}
	t.Logf("Socket Mode ack latency with a 4 s Web API: %v, and %v while a reply was in flight (the slow call began %v after the first envelope was sent)", lat1, lat2, call.At.Sub(sent))
}

// /readyz: 503 until Socket Mode is connected, 200 ok, 200 degraded when
// the store is unreachable, 503 again when the connection is lost.
func TestReadiness(t *testing.T) {
	fake := slackfake.New(t)
	fake.BotToken, fake.AppToken = botToken, appToken
	fake.SetOpenError("internal_error")
	h := start(t, setup{mode: ModeSocket, fake: fake, noWait: true})
	r := h.waitReady(http.StatusServiceUnavailable)
	// The first probe may come before the process starts connecting.
	if r.Status != "unavailable" || !slices.Contains([]string{"starting", "authenticating", "connecting"}, r.Checks["slack"]) || r.Checks["store"] != "ok" {
		t.Errorf("before connecting: %+v", r)
	}
	fake.WaitCalls(2, 5*time.Second, "apps.connections.open")
	if r := h.waitReady(http.StatusServiceUnavailable); r.Checks["slack"] != "connecting" {
		t.Errorf("while Slack refuses to open: %+v", r)
	}
	fake.SetOpenError("")
	if r := h.waitReady(http.StatusOK); r.Status != "ok" || r.Checks["slack"] != "ok" {
		t.Errorf("connected: %+v", r)
	}
	h.store.pingFails.Store(true)
	if r := h.waitReady(http.StatusOK); r.Status != "degraded" || r.Checks["store"] != "unreachable" {
		t.Errorf("store down: %+v", r)
	}
	h.store.pingFails.Store(false)
	code := "invalid_auth" // the bot token refused meanwhile: degraded while connected, unavailable once not
	h.app.api.refused.Store(&code)
	fake.SetOpenError("internal_error")
	fake.Drop()
	if r := h.waitReady(http.StatusServiceUnavailable); r.Status != "unavailable" || r.Checks["slack"] != "connecting" {
		t.Errorf("connection lost: %+v", r)
	}
	h.app.api.refused.Store(nil)
	fake.SetOpenError("")
	h.waitReady(http.StatusOK)
	if got := h.counter("upgradebot_slack_reconnects_total"); got != 1 {
		t.Errorf("reconnects: %v", got)
	}
}

// A token Slack refuses stops start-up with a message naming the setting,
// and so does an organization-wide installation's (auth.test names no
// workspace): the bot keeps one workspace's data.
func TestRefusedTokensStopStartUp(t *testing.T) {
	orgWide := map[string]any{"ok": true, "user": "upgradebot", "team_id": "", "user_id": slackfake.BotUserID,
		"bot_id": slackfake.BotID, "enterprise_id": "E0ORG", "is_enterprise_install": true}
	for _, c := range []struct {
		name, want string
		mode       Mode
		bot, app   string
		authTest   map[string]any // nil: the fake's answer
	}{
		{"bot token", "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)", ModeHTTP, "xoxb-other", appToken, nil},
		{"app token", "SLACK_APP_TOKEN was refused by Slack (invalid_auth)", ModeSocket, botToken, "xapp-other", nil},
		{"organization-wide installation", "SLACK_BOT_TOKEN belongs to an organization-wide installation (Slack names no workspace for it, only the organization E0ORG): upgradebot serves one workspace; install the app to a workspace instead",
			ModeHTTP, botToken, appToken, orgWide},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := slackfake.New(t)
			fake.BotToken, fake.AppToken = c.bot, c.app
			if c.authTest != nil {
				fake.Queue("auth.test", slackfake.Response{Body: c.authTest})
			}
			h := start(t, setup{mode: c.mode, fake: fake, noWait: true})
			select {
			case err := <-h.done:
				close(h.done)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Run: %v, want %q", err, c.want)
				}
				if strings.Contains(err.Error(), botToken) || strings.Contains(err.Error(), appToken) {
					t.Error("the error shows a token")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not stop")
			}
		})
	}
}

// In Socket Mode the reader never waits for the store: while the journal
// writes of three pasted errors are held (a slow store), a slash command
// sent after them is acknowledged at once, before any of them; once the
// store answers, they are journaled in the order received, acknowledged
// and answered, and the command is applied after the first paste, as its
// channel's line has it.
func TestSocketCommandNotHeldBySlowJournal(t *testing.T) {
	h := start(t, setup{mode: ModeSocket})
	h.fake.WaitConnected(1, 5*time.Second)
	h.track("prod")
	held := make(chan struct{})
	h.store.journalHeld.Store(&held)

	var pastes []string
	for i, module := range []string{"Billing_CS", "Orders_CS", "Directory_CS"} {
		text := strings.ReplaceAll(producerPaste, "Billing_CS", module)
		ev := slackfake.EventCallback(fmt.Sprintf("EvHeld%d", i), slackfake.Message(channel, ana, fmt.Sprintf("1700002300.00010%d", i), text))
		pastes = append(pastes, h.fake.Send("events_api", json.RawMessage(ev), 0))
	}
	slash := slackfake.SlashCommandJSON(slackfake.SlashCommand(channel, ana, "done Billing_CS", h.fake.ResponseURL("held-slash"), "held-trig"))
	h.fake.WaitAck(h.fake.Send("slash_commands", slash, 0), 3*time.Second)
	for i, id := range pastes {
		if h.fake.Acked(id) {
			t.Fatalf("paste %d acknowledged before its journal write ended", i)
		}
	}

	close(held)
	for _, id := range pastes {
		h.fake.WaitAck(id, 3*time.Second)
	}
	h.waitJobs(4)
	if got, want := h.store.journaled(), []string{"EvHeld0", "EvHeld1", "EvHeld2"}; !slices.Equal(got, want) {
		t.Errorf("journaled %v, want %v (the order received)", got, want)
	}
	if got := h.counter("upgradebot_journal_undurable_total"); got != 0 {
		t.Errorf("%v events acknowledged without their journal entry", got)
	}
	// One reply to each paste, then the command's announcement: Billing_CS
	// was on the list when the command ran.
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 4 || !strings.Contains(posts[3].Field("text"), "1 module republished") {
		var texts []string
		for _, p := range posts {
			texts = append(texts, p.Field("text"))
		}
		t.Fatalf("posts: %q", texts)
	}
}
