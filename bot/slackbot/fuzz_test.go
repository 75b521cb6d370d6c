package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// FuzzEventsEndpoint sends correctly signed requests with arbitrary bodies
// to POST /slack/events (Events API JSON, slash command and interactivity
// forms, other content types) and lets the workers handle what was
// queued. Run for a bounded time by .ci/run:
//
//	go test -run=XXX -fuzz=FuzzEventsEndpoint -fuzztime=15s ./bot/slackbot
//
// It holds when every request gets one of the documented statuses, no
// handler panics, and a message read in two decodings reads as slack-go's
// ParseEvent reads it (sameAsSlackGo). Web API calls go to the fake Slack; a response_url
// elsewhere is refused without leaving the machine.
func FuzzEventsEndpoint(f *testing.F) {
	for _, s := range eventSeeds() {
		f.Add(s.ct, s.body)
	}
	fake := slackfake.New(f)
	fake.BotToken = botToken
	store, err := progress.OpenBoltStore(filepath.Join(f.TempDir(), "fuzz.db"), progress.BoltOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	api := NewAPI(APIOptions{BotToken: botToken, URL: fake.APIURL(), Logger: logger, MaxAttempts: 1, HTTPClient: loopbackOnlyClient()})
	core := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Logger: logger, Membership: api})
	core.SetBotUserID(slackfake.BotUserID)
	if r := core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: "setup", Text: "track prod"}); r.Announce.Empty() {
		f.Fatal("setup: track prod")
	}
	app, err := New(Options{Mode: ModeHTTP, Core: core, API: api, Store: store, SigningSecret: secret, Logger: logger, Workers: 2, JobTimeout: 10 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	// What Run does before it takes requests, without the listener.
	app.botUser, app.botID = slackfake.BotUserID, slackfake.BotID
	app.lanes = newLanes(context.Background(), app.laneOptions())
	app.lanes.start()
	app.setSlack("ok")
	app.ready.Store(true)
	f.Cleanup(func() { app.lanes.shutdown(5 * time.Second) })
	handler := app.Handler()
	types := []string{"application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-8", "text/plain"}

	f.Fuzz(func(t *testing.T, ct uint8, body []byte) {
		if strings.HasPrefix(types[int(ct)%len(types)], "application/json") {
			sameAsSlackGo(t, body)
		}
		req := slackfake.Request("http://127.0.0.1/slack/events", secret, types[int(ct)%len(types)], body, time.Now())
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Errorf("status %d (%q) for %q", rec.Code, rec.Body.String(), body)
		}
		deadline := time.Now().Add(15 * time.Second)
		for app.lanes.pending() > 0 {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Fatalf("the work queued by %q did not finish:\n%s", body, buf[:n])
			}
			time.Sleep(time.Millisecond)
		}
		if s := logs.String(); strings.Contains(s, "panicked") {
			t.Fatalf("a handler panicked on %q:\n%s", body, s)
		}
	})
}

// loopbackOnlyClient dials 127.0.0.0/8 only: a fuzzed response_url must
// not reach anything outside this machine.
func loopbackOnlyClient() *http.Client {
	d := &net.Dialer{Timeout: time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return nil, errors.New("fuzz: only loopback addresses may be dialed")
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
}

type eventSeed struct {
	ct   uint8
	body []byte
}

func eventSeeds() []eventSeed {
	js := func(b []byte) eventSeed { return eventSeed{0, b} }
	form := func(v url.Values) eventSeed { return eventSeed{1, []byte(v.Encode())} }
	msg := func(id, ts, text string) eventSeed {
		return js(slackfake.EventCallback(id, slackfake.Message(channel, ana, ts, text)))
	}
	markDone, _ := json.Marshal(map[string]string{"env": "prod", "module": "Billing_CS"})
	blocks, _ := json.Marshal([]any{map[string]any{"type": "actions", "elements": []any{map[string]any{"type": "button", "action_id": "mark_done:0", "value": string(markDone)}}}})
	action, _ := json.Marshal(slackfake.BlockActions(channel, ana, "1700000000.000500", "", false, blocks, "mark_done:0", string(markDone), "http://127.0.0.1:1/response/x", "trig-a"))
	seeds := []eventSeed{
		msg("Ev1", "1700000000.000100", producerPaste),
		msg("Ev2", "1700000000.000101", "There were errors preparing some modules."),
		msg("Ev3", "1700000000.000102", "<@"+slackfake.BotUserID+"> status"),
		msg("Ev4", "1700000000.000103", "morning all!"),
		msg("Ev5", "1700000000.000104", "We are now preparing your modules - 11% (We expect them to be ready at 18:21)"),
		js(slackfake.EventCallback("Ev6", slackfake.AppMention(channel, ana, "1700000000.000105", "<@"+slackfake.BotUserID+"> help"))),
		js(slackfake.EventCallback("Ev7", slackfake.InThread(slackfake.Message(channel, ana, "1700000000.000106", producerPaste), "1700000000.000100"))),
		js(slackfake.EventCallback("Ev8", slackfake.Edit(channel, "1700000000.000100", "edited"))),
		js(slackfake.EventCallback("Ev9", slackfake.HomeOpened(ana))),
		js(slackfake.EventCallback("Ev10", slackfake.BotMessage(channel, "B0CI", "A0CI", "1700000000.000107", producerPaste))),
		js(slackfake.URLVerification("challenge")),
		js([]byte(`{"type":"app_rate_limited","minute_rate_limited":1518467820}`)),
		js([]byte(`{"type":"event_callback","event":{"type":"message","channel":"C1","ts":"1.2","text":"\ud800"}}`)),
		js([]byte(`{"type":"event_callback","event":null}`)),
		js([]byte(`{`)),
		form(slackfake.SlashCommand(channel, ana, "status", "http://127.0.0.1:1/response/s", "trig-s")),
		form(slackfake.SlashCommand(channel, ana, "failed prod: Billing_CS, \"Customer Portal\"", "", "trig-f")),
		form(slackfake.SlashCommand(channel, ana, "export prod csv", "", "trig-e")),
		form(url.Values{"payload": {string(action)}}),
		form(url.Values{"ssl_check": {"1"}}),
		{2, []byte("plain text")},
	}
	for i := range 3 {
		seeds = append(seeds, msg(fmt.Sprint("EvX", i), fmt.Sprintf("1700000001.%06d", i), strings.Repeat("Producer module 'A' ", i*50)))
	}
	return seeds
}
