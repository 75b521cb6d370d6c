package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// A pasted error gets exactly one reply, in its thread, in Block Kit with a
// plain-text fallback, explaining the finding and recording it.
func TestPastedErrorGetsOneThreadedReply(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.postEvent("Ev1", slackfake.Message(channel, ana, "1700000100.000100", producerPaste), 0)
	h.waitJobs(1)
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d chat.postMessage calls, want 1", len(posts))
	}
	p := posts[0]
	if p.Field("channel") != channel || p.Field("thread_ts") != "1700000100.000100" {
		t.Errorf("reply in %s thread %q, want %s thread 1700000100.000100", p.Field("channel"), p.Field("thread_ts"), channel)
	}
	if p.Token != botToken {
		t.Errorf("posted with token %q", p.Token)
	}
	mustContain(t, "reply blocks", p.Field("blocks"), "A producer module has not been compiled for the new version", "Billing_CS", "Recorded for *prod*", `"action_id":"mark_done:0"`)
	if text := p.Field("text"); text == "" || strings.Contains(text, "{") {
		t.Errorf("fallback text %q", text)
	}
	if h.counter("upgradebot_findings_total", "id", "producer-not-prepared") != 1 || h.counter("upgradebot_replies_total", "kind", "thread") != 1 {
		t.Errorf("metrics: findings %v, replies %v", h.counter("upgradebot_findings_total"), h.counter("upgradebot_replies_total"))
	}
	st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
	if err != nil || len(st.Modules) != 1 || st.Modules[0].Name != "Billing_CS" {
		t.Errorf("tracking after the paste: %+v, %v", st.Modules, err)
	}
	// Text with no known error gets nothing: it is diagnosed before the ack
	// and never becomes a job.
	h.postEvent("Ev2", slackfake.Message(channel, ana, "1700000100.000200", "lunch at noon?"), 0)
	h.waitJobs(1)
	if n := len(h.fake.Calls("chat.postMessage", "chat.postEphemeral", "reactions.add")); n != 1 {
		t.Errorf("chat after small talk: %d calls, want still 1", n)
	}
}

// Three re-deliveries of the event (late acks) and the app_mention that
// Slack sends for the same message give one reply.
func TestRedeliveriesAndMentionPairGiveOneReply(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	ts := "1700000200.000100"
	text := "<@" + slackfake.BotUserID + "> " + producerPaste
	h.postEvent("EvMsg", slackfake.Message(channel, ana, ts, text), 0)
	h.postEvent("EvMention", slackfake.AppMention(channel, ana, ts, text), 0)
	for retry := 1; retry <= 3; retry++ {
		h.postEvent("EvMsg", slackfake.Message(channel, ana, ts, text), retry)
	}
	h.waitJobs(5)
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
	if got := h.counter("upgradebot_duplicates_suppressed_total"); got != 4 {
		t.Errorf("duplicates suppressed: %v, want 4", got)
	}
	if got := h.counter("upgradebot_slack_events_total", "type", "app_mention"); got != 1 {
		t.Errorf("app_mention events counted: %v", got)
	}
	// The same error pasted again in that thread is not explained twice;
	// a different one is.
	h.postEvent("EvAgain", slackfake.InThread(slackfake.Message(channel, "U0BOB", "1700000200.000300", producerPaste), ts), 0)
	h.waitJobs(6)
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Fatalf("the same diagnosis was repeated in the thread: %d replies", n)
	}
	h.postEvent("EvOther", slackfake.InThread(slackfake.Message(channel, "U0BOB", "1700000200.000400", "There was an error preparing your modules."), ts), 0)
	h.waitJobs(7)
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 2 || posts[1].Field("thread_ts") != ts {
		t.Fatalf("a new finding in the thread: %d replies (thread %q)", len(posts), posts[len(posts)-1].Field("thread_ts"))
	}
	// The same error again, once the module was marked republished: it is
	// held back, and the reply says so (with Record anyway), diagnosis or not.
	if r := h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: "done1", Text: "done prod: Billing_CS"}); r.Announce.Empty() {
		t.Fatalf("done: %s", bot.RenderText(r.Reply))
	}
	h.postEvent("EvRelisted", slackfake.InThread(slackfake.Message(channel, "U0BOB", "1700000200.000500", producerPaste), ts), 0)
	h.waitJobs(8)
	posts = h.fake.Calls("chat.postMessage")
	if len(posts) != 3 {
		t.Fatalf("the paste that listed Billing_CS again got no reply: %d replies", len(posts))
	}
	mustContain(t, "the reply to the paste that would list it again", posts[2].Field("blocks"), "Not recorded for *prod*", "was marked republished", `"action_id":"record:anyway"`)
	// A state said again in the thread is no news: not explained twice.
	h.postEvent("EvState1", slackfake.InThread(slackfake.Message(channel, "U0BOB", "1700000200.000600", "There were errors preparing some modules."), ts), 0)
	h.postEvent("EvState2", slackfake.InThread(slackfake.Message(channel, "U0BOB", "1700000200.000700", "There were errors preparing some modules."), ts), 0)
	h.waitJobs(10)
	if n := len(h.fake.Calls("chat.postMessage")); n != 4 {
		t.Errorf("a state said twice in the thread: %d replies in all, want 4", n)
	}
}

