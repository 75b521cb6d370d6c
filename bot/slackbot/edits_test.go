package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/progress"
)

// listed is what prod's list holds now.
func (h *harness) listed() string {
	h.t.Helper()
	st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, m := range st.Modules {
		names = append(names, m.Name)
	}
	return strings.Join(names, ",")
}

// clickUndo clicks the Undo button of a message (its blocks) as user.
func (h *harness) clickUndo(messageTS, threadTS, blocks, user, trigger string) {
	h.t.Helper()
	value, ok := buttons(h.t, blocks)["undo"]
	if !ok {
		h.t.Fatalf("no Undo button in %s", blocks)
	}
	p := slackfake.BlockActions(channel, user, messageTS, threadTS, false, json.RawMessage(blocks), "undo", value, h.fake.ResponseURL(trigger), trigger)
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
		h.t.Fatalf("click Undo: %d", code)
	}
}

// On both stores: the Undo button of a paste's reply takes back what it
// recorded; an edited paste updates its reply in place and its record; a
// deleted paste's reply offers Undo of what it recorded, and keeps it until clicked.
func TestUndoEditDelete(t *testing.T) {
	const pasteTS = "1700001000.000100"
	for _, store := range []struct {
		name string
		open func(t *testing.T) progress.Store
	}{
		{"bolt", func(*testing.T) progress.Store { return nil }},
		{"redis", func(t *testing.T) progress.Store { return redisStores(t, 1)[0] }},
	} {
		// The Undo button, or its command typed: the reply is edited in place either way.
		for _, way := range []struct {
			name, user string
			undo       func(h *harness, reply slackfake.Call, trigger string)
		}{
			{"button", "U0BOB", func(h *harness, reply slackfake.Call, trigger string) {
				h.clickUndo(reply.Answer["ts"].(string), pasteTS, reply.Field("blocks"), "U0BOB", trigger)
			}},
			{"typed", ana, func(h *harness, _ slackfake.Call, trigger string) {
				f := slackfake.SlashCommand(channel, ana, "undo", h.fake.ResponseURL(trigger), trigger)
				if code, _ := h.do(slackfake.FormRequest(h.events(), secret, f)); code != http.StatusOK {
					h.t.Fatalf("/upgrade undo: %d", code)
				}
			}},
		} {
			t.Run(store.name+"/undo "+way.name, func(t *testing.T) {
				h := start(t, setup{mode: ModeHTTP, store: store.open(t)})
				h.track("prod")
				h.postEvent("EvPaste", slackfake.Message(channel, ana, pasteTS, producerPaste), 0)
				h.waitJobs(1)
				reply := h.fake.Calls("chat.postMessage")[0]
				if got := h.listed(); got != "Billing_CS" {
					t.Fatalf("listed %q after the paste", got)
				}
				way.undo(h, reply, "trig-undo")
				h.waitJobs(2)
				if got := h.listed(); got != "" {
					t.Errorf("listed %q after Undo", got)
				}
				ups := h.fake.Calls("chat.update")
				if len(ups) != 1 || ups[0].Field("ts") != reply.Answer["ts"] {
					t.Fatalf("chat.update calls: %+v; want the paste's reply edited", ups)
				}
				// It keeps the mark of the event it answers (its first block_id).
				mustContain(t, "the reply after Undo", ups[0].Field("blocks"), "Undone by <@"+way.user+">", `"block_id":"evt:EvPaste"`)
				if _, still := buttons(t, ups[0].Field("blocks"))["undo"]; still {
					t.Errorf("the reply still offers Undo")
				}
				posts := h.fake.Calls("chat.postMessage")
				mustContain(t, "the announcement", posts[len(posts)-1].Field("blocks"), "<@"+way.user+"> undid a change on *prod*", "Off the list again: `Billing_CS`")
				// A second undo (a stale copy of the button) changes nothing and says why.
				way.undo(h, reply, "trig-undo-2")
				h.waitJobs(3)
				if n := len(h.fake.Calls("chat.postMessage")); n != len(posts) || len(h.fake.Calls("chat.update")) != 1 {
					t.Errorf("a second Undo posted or edited again")
				}
			})
		}
		t.Run(store.name+"/edit", func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP, store: store.open(t)})
			h.track("prod")
			h.postEvent("EvPaste", slackfake.Message(channel, ana, pasteTS, producerPaste), 0)
			h.waitJobs(1)
			replyTS, _ := h.fake.Calls("chat.postMessage")[0].Answer["ts"].(string)
			h.postEvent("EvEdit", slackfake.Edit(channel, pasteTS, strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")), 0)
			h.waitJobs(2)
			if got := h.listed(); got != "Orders_CS" {
				t.Errorf("listed %q after the edit, want Orders_CS alone", got)
			}
			if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
				t.Errorf("%d replies posted; the edit must update the first", n)
			}
			ups := h.fake.Calls("chat.update")
			if len(ups) != 1 || ups[0].Field("ts") != replyTS {
				t.Fatalf("chat.update calls: %+v", ups)
			}
			mustContain(t, "the updated reply", ups[0].Field("blocks"), "Orders_CS", "was edited", "evt:EvPaste")
			if strings.Contains(ups[0].Field("blocks"), "Billing_CS") {
				t.Errorf("the updated reply still names Billing_CS")
			}
			second := slackfake.Edit(channel, pasteTS, "never mind, wrong channel")
			second["message"].(map[string]any)["edited"] = map[string]any{"user": ana, "ts": "1700001000.000300"}
			h.postEvent("EvEdit2", second, 0)
			h.waitJobs(3)
			if got := h.listed(); got != "" {
				t.Errorf("listed %q after an edit to plain chat", got)
			}
			ups = h.fake.Calls("chat.update")
			mustContain(t, "the reply after the second edit", ups[len(ups)-1].Field("blocks"), "no longer shows an upgrade error")
			h.postEvent("EvEdit2", second, 1) // Slack's retry
			h.waitJobs(4)
			if n := len(h.fake.Calls("chat.update")); n != len(ups) {
				t.Errorf("a re-delivered edit was answered again")
			}
		})
		t.Run(store.name+"/delete", func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP, store: store.open(t)})
			h.track("prod")
			h.postEvent("EvPaste", slackfake.Message(channel, ana, pasteTS, producerPaste), 0)
			h.waitJobs(1)
			replyTS, _ := h.fake.Calls("chat.postMessage")[0].Answer["ts"].(string)
			h.postEvent("EvDelete", slackfake.Delete(channel, pasteTS, producerPaste), 0)
			h.waitJobs(2)
			if got := h.listed(); got != "Billing_CS" {
				t.Errorf("listed %q after the deletion: nothing is undone without a click", got)
			}
			ups := h.fake.Calls("chat.update")
			if len(ups) != 1 || ups[0].Field("ts") != replyTS {
				t.Fatalf("chat.update calls: %+v", ups)
			}
			mustContain(t, "the reply after the deletion", ups[0].Field("blocks"), "was deleted", "Billing_CS", "evt:EvPaste")
			if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
				t.Errorf("%d messages posted; a deletion only updates the reply", n)
			}
			h.clickUndo(replyTS, pasteTS, ups[0].Field("blocks"), ana, "trig-undo-del")
			h.waitJobs(3)
			if got := h.listed(); got != "" {
				t.Errorf("listed %q after Undo of the deleted paste", got)
			}
		})
	}
}

