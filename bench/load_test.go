package bench

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/upgradebot/upgradebot/bench/internal/load"
)

// The load tool: TestLoad measures `upgradebot run` in HTTP mode under
// Slack-like load on this machine and prints one Markdown table with the
// goals of docs/performance.md. Each run starts a fresh rig (the built bot,
// a redis-server of its own on a free loopback port, the fake Slack Web
// API) and sends correctly signed Events API requests on loopback — 94%
// ordinary chat, 5% pasted errors, 1% re-deliveries — measuring throughput,
// acknowledgement latency, errors, exactly-once answers, memory and CPU.
// The floor is the same requests sent to a no-op HTTP server in a process
// of its own, as the bot is (the test binary started again, see
// noopProcess), before each round and after the last, so every figure is a
// ratio within the same minutes; the same load on a no-op server inside the
// test's own process, the floor of runs before 2026-12-06 13:00, is
// measured beside it. It runs only when -load is given:
//
//	go test ./bench -run '^TestLoad$' -v -timeout 1h -load 30s                # about 7 minutes
//	go test ./bench -run '^TestLoad$' -v -timeout 1h -load 60s -load-rounds 4 -load-memory 5m
//	go test ./bench -run '^TestLoad$' -v -load 20s -load-rates max -load-rounds 2 -load-memory 0
//	go test ./bench -run '^TestLoad$' -v -load 20s -load-rates max -load-rounds 2 -load-memory 0 -load-pastes 0  # chat only
var (
	loadDuration = flag.Duration("load", 0, "TestLoad: load on the bot at each of -load-rates, split in -load-rounds (0: skip TestLoad)")
	loadRates    = flag.String("load-rates", "max,2000", `TestLoad: events per second of each run, comma-separated; "max": as fast as it goes`)
	loadRounds   = flag.Int("load-rounds", 3, "TestLoad: rounds of each run, with a run of the floor before each and after the last (1-9)")
	loadMemory   = flag.Duration("load-memory", 2*time.Minute, "TestLoad: then 1,000 events/s for this long, watching the bot's memory (the goal: 5m; 0: no such run)")
	loadConc     = flag.Int("load-concurrency", 0, "TestLoad: requests in flight; 0: 32 at the maximum rate, 96 at a fixed rate")
	loadPastes   = flag.Float64("load-pastes", 0.05, "TestLoad: the share of events that are pasted errors (0 to 0.5; 1% more are re-deliveries, the rest chat)")
)

// TestLoad fails when a request was not acknowledged with 200, a pasted
// error was not answered exactly once, or the bot did not exit 0 on
// SIGTERM; the speed goals are reported in the table, not asserted.
func TestLoad(t *testing.T) {
	if *loadDuration == 0 {
		t.Skip("the load measurement runs with -load DURATION (docs/performance.md)")
	}
	specs, err := plan(*loadRates, *loadDuration, *loadMemory, *loadRounds, *loadConc)
	if err != nil {
		t.Fatal(err)
	}
	if *loadPastes < 0 || *loadPastes > 0.5 {
		t.Fatalf("-load-pastes is 0 to 0.5, not %v", *loadPastes)
	}
	var runs []*botRun
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) { runs = append(runs, runLoad(t, s)) })
	}
	if t.Failed() {
		return
	}
	fmt.Printf("upgradebot under load, %s: %d cores (GOMAXPROCS %d), %s %s/%s; %.0f%% pasted errors\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, 100**loadPastes)
	if !table(os.Stdout, runs) {
		t.Error("see the table: not every request was acknowledged, not every pasted error answered once, or the bot did not exit 0")
	}
}

// plan turns the flags into runs.
func plan(rates string, d, memory time.Duration, rounds, conc int) ([]spec, error) {
	if d <= 0 || d > 30*time.Minute || memory < 0 || memory > 30*time.Minute {
		return nil, errors.New("-load and -load-memory are up to 30m")
	}
	if rounds < 1 || rounds > 9 || conc < 0 || conc > 99 {
		return nil, errors.New("-load-rounds is 1 to 9, -load-concurrency 0 to 99")
	}
	var specs []spec
	for _, r := range strings.Split(rates, ",") {
		s := spec{name: "the maximum rate", duration: d, rounds: rounds, floor: true, concurrency: conc}
		if r = strings.TrimSpace(r); r != "max" {
			v, err := strconv.ParseFloat(r, 64)
			if err != nil || v <= 0 || v > 100000 {
				return nil, fmt.Errorf(`-load-rates: %q is neither "max" nor a number of events per second up to 100000`, r)
			}
			s.rate, s.name = v, num(v)+" events/s"
		}
		specs = append(specs, s)
	}
	if memory > 0 {
		specs = append(specs, spec{name: "1,000 events/s (memory)", rate: 1000, duration: memory, rounds: 1, concurrency: conc})
	}
	return specs, nil
}

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

