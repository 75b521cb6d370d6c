package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/botproc"
	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
)

// The fault tests run `upgradebot run` as a real process (built once with
// go build into a temporary directory), each with a redis-server of its
// own on a free loopback port and the fake Slack Web API. They take about
// a minute, so plain `go test ./...` skips them: set UPGRADEBOT_FAULTS=1
// (.ci/run does).

const (
	faultSecret = "fault-test-signing-secret-5a5b"
	faultToken  = "xoxb-fault-test"
	faultUser   = "U0ANA"
)

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func cleanupBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// faultsOn skips the test unless UPGRADEBOT_FAULTS is set; with it set,
// a missing redis-server fails the test.
func faultsOn(t *testing.T) {
	t.Helper()
	if os.Getenv("UPGRADEBOT_FAULTS") == "" {
		t.Skip("fault test with real processes: set UPGRADEBOT_FAULTS=1 (.ci/run does)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("the fault tests need redis-server on PATH (apt-get install redis-server)")
	}
}

func botBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "upgradebot-faults-*"); built.err == nil {
			built.bin, built.err = botproc.Build(built.dir)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// rig is one bot process with its Redis and fake Slack.
type rig struct {
	t      *testing.T
	fake   *slackfake.Server
	redis  *redistest.Server
	bot    *botproc.Bot
	prefix string
	client *http.Client
	cfg    botproc.Config // how bot was started: next starts another the same way
}

type rigOptions struct {
	// apiURL, when set, is the Web API URL the bot uses (a proxy in front of the fake).
	apiURL func(fake *slackfake.Server) string
	// redisURL, when set, is the REDIS_URL the bot uses (a proxy in front of red).
	redisURL func(red *redistest.Server) string
	env      map[string]string
	// dataFile, when set, makes the bot use the embedded store in that file instead of Redis.
	dataFile string
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	bin := botBinary(t)
	red := redistest.Start(t)
	fake := slackfake.New(t)
	fake.BotToken = faultToken
	apiURL := fake.APIURL()
	if o.apiURL != nil {
		apiURL = o.apiURL(fake)
	}
	redisURL := red.URL(1)
	if o.redisURL != nil {
		redisURL = o.redisURL(red)
	}
	r := &rig{t: t, fake: fake, redis: red, prefix: "fault", client: &http.Client{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.cfg = botproc.Config{Bin: bin, BotToken: faultToken, Secret: faultSecret,
		APIURL: apiURL, RedisURL: redisURL, Prefix: r.prefix, Env: o.env}
	if o.dataFile != "" {
		r.cfg.RedisURL = ""
		r.cfg.Env = map[string]string{"UPGRADEBOT_DATA": o.dataFile}
		for k, v := range o.env {
			r.cfg.Env[k] = v
		}
	}
	r.startBot(ctx)
	return r
}

// startBot starts the bot process as r.cfg says (its log in a folder of
// its own) and makes it r.bot.
func (r *rig) startBot(ctx context.Context) {
	t := r.t
	t.Helper()
	cfg := r.cfg
	cfg.Dir = t.TempDir()
	b, err := botproc.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.bot = b
	t.Cleanup(func() {
		b.Kill()
		if t.Failed() {
			logs := b.Logs()
			if len(logs) > 20000 {
				logs = "…" + logs[len(logs)-20000:]
			}
			t.Logf("upgradebot's log (end):\n%s", logs)
		}
	})
}

// do sends a request to the bot and returns the status, body and latency.
func (r *rig) do(req *http.Request) (int, string, time.Duration) {
	r.t.Helper()
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), time.Since(start)
}

// message posts a signed message event and expects it acknowledged in under 3 s.
func (r *rig) message(channel, ts, text string) {
	r.t.Helper()
	body := slackfake.EventCallback("Ev"+strings.ReplaceAll(ts, ".", ""), slackfake.Message(channel, faultUser, ts, text))
	code, resp, lat := r.do(slackfake.EventRequest(r.bot.EventsURL(), faultSecret, body, 0))
	if code != http.StatusOK {
		r.t.Fatalf("message %s: %d %q", ts, code, resp)
	}
	if lat >= 3*time.Second {
		r.t.Errorf("message %s acknowledged after %v (Slack gives up at 3 s)", ts, lat)
	}
}

// slash sends "/upgrade text"; its response_url answers are r.responses(id).
func (r *rig) slash(channel, text, id string) {
	r.t.Helper()
	code, body, lat := r.do(slackfake.FormRequest(r.bot.EventsURL(), faultSecret, slackfake.SlashCommand(channel, faultUser, text, r.fake.ResponseURL(id), id)))
	if code != http.StatusOK {
		r.t.Fatalf("/upgrade %s: %d %q", truncate(text, 60), code, body)
	}
	if lat >= 3*time.Second {
		r.t.Errorf("/upgrade %s acknowledged after %v", truncate(text, 60), lat)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// posts are the chat.postMessage calls the fake answered ok, in channel
// (any when ""), in thread (for the channel when "-": at the top level or
// under a pinned status message, where announcements go; any when "").
func (r *rig) posts(channel, thread string) []slackfake.Call {
	pinned := map[string]bool{}
	for _, c := range r.fake.Calls("pins.add") {
		pinned[c.Field("timestamp")] = true
	}
	var out []slackfake.Call
	for _, c := range r.fake.Calls("chat.postMessage") {
		if ok, _ := c.Answer["ok"].(bool); !ok {
			continue
		}
		if channel != "" && c.Field("channel") != channel {
			continue
		}
		switch th := c.Field("thread_ts"); {
		case thread == "-" && th != "" && !pinned[th], thread != "" && thread != "-" && th != thread:
			continue
		}
		out = append(out, c)
	}
	return out
}

// answeredOnce counts the pasted errors answered by no reply in their
// thread, and those answered by more than one.
func (r *rig) answeredOnce(pastes []load.Pasted) (missing, dup int) {
	perThread := map[string]int{}
	for _, c := range r.posts("", "") {
		perThread[c.Field("channel")+"/"+c.Field("thread_ts")]++
	}
	for _, p := range pastes {
		switch n := perThread[p.Channel+"/"+p.TS]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	return missing, dup
}

// responses are the calls to the response_url of id.
func (r *rig) responses(id string) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range r.fake.Calls("response_url") {
		if c.Path == "/response/"+id {
			out = append(out, c)
		}
	}
	return out
}

// waitFor polls cond until it holds or bound passes.
func (r *rig) waitFor(what string, bound time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("waited %v for %s", bound, what)
		}
		if !r.bot.Running() {
			r.t.Fatalf("upgradebot exited while waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// handled: at least n message events were received, and no work is held
// (a message is diagnosed before its ack; one with an answer is held until
// its job ran).
func (r *rig) handled(n int) bool {
	events, err := r.bot.Metric("upgradebot_slack_events_total", "type", "message")
	held, err2 := r.bot.Metric("upgradebot_work_queue_depth")
	return err == nil && err2 == nil && int(events) >= n && held == 0
}

// track makes channel follow env and waits for the announcement.
func (r *rig) track(channel, env string) {
	r.t.Helper()
	before := len(r.posts(channel, "-"))
	r.slash(channel, "track "+env, "track-"+channel+"-"+env)
	r.waitFor("the track announcement in "+channel, 30*time.Second, func() bool { return len(r.posts(channel, "-")) > before })
}

// store opens the bot's tracking data.
func (r *rig) store() progress.Store {
	r.t.Helper()
	s, err := progress.OpenRedisURL(r.redis.URL(1), progress.RedisOptions{Prefix: r.prefix})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { s.Close() })
	return s
}

// modules are the names on env's list in the bot's store.
func (r *rig) modules(env string) map[string]bool {
	r.t.Helper()
	st, err := r.store().Status(context.Background(), "T0FAKE", env, -1)
	if err != nil {
		r.t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range st.Modules {
		have[m.Name] = true
	}
	return have
}

// readiness returns /readyz's status code and "status" field.
func (r *rig) readiness() (int, string) {
	code, body, err := r.bot.Ready()
	if err != nil {
		return 0, err.Error()
	}
	var rd struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(body), &rd)
	return code, rd.Status
}

// text is what a reply says: fallback text and blocks, with encoding/json's HTML escapes undone.
func text(c slackfake.Call) string {
	s := c.Field("text") + "\n" + c.Field("blocks")
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

// producerPaste is a pasted error naming module.
func producerPaste(module string) string {
	return fmt.Sprintf("Old Producer: Producer module '%s' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more details or try to publish '%s'.", module, module)
}
