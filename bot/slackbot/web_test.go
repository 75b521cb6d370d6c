package slackbot

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/metrics"
)

type testAPI struct {
	*API
	fake    *slackfake.Server
	metrics *metrics.Metrics
	logs    *syncBuffer
}

func newTestAPI(t *testing.T) testAPI {
	fake := slackfake.New(t)
	m := metrics.New()
	logs := &syncBuffer{}
	api := NewAPI(APIOptions{BotToken: botToken, URL: fake.APIURL(), Metrics: m, Backoff: 20 * time.Millisecond, MaxRetryAfter: 2 * time.Second,
		HTTPClient: &http.Client{Timeout: 500 * time.Millisecond},
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return testAPI{api, fake, m, logs}
}

// Which failed calls slack-go sends again: a 429 any call, after its
// Retry-After (up to MaxRetryAfter); a 5xx or a broken connection only a
// call safe to repeat (reads, chat.update, views.publish, reactions.add…).
// A post, a response_url answer or an upload that fails after Slack may
// have made it is sent once, logged and counted as unconfirmed, and its
// error says so (final). An error Slack answers is never retried.
func TestAPIRetryPolicy(t *testing.T) {
	r := &bot.Reply{Summary: "hello"}
	file := &bot.File{Name: "status.csv", Title: "status", Type: "csv", Content: []byte("module\nBilling_CS\n")}
	calls := map[string]func(context.Context, testAPI) error{
		"chat.postMessage":   func(ctx context.Context, a testAPI) error { return a.Post(ctx, channel, r) },
		"chat.postEphemeral": func(ctx context.Context, a testAPI) error { return a.PostEphemeral(ctx, channel, ana, "", r) },
		"response_url": func(ctx context.Context, a testAPI) error {
			return a.Respond(ctx, a.fake.ResponseURL("r"), respondEphemeral, r)
		},
		"files.completeUploadExternal": func(ctx context.Context, a testAPI) error {
			_, err := a.Upload(ctx, channel, "", "", file)
			return err
		},
		"upload": func(ctx context.Context, a testAPI) error {
			_, err := a.Upload(ctx, channel, "", "", file)
			return err
		},
		"files.getUploadURLExternal": func(ctx context.Context, a testAPI) error {
			_, err := a.Upload(ctx, channel, "", "", file)
			return err
		},
		"chat.update":   func(ctx context.Context, a testAPI) error { return a.Update(ctx, channel, "1700000000.000001", r) },
		"reactions.add": func(ctx context.Context, a testAPI) error { return a.React(ctx, channel, "1700000000.000001", "eyes") },
		"views.publish": func(ctx context.Context, a testAPI) error { return a.PublishHome(ctx, ana, r) },
		"conversations.info": func(ctx context.Context, a testAPI) error {
			_, err := a.InChannel(ctx, channel)
			return err
		},
	}
	s500 := slackfake.Response{Status: 500}
	s503 := slackfake.Response{Status: 503}
	drop := slackfake.Response{Drop: true}
	slow := slackfake.Response{Delay: 3 * time.Second} // the client gives up after 500 ms
	rate := slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: map[string]any{"ok": false, "error": "ratelimited"}}
	rateNoHeader := slackfake.Response{Status: 429, Body: map[string]any{"ok": false, "error": "ratelimited"}}
	cases := []struct {
		name        string
		call        string // also the method the faults are queued for
		faults      []slackfake.Response
		attempts    int
		code        string // "" when the call succeeds in the end
		unconfirmed bool   // Slack may have made it: counted, logged, final
		waited      string // the wait logged before the retry
	}{
		{"post 500", "chat.postMessage", []slackfake.Response{s500}, 1, "http_500", true, ""},
		{"post 503", "chat.postMessage", []slackfake.Response{s503}, 1, "http_503", true, ""},
		{"post dropped", "chat.postMessage", []slackfake.Response{drop}, 1, "network", true, ""},
		{"post timed out", "chat.postMessage", []slackfake.Response{slow}, 1, "timeout", true, ""},
		{"post internal_error", "chat.postMessage", []slackfake.Response{{Body: map[string]any{"ok": false, "error": "internal_error"}}}, 1, "internal_error", true, ""},
		{"ephemeral 500", "chat.postEphemeral", []slackfake.Response{s500}, 1, "http_500", true, ""},
		{"response_url 500", "response_url", []slackfake.Response{s500}, 1, "http_500", true, ""},
		{"response_url dropped", "response_url", []slackfake.Response{drop}, 1, "network", true, ""},
		{"upload completion 500", "files.completeUploadExternal", []slackfake.Response{s500}, 1, "http_500", true, ""},
		{"upload 500", "upload", []slackfake.Response{s500}, 1, "http_500", true, ""},
		{"post 429 Retry-After 1", "chat.postMessage", []slackfake.Response{rate}, 2, "", false, "wait=1s"},
		{"post 429 without Retry-After", "chat.postMessage", []slackfake.Response{rateNoHeader}, 2, "", false, "wait=1s"},
		{"response_url 429", "response_url", []slackfake.Response{rate}, 2, "", false, "wait=1s"},
		{"post 429 Retry-After 120", "chat.postMessage", []slackfake.Response{{Status: 429, Header: map[string]string{"Retry-After": "120"}}}, 1, "ratelimited", false, ""},
		{"post refused", "chat.postMessage", []slackfake.Response{{Body: map[string]any{"ok": false, "error": "msg_too_long"}}}, 1, "msg_too_long", false, ""},
		{"update 500", "chat.update", []slackfake.Response{s500}, 2, "", false, ""},
		{"update dropped", "chat.update", []slackfake.Response{drop}, 2, "", false, ""},
		{"reaction 503", "reactions.add", []slackfake.Response{s503}, 2, "", false, ""},
		{"home 500", "views.publish", []slackfake.Response{s500}, 2, "", false, ""},
		{"upload URL 500", "files.getUploadURLExternal", []slackfake.Response{s500}, 2, "", false, ""},
		{"info 502 for good", "conversations.info", []slackfake.Response{{Status: 502}, {Status: 502}, {Status: 502}, {Status: 502}, {Status: 502}}, 4, "http_502", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := newTestAPI(t)
			a.fake.Queue(c.call, c.faults...)
			err := calls[c.call](context.Background(), a)
			if n := len(a.fake.Calls(c.call)); n != c.attempts {
				t.Errorf("%d attempts, want %d", n, c.attempts)
			}
			var ae *APIError
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("after a retry: %v", err)
			case c.code != "" && (!errors.As(err, &ae) || ae.Code != c.code):
				t.Fatalf("error %v, want code %s", err, c.code)
			}
			if final(err) != c.unconfirmed {
				t.Errorf("final(%v) = %v, want %v", err, final(err), c.unconfirmed)
			}
			want := 0.0
			if c.unconfirmed {
				want = 1
			}
			if got := counterValue(t, a.metrics, "upgradebot_slack_calls_unconfirmed_total"); got != want {
				t.Errorf("unconfirmed calls counted: %v, want %v", got, want)
			}
			if logged := strings.Contains(a.logs.String(), "not sent again"); logged != c.unconfirmed {
				t.Errorf("logged as unconfirmed: %v, want %v:\n%s", logged, c.unconfirmed, a.logs.String())
			}
			if c.waited != "" && !strings.Contains(a.logs.String(), c.waited) {
				t.Errorf("the retry did not wait %s:\n%s", c.waited, a.logs.String())
			}
			failed := c.attempts
			if c.code == "" {
				failed--
			}
			if got := counterValue(t, a.metrics, "upgradebot_slack_api_errors_total"); got != float64(failed) {
				t.Errorf("%v failed attempts counted, want %d", got, failed)
			}
		})
	}
}

