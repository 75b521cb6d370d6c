package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// Bad input is answered clearly, each kind in its way, while the bot keeps
// serving: after it all, a pasted error still gets its answer.
func TestFaultBadInput(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	r := newRig(t, rigOptions{})
	const ch = "C0BAD"
	r.track(ch, "prod")
	events := r.bot.EventsURL()
	signed := func(ct string, body []byte) *http.Request {
		return slackfake.Request(events, faultSecret, ct, body, time.Now())
	}
	cb := func(id string, ev any) []byte {
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T0FAKE", "api_app_id": "A0APP", "event_id": id, "event_time": 1700000000, "event": ev})
		return b
	}
	huge := strings.Repeat("deploy log line without any error in it, just noise. ", 40000/50)[:40000]
	cases := []struct {
		name     string
		req      *http.Request
		status   int
		contains string // in the response body
	}{
		{"malformed JSON", signed("application/json", []byte(`{"type":"event_callback","event":{"type":"message",`)), 400, "invalid JSON"},
		{"JSON that is not an object", signed("application/json", []byte(`["event_callback"]`)), 400, "invalid JSON"},
		{"wrong content type", signed("text/plain", []byte(`{"type":"event_callback"}`)), 415, "unsupported content type"},
		{"no content type", signed("", []byte(`{"type":"event_callback"}`)), 415, "unsupported content type"},
		{"unsigned", slackfake.Request(events, "", "application/json", cb("EvU", slackfake.Message(ch, faultUser, "1700200000.000001", "hi")), time.Now()), 401, "invalid signature"},
		{"signed 10 minutes ago", slackfake.Request(events, faultSecret, "application/json", cb("EvOld", slackfake.Message(ch, faultUser, "1700200000.000002", "hi")), time.Now().Add(-10*time.Minute)), 401, "invalid signature"},
		{"oversized body (2 MiB)", signed("application/json", cb("EvBig", slackfake.Message(ch, faultUser, "1700200000.000003", strings.Repeat("x", 2<<20)))), 413, "too large"},
		{"GET", mustRequest(http.MethodGet, events), 405, "POST only"},
		{"form that is neither a command nor an interaction", slackfake.FormRequest(events, faultSecret, url.Values{"foo": {"bar"}}), 400, "neither a slash command nor an interaction"},
		{"broken form encoding", signed("application/x-www-form-urlencoded", []byte("command=%zz&text=%")), 400, "invalid form"},
		// Acknowledged (Slack must not retry them) and ignored or answered:
		{"unknown outer type", signed("application/json", []byte(`{"type":"something_new","token":"x"}`)), 200, ""},
		{"unknown event type", signed("application/json", cb("EvUnk", map[string]any{"type": "reaction_added", "user": faultUser, "reaction": "tada"})), 200, ""},
		{"event that is not an object", signed("application/json", cb("EvArr", []any{1, 2})), 200, ""},
		{"event_callback without an event", signed("application/json", []byte(`{"type":"event_callback","event_id":"EvNone"}`)), 200, ""},
		{"interaction payload that is not JSON", slackfake.FormRequest(events, faultSecret, url.Values{"payload": {"{not json"}}), 200, ""},
		{"invalid UTF-8 in a pasted error", signed("application/json", []byte(strings.Replace(string(cb("EvUTF", slackfake.Message(ch, faultUser, "1700200000.000010", producerPaste("Bad\uFFFDName")))), "\uFFFD", "\xff\xfe", 1))), 200, ""},
		{"40,000-character message with an error at the end", signed("application/json", cb("EvLong", slackfake.Message(ch, faultUser, "1700200000.000011", huge[:40000-300]+"\n"+producerPaste("Long_CS")))), 200, ""},
		{"40,000-character chat", signed("application/json", cb("EvLongChat", slackfake.Message(ch, faultUser, "1700200000.000012", huge))), 200, ""},
	}
	for _, c := range cases {
		code, body, lat := r.do(c.req)
		if code != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, code, truncate(body, 200), c.status, c.contains)
		}
		if lat >= 3*time.Second {
			t.Errorf("%s: answered after %v", c.name, lat)
		}
	}

	// The pasted error with invalid UTF-8 is answered, in valid UTF-8.
	r.waitFor("the answer to the paste with invalid UTF-8", 15*time.Second, func() bool { return len(r.posts(ch, "1700200000.000010")) > 0 })
	for _, p := range r.posts(ch, "1700200000.000010") {
		if !utf8.ValidString(p.Field("text")) || !utf8.ValidString(p.Field("blocks")) {
			t.Errorf("answer with invalid UTF-8: %q", truncate(p.Field("text"), 200))
		}
	}
	// The 40,000-character paste is answered once, within Slack's limits.
	r.waitFor("the answer to the 40,000-character paste", 15*time.Second, func() bool { return len(r.posts(ch, "1700200000.000011")) > 0 })
	long := r.posts(ch, "1700200000.000011")
	if len(long) != 1 || !strings.Contains(text(long[0]), "Long_CS") {
		t.Errorf("40,000-character paste: %d answers", len(long))
	} else {
		checkBlocks(t, "answer to the 40,000-character paste", long[0].Field("blocks"))
	}

	// A slash command with 5,000 module names.
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("Module_%04d", i)
	}
	r.slash(ch, "failed prod: "+strings.Join(names, " "), "five-thousand")
	r.waitFor("the announcement of 5,000 modules", 20*time.Second, func() bool {
		for _, p := range r.posts(ch, "-") {
			if strings.Contains(text(p), "5000 failed modules") {
				return true
			}
		}
		return false
	})
	r.slash(ch, "status prod", "status-5000")
	r.waitFor("the status of 5,000 modules", 15*time.Second, func() bool { return len(r.responses("status-5000")) > 0 })
	st := r.responses("status-5000")[0]
	// 5,000 and the two pasted above (the invalid UTF-8 one and Long_CS).
	if got := text(st); !strings.Contains(got, "To republish (5002)") || !strings.Contains(got, "more not shown") {
		t.Errorf("status of 5,000 modules: %s", truncate(got, 400))
	}
	checkBlocks(t, "status of 5,000 modules", st.Field("blocks"))

	// Names with mentions, links and control characters: refused in words,
	// and nothing pings anyone or links anywhere.
	for i, arg := range []string{
		"<!channel> Billing_CS",
		"<@U0BOSS> <!here|here>",
		"<https://evil.example/x|Billing_CS>",
		"Bad\x00Name Bell\x07Name Esc\x1b[31mRed",
		"prod: Tab\tName\u202eReversed",
	} {
		id := fmt.Sprint("markup-", i)
		before := len(r.posts(ch, "-"))
		r.slash(ch, "failed "+arg, id)
		r.waitFor("an answer to /upgrade failed "+fmt.Sprintf("%q", arg), 15*time.Second, func() bool {
			return len(r.responses(id)) > 0 || len(r.posts(ch, "-")) > before
		})
		var out []string
		for _, c := range r.responses(id) {
			out = append(out, text(c))
		}
		for _, c := range r.posts(ch, "-")[before:] {
			out = append(out, text(c))
		}
		all := strings.Join(out, "\n")
		for _, bad := range []string{"<!channel>", "<!here", "<@U0BOSS>", "<https://evil", "\x00", "\x07", "\x1b"} {
			if strings.Contains(all, bad) {
				t.Errorf("/upgrade failed %q: the answer contains %q: %s", arg, bad, truncate(all, 400))
			}
		}
		if strings.TrimSpace(all) == "" {
			t.Errorf("/upgrade failed %q: empty answer", arg)
		}
		t.Logf("/upgrade failed %q → %s", arg, truncate(firstLine(all), 160))
	}

	// Still serving.
	r.message(ch, "1700200001.000001", producerPaste("After_All"))
	r.waitFor("an answer after the bad input", 15*time.Second, func() bool { return len(r.posts(ch, "1700200001.000001")) == 1 })
	if code, _, _ := r.do(mustRequest(http.MethodGet, r.bot.Base+"/healthz")); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, status := r.readiness(); code != 200 || status != "ok" {
		t.Errorf("/readyz: %d %s", code, status)
	}
	if logs := r.bot.Logs(); strings.Contains(logs, "panic") {
		t.Errorf("the log shows a panic")
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func mustRequest(method, target string) *http.Request {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		panic(err)
	}
	return req
}

// checkBlocks checks Slack's limits on a message's Block Kit JSON: at most
// 50 blocks, sections of at most 3,000 characters, headers of at most 150.
func checkBlocks(t *testing.T, what, blocksJSON string) {
	t.Helper()
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		t.Errorf("%s: blocks are not JSON: %v", what, err)
		return
	}
	if len(blocks) > 50 {
		t.Errorf("%s: %d blocks, Slack allows 50", what, len(blocks))
	}
	for i, b := range blocks {
		if b.Text == nil {
			continue
		}
		n := utf8.RuneCountInString(b.Text.Text)
		if (b.Type == "section" && n > 3000) || (b.Type == "header" && n > 150) {
			t.Errorf("%s: block %d (%s) has %d characters", what, i, b.Type, n)
		}
	}
}
