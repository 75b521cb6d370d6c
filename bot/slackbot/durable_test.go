package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/progress"
)

// heldCore holds every answer until its context ends (a process stopping
// before it answered), telling entered when one is held.
type heldCore struct {
	*bot.Bot
	entered chan struct{}
}

func (h heldCore) Answer(ctx context.Context, r *bot.Reading) bot.Response {
	h.entered <- struct{}{}
	<-ctx.Done()
	return bot.Response{}
}

// durableStores are the two stores, each as a way to open it again as
// the next process would (the bbolt file reopened; Redis, the same prefix).
func durableStores(t *testing.T) map[string]func() progress.Store {
	path := filepath.Join(t.TempDir(), "bot.db")
	return map[string]func() progress.Store{
		"bolt": func() progress.Store {
			s, err := progress.OpenBoltStore(path, progress.BoltOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"redis": func() progress.Store { return redisStores(t, 1)[0] },
	}
}

// newFake is a fake Slack shared by the processes of a test.
func newFake(t *testing.T) *slackfake.Server {
	fake := slackfake.New(t)
	fake.BotToken, fake.AppToken = botToken, appToken
	return fake
}

// postsIn are the replies posted in the thread ts.
func postsIn(fake *slackfake.Server, ts string) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range fake.Calls("chat.postMessage") {
		if c.Field("thread_ts") == ts {
			out = append(out, c)
		}
	}
	return out
}

// answered posts a message the bot answers (in thread ts) and waits for
// its reply and the end of all work: the channel's earlier work is done.
func answered(h *harness, eventID, ts string) {
	h.t.Helper()
	h.postEvent(eventID, slackfake.Message(channel, ana, ts, "There was an error preparing your modules."), 0)
	for n := len(h.fake.Calls("chat.postMessage")) + 1; len(postsIn(h.fake, ts)) == 0; n++ {
		h.fake.WaitCalls(n, 10*time.Second, "chat.postMessage")
	}
	h.waitJobs(1)
}

// An event acknowledged by a process that stopped before answering it is
// answered by the next process on the same store, once, with its event id.
func TestAcknowledgedEventAnsweredByNextProcess(t *testing.T) {
	const ts, eventID = "1700004000.000100", "EvDurable1"
	for name, open := range durableStores(t) {
		t.Run(name, func(t *testing.T) {
			fake, store := newFake(t), open()
			entered := make(chan struct{}, 1)
			first := start(t, setup{mode: ModeHTTP, fake: fake, store: store,
				wrap: func(b *bot.Bot) Core { return heldCore{b, entered} },
				opts: func(o *Options) { o.ShutdownTimeout = 100 * time.Millisecond }})
			first.postEvent(eventID, slackfake.Message(channel, ana, ts, "There was an error preparing your modules."), 0)
			<-entered
			if err := first.stop(); err != nil {
				t.Fatal(err)
			}
			if n := len(postsIn(fake, ts)); n != 0 {
				t.Fatalf("the stopped process posted %d replies", n)
			}
			if name == "bolt" {
				store.Close()
				store = open()
				t.Cleanup(func() { store.Close() })
			}
			next := start(t, setup{mode: ModeHTTP, fake: fake, store: store})
			fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
			answered(next, "EvDurableMarker", "1700004000.000200")
			posts := postsIn(fake, ts)
			if len(posts) != 1 {
				t.Fatalf("the next process posted %d replies to the event, want 1", len(posts))
			}
			mustContain(t, "the recovered reply", posts[0].Field("blocks"), `"block_id":"evt:`+eventID+`"`)
			if got := next.counter("upgradebot_journal_recovered_total"); got != 1 {
				t.Errorf("recovered work counted %v, want 1", got)
			}
			if left, err := store.Recover(context.Background(), "check", 0, 10); err != nil || len(left) != 0 {
				t.Errorf("the journal still holds %d entries (%v)", len(left), err)
			}
		})
	}
}

// Entries a process left in the journal when it crashed (no Leave) are
// recovered after the minimum idle time; one whose reply is already in
// its thread (the crash came between the post and the record) is not
// posted again, the other is answered.
func TestRecoveredEventPostedAtMostOnce(t *testing.T) {
	const answeredTS, unansweredTS = "1700005000.000100", "1700005000.000200"
	for name, open := range durableStores(t) {
		t.Run(name, func(t *testing.T) {
			fake, store := newFake(t), open()
			if name == "bolt" {
				t.Cleanup(func() { store.Close() })
			}
			ctx := context.Background()
			text := "There was an error preparing your modules."
			for _, ts := range []string{answeredTS, unansweredTS} {
				e := progress.Entry{Workspace: slackfake.TeamID, Channel: channel, EventID: "Ev" + ts, Kind: "event",
					Payload: slackfake.EventCallback("Ev"+ts, slackfake.Message(channel, ana, ts, text))}
				if _, err := store.Append(ctx, "crashed-process", e); err != nil {
					t.Fatal(err)
				}
			}
			// The crashed process's reply to the first, with its event id.
			fake.AddMessage(map[string]any{"channel": channel, "ts": "1700005000.000150", "thread_ts": answeredTS,
				"user": slackfake.BotUserID, "bot_id": slackfake.BotID, "text": "diagnosis",
				"blocks": []any{map[string]any{"type": "section", "block_id": EventBlockID("Ev" + answeredTS),
					"text": map[string]any{"type": "mrkdwn", "text": "diagnosis"}}}})
			h := start(t, setup{mode: ModeHTTP, fake: fake, store: store,
				opts: func(o *Options) { o.JournalMinIdle = 200 * time.Millisecond }})
			for _, c := range fake.WaitCalls(1, 10*time.Second, "chat.postMessage") {
				if c.Field("thread_ts") != unansweredTS {
					t.Fatalf("first post after recovery in thread %s, want %s", c.Field("thread_ts"), unansweredTS)
				}
			}
			answered(h, "EvRecoveredMarker", "1700005000.000300")
			if n := len(postsIn(fake, answeredTS)); n != 0 {
				t.Errorf("the already answered event was answered again (%d posts)", n)
			}
			if n := len(postsIn(fake, unansweredTS)); n != 1 {
				t.Errorf("the unanswered event got %d replies, want 1", n)
			}
			if got := h.counter("upgradebot_duplicates_suppressed_total", "reason", "recovered"); got != 1 {
				t.Errorf("recovered replies found posted: %v, want 1", got)
			}
			if got := h.counter("upgradebot_journal_recovered_total"); got != 2 {
				t.Errorf("recovered work counted %v, want 2", got)
			}
		})
	}
}

// While the store cannot journal, an event is acknowledged all the same,
// counted as undurable, and answered.
func TestUndurableEventStillAnswered(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.store.journalFails.Store(true)
	h.marker("EvUndurable", "1700006000.000100")
	if got := h.counter("upgradebot_journal_undurable_total"); got != 1 {
		t.Errorf("undurable events counted %v, want 1", got)
	}
	mustContain(t, "the log", h.logs.String(), "without durability")
}

// TestMessageClaimHeldForItsAnswer: a journaled message's claim is taken
// for DoneTTL at once and not renewed (the journal, not Slack's
// re-delivery, finishes it if the process stops); one acknowledged
// without the journal is taken for ClaimTTL, so that a re-delivery after a
// crash answers it, and renewed once answered.
func TestMessageClaimHeldForItsAnswer(t *testing.T) {
	for _, c := range []struct {
		name         string
		journalFails bool
		claim, renew time.Duration
	}{
		{"journaled", false, time.Hour, 0},
		{"not journaled", true, 2 * time.Minute, time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP})
			h.store.journalFails.Store(c.journalFails)
			h.marker("EvClaimed", "1700006000.000100")
			claim, renew := h.store.claimTTLs("slack:msg:" + channel + ":1700006000.000100")
			if claim != c.claim || renew != c.renew {
				t.Errorf("the message's claim taken for %v, renewed for %v; want %v and %v", claim, renew, c.claim, c.renew)
			}
		})
	}
}