// floorRun is the same load against the no-op server process (res, the
// floor) and against a no-op server in the test's own process (inproc).
type floorRun struct {
	res, inproc *load.Result
	cpu         time.Duration // the load tool and the no-op server process, during res
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
	// reply or more than one, the replies posted and the posts under the
	// pinned status messages (setup excluded).
	expected, missing, duplicated, replies, announcements int
	memory                                                []memSample
	peakRSS                                               int // VmHWM at the end, bytes
	exitCode                                              int
	stopTime                                              time.Duration
	// CPU from the first send until everything was handled: the bot, its
	// Redis, and the load tool with the fake Slack in it.
	cpuBot, cpuRedis, cpuTool time.Duration
	calls                     map[string]int // Web API calls by method, setup excluded
}

// runLoad runs the load of s against a fresh rig, then checks that every
// pasted error was answered once.
func runLoad(t *testing.T, s spec) *botRun {
	r := newRig(t, rigOptions{})
	run := &botRun{spec: s}
	// Half the channels follow an environment: their pasted errors are recorded.
	for i, ch := range load.Channels()[:10] {
		r.track(ch, fmt.Sprintf("env%02d 11.31.0", i))
	}
	setupPosts := len(r.posts("", ""))
	setupCalls := len(r.fake.Calls())

	start := time.Now()
	stopSampler, samplerDone := make(chan struct{}), make(chan struct{})
	go func() { // the bot's memory, once a second; read after stopSampling
		defer close(samplerDone)
		for tick := time.NewTicker(time.Second); ; {
			if st, err := status(r.bot.PID); err == nil {
				run.memory = append(run.memory, memSample{time.Since(start), int(st.VmRSS)})
			}
			select {
			case <-stopSampler:
				tick.Stop()
				return
			case <-tick.C:
			}
		}
	}()
	stopSampling := sync.OnceFunc(func() { close(stopSampler); <-samplerDone })
	t.Cleanup(stopSampling)

	roundLen := s.duration / time.Duration(s.rounds)
	epoch := time.Now().Unix()
	opts := func(url string, round int) load.Options {
		return load.Options{URL: url, Secret: faultSecret, Rate: s.rate, Duration: roundLen, Concurrency: s.concurrency,
			ErrorShare: *loadPastes, RedeliverShare: 0.01, Round: round, Epoch: epoch}
	}
	send := func(url string, round int) *load.Result {
		res, err := load.Run(context.Background(), opts(url, round))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	floor := func(int) {}
	if s.floor {
		inproc, stopNoop, err := load.NoopServer()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stopNoop)
		target, pid := noopProcess(t)
		floor = func(round int) {
			c, n := cpuTime(self), cpuTime(pid)
			res := send(target, round)
			f := floorRun{res: res, cpu: cpuTime(self) - c + cpuTime(pid) - n}
			f.inproc = send(inproc, round)
			run.floors = append(run.floors, f)
		}
	}
	floor(0)
	var bots []*load.Result
	acked := 0
	for i := range s.rounds {
		bot0, redis0, tool0 := cpuTime(r.bot.PID), cpuTime(r.redis.PID()), cpuTime(self)
		res := send(r.bot.EventsURL(), i+1)
		acked += res.Acked
		// Every acknowledged message event is handled once (chat ends at the
		// ack, a paste once its job ran); wait until all were.
		r.waitFor("every acknowledged event handled", max(2*time.Minute, 2*roundLen), func() bool { return r.handled(acked) })
		run.rounds = append(run.rounds, round{res, time.Since(res.Start)})
		run.drained += time.Since(res.Start)
		run.cpuBot += cpuTime(r.bot.PID) - bot0
		run.cpuRedis += cpuTime(r.redis.PID()) - redis0
		run.cpuTool += cpuTime(self) - tool0
		bots = append(bots, res)
		floor(i + 1)
	}
	stopSampling()
	run.load = load.Merge(bots...)
	if st, err := status(r.bot.PID); err == nil {
		run.peakRSS = int(st.VmHWM)
	}
	// Announcements and milestones go under the pinned status messages;
	// every other post answers a message.
	pinned := map[string]bool{}
	for _, c := range r.fake.Calls("pins.add") {
		pinned[c.Field("timestamp")] = true
	}
	for _, c := range r.posts("", "")[min(setupPosts, len(r.posts("", ""))):] {
		if pinned[c.Field("thread_ts")] {
			run.announcements++
		} else {
			run.replies++
		}
	}
	run.calls = map[string]int{}
	for _, c := range r.fake.Calls()[setupCalls:] {
		run.calls[c.Method]++
	}
	run.expected = len(run.load.Pastes)
	run.missing, run.duplicated = r.answeredOnce(run.load.Pastes)
	stopAt := time.Now()
	code, err := r.bot.Stop(15 * time.Second)
	run.exitCode, run.stopTime = code, time.Since(stopAt)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

var self = os.Getpid()

// noopEnv makes the test binary the floor's no-op server (see TestMain).
const noopEnv = "UPGRADEBOT_BENCH_NOOP"

// noopProcess starts the test binary again as the floor's no-op HTTP server,
// a process of its own as the bot is, and returns its events URL and pid. It
// exits when its standard input closes: at the test's end, or when the test
// dies.
func noopProcess(t *testing.T) (string, int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), noopEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the no-op server process: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// serveNoop is the no-op server process: it prints its events URL and
// serves until its standard input closes.
func serveNoop() int {
	target, stop, err := load.NoopServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	fmt.Println(target)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
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

// table prints the runs' figures against the goals; false when a request
// was not acknowledged with 200, a pasted error went unanswered or was
// answered twice, or the bot did not exit 0.
func table(w io.Writer, runs []*botRun) bool {
	fmt.Fprintln(w, "| measure | upgradebot | floor (same run) | ratio | goal | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	row := func(cells ...string) { fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | ")) }
	var sent, failures, floorSent, floorFailures, expected, missing, dup, replies, announcements int
	var failText, peaks, exits []string
	ok := true
	for _, r := range runs {
		sent += r.load.Sent
		failures += r.load.FailureCount() + r.load.Unsent
		if f := failed(r.load); f != "" {
			failText = append(failText, r.name+": "+f)
		}
		expected, missing, dup, replies = expected+r.expected, missing+r.missing, dup+r.duplicated, replies+r.replies
		announcements += r.announcements
		peaks = append(peaks, mib(r.peakRSS)+" at "+r.name)
		exits = append(exits, fmt.Sprintf("%d in %s", r.exitCode, r.stopTime.Round(10*time.Millisecond)))
		ok = ok && r.exitCode == 0
		if len(r.floors) == 0 {
			flat, what := r.flatness()
			met := fmt.Sprintf("not judged (%s run; the goal is over 5m)", r.duration)
			if r.duration >= 5*time.Minute {
				met = yes(flat > 0 && flat <= 1.10)
			}
			row(fmt.Sprintf("bot memory flat at %s over %s: RSS, %s", r.name, r.duration, what),
				fmt.Sprintf("%.2f (%s → %s)", flat, mib(r.rssAt(0.25)), mib(r.rssAt(1))), "", "", "≤ 1.10 over 5m", met)
			// Reported, not asserted: the test fails only on a request not acknowledged.
			late := len(r.load.Latencies) - sort.Search(len(r.load.Latencies), func(i int) bool { return r.load.Latencies[i] > 3*time.Second })
			row(fmt.Sprintf("acknowledgement at %s over %s: p99 / max; acknowledged after more than 3 s", r.name, r.duration),
				fmt.Sprintf("%s / %s; %d of %s", ms(r.load.Quantile(0.99)), ms(r.load.Quantile(1)), late, num(float64(r.load.Acked))),
				"", "", "every one within 3 s", yes(late == 0 && r.load.Acked > 0))
			continue
		}
		fl := load.Merge(r.floorResults()...)
		for _, f := range append(r.floorResults(), r.inprocResults()...) {
			floorSent += f.Sent
			floorFailures += f.FailureCount() + f.Unsent
		}
		shape := fmt.Sprintf(" — %d rounds of %s, a floor run before each and after the last", len(r.rounds), r.duration/time.Duration(len(r.rounds)))
		if r.rate == 0 {
			handled := func(rd round) float64 { return float64(rd.bot.Acked) / rd.drained.Seconds() }
			hr := r.ratios(handled, (*load.Result).Throughput)
			row("event throughput at the maximum rate: events/s acknowledged *and handled* (until the work queue drained)"+shape,
				num(r.handled()), num(throughput(r.floorResults())), spread(hr, "%.2f"), "≥ 0.5", yes(median(hr) >= 0.5))
			ar := r.ratios(func(rd round) float64 { return rd.bot.Throughput() }, (*load.Result).Throughput)
			row("… events/s acknowledged only (the rest waits in the work queue)", num(throughput(r.botResults())),
				num(throughput(r.floorResults())), spread(ar, "%.2f"), "(≥ 0.5)", yes(median(ar) >= 0.5))
			inproc := r.inprocResults()
			row("… handled, against the floor of earlier runs: the no-op server inside the load tool's process", num(r.handled()),
				num(throughput(inproc)), spread(r.ratiosAgainst(inproc, handled, (*load.Result).Throughput), "%.2f"), "—", "")
			var own []float64
			for _, f := range r.floors {
				own = append(own, f.res.Throughput()/f.inproc.Throughput())
			}
			row("the no-op server in a process of its own, against the no-op server inside the load tool's process (what a separate server process costs)",
				num(throughput(r.floorResults())), num(throughput(inproc)), spread(own, "%.2f"), "—", "")
			row("acknowledgement p50 / p99 / max at the maximum rate", ms3(r.load), ms3(fl), "p99 "+spread(r.ratios(quantile(0.99)), "%.1f×"), "—", "")
		} else {
			p99 := r.ratios(quantile(0.99))
			row("acknowledgement p50 / p99 / max at "+r.name+shape, ms3(r.load), ms3(fl),
				"p99 "+spread(p99, "%.1f×")+", p50 "+spread(r.ratios(quantile(0.5)), "%.1f×"), "p99 ≤ 2×", yes(median(p99) <= 2))
			inproc := r.inprocResults()
			bq, fq := quantile(0.99)
			row("… against the floor of earlier runs: the no-op server inside the load tool's process", ms3(r.load), ms3(load.Merge(inproc...)),
				"p99 "+spread(r.ratiosAgainst(inproc, bq, fq), "%.1f×"), "—", "")
			row("events handled/s at "+r.name, num(r.handled()), "", "", num(r.rate), yes(r.handled() >= 0.95*r.rate))
		}
		fc, fn := time.Duration(0), 0
		for _, f := range r.floors {
			fc, fn = fc+f.cpu, fn+f.res.Sent
		}
		row("CPU per event at "+r.name+": bot / its Redis / load tool with the fake Slack (floor: load tool + no-op server process)",
			perEvent(r.cpuBot, r.load.Acked)+" / "+perEvent(r.cpuRedis, r.load.Acked)+" / "+perEvent(r.cpuTool, r.load.Sent), perEvent(fc, fn), "", "—", "")
	}
	fails := num(float64(failures)) + " of " + num(float64(sent))
	if len(failText) > 0 {
		fails += " (" + strings.Join(failText, "; ") + ")"
	}
	row("requests not acknowledged with 200 (all bot runs)", fails, num(float64(floorFailures))+" of "+num(float64(floorSent)), "", "0", yes(failures == 0))
	row("pasted errors answered exactly once (all bot runs)",
		fmt.Sprintf("%s of %s (%d missing, %d twice or more)", num(float64(expected-missing-dup)), num(float64(expected)), missing, dup),
		"", "", "all", yes(missing+dup == 0 && expected > 0))
	row("replies posted (all bot runs)", num(float64(replies)), "", "", "= pasted errors", yes(replies == expected))
	row("… and announcements and milestones under the pinned status messages", num(float64(announcements)), "", "", "—", "")
	row("Web API calls per pasted error (all bot runs)", perPaste(runs, expected), "", "", "—", "")
	row("bot peak memory (VmHWM)", strings.Join(peaks, ", "), "", "", "—", "")
	row("SIGTERM after each run: exit status and time", strings.Join(exits, ", "), "", "", "0", yes(ok))
	return ok && failures == 0 && missing+dup == 0
}

