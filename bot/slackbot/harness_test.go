package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/metrics"
	"github.com/upgradebot/upgradebot/progress"
)

const (
	secret   = "8f742231b10e8888abcd99yyyzzz85a5"
	botToken = "xoxb-test-token"
	appToken = "xapp-test-token"
	channel  = "C0UPGRADE"
	ana      = "U0ANA"
)

// producerPaste is an error as pasted in Slack.
const producerPaste = "Old Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more details or try to publish 'Billing_CS'."

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// faultyStore breaks Ping, Claim or the journal's Append on demand, holds
// Append (a slow store) until journalHeld is closed or PutValue of keys
// with a prefix until valueHeld's channel is, and tells onClaim of each claim.
type faultyStore struct {
	progress.Store
	pingFails    atomic.Bool
	claimFails   atomic.Bool
	journalFails atomic.Bool
	journalHeld  atomic.Pointer[chan struct{}]
	valueHeld    atomic.Pointer[heldValues]
	onClaim      atomic.Pointer[func(key string, ok bool)]

	mu       sync.Mutex
	appended []string // event ids journaled, in order
	payloads [][]byte // and their payloads
	// ttls are, by claim key, the ttl of its last Claim and of its last Renew.
	ttls map[string][2]time.Duration
}

func (f *faultyStore) noteTTL(key string, i int, ttl time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ttls == nil {
		f.ttls = map[string][2]time.Duration{}
	}
	t := f.ttls[key]
	t[i] = ttl
	f.ttls[key] = t
}

// claimTTLs are key's last Claim and Renew ttls (0: none).
func (f *faultyStore) claimTTLs(key string) (claim, renew time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ttls[key][0], f.ttls[key][1]
}

func (f *faultyStore) Append(ctx context.Context, consumer string, e progress.Entry) (string, error) {
	if f.journalFails.Load() {
		return "", progress.ErrUnavailable
	}
	if held := f.journalHeld.Load(); held != nil {
		select {
		case <-*held:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	id, err := f.Store.Append(ctx, consumer, e)
	if err == nil {
		f.mu.Lock()
		f.appended = append(f.appended, e.EventID)
		f.payloads = append(f.payloads, e.Payload)
		f.mu.Unlock()
	}
	return id, err
}

// journaled returns the event ids journaled so far, in order.
func (f *faultyStore) journaled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.appended)
}

func (f *faultyStore) Ping(ctx context.Context) error {
	if f.pingFails.Load() {
		return progress.ErrUnavailable
	}
	return f.Store.Ping(ctx)
}

func (f *faultyStore) Claim(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	if f.claimFails.Load() {
		return false, progress.ErrUnavailable
	}
	f.noteTTL(key, 0, ttl)
	ok, err := f.Store.Claim(ctx, ws, key, token, ttl)
	if fn := f.onClaim.Load(); fn != nil && err == nil {
		(*fn)(key, ok)
	}
	return ok, err
}

// heldValues are the keys whose PutValue (or PutValues) waits until released is closed.
type heldValues struct {
	prefix   string
	released chan struct{}
}

func (f *faultyStore) PutValue(ctx context.Context, ws, key string, value []byte, ttl time.Duration) error {
	if h := f.valueHeld.Load(); h != nil && strings.HasPrefix(key, h.prefix) {
		<-h.released
	}
	return f.Store.PutValue(ctx, ws, key, value, ttl)
}

func (f *faultyStore) PutValues(ctx context.Context, ws string, puts ...progress.Put) error {
	if h := f.valueHeld.Load(); h != nil && slices.ContainsFunc(puts, func(p progress.Put) bool { return strings.HasPrefix(p.Key, h.prefix) }) {
		<-h.released
	}
	return f.Store.PutValues(ctx, ws, puts...)
}

func (f *faultyStore) Renew(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	if f.claimFails.Load() {
		return false, progress.ErrUnavailable
	}
	f.noteTTL(key, 1, ttl)
	return f.Store.Renew(ctx, ws, key, token, ttl)
}

type harness struct {
	t       *testing.T
	fake    *slackfake.Server
	app     *App
	core    *bot.Bot
	store   *faultyStore
	metrics *metrics.Metrics
	base    string // http://127.0.0.1:port
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan error
}

type setup struct {
	mode   Mode
	fake   *slackfake.Server // shared fake (replicas)
	store  progress.Store    // shared store (replicas); nil: a fresh embedded one
	wrap   func(*bot.Bot) Core
	engine bot.Diagnoser // nil: the built-in knowledge base
	opts   func(*Options)
	api    func(*APIOptions)
	noWait bool
}

