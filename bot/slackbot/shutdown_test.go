package slackbot

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/progress"
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

// heldAppend holds journal writes until released, and says when one starts.
type heldAppend struct {
	progress.Store
	started chan struct{}
	release chan struct{}
}

func (s heldAppend) Append(ctx context.Context, consumer string, e progress.Entry) (string, error) {
	s.started <- struct{}{}
	<-s.release
	return s.Store.Append(ctx, consumer, e)
}

// commandOrder records the commands the core runs, in order.
type commandOrder struct {
	*bot.Bot
	ran chan string
}

func (c commandOrder) HandleCommand(ctx context.Context, cmd bot.Command) bot.Response {
	c.ran <- strings.Fields(cmd.Text + " ?")[0]
	return c.Bot.HandleCommand(ctx, cmd)
}

// An event takes its place in its channel's lane as it comes: a slash
// command that follows it while its journal write is slow runs after it.
func TestEventKeepsItsPlaceWhileJournaled(t *testing.T) {
	bs, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	store := heldAppend{bs, make(chan struct{}, 1), make(chan struct{})}
	ran := make(chan string, 10)
	h := start(t, setup{mode: ModeHTTP, store: store, wrap: func(b *bot.Bot) Core { return commandOrder{b, ran} }})
	h.track("prod") // by the core itself: not recorded in ran
	acked := make(chan int, 1)
	go func() {
		code, _ := h.do(slackfake.EventRequest(h.events(), secret, slackfake.EventCallback("EvTake", slackfake.AppMention(channel, ana, "1700000000.000900", "<@U0BOT> take Orders")), 0))
		acked <- code
	}()
	waitFor(t, "the mention's journal write", store.started)
	if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "release Orders", h.fake.ResponseURL("r"), "r"))); code != http.StatusOK {
		t.Fatalf("release: %d %s", code, body)
	}
	close(store.release)
	if code := waitFor(t, "the mention's acknowledgement", acked); code != http.StatusOK {
		t.Fatalf("the mention: %d", code)
	}
	if first, second := waitFor(t, "a command", ran), waitFor(t, "another command", ran); first != "take" || second != "release" {
		t.Errorf("ran %q then %q; want take (received first) then release", first, second)
	}
}

// HTTP mode, stopping: for the drain the port stays open, /readyz says
// 503 so a load balancer takes the process out, events are refused
// (Slack sends them again, to another replica), and slash commands,
// which Slack never sends again, are still taken and answered.
func TestShutdownDrainsHTTP(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) { o.Drain, o.ShutdownTimeout = time.Second, 5*time.Second }})
	h.track("prod")
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	if r := h.waitReady(http.StatusServiceUnavailable); r.Checks["slack"] != "stopping" {
		t.Fatalf("/readyz while stopping: %+v", r)
	}
	if code, _ := h.do(slackfake.EventRequest(h.events(), secret, slackfake.EventCallback("Ev0DRAIN", map[string]any{"type": "message", "channel": channel, "user": ana, "text": "hi", "ts": "1700000000.000100"}), 0)); code != http.StatusServiceUnavailable {
		t.Errorf("an event while stopping: %d, want 503 (sent again elsewhere)", code)
	}
	if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "status prod", h.fake.ResponseURL("drain"), "drain"))); code != http.StatusOK {
		t.Fatalf("a slash command while stopping: %d %q, want it taken", code, body)
	}
	h.fake.WaitCalls(1, 5*time.Second, "response_url")
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
