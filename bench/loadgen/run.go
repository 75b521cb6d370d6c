package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/upgradebot/upgradebot/bench/internal/botproc"
	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/internal/redistest"
)

const secret = "load-test-signing-secret-8f742231b10e"

var self = os.Getpid()

// spec is one run: rounds of load on a fresh bot, with the floor measured
// before each round and after the last (the machine's other work changes
// over minutes, so every round has a floor on each side).
type spec struct {
	name        string
	rate        float64 // events/s; 0: as fast as possible
	duration    time.Duration
	rounds      int
	floor       bool
	concurrency int
}

// floorRun is the same load against the no-op server.
type floorRun struct {
	res *load.Result
	cpu time.Duration // the load tool and the no-op server
}

// round is one round of load on the bot; drained is the time from its
// first send until every event it got acknowledged was handled.
type round struct {
	bot     *load.Result
	drained time.Duration
}

type memSample struct {
	at  time.Duration // since the load started
	rss int           // bytes
}

// botRun is what a run measured.
type botRun struct {
	spec
	rounds  []round
	floors  []floorRun // before each round and after the last; none without floors
	load    *load.Result
	drained time.Duration
	// Pasted errors acknowledged (first deliveries), those answered by no
	// reply or more than one, and the replies posted (setup excluded).
	expected, missing, duplicated, replies int
	memory                                 []memSample
	peakRSS                                int // VmHWM at the end, bytes
	exitCode                               int
	stopTime                               time.Duration
	// CPU from the first send until everything was handled: the bot, its
	// Redis, and the load tool with the fake Slack in it.
	cpuBot, cpuRedis, cpuTool time.Duration
	note                      string
}

// toolTB lets the tool start slackfake, which takes a testing.TB and
// outside its wait helpers (unused here) only registers its Close.
type toolTB struct{ testing.TB }

func (toolTB) Cleanup(func()) {}

// runBot runs the load of s against a fresh `upgradebot run` with the fake
// Slack Web API and Redis, then checks every pasted error was answered once.
func runBot(ctx context.Context, bin, dir string, red *redistest.Server, s spec) (*botRun, error) {
	fake := slackfake.New(toolTB{})
	defer fake.Close()
	fake.BotToken = "xoxb-load"
	b, err := botproc.Start(ctx, botproc.Config{Bin: bin, Dir: dir, BotToken: fake.BotToken, Secret: secret,
		APIURL: fake.APIURL(), RedisURL: red.URL(1), Prefix: fmt.Sprintf("load%d", time.Now().UnixNano())})
	if err != nil {
		return nil, err
	}
	defer b.Kill()
	run := &botRun{spec: s}

	// Half the channels follow an environment: their pasted errors are recorded.
	const tracked = 10
	for i, ch := range load.Channels()[:tracked] {
		id := fmt.Sprint("setup-", i)
		req := slackfake.FormRequest(b.EventsURL(), secret, slackfake.SlashCommand(ch, "U0USER00", fmt.Sprintf("track env%02d 11.31.0", i), fake.ResponseURL(id), id))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("setting up channel %s: %w", ch, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("setting up channel %s: %s", ch, resp.Status)
		}
	}
	if err := waitFor(ctx, 20*time.Second, func() bool { return len(okPosts(fake)) >= tracked }); err != nil {
		return nil, fmt.Errorf("the %d channels to track were not announced: %w\n%s", tracked, err, b.Logs())
	}
	setupPosts := len(okPosts(fake))

	var mu sync.Mutex
	start := time.Now()
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() { // the bot's memory, once a second
		defer close(samplerDone)
		for t := time.NewTicker(time.Second); ; {
			if st, err := status(b.PID); err == nil {
				mu.Lock()
				run.memory = append(run.memory, memSample{time.Since(start), int(st.VmRSS)})
				mu.Unlock()
			}
			select {
			case <-stopSampler:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	defer func() {
		select {
		case <-samplerDone:
		default:
			close(stopSampler)
			<-samplerDone
		}
	}()

	fmt.Fprintf(os.Stderr, "  %s: %s of load …\n", s.name, s.duration)
	roundLen := s.duration / time.Duration(s.rounds)
	opts := func(url string, round int) load.Options {
		return load.Options{URL: url, Secret: secret, Rate: s.rate, Duration: roundLen, Concurrency: s.concurrency,
			ErrorShare: 0.05, RedeliverShare: 0.01, Round: round}
	}
	floor := func(int) error { return nil }
	if s.floor {
		target, stopNoop, err := load.NoopServer()
		if err != nil {
			return nil, err
		}
		defer stopNoop()
		floor = func(round int) error {
			c := cpuTime(self)
			res, err := load.Run(ctx, opts(target, round))
			if err == nil {
				run.floors = append(run.floors, floorRun{res, cpuTime(self) - c})
			}
			return err
		}
	}
	if err := floor(0); err != nil {
		return nil, err
	}
	var bots []*load.Result
	acked := 0
	for i := range s.rounds {
		bot0, redis0, tool0 := cpuTime(b.PID), cpuTime(red.PID()), cpuTime(self)
		res, err := load.Run(ctx, opts(b.EventsURL(), i+1))
		if err != nil {
			return nil, err
		}
		acked += res.Acked
		// Every acknowledged message event is handled once; wait until all were.
		bound := max(2*time.Minute, 2*roundLen)
		err = waitFor(ctx, bound, func() bool {
			n, err := b.Metric("upgradebot_handler_duration_seconds", "kind", "message")
			return err == nil && int(n) >= acked
		})
		if err != nil && run.note == "" {
			run.note = fmt.Sprintf("not every acknowledged event was handled within %v", bound)
		}
		run.rounds = append(run.rounds, round{res, time.Since(res.Start)})
		run.drained += time.Since(res.Start)
		run.cpuBot += cpuTime(b.PID) - bot0
		run.cpuRedis += cpuTime(red.PID()) - redis0
		run.cpuTool += cpuTime(self) - tool0
		bots = append(bots, res)
		if err := floor(i + 1); err != nil {
			return nil, err
		}
	}
	close(stopSampler)
	<-samplerDone
	run.load = load.Merge(bots...)
	if st, err := status(b.PID); err == nil {
		run.peakRSS = int(st.VmHWM)
	}

	// Exactly once: one reply in the thread of each pasted error.
	posts := okPosts(fake)
	run.replies = len(posts) - setupPosts
	perThread := map[string]int{}
	for _, c := range posts {
		if ts := c.Field("thread_ts"); ts != "" {
			perThread[c.Field("channel")+"/"+ts]++
		}
	}
	run.expected = len(run.load.Pastes)
	for _, p := range run.load.Pastes {
		switch n := perThread[p.Channel+"/"+p.TS]; {
		case n == 0:
			run.missing++
		case n > 1:
			run.duplicated++
		}
	}
	stopAt := time.Now()
	run.exitCode, err = b.Stop(15 * time.Second)
	run.stopTime = time.Since(stopAt)
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

// waitFor polls cond (a state of another process) until it holds.
func waitFor(ctx context.Context, bound time.Duration, cond func() bool) error {
	for deadline := time.Now().Add(bound); !cond(); {
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

// cpuTime is the user and system CPU time a process used so far.
func cpuTime(pid int) time.Duration {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0
	}
	st, err := p.Stat()
	if err != nil {
		return 0
	}
	return time.Duration(st.CPUTime() * float64(time.Second))
}

func status(pid int) (procfs.ProcStatus, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStatus{}, err
	}
	return p.NewStatus()
}