// A 429 whose Retry-After outlasts the call's deadline fails at once as
// rate limited, not as a timeout: Slack did nothing, so the post is not
// taken for one it may have made (a reminder would never be sent again).
func TestRateLimitPastTheDeadline(t *testing.T) {
	a := newTestAPI(t)
	a.fake.Queue("chat.postMessage", slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "2"}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := a.Post(ctx, channel, &bot.Reply{Summary: "hello"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "ratelimited" || final(err) {
		t.Fatalf("a post rate limited past its deadline: %v (final %v); want ratelimited, not final", err, final(err))
	}
	if n := len(a.fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// A post refused for the token or the app's rights wraps bot.ErrRefused
// (the scheduler tries no more until the next occurrence); one refused
// for its content does not.
func TestRefusedPostsWrapErrRefused(t *testing.T) {
	for code, want := range map[string]bool{"token_revoked": true, "invalid_auth": true, "missing_scope": true, "restricted_action": true, "msg_too_long": false} {
		t.Run(code, func(t *testing.T) {
			a := newTestAPI(t)
			a.fake.Queue("chat.postMessage", slackfake.Response{Body: map[string]any{"ok": false, "error": code}})
			err := a.Post(context.Background(), channel, &bot.Reply{Summary: "hello"})
			if got := errors.Is(err, bot.ErrRefused); got != want || final(err) {
				t.Errorf("%v: ErrRefused %v, want %v (final %v)", err, got, want, final(err))
			}
		})
	}
}

// A connection never made (refused) is retried even for a post: nothing
// reached Slack.
func TestRefusedConnectionIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m := metrics.New()
	api := NewAPI(APIOptions{BotToken: botToken, URL: "http://" + addr + "/api/", Metrics: m, Backoff: time.Millisecond})
	err = api.Post(context.Background(), channel, &bot.Reply{Summary: "hello"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "network" || final(err) {
		t.Fatalf("a refused connection: %v (final %v)", err, final(err))
	}
	if got := counterValue(t, m, "upgradebot_slack_api_errors_total", "method", "chat.postMessage", "code", "network"); got != 4 {
		t.Errorf("%v attempts counted, want 4 (retried)", got)
	}
	if got := counterValue(t, m, "upgradebot_slack_calls_unconfirmed_total"); got != 0 {
		t.Errorf("a post that never left counted as unconfirmed")
	}
}

// A cancelled context stops the waiting; a channel the bot cannot reach
// wraps bot.ErrChannelGone; conversations.info tells membership.
func TestAPIErrors(t *testing.T) {
	ctx := context.Background()
	r := &bot.Reply{Summary: "hello"}
	a := newTestAPI(t)
	var ae *APIError
	a.fake.Queue("chat.postMessage", slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "1"}})
	// Cancelled, not a deadline: one shorter than the Retry-After fails at
	// once as rate limited (TestRateLimitPastTheDeadline).
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := a.Post(cctx, channel, r); !errors.As(err, &ae) || ae.Code != "canceled" {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	if n := len(a.fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d attempts after the context ended, want 1", n)
	}
	for _, code := range []string{"channel_not_found", "is_archived", "not_in_channel"} {
		a.fake.SetGone("C0X", code)
		if err := a.Post(ctx, "C0X", r); !errors.Is(err, bot.ErrChannelGone) || !final(err) {
			t.Errorf("%s: %v, want bot.ErrChannelGone", code, err)
		}
	}
	// conversations.info: a channel the bot cannot see is one it is not in.
	a.fake.SetGone("C0PRIV", "channel_not_found")
	if in, err := a.InChannel(ctx, "C0PRIV"); in || err != nil {
		t.Errorf("InChannel of an invisible channel: %v, %v", in, err)
	}
	a.fake.SetMember("C0NOT", false)
	if in, err := a.InChannel(ctx, "C0NOT"); in || err != nil {
		t.Errorf("InChannel of a channel without the bot: %v, %v", in, err)
	}
	if in, err := a.InChannel(ctx, channel); !in || err != nil {
		t.Errorf("InChannel of a channel with the bot: %v, %v", in, err)
	}
	// A direct message with the bot: not asked (that needs im:read).
	a.fake.SetGone("D0DM", "missing_scope")
	if in, err := a.InChannel(ctx, "D0DM"); !in || err != nil || len(a.fake.Calls("conversations.info")) != 3 {
		t.Errorf("InChannel of a direct message: %v, %v after %d calls", in, err, len(a.fake.Calls("conversations.info")))
	}
}

// Names asks users.info and conversations.info once per id while the
// name is fresh, leaves out what Slack does not name, and stops asking
// at a missing scope rather than fail once per person.
func TestNames(t *testing.T) {
	ctx := context.Background()
	a := newTestAPI(t)
	a.fake.SetUser("U0ANA", "Ana Silva")
	a.fake.SetUser("W0BRU", "Bruno Costa")
	got := a.Names(ctx, "T1", []string{"U0ANA", "W0BRU", "U0GONE", "C0CHAN", "shell-user"})
	want := map[string]string{"U0ANA": "Ana Silva", "W0BRU": "Bruno Costa", "C0CHAN": "#fake-c0chan"}
	if !maps.Equal(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	asked := len(a.fake.Calls("users.info", "conversations.info"))
	if asked != 4 {
		t.Errorf("%d calls, want 4 (one per user or channel id)", asked)
	}
	if got := a.Names(ctx, "T1", []string{"U0ANA", "C0CHAN"}); !maps.Equal(got, map[string]string{"U0ANA": "Ana Silva", "C0CHAN": "#fake-c0chan"}) {
		t.Errorf("Names again = %v", got)
	}
	if n := len(a.fake.Calls("users.info", "conversations.info")); n != asked {
		t.Errorf("names asked again while fresh: %d calls, want %d", n, asked)
	}
	// An installation without users:read: one refused call, then ids.
	a.fake.Queue("users.info", slackfake.Response{Body: map[string]any{"ok": false, "error": "missing_scope", "needed": "users:read"}})
	if got := a.Names(ctx, "T1", []string{"U1", "U2", "U3"}); len(got) != 0 {
		t.Errorf("Names without the scope = %v, want none", got)
	}
	if n := len(a.fake.Calls("users.info")) - 3; n != 1 {
		t.Errorf("%d users.info calls without the scope, want 1", n)
	}
	// Each announcement asks for its actor's name: neither the missing
	// scope nor a person Slack does not know is asked again at once.
	a.Names(ctx, "T1", []string{"U1", "U0GONE", "C0OTHER"})
	if n := len(a.fake.Calls("users.info")) - 3; n != 1 {
		t.Errorf("%d users.info calls after the scope was found missing, want 1", n)
	}
	b := newTestAPI(t)
	b.Names(ctx, "T1", []string{"U0GONE"})
	b.Names(ctx, "T1", []string{"U0GONE"})
	if n := len(b.fake.Calls("users.info")); n != 1 {
		t.Errorf("a person Slack does not know asked %d times, want once", n)
	}
	// Who was deactivated, from the same answer and cache.
	b.fake.SetUser("U0RUI", "Rui Costa")
	b.fake.SetDeparted("U0RUI")
	b.fake.SetUser("U0ANA", "Ana Silva")
	b.Names(ctx, "T1", []string{"U0RUI"})
	if got := b.Departed(ctx, "T1", []string{"U0RUI", "U0ANA"}); !maps.Equal(got, map[string]bool{"U0RUI": true, "U0ANA": false}) {
		t.Errorf("Departed = %v, want U0RUI only", got)
	}
	if n := len(b.fake.Calls("users.info")); n != 3 {
		t.Errorf("%d users.info calls, want 3 (one per person)", n)
	}
}

// Someone Slack does not find (user_not_found) has left when the bot's
// workspace is in no Enterprise Grid organization. In one, a member of
// another of its workspaces may not be found though still there, and
// before auth.test which it is is unknown: not taken as gone then.
func TestDepartedNotFound(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name       string
		auth       bool   // auth.test was asked
		enterprise string // its enterprise_id
		gone       bool
	}{
		{"a workspace of its own", true, "", true},
		{"Enterprise Grid", true, "E0ORG", false},
		{"before auth.test", false, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newTestAPI(t)
			if c.enterprise != "" {
				a.fake.Queue("auth.test", slackfake.Response{Body: map[string]any{"ok": true, "team_id": slackfake.TeamID,
					"enterprise_id": c.enterprise, "user_id": slackfake.BotUserID, "bot_id": slackfake.BotID}})
			}
			if c.auth {
				if _, err := a.AuthTest(ctx); err != nil {
					t.Fatal(err)
				}
			}
			a.fake.SetUser("U0ANA", "Ana Silva")
			if got, want := a.Departed(ctx, "T1", []string{"U0GONE", "U0ANA"}), map[string]bool{"U0GONE": c.gone, "U0ANA": false}; !maps.Equal(got, want) {
				t.Errorf("Departed = %v, want %v", got, want)
			}
			// Names keeps the id, and the answer is cached with the names.
			if got := a.Names(ctx, "T1", []string{"U0GONE", "U0ANA"}); !maps.Equal(got, map[string]string{"U0ANA": "Ana Silva"}) {
				t.Errorf("Names = %v, want Ana's only", got)
			}
			if n := len(a.fake.Calls("users.info")); n != 2 {
				t.Errorf("%d users.info calls, want 2 (one per person)", n)
			}
		})
	}
}

// A refused bot token is logged once per episode, not once per call: every
// call fails alike until it works again, which starts a new episode.
func TestRefusedTokenLoggedOnce(t *testing.T) {
	a := newTestAPI(t)
	revoked := slackfake.Response{Body: map[string]any{"ok": false, "error": "token_revoked"}}
	a.fake.Queue("chat.postMessage", revoked, revoked, revoked)
	for range 3 {
		_ = a.Post(context.Background(), channel, &bot.Reply{Summary: "hello"})
	}
	if n := strings.Count(a.logs.String(), "Slack refused the bot token"); n != 1 {
		t.Errorf("%d log lines for 3 refused calls, want 1:\n%s", n, a.logs.String())
	}
	_ = a.Post(context.Background(), channel, &bot.Reply{Summary: "hello"}) // works again
	a.fake.Queue("chat.postMessage", revoked)
	_ = a.Post(context.Background(), channel, &bot.Reply{Summary: "hello"})
	if n := strings.Count(a.logs.String(), "Slack refused the bot token"); n != 2 {
		t.Errorf("%d log lines after the token worked again and was refused, want 2", n)
	}
}
