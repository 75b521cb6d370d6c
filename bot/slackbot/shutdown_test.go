package slackbot

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// slowTake holds "take" until released, so the commands behind it in its
// channel's lane wait.
type slowTake struct {
	*bot.Bot
	release chan struct{}
	entered chan string
}

func (s slowTake) HandleCommand(ctx context.Context, c bot.Command) bot.Response {
	s.entered <- c.Text
	if strings.HasPrefix(c.Text, "take") {
		<-s.release
	}
	return s.Bot.HandleCommand(ctx, c)
}

// A slash command acknowledged and dropped at shutdown (Slack never sends
// it again) tells its user, by its response_url, to try again.
func TestShutdownTellsDroppedCommand(t *testing.T) {
	release, entered := make(chan struct{}), make(chan string, 10)
	t.Cleanup(func() { close(release) })
	h := start(t, setup{mode: ModeHTTP, wrap: func(b *bot.Bot) Core { return slowTake{b, release, entered} },
		opts: func(o *Options) { o.ShutdownTimeout = 300 * time.Millisecond }})
	h.track("prod")
	send := func(text, trigger string) {
		if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, text, h.fake.ResponseURL(trigger), trigger))); code != http.StatusOK {
			t.Fatalf("%q: %d %s", text, code, body)
		}
	}
	send("take Orders", "t1")
	for !strings.HasPrefix(waitFor(t, "the take to run", entered), "take") {
	}
	send("release Orders", "t2") // acknowledged, waits behind the take
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.fake.WaitCalls(1, 5*time.Second, "response_url") {
		if strings.HasSuffix(c.Path, "/t2") && strings.Contains(c.Field("text"), "restarted before it got to this") {
			return
		}
	}
	t.Errorf("the dropped command's user was not told: %+v", h.fake.Calls("response_url"))
}