// A paste's reply that Slack rate-limited past its retries is not lost: its
// journal entry stays, and the recovery posts the reply once, in its thread.
func TestReplyRateLimitedIsPostedLater(t *testing.T) {
	for name, open := range durableStores(t) {
		t.Run(name, func(t *testing.T) {
			store := open()
			if name == "bolt" {
				t.Cleanup(func() { store.Close() })
			}
			h := start(t, setup{mode: ModeHTTP, store: store, opts: func(o *Options) { o.JournalMinIdle = 200 * time.Millisecond }})
			h.track("prod")
			limited := slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}}
			h.fake.Queue("chat.postMessage", limited, limited, limited, limited)
			const ts = "1700006000.000100"
			h.postEvent("EvLimited", slackfake.Message(channel, ana, ts, producerPaste), 0)
			h.fake.WaitCalls(5, 30*time.Second, "chat.postMessage") // four refused, then the recovery's
			answered(h, "EvMarker", "1700006000.000200")
			var posted []slackfake.Call
			for _, c := range h.fake.Calls("chat.postMessage") { // read once every call was answered
				if c.Answer != nil && c.Answer["ok"] == true && c.Field("thread_ts") == ts {
					posted = append(posted, c)
				}
			}
			if len(posted) != 1 {
				t.Fatalf("%d replies posted in the paste's thread, want 1", len(posted))
			}
			mustContain(t, "the reply posted late", posted[0].Field("blocks"), "Recorded for *prod*", "Billing_CS", `"action_id":"undo"`)
			if got := h.listed(); got != "Billing_CS" {
				t.Errorf("listed %q", got)
			}
			// Taken up again from the journal, and counted and logged as such.
			if got := h.counter("upgradebot_journal_recovered_total"); got != 1 || !strings.Contains(h.logs.String(), "taking up journaled work left unfinished") {
				t.Errorf("recovered counted %v; logs:\n%s", got, h.logs.String())
			}
		})
	}
}