// start runs the transport against a fake Slack and waits until it is ready.
func start(t *testing.T, s setup) *harness {
	t.Helper()
	fake := s.fake
	if fake == nil {
		fake = slackfake.New(t)
		fake.BotToken, fake.AppToken = botToken, appToken
	}
	store := s.store
	if store == nil {
		bs, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bs.Close() })
		store = bs
	}
	fs := &faultyStore{Store: store}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New()
	ao := APIOptions{BotToken: botToken, AppToken: appToken, URL: fake.APIURL(), Logger: logger, Metrics: m, Backoff: 50 * time.Millisecond}
	if s.api != nil {
		s.api(&ao)
	}
	api := NewAPI(ao)
	var engine bot.Diagnoser = diagnosis.New(diagnosis.Builtin())
	if s.engine != nil {
		engine = s.engine
	}
	core := bot.New(bot.Options{Engine: engine, Store: fs, Logger: logger, Metrics: m, Membership: api})
	var c Core = core
	if s.wrap != nil {
		c = s.wrap(core)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Mode: s.mode, Core: c, API: api, Store: fs, SigningSecret: secret, Listener: ln,
		Logger: logger, Metrics: m, MetricsHandler: m.Handler(), ShutdownTimeout: 5 * time.Second,
		ReconnectBackoff: 50 * time.Millisecond, PingInterval: 5 * time.Second,
	}
	if s.opts != nil {
		s.opts(&o)
	}
	app, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, fake: fake, app: app, core: core, store: fs, metrics: m, base: "http://" + ln.Addr().String(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- app.Run(ctx) }()
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	if !s.noWait {
		h.waitReady(http.StatusOK)
	}
	return h
}

// stop cancels Run and returns its error (nil after the first call).
func (h *harness) stop() error {
	h.cancel()
	select {
	case err, ok := <-h.done:
		if ok {
			close(h.done)
		}
		return err
	case <-time.After(15 * time.Second):
		h.t.Fatal("Run did not return within 15 s of its context being cancelled")
		return nil
	}
}

// readyz returns /readyz's status and body.
func (h *harness) readyz() (int, Readiness) {
	h.t.Helper()
	resp, err := http.Get(h.base + "/readyz")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		h.t.Fatalf("/readyz body: %v", err)
	}
	return resp.StatusCode, r
}

func (h *harness) waitReady(status int) Readiness {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, r := h.readyz()
		if code == status {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("/readyz stayed %d %+v, want %d", code, r, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitJobs waits until n requests have been worked on in all, and nothing is pending.
func (h *harness) waitJobs(n int64) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for h.app.lanes.completed.Load() < n || h.app.lanes.pending() > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("%d of %d requests handled (%d pending)", h.app.lanes.completed.Load(), n, h.app.lanes.pending())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// do sends a request to the transport's HTTP server.
func (h *harness) do(req *http.Request) (int, string) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (h *harness) events() string { return h.base + "/slack/events" }

// postEvent delivers an Events API callback over HTTP and expects 200.
func (h *harness) postEvent(eventID string, ev map[string]any, retry int) {
	h.t.Helper()
	if code, body := h.do(slackfake.EventRequest(h.events(), secret, slackfake.EventCallback(eventID, ev), retry)); code != http.StatusOK {
		h.t.Fatalf("event %s: %d %s", eventID, code, body)
	}
}

// track makes the channel follow prod, as "/upgrade track prod" would.
func (h *harness) track(env string) {
	h.t.Helper()
	resp := h.core.HandleCommand(context.Background(), bot.Command{Workspace: slackfake.TeamID, Channel: channel, User: ana, ID: "setup-" + env, Text: "track " + env})
	if resp.Announce.Empty() {
		h.t.Fatalf("track %s: %+v", env, resp)
	}
}

// pastedReply makes the channel follow prod, pastes producerPaste there as
// eventID at ts, and returns the bot's reply to it.
func (h *harness) pastedReply(eventID, ts string) slackfake.Call {
	h.t.Helper()
	h.track("prod")
	h.postEvent(eventID, slackfake.Message(channel, ana, ts, producerPaste), 0)
	h.waitJobs(1)
	return h.fake.Calls("chat.postMessage")[0]
}

// counter reads a counter of the metrics.
func (h *harness) counter(name string, labels ...string) float64 {
	h.t.Helper()
	return counterValue(h.t, h.metrics, name, labels...)
}

// counterValue sums a counter's series that have the given label pairs.
func counterValue(t *testing.T, m *metrics.Metrics, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// buttons returns the buttons (action_id → value) of Block Kit JSON.
func buttons(t *testing.T, blocksJSON string) map[string]string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", blocksJSON, err)
	}
	out := map[string]string{}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.Type == "button" {
				out[e.ActionID] = e.Value
			}
		}
	}
	return out
}

// marker posts a message the bot answers (in thread ts) and waits until
// it is answered and no work is left. A request is refused, or its work
// queued, before it is acknowledged: what earlier requests did not cause
// by then, they never will.
func (h *harness) marker(eventID, ts string) {
	h.t.Helper()
	h.postEvent(eventID, slackfake.Message(channel, ana, ts, "There was an error preparing your modules."), 0)
	for _, p := range h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage") {
		if p.Field("thread_ts") == ts {
			h.waitJobs(1)
			return
		}
	}
	h.t.Fatalf("the marker message %s was not answered first: %v", ts, h.fake.Calls("chat.postMessage"))
}

// decoded undoes the HTML-safe escapes of encoding/json (\u003c for <), so
// Block Kit JSON can be searched for what Slack will read.
func decoded(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	s = decoded(s)
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func errorsIsGone(err error) bool { return errors.Is(err, bot.ErrChannelGone) }

// panickingCore panics on a message that ends in "boom" (one the bot
// would answer, so it reaches the core).
type panickingCore struct{ *bot.Bot }

func (p panickingCore) Answer(ctx context.Context, r *bot.Reading) bot.Response {
	if strings.HasSuffix(r.Message().Text, "boom") {
		panic("boom")
	}
	return p.Bot.Answer(ctx, r)
}