// /upgrade reset asks first (ephemeral, with a button); the click resets,
// announces it, and replaces the question.
func TestResetAsksFirst(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	code, _ := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "reset prod", h.fake.ResponseURL("trig-ask"), "trig-ask")))
	if code != http.StatusOK {
		t.Fatalf("/upgrade reset prod: %d", code)
	}
	h.waitJobs(1)
	ask := h.fake.Calls("response_url")
	if len(ask) != 1 || ask[0].Field("response_type") != "ephemeral" || len(h.fake.Calls("chat.postMessage")) != 0 {
		t.Fatalf("the question: %+v", ask)
	}
	mustContain(t, "the question", ask[0].Field("blocks"), "Start a new upgrade of prod?")
	value := buttons(t, ask[0].Field("blocks"))["confirm"]
	if value != "reset prod --yes" {
		t.Fatalf("confirm button value %q", value)
	}
	p := slackfake.BlockActions(channel, ana, "", "", true, json.RawMessage(ask[0].Field("blocks")), "confirm", value, h.fake.ResponseURL("trig-yes"), "trig-yes")
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	h.waitJobs(2)
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("announcements: %+v", posts)
	}
	mustContain(t, "the announcement", posts[0].Field("blocks"), "started a new upgrade of *prod*", `"action_id":"undo"`)
	rs := h.fake.Calls("response_url")
	if len(rs) != 2 || rs[1].Path != "/response/trig-yes" || rs[1].Field("replace_original") != "true" {
		t.Fatalf("the question was not replaced: %+v", rs)
	}
	mustContain(t, "the question, answered", rs[1].Field("blocks"), "Confirmed by <@"+ana+">")
}