// Requests without a valid signature get 401 and change nothing.
func TestUnsignedRequestsAreRefused(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	body := slackfake.EventCallback("EvBad", slackfake.Message(channel, ana, "1700000300.000100", producerPaste))
	cases := map[string]*http.Request{
		"wrong secret":     slackfake.Request(h.events(), "not-the-secret", "application/json", body, time.Now()),
		"6 minutes old":    slackfake.Request(h.events(), secret, "application/json", body, time.Now().Add(-6*time.Minute)),
		"6 minutes ahead":  slackfake.Request(h.events(), secret, "application/json", body, time.Now().Add(6*time.Minute)),
		"no headers":       slackfake.Request(h.events(), "", "application/json", body, time.Now()),
		"tampered body":    tampered(slackfake.Request(h.events(), secret, "application/json", body, time.Now())),
		"unsigned command": slackfake.Request(h.events(), "", "application/x-www-form-urlencoded", []byte(slackfake.SlashCommand(channel, ana, "reset prod", h.fake.ResponseURL("x"), "trig").Encode()), time.Now()),
		"unsigned ssl_check with a smuggled payload": slackfake.Request(h.events(), "", "application/x-www-form-urlencoded",
			[]byte("ssl_check=1&payload="+url.QueryEscape(`{"type":"block_actions"}`)), time.Now()),
	}
	for name, req := range cases {
		if code, _ := h.do(req); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	h.marker("EvMarker", "1700000300.000900")
	if h.app.lanes.completed.Load() != 1 || len(h.fake.Calls("chat.postMessage", "chat.postEphemeral", "response_url")) != 1 {
		t.Errorf("a refused request had an effect: %d jobs, calls %v", h.app.lanes.completed.Load(), h.fake.Calls())
	}
	held, err := h.store.Held(context.Background(), slackfake.TeamID, "slack:event:EvBad")
	if err != nil || held {
		t.Errorf("a refused request left a claim behind (%v, %v)", held, err)
	}
	if got := h.counter("upgradebot_slack_events_total", "type", "rejected_signature"); got != float64(len(cases)) {
		t.Errorf("rejections counted: %v", got)
	}
	// Anyone can send them: counted each, logged one line a minute, short.
	if n := strings.Count(h.logs.String(), "refused a request to /slack/events"); n != 1 {
		t.Errorf("%d log lines for %d refused requests, want 1", n, len(cases))
	}
	h2 := start(t, setup{mode: ModeHTTP})
	big := slackfake.Request(h2.events(), "not-the-secret", "application/json", body, time.Now())
	big.Header.Set("X-Slack-Request-Timestamp", strings.Repeat("9", 30_000))
	if code, _ := h2.do(big); code != http.StatusUnauthorized || !strings.Contains(h2.logs.String(), "refused a request") {
		t.Fatalf("a request with a 30 KB timestamp: %d", code)
	}
	if strings.Contains(h2.logs.String(), strings.Repeat("9", 200)) {
		t.Error("a refused request's header was logged whole")
	}
}

func tampered(req *http.Request) *http.Request {
	body := slackfake.EventCallback("EvBad", slackfake.Message(channel, ana, "1700000300.000100", "tampered"))
	req.Body = ioNopCloser(body)
	req.ContentLength = int64(len(body))
	return req
}

// Bodies over the limit get 413, with or without a Content-Length.
func TestOversizedBody(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) { o.MaxBodyBytes = 64 << 10 }})
	big := slackfake.EventCallback("EvBig", slackfake.Message(channel, ana, "1700000400.000100", strings.Repeat("x", 100<<10)))
	if code, _ := h.do(slackfake.EventRequest(h.events(), secret, big, 0)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("with Content-Length: %d, want 413", code)
	}
	req := slackfake.EventRequest(h.events(), secret, big, 0)
	req.ContentLength = -1 // chunked
	req.Body = ioNopCloser(big)
	if code, _ := h.do(req); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: %d, want 413", code)
	}
	h.marker("EvMarker", "1700000400.000900")
	if h.app.lanes.completed.Load() != 1 {
		t.Error("an oversized request was handled")
	}
}

// url_verification answers the challenge; ssl_check gets 200.
func TestURLVerificationAndSSLCheck(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	code, body := h.do(slackfake.Request(h.events(), secret, "application/json", slackfake.URLVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"), time.Now()))
	var got map[string]string
	if code != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got["challenge"] != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification: %d %q", code, body)
	}
	code, _ = h.do(slackfake.FormRequest(h.events(), secret, url.Values{"ssl_check": {"1"}, "token": {"legacy"}}))
	if code != http.StatusOK {
		t.Errorf("ssl_check: %d", code)
	}
	if code, _ := h.do(mustReq(http.NewRequest(http.MethodGet, h.events(), nil))); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /slack/events: %d", code)
	}
}

