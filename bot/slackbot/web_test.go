package slackbot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/metrics"
)

func newTestAPI(t *testing.T) (*API, *slackfake.Server, *metrics.Metrics) {
	fake := slackfake.New(t)
	m := metrics.New()
	return NewAPI(APIOptions{BotToken: botToken, URL: fake.APIURL(), Metrics: m, Backoff: 20 * time.Millisecond, MaxRetryAfter: 2 * time.Second}), fake, m
}

// A dropped connection is retried; errors that persist give up after
// MaxAttempts; a Retry-After beyond MaxRetryAfter is not waited for;
// a refused call is not retried.
func TestAPIRetryBounds(t *testing.T) {
	ctx := context.Background()
	r := &bot.Reply{Summary: "hello"}

	api, fake, _ := newTestAPI(t)
	fake.Queue("chat.postMessage", slackfake.Response{Drop: true})
	if err := api.Post(ctx, channel, r); err != nil {
		t.Fatalf("after a dropped connection: %v", err)
	}
	if n := len(fake.Calls("chat.postMessage")); n != 2 {
		t.Errorf("%d attempts after a dropped connection, want 2", n)
	}

	api, fake, _ = newTestAPI(t)
	for range 6 {
		fake.Queue("chat.postMessage", slackfake.Response{Status: 502})
	}
	err := api.Post(ctx, channel, r)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "http_502" || errors.Is(err, bot.ErrChannelGone) {
		t.Fatalf("persistent 502: %v", err)
	}
	if n := len(fake.Calls("chat.postMessage")); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}

	api, fake, _ = newTestAPI(t)
	fake.Queue("chat.postMessage", slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "120"}})
	began := time.Now()
	if err := api.Post(ctx, channel, r); !errors.As(err, &ae) || ae.Code != "ratelimited" || time.Since(began) > time.Second {
		t.Fatalf("Retry-After 120 s: %v after %v", err, time.Since(began))
	}

	api, fake, _ = newTestAPI(t)
	fake.Queue("chat.postMessage", slackfake.Response{Body: map[string]any{"ok": false, "error": "msg_too_long"}})
	if err := api.Post(ctx, channel, r); !errors.As(err, &ae) || ae.Code != "msg_too_long" {
		t.Fatalf("msg_too_long: %v", err)
	}
	if n := len(fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("a refused call was tried %d times", n)
	}

	// A cancelled context stops the waiting.
	fake.Queue("chat.postMessage", slackfake.Response{Status: 429, Header: map[string]string{"Retry-After": "1"}})
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := api.Post(cctx, channel, r); !errors.As(err, &ae) || ae.Code != "canceled" {
		t.Fatalf("cancelled while waiting: %v", err)
	}
	for _, code := range []string{"channel_not_found", "is_archived"} {
		fake.SetGone("C0X", code)
		if err := api.Post(ctx, "C0X", r); !errors.Is(err, bot.ErrChannelGone) {
			t.Errorf("%s: %v, want bot.ErrChannelGone", code, err)
		}
	}
	// conversations.info: a channel the bot cannot see is one it is not in.
	fake.SetGone("C0PRIV", "channel_not_found")
	if in, err := api.InChannel(ctx, "C0PRIV"); in || err != nil {
		t.Errorf("InChannel of an invisible channel: %v, %v", in, err)
	}
	fake.SetMember("C0NOT", false)
	if in, err := api.InChannel(ctx, "C0NOT"); in || err != nil {
		t.Errorf("InChannel of a channel without the bot: %v, %v", in, err)
	}
	if in, err := api.InChannel(ctx, channel); !in || err != nil {
		t.Errorf("InChannel of a channel with the bot: %v, %v", in, err)
	}
}