// A message answered before its screenshot is read stays in the journal
// until the screenshot's update: a stop in between leaves it to the next
// process, which records what the screenshot shows.
func TestLateScreenshotStaysJournaled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	open := func() *progress.BoltStore {
		s, err := progress.OpenBoltStore(path, progress.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	withLiving := func(o *Options) {
		o.Living = NewLiving(LivingOptions{API: o.API, Core: o.Core.(LivingCore), Store: o.Store, MinInterval: 10 * time.Millisecond})
	}
	data := pngOf(t, 6)
	slow := newFakeOCR()
	slow.learn(data, summaryBanner, time.Minute) // still reading when the process stops
	fake, store := newFake(t), open()
	h := start(t, setup{mode: ModeHTTP, fake: fake, store: store,
		opts: withOCR(slow, 50*time.Millisecond, func(o *Options) { o.ShutdownTimeout = 200 * time.Millisecond; withLiving(o) })})
	if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "track prod", fake.ResponseURL("track"), "trig-track"))); code != http.StatusOK {
		t.Fatalf("track: %d %s", code, body)
	}
	fake.WaitCalls(1, 5*time.Second, "pins.add")
	const ts = "1700005400.000100"
	h.postEvent("EvLate", slackfake.FileShare(channel, ana, ts, producerPaste, fake.AddFile(pngFile("F0LATE", "summary.png", data))), 0)
	waitUntil(t, "the first reply", func() bool { return len(postsIn(fake, ts)) > 0 })
	if posts := postsIn(fake, ts); len(posts) != 1 || !strings.Contains(decoded(posts[0].Field("blocks")), "Still reading") {
		t.Fatalf("want one reply saying the screenshot is still being read, got %d: %v", len(posts), posts)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	store.Close()

	fast := newFakeOCR()
	fast.learn(data, summaryBanner, 0)
	store = open()
	t.Cleanup(func() { store.Close() })
	next := start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: withOCR(fast, time.Second, withLiving)})
	waitUntil(t, "the screenshot's 26 prepared recorded by the next process", func() bool {
		st, err := store.Status(context.Background(), slackfake.TeamID, "prod", -1)
		return err == nil && st.Counts.Prepared != nil && *st.Counts.Prepared == 26
	})
	// Its reply was in the thread already: it is updated in place with what
	// the screenshot shows, and the status message shows it too.
	reply := postsIn(fake, ts)[0].Answer["ts"].(string)
	waitUntil(t, "the first reply updated by the next process", func() bool {
		for _, c := range fake.Calls("chat.update") {
			if b := decoded(c.Field("blocks")); c.Field("ts") == reply && !strings.Contains(b, "Still reading") && strings.Contains(b, "26") {
				return true
			}
		}
		return false
	})
	waitUntil(t, "the status message showing the 26 prepared", func() bool {
		for _, c := range fake.Calls("chat.update") {
			if b := decoded(c.Field("blocks")); strings.Contains(b, "Kept up to date") && strings.Contains(b, "26 prepared") {
				return true
			}
		}
		return false
	})
	if got := next.counter("upgradebot_journal_recovered_total"); got != 1 {
		t.Errorf("recovered work counted %v, want 1", got)
	}
}

