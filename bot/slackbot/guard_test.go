package slackbot

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/progress"
)

// Over Slack, on both stores: a banner older than the recorded summary and
// a banner naming another version than the target are answered, not
// recorded, with a "Record anyway" button; its click records the message.
func TestGuardsOverSlack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) progress.Store
	}{
		{"bolt", func(*testing.T) progress.Store { return nil }},
		{"redis", func(t *testing.T) progress.Store { return redisStores(t, 1)[0] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP, store: tc.store(t)})
			if resp := h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: "setup-track", Text: "track prod 11.31.0"}); resp.Announce.Empty() {
				t.Fatalf("track: %+v", resp)
			}
			state := func() progress.Status {
				st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", 0)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			h.postEvent("EvSummary", slackfake.Message(channel, ana, "1700000900.000100", "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."), 0)
			h.waitJobs(1)
			if st := state(); st.State != progress.StateFinishedWithErrors {
				t.Fatalf("after the summary: %s", st.State)
			}
			// A banner of 40 % after the summary.
			h.postEvent("EvBanner", slackfake.Message(channel, ana, "1700000901.000100", "We are now preparing your modules - 40% (We expect them to be ready at 18:21)"), 0)
			h.waitJobs(2)
			older := h.fake.Calls("chat.postMessage")[1] // [0] explains the summary
			mustContain(t, "reply to the older banner", older.Field("blocks"), "Not recorded for *prod*: this message looks older than what is recorded", "40%", "recorded: preparation finished with errors (26 prepared, 1 failed, 3 skipped)", "record:anyway")
			heldFirst(t, "reply to the older banner", older, "Not recorded for prod: older than what is recorded · ", "this message looks older")
			if st := state(); st.State != progress.StateFinishedWithErrors {
				t.Errorf("the older banner moved the state to %s", st.State)
			}
			// A screenshot's text of an earlier upgrade, to 11.10.0.
			h.postEvent("EvVersion", slackfake.Message(channel, ana, "1700000902.000100", "The first step of the upgrade process has finished. This environment has been successfully upgraded to Platform Server version 11.10.0 (Build 22500) (Release Notes)\nThere were errors preparing some modules.\n20 modules prepared successfully, 5 modules failed and 5 modules skipped."), 0)
			h.waitJobs(3)
			other := h.fake.Calls("chat.postMessage")[2]
			mustContain(t, "reply to another version", other.Field("blocks"), "names Platform Server 11.10.0, but prod's target is 11.31.0", "record:anyway")
			heldFirst(t, "reply to another version", other, "Not recorded for prod: names Platform Server 11.10.0 · ", "names Platform Server 11.10.0, but")
			if st := state(); *st.Counts.Failed != 1 {
				t.Errorf("another version's counts were recorded: %d failed", *st.Counts.Failed)
			}
			// Record anyway, by its button.
			replyTS, _ := other.Answer["ts"].(string)
			value := buttons(t, other.Field("blocks"))["record:anyway"]
			p := slackfake.BlockActions(channel, "U0BOB", replyTS, "1700000902.000100", false, json.RawMessage(other.Field("blocks")), "record:anyway", value, h.fake.ResponseURL("trig-rec"), "trig-rec")
			if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
				t.Fatalf("click: %d", code)
			}
			h.waitJobs(4)
			posts := h.fake.Calls("chat.postMessage")
			mustContain(t, "the click's announcement", posts[len(posts)-1].Field("blocks"), "<@U0BOB> recorded anyway for *prod*", "preparation finished: 20 prepared, 5 failed, 5 skipped")
			if st := state(); *st.Counts.Failed != 5 || st.State != progress.StateFinishedWithErrors {
				t.Errorf("recorded anyway: %s, %d failed", st.State, *st.Counts.Failed)
			}
		})
	}
}

// heldFirst checks that a reply held back says so first: its text (the
// notification) starts with summary, and the block after its title says
// why (reason), before the explanation of what it did not record.
func heldFirst(t *testing.T, what string, post slackfake.Call, summary, reason string) {
	t.Helper()
	if text := post.Field("text"); !strings.HasPrefix(text, summary) {
		t.Errorf("%s: text %q, want it to start %q", what, bot.Shorten(text, 200), summary)
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal([]byte(post.Field("blocks")), &blocks); err != nil || len(blocks) < 2 {
		t.Fatalf("%s: blocks %v: %s", what, err, post.Field("blocks"))
	}
	if !strings.Contains(decoded(string(blocks[1])), reason) {
		t.Errorf("%s: block 2 is not why it was held (%q): %s", what, reason, blocks[1])
	}
}

// Reminders paused because the channel went out of reach resume when the
// bot is back in it (invited again, or the channel unarchived); reminders
// someone turned off, and another member's join, change nothing.
func TestRemindersResumeWhenBackInTheChannel(t *testing.T) {
	join := func(user string) map[string]any {
		ev := slackfake.Message(channel, user, "1700007000.000100", "<@"+user+"> has joined the channel")
		ev["subtype"] = "channel_join"
		return ev
	}
	unarchive := slackfake.Message(channel, ana, "1700007000.000200", "un-archived the channel")
	unarchive["subtype"] = "channel_unarchive"
	for _, c := range []struct {
		name   string
		by     string // who paused them ("": the bot, the channel gone)
		event  map[string]any
		paused bool
		jobs   int64 // the event's and the marker's
	}{
		{"the bot invited back", "", join(slackfake.BotUserID), false, 2},
		{"the channel unarchived", "", unarchive, false, 2},
		{"member_joined_channel: the bot", "", map[string]any{"type": "member_joined_channel", "user": slackfake.BotUserID, "channel": channel, "channel_type": "C", "team": slackfake.TeamID, "event_ts": "1700007000.000300"}, false, 2},
		{"member_joined_channel: someone else", "", map[string]any{"type": "member_joined_channel", "user": "U0BOB", "channel": channel, "channel_type": "C", "team": slackfake.TeamID, "event_ts": "1700007000.000400"}, true, 1},
		{"channel_unarchive event", "", map[string]any{"type": "channel_unarchive", "channel": channel, "user": ana, "event_ts": "1700007000.000500"}, false, 2},
		{"someone else joins", "", join("U0BOB"), true, 1},
		{"turned off by someone", ana, join(slackfake.BotUserID), true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP})
			ctx := context.Background()
			if err := h.store.SetChannelSettings(ctx, slackfake.TeamID, channel, progress.ChannelSettings{Paused: true, PauseReason: "gone", UpdatedBy: c.by}); err != nil {
				t.Fatal(err)
			}
			h.postEvent("EvBack", c.event, 0)
			// A later message marks that the event was handled, whatever it did.
			h.postEvent("EvMark", slackfake.Message(channel, ana, "1700007001.000100", producerPaste), 0)
			h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
			h.waitJobs(c.jobs)
			cs, err := h.store.ChannelSettings(ctx, slackfake.TeamID, channel)
			if err != nil || cs.Paused != c.paused {
				t.Errorf("paused = %v (%v), want %v", cs.Paused, err, c.paused)
			}
		})
	}
}