// The bot's own messages, unfurls, deletions of what it never answered,
// joins and other bots' messages get nothing; a bot listed in UPGRADEBOT_ALLOWED_BOTS is answered.
func TestWhoIsAnswered(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) { o.AllowedBots = []string{"B0CI", "A0LIFETIME"} }})
	h.track("prod")
	own := slackfake.Message(channel, slackfake.BotUserID, "1700000500.000100", producerPaste)
	ownBot := slackfake.BotMessage(channel, slackfake.BotID, slackfake.AppID, "1700000500.000200", producerPaste)
	join := slackfake.Message(channel, "U0NEW", "1700000500.000400", "<@U0NEW> has joined the channel")
	join["subtype"] = "channel_join"
	deleted := map[string]any{"type": "message", "subtype": "message_deleted", "hidden": true, "channel": channel, "ts": "1700000500.000500", "deleted_ts": "1700000500.000300"}
	// An unfurl: the message changed, its text did not (edits: edits_test.go).
	unfurl := slackfake.Edit(channel, "1700000500.000300", producerPaste)
	unfurl["previous_message"].(map[string]any)["text"] = producerPaste
	delete(unfurl["message"].(map[string]any), "edited")
	for i, ev := range []map[string]any{own, ownBot, unfurl, join, deleted,
		slackfake.BotMessage(channel, "B0OTHER", "A0OTHER", "1700000500.000600", producerPaste)} {
		h.postEvent(fmt.Sprintf("EvIgnored%d", i), ev, 0)
	}
	h.postEvent("EvCI", slackfake.BotMessage(channel, "B0CI", "A0CI", "1700000500.000700", producerPaste), 0)
	lifetime := slackfake.BotMessage(channel, "B0LT", "", "1700000500.000800", "There was an error preparing your modules.")
	lifetime["bot_profile"] = map[string]any{"id": "B0LT", "app_id": "A0LIFETIME"}
	h.postEvent("EvLT", lifetime, 0)
	bcast := slackfake.InThread(slackfake.Message(channel, ana, "1700000500.000900", "There were errors preparing some modules."), "1700000500.000100")
	bcast["subtype"] = "thread_broadcast"
	h.postEvent("EvBroadcast", bcast, 0)
	// Words in attachments: a forwarded message's, an allowed bot's; not a link's preview.
	forwarded := slackfake.Message(channel, ana, "1700000501.000100", "")
	forwarded["attachments"] = []any{map[string]any{"is_share": true, "text": "Producer module 'Fwd_CS' hasn't been prepared for the current OutSystems environment version."}}
	ci := slackfake.BotMessage(channel, "B0CI", "A0CI", "1700000501.000200", "")
	ci["attachments"] = []any{map[string]any{"color": "danger", "pretext": "Deploy failed", "text": "Producer module 'Ci_CS' hasn't been prepared for the current OutSystems environment version."}}
	preview := slackfake.Message(channel, ana, "1700000501.000300", "see https://success.outsystems.com/x")
	preview["attachments"] = []any{map[string]any{"from_url": "https://success.outsystems.com/x", "text": "There was an error preparing your modules."}}
	for i, ev := range []map[string]any{forwarded, ci, preview} {
		h.postEvent(fmt.Sprintf("EvAttached%d", i), ev, 0)
	}
	// The events to ignore were refused before being acknowledged, the
	// others queued: with these five handled, nothing else is left.
	h.waitJobs(5)
	if n, jobs := len(h.fake.Calls("chat.postEphemeral", "reactions.add")), h.app.lanes.completed.Load(); n != 0 || jobs != 5 {
		t.Fatalf("answered what it should ignore: %d calls, %d jobs (want 5)", n, jobs)
	}
	if got := h.listed(); !strings.Contains(got, "Fwd_CS") || !strings.Contains(got, "Ci_CS") {
		t.Errorf("listed %q; want the forwarded and the bot's attached errors", got)
	}
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 5 {
		t.Fatalf("allowed bots, a thread broadcast and attachments: %d replies, want 5", len(posts))
	}
	threads := map[string]bool{}
	for _, p := range posts {
		threads[p.Field("thread_ts")] = true
	}
	for _, want := range []string{"1700000500.000700", "1700000500.000800", "1700000500.000100"} {
		if !threads[want] {
			t.Errorf("no reply in thread %s (replies in %v)", want, threads)
		}
	}
}

