// Package scenario runs one load measurement: `upgradebot run` (a real
// process, HTTP mode) with Redis and the fake Slack Web API, under the load
// of package load, or the same load against the no-op floor server; then
// it checks that every pasted error was answered exactly once.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/botproc"
	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// Secret is the signing secret of the runs.
const Secret = "load-test-signing-secret-8f742231b10e"

// Env is what the runs share: the binary, a scratch directory and Redis.
type Env struct {
	Bin string
	Dir string
	// Redis is a private redis-server (flushed before each run); when nil,
	// RedisURL is used with a unique key prefix per run.
	Redis    *botproc.Redis
	RedisURL string
	// RedisQuery is added to the bot's REDIS_URL (e.g. "protocol=2").
	RedisQuery string
	Log        io.Writer // progress lines; nil: none
}

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

// Spec is one run.
type Spec struct {
	Name        string
	Rate        float64 // 0: as fast as possible
	Duration    time.Duration
	Concurrency int
	Tracked     int // channels (of 20) following an environment; 0 means 10
	// Rounds splits Duration into rounds of load on the bot (1 to 9; 0 means 1).
	Rounds int
	// Floor runs the same load against the no-op server before each
	// round and after the last, so every round has a floor on each side
	// (the machine's other work changes over minutes).
	Floor bool
}

// MemSample is the bot's resident memory at a time of the run.
type MemSample struct {
	At  time.Duration // since the load started
	RSS int64         // KiB
}

// Round is one round of load on the bot and the floors around it.
type Round struct {
	Bot *load.Result
	// Drained is the time from the round's first send until every event
	// it got acknowledged was handled (the work queue empty again).
	Drained       time.Duration
	Before, After *FloorRun // nil without floors
}

// BotRun is what a run against the bot measured.
type BotRun struct {
	Spec   Spec
	Rounds []Round
	Load   *load.Result // the rounds' bot runs merged
	// Drained is the rounds' drain times added up.
	Drained time.Duration
	// Handled is acknowledged events per second, counted until they were all handled.
	Handled    float64
	Replies    int // chat.postMessage calls answered ok (setup announcements excluded)
	Expected   int // pasted errors acknowledged (first deliveries)
	Missing    int // of those, answered by no reply
	Duplicated int // of those, answered more than once
	Memory     []MemSample
	PeakRSS    int64 // VmHWM at the end, KiB
	ExitCode   int
	StopTime   time.Duration
	Metrics    map[string]float64
	Note       string
	// CPU used from the first send until everything was handled: the bot,
	// the Redis server (when it is the tool's own), and the load tool with
	// the fake Slack in it.
	CPUBot, CPURedis, CPUTool time.Duration
}

// FloorRun is what a run against the no-op server measured.
type FloorRun struct {
	Load    *load.Result
	CPUTool time.Duration // the load tool and the no-op server
}