// perPaste lists the Web API calls of the runs by method, per pasted error,
// the most frequent first.
func perPaste(runs []*botRun, pastes int) string {
	n := map[string]int{}
	for _, r := range runs {
		for m, c := range r.calls {
			n[m] += c
		}
	}
	methods := slices.Collect(maps.Keys(n))
	slices.SortFunc(methods, func(a, b string) int { return cmp.Or(n[b]-n[a], strings.Compare(a, b)) })
	var out []string
	for _, m := range methods {
		out = append(out, fmt.Sprintf("%s %.2f", m, float64(n[m])/float64(max(pastes, 1))))
	}
	return strings.Join(out, ", ")
}

// quantile is a latency quantile of a round of the bot and of a floor, as ratios takes them.
func quantile(q float64) (func(round) float64, func(*load.Result) float64) {
	f := func(res *load.Result) float64 { return float64(res.Quantile(q)) }
	return func(rd round) float64 { return f(rd.bot) }, f
}

func (r *botRun) botResults() []*load.Result {
	var out []*load.Result
	for _, rd := range r.rounds {
		out = append(out, rd.bot)
	}
	return out
}

func (r *botRun) floorResults() []*load.Result {
	var out []*load.Result
	for _, f := range r.floors {
		out = append(out, f.res)
	}
	return out
}