// A slash command is acknowledged at once and answered through its
// response_url (ephemeral), or in the channel when tracking changed; an
// export is uploaded as a file.
func TestSlashCommandRoundTrip(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	send := func(text, trigger string) {
		t.Helper()
		code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, text, h.fake.ResponseURL(trigger), trigger)))
		if code != http.StatusOK || body != "" {
			t.Fatalf("/upgrade %s: %d %q", text, code, body)
		}
	}
	send("track prod 11.31.0", "trig1")
	h.waitJobs(1)
	if n := len(h.fake.Calls("conversations.info")); n != 1 {
		t.Errorf("track checked membership %d times", n)
	}
	ann := h.fake.WaitCalls(1, 5*time.Second, "chat.postMessage")
	if ann[0].Field("channel") != channel || ann[0].Field("thread_ts") != "" {
		t.Errorf("announce in %s thread %q", ann[0].Field("channel"), ann[0].Field("thread_ts"))
	}
	mustContain(t, "track announce", ann[0].Field("blocks"), "<@"+ana+"> set this channel to follow *prod*")

	send("status", "trig2")
	h.waitJobs(2)
	rs := h.fake.Calls("response_url")
	if len(rs) != 1 || rs[0].Path != "/response/trig2" || rs[0].Field("response_type") != "ephemeral" {
		t.Fatalf("status answer: %+v", rs)
	}
	mustContain(t, "status", rs[0].Field("blocks"), "prod", "share_status")

	send("export prod csv", "trig3")
	h.waitJobs(3)
	h.fake.WaitCalls(1, 5*time.Second, "files.completeUploadExternal")
	up := h.fake.Calls("upload")
	if len(up) != 1 || !strings.HasPrefix(up[0].Field("content"), "time,") && !strings.Contains(up[0].Field("content"), ",") {
		t.Errorf("upload: %+v", up)
	}
	done := h.fake.Calls("files.completeUploadExternal")[0]
	if done.Field("channel_id") != channel || !strings.Contains(done.Field("files"), "Change record of the upgrade of prod") {
		t.Errorf("completeUploadExternal: %v", done.Form)
	}

	// Without files:write the export is shown to the caller in a code block.
	h.fake.Queue("files.getUploadURLExternal", slackfake.Response{Body: map[string]any{"ok": false, "error": "missing_scope", "needed": "files:write"}})
	send("export prod md", "trig4")
	h.waitJobs(4)
	rs = h.fake.WaitCalls(3, 5*time.Second, "response_url")
	last := rs[len(rs)-1]
	if last.Path != "/response/trig4" || !strings.Contains(last.Field("text"), "```") || last.Field("response_type") != "ephemeral" {
		t.Errorf("export fallback: %v", last.Body)
	}
	if h.counter("upgradebot_slack_api_errors_total", "method", "files.upload", "code", "missing_scope") != 1 {
		t.Error("the missing scope was not counted")
	}
	if !strings.Contains(h.logs.String(), "files:write") {
		t.Error("the log does not name the missing scope")
	}
	// A workbook is no text: its bytes are not shown, the caller is told.
	h.fake.Queue("files.getUploadURLExternal", slackfake.Response{Body: map[string]any{"ok": false, "error": "missing_scope", "needed": "files:write"}})
	send("export prod xlsx", "trig4x")
	h.waitJobs(5)
	rs = h.fake.WaitCalls(4, 5*time.Second, "response_url")
	last = rs[len(rs)-1]
	if got := last.Field("text"); strings.Contains(got, "PK") || !strings.Contains(got, "I could not upload upgrade-prod-") || !strings.Contains(got, "as `csv` or `md`") {
		t.Errorf("xlsx export fallback: %q", got)
	}

	// From a channel that does not follow prod, no file: who asks is told
	// where to ask. From a direct message, the file is shared there.
	uploads := len(h.fake.Calls("files.getUploadURLExternal"))
	sendIn := func(ch, text, trigger string) {
		t.Helper()
		if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(ch, ana, text, h.fake.ResponseURL(trigger), trigger))); code != http.StatusOK {
			t.Fatalf("/upgrade %s: %d %q", text, code, body)
		}
	}
	sendIn("C0ELSEWHERE", "export prod", "trig5")
	h.waitJobs(5)
	rs = h.fake.WaitCalls(4, 5*time.Second, "response_url")
	mustContain(t, "export elsewhere", rs[len(rs)-1].Field("blocks"), "prod is not followed in this channel")
	sendIn("D0ANA", "export prod", "trig6")
	h.waitJobs(6)
	h.fake.WaitCalls(uploads+1, 5*time.Second, "files.getUploadURLExternal")
}

// A click on "Mark … republished" updates tracking, announces it, and
// takes the button off the message.
func TestButtonClickRoundTrip(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	reply := h.pastedReply("EvP", "1700000600.000100")
	btns := buttons(t, reply.Field("blocks"))
	value, ok := btns["mark_done:0"]
	if !ok {
		t.Fatalf("no mark_done button in %v", btns)
	}
	replyTS, _ := reply.Answer["ts"].(string)
	payload := slackfake.BlockActions(channel, "U0BOB", replyTS, "1700000600.000100", false, json.RawMessage(reply.Field("blocks")), "mark_done:0", value, h.fake.ResponseURL("click1"), "trigclick1")
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, payload)); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	h.waitJobs(2)
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 2 {
		t.Fatalf("%d posts after the click, want the reply and the announcement", len(posts))
	}
	mustContain(t, "announcement", posts[1].Field("blocks"), "<@U0BOB> republished", "Billing_CS", "prod's list is empty")
	ups := h.fake.Calls("chat.update")
	if len(ups) != 1 || ups[0].Field("ts") != replyTS || ups[0].Field("channel") != channel {
		t.Fatalf("chat.update of the clicked message: %+v", ups)
	}
	if _, still := buttons(t, ups[0].Field("blocks"))["mark_done:0"]; still {
		t.Error("the clicked button is still on the message")
	}
	mustContain(t, "updated message", ups[0].Field("blocks"), "`Billing_CS` marked republished by <@U0BOB>", "show_status")
	st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
	if err != nil || len(st.Modules) != 0 {
		t.Errorf("tracking after the click: %+v %v", st.Modules, err)
	}
	// The same click delivered again changes nothing more.
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, payload)); code != http.StatusOK {
		t.Fatal(code)
	}
	h.waitJobs(3)
	if n := len(h.fake.Calls("chat.postMessage")); n != 2 {
		t.Errorf("a repeated click posted again (%d posts)", n)
	}
}