// The reply to a message is remembered as long as what it recorded can be
// undone: an edit answered on day 2 keeps both until day 5, so an undo
// typed on day 4 still edits the reply.
func TestReplyRememberedWithItsUndo(t *testing.T) {
	const pasteTS = "1700001000.000100"
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := start(t, setup{mode: ModeHTTP, store: store})
	h.track("prod")
	h.postEvent("EvPaste", slackfake.Message(channel, ana, pasteTS, producerPaste), 0)
	h.waitJobs(1)
	replyTS, _ := h.fake.Calls("chat.postMessage")[0].Answer["ts"].(string)
	now.Add(int64(2 * 24 * time.Hour))
	h.postEvent("EvEdit", slackfake.Edit(channel, pasteTS, strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")), 0)
	h.waitJobs(2)
	now.Add(int64(2 * 24 * time.Hour))
	f := slackfake.SlashCommand(channel, ana, "undo", h.fake.ResponseURL("trig-day4"), "trig-day4")
	if code, _ := h.do(slackfake.FormRequest(h.events(), secret, f)); code != http.StatusOK {
		t.Fatalf("/upgrade undo: %d", code)
	}
	h.waitJobs(3)
	ups := h.fake.Calls("chat.update")
	if len(ups) != 2 || ups[1].Field("ts") != replyTS {
		t.Fatalf("%d chat.update calls; want the edit's and the undo's, both of the reply %s", len(ups), replyTS)
	}
	mustContain(t, "the reply after the undo on day 4", ups[1].Field("blocks"), "Undone by <@"+ana+">")
}

// When the clicked reply cannot be updated in place, its replacement
// through the response_url keeps the event mark all the same.
func TestClickReplaceKeepsEventMark(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	reply := h.pastedReply("EvPaste", "1700001000.000100")
	h.fake.Queue("chat.update", slackfake.Response{Body: map[string]any{"ok": false, "error": "cant_update_message"}})
	h.clickUndo(reply.Answer["ts"].(string), "1700001000.000100", reply.Field("blocks"), ana, "trig-replace")
	h.waitJobs(2)
	var got []slackfake.Call
	for _, c := range h.fake.Calls("response_url") {
		if c.Field("replace_original") == "true" {
			got = append(got, c)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d replacements through the response_url, want 1", len(got))
	}
	mustContain(t, "the replacement", got[0].Field("blocks"), "Undone by <@"+ana+">", `"block_id":"evt:EvPaste"`)
}

// wantListedAndReplies checks prod's list and how many replies were posted.
func (h *harness) wantListedAndReplies(t *testing.T, listed string, replies int) {
	t.Helper()
	if got := h.listed(); got != listed {
		t.Errorf("listed %q, want %q", got, listed)
	}
	if n := len(h.fake.Calls("chat.postMessage")); n != replies {
		t.Errorf("%d replies, want %d", n, replies)
	}
}

// editAt is the message_changed event of message ts edited to text at editTS.
func editAt(ts, text, editTS string) map[string]any {
	e := slackfake.Edit(channel, ts, text)
	e["message"].(map[string]any)["edited"] = map[string]any{"user": ana, "ts": editTS}
	e["ts"], e["event_ts"] = editTS, editTS
	return e
}

// Edits as Slack may deliver them: twice under other event ids, out of
// order, before the message itself; a command edited; a message with
// replies deleted (a tombstone). Each leaves the record as the message
// reads now, and its reply where it was.
func TestEditsDeliveredOddly(t *testing.T) {
	const ts = "1700001000.000100"
	orders := strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")
	final := strings.ReplaceAll(producerPaste, "Billing_CS", "Final_CS")
	undo := func(h *harness, trigger string) {
		f := slackfake.SlashCommand(channel, ana, "undo", h.fake.ResponseURL(trigger), trigger)
		if code, _ := h.do(slackfake.FormRequest(h.events(), secret, f)); code != http.StatusOK {
			t.Fatalf("/upgrade undo: %d", code)
		}
	}
	t.Run("the same edit twice", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
		h.postEvent("EvEditA", editAt(ts, orders, "1700001001.000000"), 0)
		h.postEvent("EvEditB", editAt(ts, orders, "1700001001.000000"), 0)
		h.waitJobs(3)
		if n := len(h.fake.Calls("chat.update")); n != 1 {
			t.Errorf("%d updates of the reply, want 1", n)
		}
		undo(h, "trig-undo")
		h.waitJobs(4)
		if got := h.listed(); got != "" {
			t.Errorf("listed %q after undo of the edited paste", got)
		}
	})
	t.Run("a newer edit first", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
		h.postEvent("EvEdit2", editAt(ts, final, "1700001002.000000"), 0)
		h.postEvent("EvEdit1", editAt(ts, orders, "1700001001.000000"), 0)
		h.waitJobs(3)
		if got := h.listed(); got != "Final_CS" {
			t.Errorf("listed %q, want the newest edit's Final_CS", got)
		}
	})
	t.Run("an edit delivered after the deletion", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
		h.postEvent("EvDelete", slackfake.Delete(channel, ts, producerPaste), 0)
		h.postEvent("EvEdit", editAt(ts, orders, "1700001001.000000"), 1)
		h.waitJobs(3)
		if got := h.listed(); got != "Billing_CS" {
			t.Errorf("listed %q, want Billing_CS: nothing is undone until someone clicks Undo", got)
		}
		ups := h.fake.Calls("chat.update")
		if len(ups) != 1 {
			t.Fatalf("%d updates of the reply, want the deletion's alone", len(ups))
		}
		mustContain(t, "the reply after the deletion", ups[0].Field("blocks"), "was deleted", "Billing_CS")
	})
	t.Run("the edit before the message", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		h.postEvent("EvEdit", editAt(ts, orders, "1700001001.000000"), 0)
		h.waitJobs(1)
		h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 1)
		h.waitJobs(2)
		h.wantListedAndReplies(t, "Orders_CS", 1)
	})
	t.Run("a command edited", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		mention := "<@" + slackfake.BotUserID + "> failed prod: Orders"
		h.postEvent("EvCmd", slackfake.Message(channel, ana, ts, mention), 0)
		h.waitJobs(1)
		h.postEvent("EvCmdEdit", editAt(ts, strings.Replace(mention, "Orders", "Invoices", 1), "1700001001.000000"), 0)
		h.waitJobs(2)
		eph := h.fake.Calls("chat.postEphemeral")
		if len(eph) != 1 || eph[0].Field("user") != ana {
			t.Fatalf("ephemeral answers to the edit: %+v", eph)
		}
		mustContain(t, "the answer to the edited command", eph[0].Field("text"), "An edited command is not run again")
		if got := h.listed(); got != "Orders" {
			t.Errorf("listed %q after the edited command", got)
		}
	})
	t.Run("an allowed bot's update", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP, opts: func(o *Options) { o.AllowedBots = []string{"B0CI"} }})
		h.track("prod")
		h.postEvent("EvDeploying", slackfake.BotMessage(channel, "B0CI", "A0CI", ts, "Deploying Billing…"), 0)
		update := map[string]any{"type": "message", "subtype": "message_changed", "channel": channel, "hidden": true,
			"ts": "1700001001.000000", "event_ts": "1700001001.000000", "channel_type": "channel",
			"message":          map[string]any{"type": "message", "subtype": "bot_message", "bot_id": "B0CI", "text": "Deploy failed: " + producerPaste, "ts": ts},
			"previous_message": map[string]any{"type": "message", "subtype": "bot_message", "bot_id": "B0CI", "text": "Deploying Billing…", "ts": ts}}
		h.postEvent("EvDeployFailed", update, 0)
		h.waitJobs(1)
		h.wantListedAndReplies(t, "Billing_CS", 1)
	})
	t.Run("delivered again after its reply failed", func(t *testing.T) {
		// A message that had nothing to answer, edited into an error: its
		// reply is rate-limited away, then Slack sends the edit again.
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		h.postEvent("EvChat", slackfake.Message(channel, ana, ts, "hello"), 0)
		limited := slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}}
		h.fake.Queue("chat.postMessage", limited, limited, limited, limited)
		h.postEvent("EvEditA", editAt(ts, orders, "1700001001.000000"), 0)
		h.waitJobs(1)
		h.postEvent("EvEditB", editAt(ts, orders, "1700001001.000000"), 0) // another event id
		h.waitJobs(2)
		var posted int
		for _, c := range h.fake.Calls("chat.postMessage") {
			if c.Answer != nil && c.Answer["ok"] == true && strings.Contains(c.Field("blocks"), "Orders_CS") {
				posted++
			}
		}
		if posted != 1 {
			t.Errorf("%d replies to the edit once Slack took them, want 1", posted)
		}
	})
	t.Run("its reply deleted", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
		h.waitJobs(1)
		h.fake.Delete(channel, h.fake.Calls("chat.postMessage")[0].Answer["ts"].(string))
		h.postEvent("EvEdit", editAt(ts, orders, "1700001001.000000"), 0)
		h.waitJobs(2)
		posts := h.fake.Calls("chat.postMessage")
		if len(posts) != 2 || posts[1].Field("thread_ts") != ts {
			t.Fatalf("%d posts; want the edit's reply posted anew in the paste's thread", len(posts))
		}
		mustContain(t, "the new reply", posts[1].Field("blocks"), "Orders_CS", `"action_id":"undo"`)
	})
	t.Run("deleted with replies: a tombstone", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
		h.waitJobs(1)
		e := slackfake.Edit(channel, ts, "This message was deleted.")
		e["message"] = map[string]any{"type": "message", "subtype": "tombstone", "user": "USLACKBOT", "text": "This message was deleted.", "ts": ts, "hidden": true}
		e["previous_message"].(map[string]any)["text"] = producerPaste
		h.postEvent("EvTomb", e, 0)
		h.waitJobs(2)
		ups := h.fake.Calls("chat.update")
		if len(ups) != 1 {
			t.Fatalf("chat.update calls: %+v", ups)
		}
		mustContain(t, "the reply after the deletion", ups[0].Field("blocks"), "was deleted", "Billing_CS")
		if got := h.listed(); got != "Billing_CS" {
			t.Errorf("listed %q after the deletion", got)
		}
	})
}