// Flatness compares the bot's memory late in the run with early on: the
// average RSS of the last minute over that of the second minute (runs of
// three minutes or more), else of the last quarter over the second
// quarter. 1.0 is flat.
func (r *BotRun) Flatness() (ratio float64, what string) {
	d := r.Spec.Duration
	var aFrom, aTo, bFrom time.Duration
	if d >= 3*time.Minute {
		aFrom, aTo, bFrom = time.Minute, 2*time.Minute, d-time.Minute
		what = "last minute / second minute"
	} else {
		aFrom, aTo, bFrom = d/4, d/2, d*3/4
		what = "last quarter / second quarter"
	}
	avg := func(from, to time.Duration) float64 {
		var sum float64
		n := 0
		for _, s := range r.Memory {
			if s.At >= from && s.At < to {
				sum += float64(s.RSS)
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	a, b := avg(aFrom, aTo), avg(bFrom, d)
	if a == 0 {
		return 0, what
	}
	return b / a, what
}

// Bot runs the load against a fresh `upgradebot run`.
func Bot(ctx context.Context, e *Env, s Spec) (*BotRun, error) {
	if s.Tracked <= 0 {
		s.Tracked = 10
	}
	fake, stopFake := botproc.NewFakeSlack()
	defer stopFake()
	fake.BotToken = "xoxb-load"
	redisURL, prefix := e.RedisURL, fmt.Sprintf("upgradebot-load-%d", time.Now().UnixNano())
	if e.Redis != nil {
		if err := e.Redis.FlushAll(); err != nil {
			return nil, err
		}
		redisURL = e.Redis.URL(0)
	}
	if e.RedisQuery != "" {
		sep := "?"
		if strings.Contains(redisURL, "?") {
			sep = "&"
		}
		redisURL += sep + e.RedisQuery
	}
	dir, err := os.MkdirTemp(e.Dir, "run-*")
	if err != nil {
		return nil, err
	}
	b, err := botproc.Start(ctx, botproc.Config{Bin: e.Bin, Dir: dir, BotToken: "xoxb-load", Secret: Secret,
		APIURL: fake.APIURL(), RedisURL: redisURL, Prefix: prefix})
	if err != nil {
		return nil, err
	}
	defer b.Kill()
	if e.Redis == nil {
		defer cleanupPrefix(redisURL, prefix)
	}
	run := &BotRun{Spec: s, Metrics: map[string]float64{}}

	// Half the channels follow an environment: their pasted errors are recorded.
	channels := load.DefaultChannels()
	for i := range s.Tracked {
		form := slackfake.SlashCommand(channels[i], "U0USER00", fmt.Sprintf("track env%02d 11.31.0", i), fake.ResponseURL(fmt.Sprint("setup", i)), fmt.Sprint("trigger-setup-", i))
		code, body, err := load.SignedForm(ctx, b.EventsURL(), Secret, form)
		if err != nil || code != 200 {
			return nil, fmt.Errorf("setting up channel %s: %d %s %v", channels[i], code, body, err)
		}
	}
	if err := waitFor(ctx, 20*time.Second, func() bool { return len(okPosts(fake)) >= s.Tracked }); err != nil {
		return nil, fmt.Errorf("the %d channels to track were not announced: %w\n%s", s.Tracked, err, b.Logs())
	}
	setupPosts := len(okPosts(fake))

	// Memory, once a second.
	samplerDone := make(chan struct{})
	stopSampler := make(chan struct{})
	var memMu sync.Mutex
	start := time.Now()
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if m, err := b.Memory(); err == nil {
				memMu.Lock()
				run.Memory = append(run.Memory, MemSample{At: time.Since(start), RSS: m.RSS})
				memMu.Unlock()
			}
			select {
			case <-stopSampler:
				return
			case <-t.C:
			}
		}
	}()

	e.logf("  %s: %s of load at %s …", s.Name, s.Duration, rateText(s.Rate))
	cpu := func() (bot, rds, tool time.Duration) {
		bot, _ = botproc.ProcCPU(b.PID)
		if e.Redis != nil {
			rds, _ = botproc.ProcCPU(e.Redis.PID())
		}
		return bot, rds, botproc.SelfCPU()
	}
	rounds := min(max(s.Rounds, 1), 9)
	roundLen := s.Duration / time.Duration(rounds)
	var floor func(round int) (*FloorRun, error)
	if s.Floor {
		target, stopNoop, err := load.NoopServer()
		if err != nil {
			return nil, err
		}
		defer stopNoop()
		floor = func(round int) (*FloorRun, error) {
			c := botproc.SelfCPU()
			res, err := load.Run(ctx, load.Options{URL: target, Secret: Secret, Rate: s.Rate, Duration: roundLen,
				Concurrency: s.Concurrency, ErrorShare: 0.05, RedeliverShare: 0.01, Channels: channels, Round: round})
			if err != nil {
				return nil, err
			}
			return &FloorRun{Load: res, CPUTool: botproc.SelfCPU() - c}, nil
		}
	}
	var prev *FloorRun
	if floor != nil {
		if prev, err = floor(0); err != nil {
			return nil, err
		}
	}
	acked := 0
	var drainErr error
	var bots []*load.Result
	for i := range rounds {
		bot0, rds0, tool0 := cpu()
		res, err := load.Run(ctx, load.Options{URL: b.EventsURL(), Secret: Secret, Rate: s.Rate, Duration: roundLen,
			Concurrency: s.Concurrency, ErrorShare: 0.05, RedeliverShare: 0.01, Channels: channels, Round: i + 1})
		if err != nil {
			close(stopSampler)
			<-samplerDone
			return nil, err
		}
		acked += res.Acked
		// Every acknowledged message event becomes one job; wait until all were handled.
		bound := max(2*time.Minute, 2*roundLen)
		err = waitFor(ctx, bound, func() bool {
			n, err := b.Metric("upgradebot_handler_duration_seconds_count", "kind", "message")
			return err == nil && int(n) >= acked
		})
		if err != nil && drainErr == nil {
			drainErr = fmt.Errorf("not every acknowledged event was handled within %v", bound)
		}
		r := Round{Bot: res, Drained: time.Since(res.Start), Before: prev}
		bot1, rds1, tool1 := cpu()
		run.CPUBot += bot1 - bot0
		run.CPURedis += rds1 - rds0
		run.CPUTool += tool1 - tool0
		if floor != nil {
			if prev, err = floor(i + 1); err != nil {
				return nil, err
			}
			r.After = prev
		}
		run.Rounds = append(run.Rounds, r)
		run.Drained += r.Drained
		bots = append(bots, res)
	}
	close(stopSampler)
	<-samplerDone
	res := load.Merge(bots...)
	run.Load = res
	if drainErr != nil {
		run.Note = drainErr.Error()
	}
	if s := run.Drained.Seconds(); s > 0 {
		run.Handled = float64(res.Acked) / s
	}
	if m, err := b.Memory(); err == nil {
		run.PeakRSS = m.HWM
	}
	for _, name := range []string{"upgradebot_store_errors_total", "upgradebot_slack_api_errors_total",
		"upgradebot_duplicates_suppressed_total", "upgradebot_replies_total"} {
		v, _ := b.Metric(name)
		run.Metrics[name] = v
	}

	// Exactly once: one reply in the thread of each pasted error.
	posts := okPosts(fake)
	run.Replies = len(posts) - setupPosts
	perThread := map[string]int{}
	for _, c := range posts {
		if ts := c.Field("thread_ts"); ts != "" {
			perThread[c.Field("channel")+"/"+ts]++
		}
	}
	run.Expected = len(res.Pastes)
	for _, p := range res.Pastes {
		switch n := perThread[p.Channel+"/"+p.TS]; {
		case n == 0:
			run.Missing++
		case n > 1:
			run.Duplicated++
		}
	}
	stopAt := time.Now()
	code, err := b.Stop(15 * time.Second)
	run.StopTime = time.Since(stopAt)
	run.ExitCode = code
	if err != nil {
		return run, fmt.Errorf("stopping the bot: %w", err)
	}
	return run, nil
}

// okPosts are the chat.postMessage calls the fake answered ok.
func okPosts(fake *slackfake.Server) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range fake.Calls("chat.postMessage") {
		if ok, _ := c.Answer["ok"].(bool); ok {
			out = append(out, c)
		}
	}
	return out
}

