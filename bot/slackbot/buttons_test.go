package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/progress"
)

// Two clicks on two buttons of one reply, both from the reply as first
// posted (the second click's copy of the blocks is stale): each click
// replaces the message with the core's reply rebuilt from the state, so
// the first button does not come back with the second click.
func TestClicksReplaceTheMessage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) progress.Store
	}{
		{"bolt", func(*testing.T) progress.Store { return nil }},
		{"redis", func(t *testing.T) progress.Store { return redisStores(t, 1)[0] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP, store: tc.store(t)})
			h.track("prod")
			paste := producerPaste + "\n" + strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")
			h.postEvent("EvTwo", slackfake.Message(channel, ana, "1700000800.000100", paste), 0)
			h.waitJobs(1)
			reply := h.fake.Calls("chat.postMessage")[0]
			replyTS, _ := reply.Answer["ts"].(string)
			posted := buttons(t, reply.Field("blocks"))
			for i, actionID := range []string{"mark_done:0", "mark_done:1"} {
				trigger := "trig-two-" + actionID
				p := slackfake.BlockActions(channel, "U0BOB", replyTS, "1700000800.000100", false, json.RawMessage(reply.Field("blocks")), actionID, posted[actionID], h.fake.ResponseURL(trigger), trigger)
				if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
					t.Fatalf("click %s: %d", actionID, code)
				}
				h.waitJobs(int64(i + 2))
			}
			ups := h.fake.Calls("chat.update")
			if len(ups) != 2 || ups[1].Field("ts") != replyTS {
				t.Fatalf("chat.update calls: %+v", ups)
			}
			first, second := buttons(t, ups[0].Field("blocks")), buttons(t, ups[1].Field("blocks"))
			if mark := markButtons(first); mark != `Orders_CS` {
				t.Errorf("after the first click, buttons to mark %s; want Orders_CS alone", mark)
			}
			if mark := markButtons(second); mark != "" {
				t.Errorf("after the second click, buttons to mark %s came back", mark)
			}
			mustContain(t, "message after two clicks", ups[1].Field("blocks"), "Republished since: `Billing_CS`", "`Orders_CS` marked republished by <@U0BOB>", "show_status")
		})
	}
}

// markButtons names the modules a message's buttons mark republished.
func markButtons(btns map[string]string) string {
	var mods []string
	for id, value := range btns {
		var v struct{ Module string }
		if strings.HasPrefix(id, "mark_done") && json.Unmarshal([]byte(value), &v) == nil {
			mods = append(mods, v.Module)
		}
	}
	return strings.Join(mods, ",")
}

// A reminder's "Mark … republished" carries no key: the core cannot
// rebuild the reminder, so the button goes from the click's copy of it.
// A second click from the same copy (stale: it still has the first
// button) does not bring the first button back.
func TestReminderClickLosesItsButton(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	if resp := h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: "setup-failed", Text: "failed prod: Billing_CS Orders_CS"}); resp.Announce.Empty() {
		t.Fatalf("failed: %+v", resp)
	}
	reminder := &bot.Reply{Summary: "Reminder"}
	reminder.Section(bot.Line{bot.T(":bell: Reminder: "), bot.B("prod"), bot.T(" still has 2 modules to republish.")})
	reminder.Actions(bot.MarkDoneButton(0, "prod", "Billing_CS"), bot.MarkDoneButton(1, "prod", "Orders_CS"))
	blocks, err := json.Marshal(RenderBlocks(reminder))
	if err != nil {
		t.Fatal(err)
	}
	bt := reminder.Blocks[1].Buttons[0]
	p := slackfake.BlockActions(channel, "U0BOB", "1700000900.000100", "", false, blocks, bt.ActionID, bt.Value, h.fake.ResponseURL("rem"), "trig-rem")
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	h.waitJobs(1)
	ups := h.fake.Calls("chat.update")
	if len(ups) != 1 {
		t.Fatalf("chat.update calls: %+v", ups)
	}
	if mark := markButtons(buttons(t, ups[0].Field("blocks"))); mark != "Orders_CS" {
		t.Errorf("buttons to mark %s after the click; want Orders_CS", mark)
	}
	mustContain(t, "reminder after the click", ups[0].Field("blocks"), "`Billing_CS` marked republished by <@U0BOB>")
	// Its text, which screen readers read, says so too: rebuilt from the blocks, not the text before the click.
	if text := ups[0].Field("text"); !strings.HasPrefix(text, "Reminder") || !strings.HasSuffix(text, "`Billing_CS` marked republished by <@U0BOB>") || strings.Contains(text, ":white_check_mark:") {
		t.Errorf("reminder's text after the click: %q", text)
	}
	bt = reminder.Blocks[1].Buttons[1]
	p = slackfake.BlockActions(channel, ana, "1700000900.000100", "", false, blocks, bt.ActionID, bt.Value, h.fake.ResponseURL("rem2"), "trig-rem2")
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
		t.Fatalf("second click: %d", code)
	}
	h.waitJobs(2)
	if ups = h.fake.Calls("chat.update"); len(ups) != 2 {
		t.Fatalf("chat.update calls: %+v", ups)
	}
	if mark := markButtons(buttons(t, ups[1].Field("blocks"))); mark != "" {
		t.Errorf("buttons to mark %s after the second click from the stale copy; want none", mark)
	}
	mustContain(t, "reminder after the second click", ups[1].Field("blocks"),
		"`Billing_CS` marked republished by <@U0BOB>", "`Orders_CS` marked republished by <@"+ana+">")
	// Each note once.
	if n := strings.Count(decoded(ups[1].Field("blocks")), "marked republished"); n != 2 {
		t.Errorf("%d notes after two clicks, want 2:\n%s", n, ups[1].Field("blocks"))
	}
}