// The journal keeps an event as received less Slack's legacy verification
// token, a credential the bot never uses (its recovery is
// TestAcknowledgedEventAnsweredByNextProcess).
func TestJournalKeepsNoToken(t *testing.T) {
	slackOrder := slackfake.EventCallback("EvNoToken", slackfake.Message(channel, ana, "1700004500.000100", producerPaste+" (log: <https://example.com/log|here>)"))
	if !bytes.HasPrefix(slackOrder, []byte(`{"token":`)) {
		t.Fatalf("the fake's event does not start with its token, as Slack's do: %s", slackOrder)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(slackOrder, &fields); err != nil {
		t.Fatal(err)
	}
	sorted, _ := json.Marshal(fields) // any other order takes the slow way
	for name, sent := range map[string][]byte{"keys sorted": sorted, "token first": slackOrder} {
		t.Run(name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP})
			if code, body := h.do(slackfake.EventRequest(h.events(), secret, sent, 0)); code != http.StatusOK {
				t.Fatalf("event: %d %s", code, body)
			}
			h.waitIdle()
			h.store.mu.Lock()
			payloads := slices.Clone(h.store.payloads)
			h.store.mu.Unlock()
			if len(payloads) != 1 {
				t.Fatalf("%d entries journaled, want 1", len(payloads))
			}
			var want, got map[string]any
			if err := json.Unmarshal(sent, &want); err != nil {
				t.Fatal(err)
			}
			delete(want, "token")
			if err := json.Unmarshal(payloads[0], &got); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("journaled %s (%v), want the event without its token", payloads[0], err)
			}
		})
	}
}

// An event a stopped process left in the journal, never acknowledged, is
// answered by the next process and then re-delivered by Slack: the
// recovered run holds the message's claim, so the re-delivery is not
// answered again.
func TestRecoveredThenRedeliveredAnsweredOnce(t *testing.T) {
	const ts, eventID = "1700007000.000100", "EvRecoveredRedelivered"
	text := "There was an error preparing your modules."
	for name, open := range durableStores(t) {
		t.Run(name, func(t *testing.T) {
			fake, store := newFake(t), open()
			e := progress.Entry{Workspace: slackfake.TeamID, Channel: channel, EventID: eventID, Kind: "event",
				Payload: slackfake.EventCallback(eventID, slackfake.Message(channel, ana, ts, text))}
			if _, err := store.Append(context.Background(), "stopped-process", e); err != nil {
				t.Fatal(err)
			}
			h := start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: func(o *Options) { o.JournalMinIdle = time.Millisecond }})
			fake.WaitCalls(1, 10*time.Second, "chat.postMessage") // the recovered reply
			h.waitJobs(1)
			h.postEvent(eventID, slackfake.Message(channel, ana, ts, text), 1) // Slack's retry
			h.waitJobs(2)
			if n := len(postsIn(fake, ts)); n != 1 {
				t.Fatalf("%d replies to one message, want 1", n)
			}
		})
	}
}

// Recovered work a shutdown cuts short is left to the next process at once,
// as new work is, not after the minimum idle time.
func TestRecoveredWorkCutShortLeftAtOnce(t *testing.T) {
	const ts, eventID = "1700007400.000100", "EvRecoveredCutShort"
	fake, store := newFake(t), redisStores(t, 1)[0]
	e := progress.Entry{Workspace: slackfake.TeamID, Channel: channel, EventID: eventID, Kind: "event",
		Payload: slackfake.EventCallback(eventID, slackfake.Message(channel, ana, ts, "There was an error preparing your modules."))}
	if _, err := store.Append(context.Background(), "crashed-process", e); err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 1)
	first := start(t, setup{mode: ModeHTTP, fake: fake, store: store,
		wrap: func(b *bot.Bot) Core { return heldCore{b, entered} },
		opts: func(o *Options) { o.ShutdownTimeout = 100 * time.Millisecond; o.JournalMinIdle = time.Millisecond }})
	waitFor(t, "the recovered event's answer", entered)
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	// An hour's idle time: only an entry left at once is taken.
	start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: func(o *Options) { o.JournalMinIdle = time.Hour }})
	fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	if n := len(postsIn(fake, ts)); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
}