// Response.Replace updates the clicked message: chat.update for a message
// in the channel, the response_url with replace_original for an ephemeral one.
func TestReplaceClickedMessage(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, wrap: func(b *bot.Bot) Core { return replacingCore{b} }})
	h.track("prod")
	blocks := json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"old"}}]`)
	click := func(ephemeral bool, trigger string) {
		p := slackfake.BlockActions(channel, ana, "1700000700.000100", "", ephemeral, blocks, bot.ActionShowStatus, `{"env":"prod"}`, h.fake.ResponseURL(trigger), trigger)
		if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
			t.Fatalf("click: %d", code)
		}
	}
	click(false, "r1")
	h.waitJobs(1)
	ups := h.fake.Calls("chat.update")
	if len(ups) != 1 || ups[0].Field("ts") != "1700000700.000100" {
		t.Fatalf("chat.update: %+v", ups)
	}
	mustContain(t, "replaced message", ups[0].Field("blocks"), "prod")
	click(true, "r2")
	h.waitJobs(2)
	rs := h.fake.Calls("response_url")
	if len(rs) != 1 || rs[0].Field("replace_original") != "true" || rs[0].Path != "/response/r2" {
		t.Fatalf("response_url replace: %+v", rs)
	}
}

// replacingCore answers "Show status" by replacing the clicked message.
type replacingCore struct{ *bot.Bot }

func (r replacingCore) HandleAction(ctx context.Context, a bot.Action) bot.Response {
	resp := r.Bot.HandleAction(ctx, a)
	resp.Replace, resp.Private = true, false
	return resp
}

// A module named <!channel> is shown escaped: it pings nobody.
func TestInjectionIsEscaped(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	// Typed literally, Slack sends <!channel> escaped; a real @channel would come as <!channel>.
	paste := "Old Producer: Producer module '&lt;!channel&gt;' hasn't been prepared for the current OutSystems environment version."
	h.postEvent("EvInj", slackfake.Message(channel, ana, "1700000800.000100", paste), 0)
	code, _ := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "failed &lt;!here&gt; <!channel>", h.fake.ResponseURL("inj"), "inj")))
	if code != http.StatusOK {
		t.Fatal(code)
	}
	h.waitJobs(2)
	out := h.fake.Calls("chat.postMessage", "response_url")
	if len(out) != 2 {
		t.Fatalf("%d answers, want the diagnosis and the command's", len(out))
	}
	for _, c := range out {
		for _, f := range []string{"blocks", "text"} {
			v := decoded(c.Field(f))
			if strings.Contains(v, "<!channel>") || strings.Contains(v, "<!here>") {
				t.Errorf("%s %s carries a live mention: %s", c.Method, f, v)
			}
		}
	}
	mustContain(t, "diagnosis", h.fake.Calls("chat.postMessage")[0].Field("blocks"), "`&lt;!channel&gt;`")
	mustContain(t, "command answer", h.fake.Calls("response_url")[0].Field("blocks"), "&lt;!here&gt;")
}

// A rate-limited reply (429, with or without Retry-After) is posted once,
// after the wait Slack asked for. A reply whose post fails after Slack may
// have made it (5xx, a dropped connection, a timeout, internal_error) is
// not posted again: exactly one attempt, logged and counted, and the
// delivery is not released for a re-delivery to post it again.
func TestWebAPIRetries(t *testing.T) {
	rateLimited := map[string]any{"ok": false, "error": "ratelimited"}
	cases := []struct {
		name     string
		resp     slackfake.Response
		attempts int
		code     string
		posted   bool
	}{
		{"429 with Retry-After", slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: rateLimited}, 2, "ratelimited", true},
		{"429 without Retry-After", slackfake.Response{Status: 429, Body: rateLimited}, 2, "ratelimited", true},
		{"500", slackfake.Response{Status: 500}, 1, "http_500", false},
		{"503", slackfake.Response{Status: 503}, 1, "http_503", false},
		{"dropped connection", slackfake.Response{Drop: true}, 1, "network", false},
		{"timeout", slackfake.Response{Delay: 3 * time.Second}, 1, "timeout", false},
		{"internal_error", slackfake.Response{Body: map[string]any{"ok": false, "error": "internal_error"}}, 1, "internal_error", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, setup{mode: ModeHTTP, api: func(o *APIOptions) { o.HTTPClient = &http.Client{Timeout: time.Second} }})
			h.track("prod")
			h.fake.Queue("chat.postMessage", c.resp)
			h.postEvent("EvR", slackfake.Message(channel, ana, "1700000900.000100", producerPaste), 0)
			h.waitJobs(1)
			posts := h.fake.Calls("chat.postMessage")
			if len(posts) != c.attempts {
				t.Fatalf("%d attempts, want %d", len(posts), c.attempts)
			}
			if c.attempts == 2 && posts[0].Field("blocks") != posts[1].Field("blocks") {
				t.Error("the retry posted something else")
			}
			if got := h.counter("upgradebot_slack_api_errors_total", "method", "chat.postMessage", "code", c.code); got != 1 {
				t.Errorf("errors counted %v for code %s", got, c.code)
			}
			replies, unconfirmed := 0.0, 1.0
			if c.posted {
				replies, unconfirmed = 1, 0
				mustContain(t, "log", h.logs.String(), "slack call failed, retrying", "wait=1s")
			} else {
				mustContain(t, "log", h.logs.String(), "not sent again, so that nothing is posted twice")
			}
			if got := h.counter("upgradebot_replies_total", "kind", "thread"); got != replies {
				t.Errorf("replies counted %v, want %v", got, replies)
			}
			if got := h.counter("upgradebot_slack_calls_unconfirmed_total", "method", "chat.postMessage"); got != unconfirmed {
				t.Errorf("unconfirmed posts counted %v, want %v", got, unconfirmed)
			}
			// A re-delivery of the event finds it answered: still no second post.
			h.postEvent("EvR", slackfake.Message(channel, ana, "1700000900.000100", producerPaste), 1)
			h.waitJobs(2)
			if n := len(h.fake.Calls("chat.postMessage")); n != c.attempts {
				t.Errorf("a re-delivery posted again: %d attempts, want %d", n, c.attempts)
			}
		})
	}
}

// A channel the bot left: the error wraps bot.ErrChannelGone, is logged
// with an explanation and counted; the scheduler's Poster sees the same.
func TestChannelGone(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.fake.SetGone("C0GONE", "not_in_channel")
	err := h.app.api.Post(context.Background(), "C0GONE", &bot.Reply{Summary: "reminder"})
	if !errorsIsGone(err) {
		t.Fatalf("Post: %v, want bot.ErrChannelGone", err)
	}
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("a gone channel was tried %d times", n)
	}
	if h.counter("upgradebot_slack_api_errors_total", "method", "chat.postMessage", "code", "not_in_channel") != 1 {
		t.Error("not counted")
	}
	mustContain(t, "log", h.logs.String(), "invite it with /invite @upgradebot")

	// track in a channel the bot is not in says so, privately.
	h.fake.SetMember("C0OUT", false)
	code, _ := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand("C0OUT", ana, "track qa", h.fake.ResponseURL("out"), "out")))
	if code != http.StatusOK {
		t.Fatal(code)
	}
	h.waitJobs(1)
	rs := h.fake.Calls("response_url")
	if len(rs) != 1 || !strings.Contains(rs[0].Field("blocks"), "not in this channel") || rs[0].Field("response_type") != "ephemeral" {
		t.Fatalf("track in a channel without the bot: %+v", rs)
	}
	// An announcement in a channel the bot is not in goes through the response_url.
	h.fake.SetMember("C0OUT", true)
	h.fake.SetGone("C0OUT", "not_in_channel")
	h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand("C0OUT", ana, "track qa", h.fake.ResponseURL("out2"), "out2")))
	h.waitJobs(2)
	rs = h.fake.Calls("response_url")
	if len(rs) != 2 || rs[1].Field("response_type") != "in_channel" {
		t.Fatalf("announce fallback: %+v", rs)
	}
	// So does one Slack rate-limits past its retries: recorded, and said.
	limited := slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}}
	h.fake.Queue("chat.postMessage", limited, limited, limited, limited)
	h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "track dev", h.fake.ResponseURL("lim"), "lim")))
	h.waitJobs(3)
	rs = h.fake.Calls("response_url")
	if len(rs) != 3 || rs[2].Field("response_type") != "in_channel" || !strings.Contains(rs[2].Field("blocks"), "follow *dev*") {
		t.Fatalf("announce when rate-limited: %+v", rs)
	}
}

// With the store unreachable the bot still answers, and counts it.
func TestStoreUnreachableStillAnswers(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.store.claimFails.Store(true)
	h.postEvent("EvS", slackfake.Message(channel, ana, "1700001000.000100", "There was an error preparing your modules."), 0)
	h.waitJobs(1)
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Fatalf("%d replies with the store down, want 1", n)
	}
	if h.counter("upgradebot_store_errors_total", "op", "claim") == 0 {
		t.Error("store errors not counted")
	}
}

// The App Home shows the workspace's environments.
func TestAppHome(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.postEvent("EvHome", slackfake.HomeOpened(ana), 0)
	h.postEvent("EvHome", slackfake.HomeOpened(ana), 1)
	h.waitJobs(2)
	vs := h.fake.Calls("views.publish")
	if len(vs) != 1 || vs[0].Field("user_id") != ana {
		t.Fatalf("views.publish: %+v", vs)
	}
	view := vs[0].Field("view")
	mustContain(t, "home view", view, `"type":"home"`, "Upgrades in this workspace", "prod")
}

// /metrics serves Prometheus text with upgradebot_ names only; /healthz answers.
func TestMetricsAndHealth(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.postEvent("EvM", slackfake.Message(channel, ana, "1700001100.000100", "There was an error preparing your modules."), 0)
	h.waitJobs(1)
	code, body := h.do(mustReq(http.NewRequest(http.MethodGet, h.base+"/metrics", nil)))
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	mustContain(t, "/metrics", body, "upgradebot_slack_events_total{type=\"message\"} 1", "upgradebot_findings_total{id=\"modules-preparation-failed\"} 1",
		"upgradebot_handler_duration_seconds_bucket", "upgradebot_replies_total{kind=\"thread\"} 1")
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "upgradebot_") {
			t.Errorf("metric without the prefix: %s", line)
		}
	}
	if code, body := h.do(mustReq(http.NewRequest(http.MethodGet, h.base+"/healthz", nil))); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
}

// Acknowledgements stay prompt while the Web API is slow: the handler
// returns before the slow call it caused has finished.
func TestHTTPAckWhileWebAPIIsSlow(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.fake.SetDelay("chat.postMessage", 4*time.Second)
	began := time.Now()
	h.postEvent("EvSlow", slackfake.Message(channel, ana, "1700001200.000100", producerPaste), 0)
	acked := time.Now()
	calls := h.fake.WaitCalls(1, 5*time.Second, "chat.postMessage")
	h.waitJobs(1)
	ended := h.fake.Calls("chat.postMessage")[0].Ended
	if !acked.Before(ended) || ended.Sub(calls[0].At) < 4*time.Second {
		t.Fatalf("acknowledged at %v, the slow call ended at %v", acked.Sub(began), ended.Sub(began))
	}
	t.Logf("HTTP ack latency with a 4 s Web API: %v (reply posted after %v)", acked.Sub(began), ended.Sub(began))
}

// When every worker is busy, acknowledged work waits and is answered late, not dropped.
func TestBusyWorkersAnswerLate(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) { o.Workers = 1 }})
	h.track("prod")
	h.fake.SetDelay("chat.postMessage", 300*time.Millisecond)
	for i := range 5 {
		h.postEvent(fmt.Sprintf("EvBusy%d", i), slackfake.Message(channel, ana, fmt.Sprintf("1700001300.00010%d", i), "There was an error preparing your modules."), 0)
	}
	lastAck := time.Now()
	h.waitJobs(5)
	calls := h.fake.Calls("chat.postMessage")
	if len(calls) != 5 {
		t.Fatalf("%d replies, want 5", len(calls))
	}
	// Had an acknowledgement waited for the one worker, the fifth would
	// have come after the fourth reply was posted.
	if !lastAck.Before(calls[3].Ended) {
		t.Errorf("the fifth event was acknowledged after the fourth reply was posted: acknowledgements waited for the worker")
	}
}

// Shutdown finishes the reply in flight, then Run returns nil.
func TestGracefulShutdown(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.fake.SetDelay("chat.postMessage", 700*time.Millisecond)
	h.postEvent("EvBye", slackfake.Message(channel, ana, "1700001400.000100", "There was an error preparing your modules."), 0)
	h.fake.WaitCalls(1, 5*time.Second, "chat.postMessage")
	if err := h.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	c := h.fake.Calls("chat.postMessage")[0]
	if c.Ended.IsZero() {
		t.Fatal("Run returned before the reply in flight was answered")
	}
	if h.app.lanes.completed.Load() != 1 {
		t.Errorf("%d jobs completed", h.app.lanes.completed.Load())
	}
}

func mustReq(r *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return r
}

func ioNopCloser(b []byte) *nopCloser { return &nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// An event whose fields are not what the bot reads is acknowledged (Slack
// would only send it again) and answered by nothing; a body that is not
// a JSON object is refused. The next event is answered as usual.
func TestOddEventsAreAcknowledged(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	odd := slackfake.EventCallback("EvOdd", map[string]any{"type": "message", "channel": channel, "user": ana, "ts": "1700002000.000100", "text": 42})
	if code, body := h.do(slackfake.Request(h.events(), secret, "application/json", odd, time.Now())); code != http.StatusOK {
		t.Errorf("event with a number for its text: %d %q, want 200", code, body)
	}
	for _, body := range []string{"{not json", `["event_callback"]`} {
		if code, _ := h.do(slackfake.Request(h.events(), secret, "application/json", []byte(body), time.Now())); code != http.StatusBadRequest {
			t.Errorf("body %s: %d, want 400", body, code)
		}
	}
	h.postEvent("EvNext", slackfake.Message(channel, ana, "1700002000.000200", "There was an error preparing your modules."), 0)
	h.waitJobs(1)
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d posts, want 1 (the odd event answered nothing, the next one once)", n)
	}
}

// Slack refusing the bot token after start (revoked, app uninstalled)
// shows in readiness as degraded, still 200 (events are taken in, and an
// instance out of its load balancer would never see the token work again),
// so an operator sees why nothing is answered; a call that works clears it.
func TestReadinessAfterTheTokenIsRefused(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.fake.Queue("chat.postMessage", slackfake.Response{Body: map[string]any{"ok": false, "error": "invalid_auth"}})
	h.postEvent("EvRefused", slackfake.Message(channel, ana, "1700007000.000100", producerPaste), 0)
	h.waitJobs(1)
	if code, r := h.readyz(); code != http.StatusOK || r.Status != "degraded" || r.Checks["slack"] != "bot token refused (invalid_auth)" {
		t.Errorf("readiness: %d %+v", code, r)
	}
	h.postEvent("EvBack", slackfake.Message(channel, ana, "1700007000.000200", "There was an error preparing your modules."), 0)
	h.waitJobs(2)
	if code, r := h.readyz(); code != http.StatusOK || r.Status != "ok" || r.Checks["slack"] != "ok" {
		t.Errorf("readiness once a call works: %d %+v", code, r)
	}
}

// The same error recorded in its thread for another environment is news
// there: it gets its reply.
func TestSameErrorInTheThreadForAnotherEnvironment(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.track("qa")
	const parent = "1700002000.000100"
	h.postEvent("EvProd", slackfake.Message(channel, ana, parent, "prod: "+producerPaste), 0)
	h.postEvent("EvQA", slackfake.InThread(slackfake.Message(channel, "U0BOB", "1700002001.000100", "qa: "+producerPaste), parent), 0)
	h.waitJobs(2)
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 2 {
		t.Fatalf("%d replies, want one for each environment", len(posts))
	}
	mustContain(t, "the reply for qa", posts[1].Field("blocks"), "Recorded for *qa*")
}

// envelope is an Events API body for ev with some outer fields set.
func envelope(eventID string, ev map[string]any, set map[string]any) []byte {
	raw := map[string]any{}
	_ = json.Unmarshal(slackfake.EventCallback(eventID, ev), &raw)
	for k, v := range set {
		raw[k] = v
	}
	b, _ := json.Marshal(raw)
	return b
}

// In a Slack Connect channel the envelope's team_id names the workspace the
// channel came from, perhaps another organization's: an external member's
// paste is kept under the installation's workspace (authorizations), where
// the channel's /upgrade track put the environment. A /me message is
// people's text too.
func TestSlackConnectAndMeMessagesRecorded(t *testing.T) {
	for _, mode := range []Mode{ModeHTTP, ModeSocket} {
		t.Run(string(mode), func(t *testing.T) {
			h := start(t, setup{mode: mode})
			h.track("prod")
			send := func(eventID string, body []byte) {
				if mode == ModeSocket {
					h.fake.WaitConnected(1, 5*time.Second)
					h.fake.WaitAck(h.fake.Send("events_api", json.RawMessage(body), 0), 5*time.Second)
				} else if code, _ := h.do(slackfake.EventRequest(h.events(), secret, body, 0)); code != http.StatusOK {
					t.Fatalf("%s: status %d", eventID, code)
				}
			}
			ext := slackfake.Message(channel, "U0EXT", "1700009300.000100", producerPaste)
			ext["team"], ext["user_team"], ext["source_team"] = "T0EXT", "T0EXT", "T0EXT"
			send("EvExt", envelope("EvExt", ext, map[string]any{"team_id": "T0EXT", "is_ext_shared_channel": true}))
			me := slackfake.Message(channel, ana, "1700009300.000200", "Producer module 'Orders_CS' hasn't been prepared for the current OutSystems environment version.")
			me["subtype"] = "me_message"
			send("EvMe", slackfake.EventCallback("EvMe", me))
			h.waitJobs(2)
			if got := h.listed(); !strings.Contains(got, "Billing_CS") || !strings.Contains(got, "Orders_CS") {
				t.Errorf("listed %q; want the external member's Billing_CS and the /me message's Orders_CS", got)
			}
			for _, p := range h.fake.Calls("chat.postMessage") {
				if strings.Contains(p.Field("blocks"), "Not tracked") {
					t.Errorf("a reply says the channel follows no environment: %s", p.Field("blocks"))
				}
			}
		})
	}
}

// A click may carry "team": null (as an org-wide installation's do): the
// user's team says whose it is, and it is kept under the installation's
// workspace, not a workspace "".
func TestClickWithoutTeam(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	reply := h.pastedReply("EvP", "1700009400.000100")
	value := buttons(t, reply.Field("blocks"))["mark_done:0"]
	replyTS, _ := reply.Answer["ts"].(string)
	p := slackfake.BlockActions(channel, ana, replyTS, "1700009400.000100", false, json.RawMessage(reply.Field("blocks")), "mark_done:0", value, h.fake.ResponseURL("c1"), "tc1")
	p["team"] = nil
	p["is_enterprise_install"] = true
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	h.waitJobs(2)
	if got := h.listed(); strings.Contains(got, "Billing_CS") {
		t.Errorf("Mark republished did nothing: listed %q", got)
	}
}