// clickButton clicks, as user, the button of a message (its blocks) whose action id starts with prefix.
func (h *harness) clickButton(messageTS, threadTS, blocks, prefix, user, trigger string) {
	h.t.Helper()
	for id, value := range buttons(h.t, blocks) {
		if strings.HasPrefix(id, prefix) {
			p := slackfake.BlockActions(channel, user, messageTS, threadTS, false, json.RawMessage(blocks), id, value, h.fake.ResponseURL(trigger), trigger)
			if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
				h.t.Fatalf("click %s: %d", id, code)
			}
			return
		}
	}
	h.t.Fatalf("no %s button in %s", prefix, blocks)
}

// A deleted message records nothing through the buttons of its reply: one
// held back (another environment's summary: "Record anyway"), one asked
// about (which environment?). Its reply loses them at the deletion, and
// a click on a copy still showing them is refused.
func TestDeletedMessageButtonsRecordNothing(t *testing.T) {
	const ts = "1700002000.000100"
	for _, c := range []struct {
		name, text, button string
		envs               []string
	}{
		{"held back", "10 modules prepared successfully, 7 modules failed and 5 modules skipped.", "record", []string{"prod"}},
		{"asked", producerPaste, "choose_env:prod", []string{"prod", "dev"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP})
			for _, env := range c.envs {
				h.track(env)
			}
			jobs := int64(0)
			if c.button == "record" { // prod has other counts: the paste is held back
				h.postEvent("EvSum", slackfake.Message(channel, ana, "1700001000.000100", "26 modules prepared successfully, 1 modules failed and 3 modules skipped."), 0)
				jobs++
				h.waitJobs(jobs)
			}
			before := h.fullStatus()
			h.postEvent("EvPaste", slackfake.Message(channel, "U0BOB", ts, c.text), 0)
			jobs++
			h.waitJobs(jobs)
			posts := h.fake.Calls("chat.postMessage")
			reply := posts[len(posts)-1]
			if reply.Field("thread_ts") != ts {
				t.Fatalf("no reply to the paste: %s", decoded(reply.Field("text")))
			}
			h.postEvent("EvDel", slackfake.Delete(channel, ts, c.text), 0)
			jobs++
			h.waitJobs(jobs)
			updates := h.fake.Calls("chat.update")
			if len(updates) != 1 || updates[0].Field("ts") != reply.Answer["ts"] {
				t.Fatalf("the reply was not updated at the deletion (%d updates)", len(updates))
			}
			mustContain(t, "the reply updated", decoded(updates[0].Field("blocks")), "was deleted")
			if got := buttons(t, updates[0].Field("blocks")); len(got) != 0 {
				t.Errorf("the deleted message's reply still has buttons: %v", got)
			}
			h.clickButton(reply.Answer["ts"].(string), ts, reply.Field("blocks"), c.button, "U0CAROL", "trig-click")
			resp := h.fake.WaitCalls(1, 10*time.Second, "response_url")[0]
			h.waitJobs(jobs + 1)
			mustContain(t, "the answer to the click", decoded(resp.Field("text")+resp.Field("blocks")), "was deleted")
			if after := h.fullStatus(); after != before {
				t.Errorf("a click recorded the deleted message:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// fullStatus is prod's record, in short.
func (h *harness) fullStatus() string {
	st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", 0)
	if err != nil {
		h.t.Fatal(err)
	}
	n := func(p *int) string {
		if p == nil {
			return "?"
		}
		return strconv.Itoa(*p)
	}
	return fmt.Sprintf("state=%s counts=%s/%s/%s modules=[%s]", st.State, n(st.Counts.Prepared), n(st.Counts.Failed), n(st.Counts.Skipped), h.listed())
}

// A paste recorded with no reply of its own (quietly, with a reaction; or
// in a thread that had its diagnosis) still gets one with Undo when it is
// deleted, in its thread; and a paste that brings its environment to a
// milestone again (failed after a rerun) is answered in a thread that
// had that diagnosis, so its Undo is at hand.
func TestRecordWithoutReplyDeleted(t *testing.T) {
	const banner = "We are now preparing your modules - 40% (We expect them to be ready at 18:21)"
	t.Run("quiet", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		const ts = "1700001000.000100"
		h.postEvent("EvBanner", slackfake.Message(channel, ana, ts, banner), 0)
		h.waitJobs(1)
		if n := len(h.fake.Calls("chat.postMessage")); n != 0 || len(h.fake.Calls("reactions.add")) != 1 {
			t.Fatalf("the banner was not recorded quietly (%d posts)", n)
		}
		h.postEvent("EvDel", slackfake.Delete(channel, ts, banner), 0)
		h.waitJobs(2)
		// At the top level, deleted without replies, it is gone with its
		// thread (Slack refuses a post there): its author is told, with Undo.
		if posts := postsIn(h.fake, ts); len(posts) != 0 {
			t.Errorf("%d replies in the thread of a deleted top-level message", len(posts))
		}
		told := h.fake.Calls("chat.postEphemeral")
		if len(told) != 1 || told[0].Field("user") != ana || told[0].Field("thread_ts") != "" {
			t.Fatalf("the deletion's reply to its author: %v", told)
		}
		mustContain(t, "the deletion's reply", decoded(told[0].Field("blocks")), "was deleted", `"action_id":"undo"`)
	})
	t.Run("thread", func(t *testing.T) {
		h := start(t, setup{mode: ModeHTTP})
		h.track("prod")
		const parent, again = "1700006000.000100", "1700006200.000100"
		failed := "There was an error preparing your modules."
		h.postEvent("Ev1", slackfake.Message(channel, ana, parent, failed), 0)
		h.postEvent("Ev2", slackfake.InThread(slackfake.Message(channel, "U0BOB", "1700006100.000100", banner), parent), 0)
		h.waitJobs(2)
		n := len(postsIn(h.fake, parent))
		h.postEvent("Ev3", slackfake.InThread(slackfake.Message(channel, "U0BOB", again, failed), parent), 0)
		h.waitJobs(3)
		if got := len(postsIn(h.fake, parent)); got != n+1 {
			t.Fatalf("the preparation failing again got no reply (%d replies in the thread, %d before)", got, n)
		}
		del := slackfake.Delete(channel, again, failed)
		del["previous_message"].(map[string]any)["thread_ts"] = parent
		h.postEvent("EvDel", del, 0)
		h.waitJobs(4)
		updates := h.fake.Calls("chat.update")
		if len(updates) == 0 {
			t.Fatal("the deleted paste's reply was not updated")
		}
		mustContain(t, "the deletion's reply", decoded(updates[len(updates)-1].Field("blocks")), "was deleted", `"action_id":"undo"`)
	})
}

// A paste recorded quietly (a ✅ and no reply) edited into chat has its
// record taken back: the ✅ goes too, so the channel does not show it as
// counted (the edit's reply, public, says what holds now).
func TestQuietMarkTakenBackByEdit(t *testing.T) {
	const banner = "We are now preparing your modules - 40% (We expect them to be ready at 18:21)"
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	const ts = "1700001000.000100"
	h.postEvent("EvBanner", slackfake.Message(channel, ana, ts, banner), 0)
	h.waitJobs(1)
	if n := len(h.fake.Calls("reactions.add")); n != 1 {
		t.Fatalf("the banner was not recorded quietly (%d reactions)", n)
	}
	h.postEvent("EvEdit", editAt(ts, "oops, that was dev's banner", "1700001100.000000"), 0)
	h.waitJobs(2)
	removed := h.fake.Calls("reactions.remove")
	if len(removed) != 1 || removed[0].Field("timestamp") != ts || removed[0].Field("name") != "white_check_mark" || removed[0].Field("channel") != channel {
		t.Fatalf("reactions.remove after the edit took the banner back: %v", removed)
	}
}

// Deleting ordinary chat costs nothing after its acknowledgement: no
// deletion mark (kept 14 days), no post, no update.
func TestChatDeletionCostsNothing(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	const ts = "1700004000.000100"
	h.postEvent("EvChat", slackfake.Message(channel, ana, ts, "lunch at 12?"), 0)
	h.postEvent("EvDel", slackfake.Delete(channel, ts, "lunch at 12?"), 0)
	h.marker("EvAfter", "1700004001.000100") // in the same lane: what the deletion did is done
	if _, marked, err := h.store.Value(context.Background(), slackfake.TeamID, bot.DeletedKey(channel, ts)); err != nil || marked {
		t.Errorf("deleted chat left a deletion mark (%v)", err)
	}
	if n := len(h.fake.Calls("chat.update")); n != 0 {
		t.Errorf("%d updates for deleted chat", n)
	}
}

// A deleted paste that recorded nothing keeps its diagnosis in its reply
// (people may be discussing it), with a note; the reply had no buttons to
// take off.
func TestDeletedPasteKeepsItsDiagnosis(t *testing.T) {
	const ts = "1700002000.000100"
	h := start(t, setup{mode: ModeHTTP}) // the channel follows nothing: nothing recorded
	h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
	h.waitJobs(1)
	h.postEvent("EvDel", slackfake.Delete(channel, ts, producerPaste), 0)
	h.waitJobs(2)
	for _, u := range h.fake.Calls("chat.update") {
		mustContain(t, "the deleted paste's reply", decoded(u.Field("blocks")), "A producer module has not been compiled", "was deleted; nothing it said is recorded")
	}
}

// A paste held back, edited and held back again, recorded anyway from the
// edit's reply, then deleted: the deletion names the version it deleted
// (previous_message.edited), so its reply says what was recorded anyway
// stays, not that nothing is recorded.
func TestRecordedAnywayFromEditThenDeleted(t *testing.T) {
	const ts = "1700002000.000100"
	const edited = "10 modules prepared successfully, 6 modules failed and 5 modules skipped."
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.postEvent("EvSum", slackfake.Message(channel, ana, "1700001000.000100", "26 modules prepared successfully, 1 modules failed and 3 modules skipped."), 0)
	h.postEvent("EvPaste", slackfake.Message(channel, "U0BOB", ts, "10 modules prepared successfully, 7 modules failed and 5 modules skipped."), 0)
	h.postEvent("EvEdit", editAt(ts, edited, "1700002010.000000"), 0)
	h.waitJobs(3)
	updates := h.fake.Calls("chat.update")
	if len(updates) == 0 {
		t.Fatal("the edit's reply was not updated in place")
	}
	up := updates[len(updates)-1]
	h.clickButton(up.Field("ts"), ts, up.Field("blocks"), "record", "U0CAROL", "trig-anyway")
	h.waitJobs(4)
	del := slackfake.Delete(channel, ts, edited)
	del["previous_message"].(map[string]any)["edited"] = map[string]any{"user": "U0BOB", "ts": "1700002010.000000"}
	h.postEvent("EvDel", del, 0)
	h.waitJobs(5)
	updates = h.fake.Calls("chat.update")
	mustContain(t, "the deleted paste's reply", decoded(updates[len(updates)-1].Field("blocks")), "recorded anyway from it for *prod* stays")
}