// Slack's re-delivery of an event that a stopped process's successor
// answered, after the stopped process's claim on it ran out, finds the
// reply in the thread and is not answered again.
func TestRetriedAfterRecoveryLooksInTheThread(t *testing.T) {
	const ts, eventID = "1700007600.000100", "EvRetriedAfterRecovery"
	text := "There was an error preparing your modules."
	fake, store := newFake(t), redisStores(t, 1)[0]
	ctx := context.Background()
	e := progress.Entry{Workspace: slackfake.TeamID, Channel: channel, EventID: eventID, Kind: "event",
		Payload: slackfake.EventCallback(eventID, slackfake.Message(channel, ana, ts, text))}
	if _, err := store.Append(ctx, "stopped-process", e); err != nil {
		t.Fatal(err)
	}
	// The stopped process had claimed the message.
	key := "slack:msg:" + channel + ":" + ts
	if ok, err := store.Claim(ctx, slackfake.TeamID, key, "stopped-token", time.Hour); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	h := start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: func(o *Options) { o.JournalMinIdle = time.Millisecond }})
	fake.WaitCalls(1, 10*time.Second, "chat.postMessage") // recovered, answered without the claim
	h.waitJobs(1)
	if err := store.Release(ctx, slackfake.TeamID, key, "stopped-token"); err != nil { // its claim runs out
		t.Fatal(err)
	}
	h.postEvent(eventID, slackfake.Message(channel, ana, ts, text), 1) // Slack's last retry
	h.waitJobs(2)
	if n := len(postsIn(fake, ts)); n != 1 {
		t.Fatalf("%d replies to one message, want 1", n)
	}
	if got := h.counter("upgradebot_duplicates_suppressed_total", "reason", "retried"); got != 1 {
		t.Errorf("retried duplicates counted %v, want 1", got)
	}
}

// A replica journaled a paste and crashed before answering; seeing no
// reply, its author deleted or edited it, which another replica answered.
// The crashed replica's entry, recovered after that, is the message's
// first version: it is not answered (the change was, as the message reads now).
func TestRecoveredPasteChangedMeanwhile(t *testing.T) {
	const ts = "1700005000.000100"
	orders := strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")
	for _, c := range []struct {
		kind   string
		change map[string]any
		listed string
	}{
		{"deleted", slackfake.Delete(channel, ts, producerPaste), ""},
		{"edited", editAt(ts, orders, "1700005010.000000"), "Orders_CS"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			fake, store := newFake(t), redisStores(t, 1)[0]
			e := progress.Entry{Workspace: slackfake.TeamID, Channel: channel, EventID: "EvPaste", Kind: "event",
				Payload: slackfake.EventCallback("EvPaste", slackfake.Message(channel, ana, ts, producerPaste))}
			if _, err := store.Append(context.Background(), "crashed-replica", e); err != nil {
				t.Fatal(err)
			}
			// The surviving replica takes the change; the crashed one's entry is not idle long enough yet.
			live := start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: func(o *Options) { o.JournalMinIdle = time.Hour }})
			live.track("prod")
			live.postEvent("EvChange", c.change, 0)
			live.waitJobs(1)
			posts := len(fake.Calls("chat.postMessage"))
			// Then the entry is recovered.
			later := start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: func(o *Options) { o.JournalMinIdle = time.Millisecond }})
			later.waitJobs(1)
			if got := live.listed(); got != c.listed {
				t.Errorf("listed %q after the recovery, want %q", got, c.listed)
			}
			if n := len(fake.Calls("chat.postMessage")); n != posts {
				t.Errorf("the recovered first version got a reply of its own (%d posts, %d before)", n, posts)
			}
		})
	}
}

