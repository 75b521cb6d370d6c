package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// homeImages are the slack_file ids of the image blocks of a views.publish call.
func homeImages(t *testing.T, c slackfake.Call) []string {
	t.Helper()
	var view struct {
		Blocks []struct {
			Type      string `json:"type"`
			AltText   string `json:"alt_text"`
			SlackFile struct {
				ID string `json:"id"`
			} `json:"slack_file"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(c.Field("view")), &view); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range view.Blocks {
		if b.Type == "image" {
			if b.AltText == "" {
				t.Errorf("image block %s without alt text", b.SlackFile.ID)
			}
			ids = append(ids, b.SlackFile.ID)
		}
	}
	return ids
}

// shiftClock is the system's clock moved forward by the test.
type shiftClock struct {
	systemClock
	shift atomic.Int64
}

func (c *shiftClock) Now() time.Time { return time.Now().Add(time.Duration(c.shift.Load())) }

// App Home shows the burn-down chart to members of the environment's
// channel: uploaded once in the status message's thread, shown as an image
// block once files.info reports it shared, uploaded again only when the
// chart's samples changed, at most every 15 minutes; a user in none of its
// channels sees no image.
func TestAppHomeChart(t *testing.T) {
	clock := &shiftClock{}
	h, living, command := startLiving(t, clock)
	h.fake.SharedAfter = 1 // Slack shares an upload a moment after it completes
	h.fake.SetUserChannels(ana, "C0OTHER", channel)
	jobs := int64(0)
	home := func(user string) []string {
		t.Helper()
		jobs++
		h.postEvent(fmt.Sprint("EvHome", jobs), slackfake.HomeOpened(user), 0)
		h.waitJobs(jobs)
		vs := h.fake.Calls("views.publish")
		if last := vs[len(vs)-1]; last.Field("user_id") == user {
			return homeImages(t, last)
		}
		t.Fatalf("no App Home published for %s", user)
		return nil
	}
	command("track prod")
	command("failed A B")
	jobs += 2
	h.waitJobs(jobs)
	var ts string
	for deadline := time.Now().Add(5 * time.Second); ts == ""; time.Sleep(5 * time.Millisecond) {
		if ts = living.Thread(context.Background(), slackfake.TeamID, channel, "prod"); time.Now().After(deadline) {
			t.Fatal("no status message")
		}
	}
	uploads := func() int { return len(h.fake.Calls("files.completeUploadExternal")) }

	// The first opening uploads the chart in the status message's thread; not shared yet, no image.
	if imgs := home(ana); len(imgs) != 0 || uploads() != 1 {
		t.Fatalf("first opening: images %v, %d uploads; want none and 1", imgs, uploads())
	}
	up := h.fake.Calls("files.completeUploadExternal")[0]
	if up.Field("channel_id") != channel || up.Field("thread_ts") != ts {
		t.Errorf("chart uploaded to %s/%s, want the status message's thread %s", up.Field("channel_id"), up.Field("thread_ts"), ts)
	}
	var files []struct{ ID string }
	_ = json.Unmarshal([]byte(up.Field("files")), &files)
	first := files[0].ID
	// Shared now: the image block shows it, without another upload.
	for range 2 {
		if imgs := home(ana); len(imgs) != 1 || imgs[0] != first || uploads() != 1 {
			t.Fatalf("images %v, %d uploads; want [%s] and 1", imgs, uploads(), first)
		}
	}
	if n := len(h.fake.Calls("files.info")); n != 2 {
		t.Errorf("%d files.info calls, want 2 (until shared)", n)
	}
	// Someone in none of the environment's channels sees no chart.
	if imgs := home("U0BOB"); len(imgs) != 0 || uploads() != 1 {
		t.Errorf("non-member: images %v, %d uploads", imgs, uploads())
	}
	// A change: within 15 minutes of the last upload, the chart shown stays.
	command("done A")
	jobs++
	h.waitJobs(jobs)
	if imgs := home(ana); len(imgs) != 1 || imgs[0] != first || uploads() != 1 {
		t.Fatalf("a change within 15 minutes: images %v, %d uploads; want [%s] and 1", imgs, uploads(), first)
	}
	// Later, the next opening uploads a new chart and shows the old one until it is shared.
	clock.shift.Store(int64(15 * time.Minute))
	if imgs := home(ana); len(imgs) != 1 || imgs[0] != first || uploads() != 2 {
		t.Fatalf("after a change: images %v, %d uploads; want [%s] and 2", imgs, uploads(), first)
	}
	imgs := home(ana)
	if len(imgs) != 1 || imgs[0] == first || uploads() != 2 {
		t.Fatalf("images %v, %d uploads; want the new chart and 2", imgs, uploads())
	}
	second := imgs[0]
	// A chart deleted since: Slack refuses the view, which is published
	// again without charts; the chart is uploaded again later.
	h.fake.Queue("views.publish", slackfake.Response{Body: map[string]any{"ok": false, "error": "invalid_blocks"}})
	before := len(h.fake.Calls("views.publish"))
	if imgs := home(ana); len(imgs) != 0 || len(h.fake.Calls("views.publish")) != before+2 {
		t.Fatalf("refused view: images %v, %d more views.publish; want none and 2", imgs, len(h.fake.Calls("views.publish"))-before)
	}
	if imgs := home(ana); len(imgs) != 0 || uploads() != 2 {
		t.Fatalf("within 15 minutes of the last upload: images %v, %d uploads; want none and 2", imgs, uploads())
	}
	clock.shift.Store(int64(30 * time.Minute))
	home(ana)
	if imgs := home(ana); len(imgs) != 1 || imgs[0] == second || uploads() != 3 {
		t.Fatalf("later: images %v, %d uploads; want a new chart and 3", imgs, uploads())
	}
	mustContain(t, "view", decoded(h.fake.Calls("views.publish")[len(h.fake.Calls("views.publish"))-1].Field("view")), `"text":"Burn-down of prod"`, "Burn-down chart of prod over")
}

// A finished upgrade's chart stays in App Home months later, when the next
// upgrade is planned, without another upload: its samples and the file
// kept for Home expired after 90 days.
func TestAppHomeChartMonthsLater(t *testing.T) {
	clock := &shiftClock{}
	// The store's clock is the test's: what it keeps expires by it.
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var living *Living
	h := start(t, setup{mode: ModeHTTP, store: store, opts: func(o *Options) {
		living = NewLiving(LivingOptions{API: o.API, Core: o.Core.(LivingCore), Store: o.Store, MinInterval: 10 * time.Millisecond, Clock: clock})
		o.Living = living
	}})
	h.fake.SharedAfter = 1
	h.fake.SetUserChannels(ana, channel)
	jobs := int64(0)
	run := func(text string) {
		t.Helper()
		jobs++
		if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, text, h.fake.ResponseURL(text), "trig-"+text))); code != http.StatusOK {
			t.Fatalf("%s: %d %s", text, code, body)
		}
		h.waitJobs(jobs)
	}
	home := func() []string {
		t.Helper()
		jobs++
		h.postEvent(fmt.Sprint("EvHome", jobs), slackfake.HomeOpened(ana), 0)
		h.waitJobs(jobs)
		vs := h.fake.Calls("views.publish")
		return homeImages(t, vs[len(vs)-1])
	}
	run("track prod")
	run("failed A B")
	run("done A B")
	for deadline := time.Now().Add(5 * time.Second); living.Thread(context.Background(), slackfake.TeamID, channel, "prod") == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no status message")
		}
	}
	uploads := func() int { return len(h.fake.Calls("files.completeUploadExternal")) }
	home()
	shown := home()
	if len(shown) != 1 || uploads() != 1 {
		t.Fatalf("images %v, %d uploads; want one chart, uploaded once", shown, uploads())
	}
	for _, later := range []time.Duration{120 * 24 * time.Hour, 400 * 24 * time.Hour} {
		clock.shift.Store(int64(later))
		if imgs := home(); len(imgs) != 1 || imgs[0] != shown[0] || uploads() != 1 {
			t.Errorf("%v later: images %v, %d uploads; want %v and 1", later, imgs, uploads(), shown)
		}
	}
}

// The digest's charts are uploaded in its thread: one per environment with work left.
func TestDigestCharts(t *testing.T) {
	ta := newTestAPI(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	core := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: clock})
	ctx := context.Background()
	for i, c := range []string{"track prod", "failed prod: A B", "track qa", "failed qa: C", "done qa: C", "track dev"} {
		now = now.Add(time.Minute)
		core.HandleCommand(ctx, bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: fmt.Sprint("c", i), Text: c})
	}
	r, err := core.Digest(ctx, nil, now, time.UTC, time.Hour)
	if err != nil || r == nil {
		t.Fatalf("digest: %v, %v", r, err)
	}
	if err := ta.Post(ctx, channel, r); err != nil {
		t.Fatal(err)
	}
	post := ta.fake.Calls("chat.postMessage")
	done := ta.fake.Calls("files.completeUploadExternal")
	if len(post) != 1 || len(done) != 1 {
		t.Fatalf("%d posts, %d uploads; want 1 and 1 (prod only: qa and dev have nothing left)", len(post), len(done))
	}
	if done[0].Field("thread_ts") != post[0].Answer["ts"] || !strings.Contains(done[0].Field("files"), "Burn-down of prod") {
		t.Errorf("upload %v, want prod's chart in the digest's thread %v", done[0].Form, post[0].Answer["ts"])
	}
	if get := ta.fake.Calls("files.getUploadURLExternal")[0]; get.Field("alt_txt") == "" {
		t.Error("chart uploaded without alt text")
	}
	mustContain(t, "digest", decoded(post[0].Field("blocks")), "Burn-down charts of 1 environment with work left: in this message's thread.")
}
