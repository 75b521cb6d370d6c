// Command loadgen measures `upgradebot run` in HTTP mode under Slack-like
// load on this machine: it builds the bot, starts it with Redis (a
// redis-server of its own on a free loopback port, unless -redis-url is
// given) and the fake Slack Web API, sends correctly signed Events API
// requests on loopback — 94% ordinary chat, 5% pasted errors, 1%
// re-deliveries — for a bounded time, and reports throughput,
// acknowledgement latency, errors, replies, exactly-once answers and the
// bot's peak memory. The same requests sent to a no-op HTTP server that
// the tool starts itself give the floor, measured in the same run: before
// each round of load on the bot and after the last (-rounds).
//
//	go run ./bench/loadgen -duration 30s -rate max
//	go run ./bench/loadgen -duration 30s -rate 2000 -rounds 3
//	go run ./bench/loadgen -duration 5m -rate 1000 -floor=false   # memory
//
// Every target is on 127.0.0.1; the run stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bench/internal/scenario"
)

func main() {
	duration := flag.Duration("duration", 30*time.Second, "how long to send (at most 30m)")
	rate := flag.String("rate", "max", `events per second, or "max"`)
	conc := flag.Int("concurrency", 0, "requests in flight (connections); 0: 32 at max rate, 96 at a fixed rate")
	floor := flag.Bool("floor", true, "also measure the no-op floor with the same load, before each round and after the last")
	rounds := flag.Int("rounds", 1, "split -duration into this many rounds of load on the bot, with floors between them (1-9)")
	bin := flag.String("bot-bin", "", "a built upgradebot binary (default: go build ./cmd/upgradebot)")
	redisURL := flag.String("redis-url", "", "a Redis on loopback to use with a unique key prefix (default: a redis-server of its own)")
	redisQuery := flag.String("redis-query", "", `options added to the bot's REDIS_URL, e.g. "protocol=2"`)
	flag.Parse()
	if *duration <= 0 || *duration > 30*time.Minute {
		fatal("-duration must be between 0 and 30m")
	}
	r := 0.0
	if *rate != "max" {
		v, err := strconv.ParseFloat(*rate, 64)
		if err != nil || v <= 0 || v > 100000 {
			fatal(`-rate must be "max" or a number of events per second up to 100000`)
		}
		r = v
	}
	if err := load.CheckMessages(); err != nil {
		fatal(err.Error())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, cleanup, err := scenario.NewEnv("", *bin, *redisURL, os.Stderr)
	if err != nil {
		fatal(err.Error())
	}
	defer cleanup()
	env.RedisQuery = *redisQuery
	spec := scenario.Spec{Name: "upgradebot", Rate: r, Duration: *duration, Concurrency: *conc, Rounds: *rounds, Floor: *floor}
	run, err := scenario.Bot(ctx, env, spec)
	if err != nil {
		cleanup()
		fatal(err.Error())
	}
	fmt.Printf("upgradebot under load: %s at %s in %d round(s), %d cores (GOMAXPROCS %d), %s\n\n", *duration, rateName(r), len(run.Rounds), runtime.NumCPU(), runtime.GOMAXPROCS(0), time.Now().Format("2006-01-02 15:04 MST"))
	scenario.PrintRun(os.Stdout, run)
	if run.Missing+run.Duplicated > 0 || run.ExitCode != 0 {
		os.Exit(1)
	}
}

func rateName(r float64) string {
	if r == 0 {
		return "the maximum rate"
	}
	return fmt.Sprintf("%.0f events/s", r)
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "loadgen:", msg)
	os.Exit(2)
}