// "Share in channel" posts the status for everyone without pinging each
// reporter and owner it names (they were told when it happened): posted
// without its mentions, then edited to show them.
func TestShareStatusPingsNobody(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: "U0JOAO", ID: "f", Text: "failed prod: Billing_CS"})
	h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: "U0JOAO", ID: "t", Text: "take prod: Billing_CS"})
	st := h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: "s", Text: "status prod"}).Reply
	var share bot.Button
	for _, bl := range st.Blocks {
		for _, b := range bl.Buttons {
			if b.ActionID == bot.ActionShare {
				share = b
			}
		}
	}
	blocks, _ := json.Marshal(RenderBlocks(st))
	posts := len(h.fake.Calls("chat.postMessage"))
	p := slackfake.BlockActions(channel, ana, "", "", true, blocks, share.ActionID, share.Value, h.fake.ResponseURL("share"), "trig-share")
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	h.waitJobs(1)
	post := h.fake.WaitCalls(posts+1, 5*time.Second, "chat.postMessage")[posts]
	if strings.Contains(post.Field("blocks")+post.Field("text"), "<@") {
		t.Errorf("the shared status was posted with mentions: %s", decoded(post.Field("blocks")))
	}
	ups := h.fake.WaitCalls(1, 5*time.Second, "chat.update")
	mustContain(t, "the shared status once edited", ups[len(ups)-1].Field("blocks"), "<@U0JOAO>", "Shared by <@"+ana+">")
}

// An announcement names the person who acted rather than mentioning them:
// Slack notifies whoever a post mentions, and nobody needs a ping for what
// they just did. Slack not knowing the name keeps the mention.
func TestAnnouncementNamesWhoActed(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.fake.SetUser(ana, "Ana Silva")
	for i, c := range []struct{ user, text, want, not string }{
		{ana, "track prod", "*Ana Silva* set this channel to follow *prod*", "<@" + ana + ">"},
		{"U0JOAO", "failed prod: Billing_CS", "<@U0JOAO> reported", "Ana Silva"},
	} {
		trigger := fmt.Sprintf("trig-%d", i)
		posts := len(h.fake.Calls("chat.postMessage"))
		if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, c.user, c.text, h.fake.ResponseURL(trigger), trigger))); code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.text, code, body)
		}
		post := h.fake.WaitCalls(posts+1, 5*time.Second, "chat.postMessage")[posts]
		mustContain(t, c.text, post.Field("blocks"), c.want)
		if strings.Contains(decoded(post.Field("blocks")), c.not) {
			t.Errorf("%s: the announcement holds %q: %s", c.text, c.not, decoded(post.Field("blocks")))
		}
	}
}