func waitFor(ctx context.Context, bound time.Duration, cond func() bool) error {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "the maximum rate"
	}
	return fmt.Sprintf("%.0f events/s", r)
}

// cleanupPrefix deletes a run's keys from a shared Redis.
func cleanupPrefix(redisURL, prefix string) {
	u, err := url.Parse(redisURL)
	if err != nil {
		return
	}
	_ = deleteKeys(u, prefix+":*")
}

// NewEnv builds the binary (unless bin is given) and starts a private
// redis-server (unless redisURL is given) in a new directory under base.
func NewEnv(base, bin, redisURL string, log io.Writer) (*Env, func(), error) {
	dir, err := os.MkdirTemp(base, "upgradebot-bench-*")
	if err != nil {
		return nil, nil, err
	}
	e := &Env{Dir: dir, RedisURL: redisURL, Log: log}
	cleanup := func() { os.RemoveAll(dir) }
	if bin == "" {
		e.logf("building ./cmd/upgradebot …")
		if bin, err = botproc.Build(dir); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	e.Bin = bin
	if redisURL == "" {
		if !botproc.HaveRedisServer() {
			cleanup()
			return nil, nil, errors.New("no redis-server on PATH: install it, or give -redis-url redis://127.0.0.1:6379/8 (a unique key prefix is used and deleted after)")
		}
		rdir := filepath.Join(dir, "redis")
		if err := os.Mkdir(rdir, 0o755); err != nil {
			cleanup()
			return nil, nil, err
		}
		r, err := botproc.StartRedis(rdir)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		e.Redis = r
		e.logf("redis-server of its own on %s", r.Addr)
		cleanup = func() { r.Kill(); os.RemoveAll(dir) }
	} else if !strings.HasPrefix(redisURL, "redis://127.") && !strings.HasPrefix(redisURL, "redis://localhost") {
		cleanup()
		return nil, nil, fmt.Errorf("%s: only a Redis on loopback may be used", redisURL)
	}
	return e, cleanup, nil
}

// AckRate is acknowledged events per second while the bot was under load
// (the rounds' times added up).
func (r *BotRun) AckRate() float64 {
	var acked int
	var d time.Duration
	for _, rd := range r.Rounds {
		acked += rd.Bot.Acked
		d += rd.Bot.Elapsed()
	}
	if d <= 0 {
		return 0
	}
	return float64(acked) / d.Seconds()
}

// Floors are the floor runs, in order (none without floors).
func (r *BotRun) Floors() []*FloorRun {
	var out []*FloorRun
	for i, rd := range r.Rounds {
		if rd.Before != nil && i == 0 {
			out = append(out, rd.Before)
		}
		if rd.After != nil {
			out = append(out, rd.After)
		}
	}
	return out
}

// FloorLoad is the floor runs merged; nil without floors.
func (r *BotRun) FloorLoad() *load.Result {
	fs := r.Floors()
	if len(fs) == 0 {
		return nil
	}
	var rs []*load.Result
	for _, f := range fs {
		rs = append(rs, f.Load)
	}
	return load.Merge(rs...)
}

// FloorRate is the floors' acknowledged events per second (their times added up).
func (r *BotRun) FloorRate() float64 {
	var acked int
	var d time.Duration
	for _, f := range r.Floors() {
		acked += f.Load.Acked
		d += f.Load.Elapsed()
	}
	if d <= 0 {
		return 0
	}
	return float64(acked) / d.Seconds()
}

// FloorCPU is the load tool's CPU per request sent during the floor runs.
func (r *BotRun) FloorCPU() (time.Duration, int) {
	var c time.Duration
	n := 0
	for _, f := range r.Floors() {
		c += f.CPUTool
		n += f.Load.Sent
	}
	return c, n
}

// RoundRatios returns, for each round, f(bot) / the mean of f(floor before)
// and f(floor after); nil without floors.
func (r *BotRun) RoundRatios(f func(*load.Result) float64) []float64 {
	var out []float64
	for _, rd := range r.Rounds {
		if rd.Before == nil || rd.After == nil {
			return nil
		}
		fl := (f(rd.Before.Load) + f(rd.After.Load)) / 2
		if fl == 0 {
			continue
		}
		out = append(out, f(rd.Bot)/fl)
	}
	return out
}

// Median of a list (0 when empty).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