// handled is acknowledged events per second, counted until they were all handled.
func (r *botRun) handled() float64 {
	if r.drained <= 0 {
		return 0
	}
	return float64(r.load.Acked) / r.drained.Seconds()
}

// inprocResults are the runs against the no-op server in the test's process.
func (r *botRun) inprocResults() []*load.Result {
	var out []*load.Result
	for _, f := range r.floors {
		out = append(out, f.inproc)
	}
	return out
}

// ratios is, for each round, bot of the round over the mean of floor of
// the floors before and after it.
func (r *botRun) ratios(bot func(round) float64, floor func(*load.Result) float64) []float64 {
	return r.ratiosAgainst(r.floorResults(), bot, floor)
}

// ratiosAgainst is ratios with floors of another kind.
func (r *botRun) ratiosAgainst(floors []*load.Result, bot func(round) float64, floor func(*load.Result) float64) []float64 {
	var out []float64
	for i, rd := range r.rounds {
		if i+1 >= len(floors) {
			break
		}
		if fl := (floor(floors[i]) + floor(floors[i+1])) / 2; fl > 0 {
			out = append(out, bot(rd)/fl)
		}
	}
	return out
}

// throughput is acknowledged events per second over the runs' times added up.
func throughput(rs []*load.Result) float64 {
	acked, d := 0, time.Duration(0)
	for _, r := range rs {
		acked, d = acked+r.Acked, d+r.Elapsed()
	}
	if d <= 0 {
		return 0
	}
	return float64(acked) / d.Seconds()
}