// A paste's reply Slack refused (rate limited) is tried again from the
// journal; edited meanwhile, the paste was answered as it reads now, so
// the retry posts nothing.
func TestRefusedReplyEditedMeanwhile(t *testing.T) {
	const ts = "1700005000.000100"
	fake, store := newFake(t), redisStores(t, 1)[0]
	h := start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: func(o *Options) { o.JournalMinIdle = time.Hour }})
	h.track("prod")
	// Retry-After beyond the call's time: it fails at once, left in the journal.
	h.fake.Queue("chat.postMessage", slackfake.Response{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "600"}})
	h.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
	h.waitJobs(1)
	h.postEvent("EvEdit", editAt(ts, strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS"), "1700005010.000000"), 0)
	h.waitJobs(2)
	posted := len(fake.Calls("chat.postMessage"))
	later := start(t, setup{mode: ModeHTTP, fake: fake, store: store, opts: func(o *Options) { o.JournalMinIdle = time.Millisecond }})
	later.waitJobs(1)
	if n := len(fake.Calls("chat.postMessage")); n != posted {
		t.Errorf("the refused reply was posted after the paste's edit was answered: %s", decoded(fake.Calls("chat.postMessage")[n-1].Field("text")))
	}
	if got := h.listed(); got != "Orders_CS" {
		t.Errorf("listed %q, want Orders_CS", got)
	}
}

// A deploy stops the process while a paste is being answered and its
// edit (or deletion), acknowledged, waits behind it: Slack never sends
// that change again, so the next process finishes both, in order, and
// the record and reply are the message's as it reads now.
func TestChangeWaitingAtStopIsKept(t *testing.T) {
	const ts = "1700004000.000100"
	for _, c := range []struct {
		kind   string
		change map[string]any
		listed string
		reply  string // what the reply says in the end
	}{
		{"edited", editAt(ts, strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS"), "1700004010.000000"), "Orders_CS", "was edited"},
		{"deleted", slackfake.Delete(channel, ts, producerPaste), "Billing_CS", "was deleted"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bot.db")
			open := func() progress.Store {
				s, err := progress.OpenBoltStore(path, progress.BoltOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			fake, store := newFake(t), open()
			entered := make(chan struct{}, 1)
			first := start(t, setup{mode: ModeHTTP, fake: fake, store: store,
				wrap: func(b *bot.Bot) Core { return heldCore{b, entered} },
				opts: func(o *Options) { o.ShutdownTimeout = 100 * time.Millisecond }})
			first.track("prod")
			first.postEvent("EvPaste", slackfake.Message(channel, ana, ts, producerPaste), 0)
			waitFor(t, "the paste's answer", entered)
			first.postEvent("EvChange", c.change, 0) // acknowledged, behind the paste
			if err := first.stop(); err != nil {
				t.Fatal(err)
			}
			store.Close()
			store = open()
			t.Cleanup(func() { store.Close() })
			next := start(t, setup{mode: ModeHTTP, fake: fake, store: store})
			next.waitJobs(2)
			if got := next.listed(); got != c.listed {
				t.Errorf("listed %q after the restart, want %q", got, c.listed)
			}
			posts, updates := fake.Calls("chat.postMessage"), fake.Calls("chat.update")
			if len(posts) != 1 || len(updates) != 1 {
				t.Fatalf("%d posts and %d updates, want the reply and its update", len(posts), len(updates))
			}
			mustContain(t, "the reply updated", decoded(updates[0].Field("blocks")), c.reply)
		})
	}
}

// An edit of plain chat, and a deletion of it, cost no journal write.
func TestChatEditsNotJournaled(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	const ts = "1700004000.000100"
	h.postEvent("EvChat", slackfake.Message(channel, ana, ts, "lunch at 12?"), 0)
	h.postEvent("EvEdit", editAt(ts, "lunch at 12:30?", "1700004010.000000"), 0)
	h.postEvent("EvDel", slackfake.Delete(channel, ts, "lunch at 12:30?"), 0)
	h.postEvent("EvPasteEdit", editAt("1700004100.000100", producerPaste, "1700004110.000000"), 0) // chat edited into a paste
	h.waitJobs(2)                                                                                  // the chat's deletion is no job
	if got := h.store.journaled(); !slices.Equal(got, []string{"EvPasteEdit"}) {
		t.Errorf("journaled %v, want only the edit into a paste", got)
	}
}
