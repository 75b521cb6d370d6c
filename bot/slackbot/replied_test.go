package slackbot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
)

// The reply to an event carries the event's id in its first block's
// block_id, within Slack's limit, whatever the first block is; other
// replies carry none.
func TestEventBlockID(t *testing.T) {
	long := strings.Repeat("E", 300)
	for _, tc := range []struct {
		name, eventID string
		reply         *bot.Reply
		want          string
	}{
		{"header first", "Ev0123", new(bot.Reply).Header("Title").Section(bot.Line{{Text: "x"}}), "evt:Ev0123"},
		{"section first", "Ev0124", new(bot.Reply).Section(bot.Line{{Text: "x"}}), "evt:Ev0124"},
		{"context first", "Ev0125", new(bot.Reply).Context(bot.Line{{Text: "x"}}), "evt:Ev0125"},
		{"cut to 255", long, new(bot.Reply).Header("Title"), ("evt:" + long)[:MaxBlockID]},
		{"no event", "", new(bot.Reply).Header("Title"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blockID := ""
			if tc.eventID != "" {
				blockID = EventBlockID(tc.eventID)
			}
			blocks := withBlockID(RenderBlocks(tc.reply), blockID)
			js, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			var got []map[string]any
			if err := json.Unmarshal(js, &got); err != nil {
				t.Fatal(err)
			}
			if id, _ := got[0]["block_id"].(string); id != tc.want {
				t.Errorf("first block_id = %q, want %q", id, tc.want)
			}
			for _, b := range got[1:] {
				if b["block_id"] != nil {
					t.Errorf("a later block has block_id %v", b["block_id"])
				}
			}
		})
	}
}

// Replied finds the bot's reply to an event in its thread, across pages
// of conversations.replies, and only that: not another event's reply, not
// another thread, not a person's message carrying the same block_id.
func TestReplied(t *testing.T) {
	ctx := context.Background()
	a := newTestAPI(t)
	a.fake.PageSize = 1
	thread := "1700003000.000100"
	r := new(bot.Reply).Header("Diagnosis").Section(bot.Line{{Text: "x"}})
	posted := map[string]string{}
	for _, ev := range []string{"EvOther", "EvMine"} {
		ts, err := a.PostEventReply(ctx, channel, thread, ev, r)
		if err != nil {
			t.Fatal(err)
		}
		posted[ev] = ts
	}
	if _, err := a.PostMessage(ctx, channel, "1700003000.000200", false, r); err != nil {
		t.Fatal(err)
	}
	a.fake.AddMessage(map[string]any{"channel": channel, "type": "message", "user": ana, "ts": "1700003000.000300",
		"thread_ts": "1700003000.000300", "text": "imitation",
		"blocks": []any{map[string]any{"type": "section", "block_id": EventBlockID("EvPerson"), "text": map[string]any{"type": "mrkdwn", "text": "x"}}}})
	for _, tc := range []struct {
		thread, eventID string
		want            bool
	}{
		{thread, "EvMine", true},
		{thread, "EvOther", true},
		{thread, "EvNever", false},
		{"1700003000.000200", "EvMine", false},   // another thread
		{"1700003000.000300", "EvPerson", false}, // a person's message
		{"1700009999.000001", "EvMine", false},   // no such thread
	} {
		ts, err := a.Replied(ctx, channel, tc.thread, tc.eventID)
		if got := ts != ""; err != nil || got != tc.want || got && ts != posted[tc.eventID] {
			t.Errorf("Replied(%s, %s) = %q, %v; want found %v (%s)", tc.thread, tc.eventID, ts, err, tc.want, posted[tc.eventID])
		}
	}
	if n := len(a.fake.Calls("conversations.replies")); n < 3 {
		t.Errorf("%d conversations.replies calls; the thread of two replies, a page each, needs more than one", n)
	}
}

// A reply updated (a screenshot read later) keeps its event's block_id.
func TestUpdateEventReplyKeepsBlockID(t *testing.T) {
	ctx := context.Background()
	a := newTestAPI(t)
	r := new(bot.Reply).Header("Diagnosis")
	ts, err := a.PostEventReply(ctx, channel, "1700003000.000100", "EvMine", r)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateEventReply(ctx, channel, ts, "EvMine", new(bot.Reply).Section(bot.Line{{Text: "more"}})); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.fake.Calls("chat.postMessage", "chat.update") {
		var blocks slack.Blocks
		if err := json.Unmarshal([]byte(c.Field("blocks")), &blocks); err != nil || len(blocks.BlockSet) == 0 {
			t.Fatalf("%s blocks %q: %v", c.Method, c.Field("blocks"), err)
		}
		if id := blocks.BlockSet[0].ID(); id != "evt:EvMine" {
			t.Errorf("%s: first block_id %q", c.Method, id)
		}
	}
}