// flatness compares the bot's memory late in the run with early on: the
// average RSS of the last minute over that of the second minute (runs of
// three minutes or more), else of the last quarter over the second
// quarter. 1.0 is flat.
func (r *botRun) flatness() (float64, string) {
	d := r.duration
	aFrom, aTo, bFrom, what := d/4, d/2, d*3/4, "last quarter / second quarter"
	if d >= 3*time.Minute {
		aFrom, aTo, bFrom, what = time.Minute, 2*time.Minute, d-time.Minute, "last minute / second minute"
	}
	avg := func(from, to time.Duration) float64 {
		sum, n := 0.0, 0
		for _, s := range r.memory {
			if s.at >= from && s.at < to {
				sum, n = sum+float64(s.rss), n+1
			}
		}
		return sum / float64(max(n, 1))
	}
	if a := avg(aFrom, aTo); a > 0 {
		return avg(bFrom, d) / a, what
	}
	return 0, what
}

// rssAt is the RSS at a fraction of the run (0.25: a quarter in; 1: the end).
func (r *botRun) rssAt(frac float64) int {
	at := time.Duration(frac * float64(r.duration))
	rss := 0
	for _, s := range r.memory {
		if s.at <= at || rss == 0 {
			rss = s.rss
		}
	}
	return rss
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// spread is the median of per-round ratios and their range.
func spread(v []float64, format string) string {
	if len(v) == 0 {
		return "—"
	}
	out := fmt.Sprintf(format, median(v))
	if len(v) > 1 {
		out += fmt.Sprintf(" (rounds "+format+"–"+format+")", slices.Min(v), slices.Max(v))
	}
	return out
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// num formats a count with thousands separators.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func ms3(r *load.Result) string {
	return ms(r.Quantile(0.5)) + " / " + ms(r.Quantile(0.99)) + " / " + ms(r.Quantile(1))
}

func mib(bytes int) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

func perEvent(d time.Duration, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(n))
}

// failed describes the requests not acknowledged with 200; "" when none.
func failed(r *load.Result) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
		parts = append(parts, fmt.Sprintf("%d %s", r.Failures[k], k))
	}
	if r.Unsent > 0 {
		parts = append(parts, fmt.Sprintf("%d not sent in time", r.Unsent))
	}
	return strings.Join(parts, ", ")
}
