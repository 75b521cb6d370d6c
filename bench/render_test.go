package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
	"github.com/upgradebot/upgradebot/scheduler"
)

// The rendering benchmarks come in pairs, like the diagnosis engine's:
// /floor is the store reads a status or reminder needs (Redis, a
// redis-server of this test's own), /bot is the whole answer — the same
// reads, the reply built and rendered to Block Kit JSON as it is sent to
// Slack — so the ratio is what rendering adds on any machine.
//
// The data: 100 environments of 5,000 modules each. Channel C000…C099
// each follow one environment; channel CALL follows all 100.

const (
	benchWS      = "T0BENCH"
	benchEnvs    = 100
	benchModules = 5000
)

type renderFixture struct {
	store progress.Store
	core  *bot.Bot
	sched *scheduler.Scheduler
	stop  func()
	err   error
}

var (
	fixtureOnce sync.Once
	fixture     renderFixture
)

func renderSetup(b *testing.B) *renderFixture {
	b.Helper()
	redistest.NeedServer(b)
	fixtureOnce.Do(func() { fixture = buildFixture() })
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return &fixture
}

// buildFixture fills a redis-server of its own, shared by the
// benchmarks and stopped by TestMain.
func buildFixture() renderFixture {
	dir, err := os.MkdirTemp("", "upgradebot-render-*")
	if err != nil {
		return renderFixture{err: err}
	}
	r, err := redistest.New(dir)
	if err != nil {
		os.RemoveAll(dir)
		return renderFixture{err: err}
	}
	stop := func() { r.Kill(); os.RemoveAll(dir) }
	fail := func(err error) renderFixture { stop(); return renderFixture{err: err} }
	store, err := progress.OpenRedisURL(r.URL(1), progress.RedisOptions{Prefix: "bench"})
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	names := make([]string, benchModules)
	for i := range names {
		names[i] = fmt.Sprintf("Module_%04d_With_A_Longish_Name", i)
	}
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for e := range benchEnvs {
		env := fmt.Sprintf("env%03d", e)
		for _, ch := range []string{fmt.Sprintf("C%03d", e), "CALL"} {
			if _, err := store.Track(ctx, progress.TrackRequest{Workspace: benchWS, Environment: env, Channel: ch, Version: "11.31.0", InstallType: progress.InstallSelfManaged, Actor: "U0ANA", At: at}); err != nil {
				return fail(err)
			}
		}
		two := 2
		if _, err := store.Apply(ctx, benchWS, env, progress.Change{Kind: progress.ChangeSummary, Key: "sum", Actor: "U0ANA", At: at,
			Counts: progress.Counts{Prepared: &two, Failed: &two, Skipped: &two}}); err != nil {
			return fail(err)
		}
		if _, err := store.Apply(ctx, benchWS, env, progress.Change{Kind: progress.ChangeAddModules, Key: "add", Actor: "U0ANA", At: at,
			Reason: progress.ReasonFailed, Modules: names}); err != nil {
			return fail(err)
		}
	}
	core := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store})
	sched, err := scheduler.New(scheduler.Options{Store: store, Bot: core, DefaultSchedule: "0 9 * * 1-5"})
	if err != nil {
		return fail(err)
	}
	core.SetSchedules(sched)
	return renderFixture{store: store, core: core, sched: sched, stop: func() { store.Close(); stop() }}
}

// sent is what the transport sends: the fallback text and the blocks, as JSON.
func sent(b *testing.B, r *bot.Reply) int {
	if r.Empty() {
		b.Fatal("empty reply")
	}
	js, err := json.Marshal(map[string]any{"text": slackbot.FallbackText(r), "blocks": slackbot.RenderBlocks(r)})
	if err != nil {
		b.Fatal(err)
	}
	return len(js)
}

func statusCommand(b *testing.B, f *renderFixture, channel, text string) int {
	resp := f.core.HandleCommand(context.Background(), bot.Command{Workspace: benchWS, Channel: channel, User: "U0ANA", ID: "bench", Text: text})
	return sent(b, resp.Reply)
}

// BenchmarkStatus1Env is /upgrade status of one environment of 5,000 modules.
func BenchmarkStatus1Env(b *testing.B) {
	f := renderSetup(b)
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.store.Status(ctx, benchWS, "env007", 40); err != nil {
				b.Fatal(err)
			}
			// The channel's schedule, as the command's "next reminder" line reads it.
			if _, err := f.store.ChannelSettings(ctx, benchWS, "C007"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bot", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = statusCommand(b, f, "C007", "status env007")
		}
		b.ReportMetric(float64(n), "bytes/reply")
	})
}

// BenchmarkStatus100Envs is /upgrade status in the channel following all
// 100 environments (5,000 modules each): one reply showing them all.
func BenchmarkStatus100Envs(b *testing.B) {
	f := renderSetup(b)
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			envs, err := f.store.ChannelEnvironments(ctx, benchWS, "CALL")
			if err != nil || len(envs) != benchEnvs {
				b.Fatal(len(envs), err)
			}
			for _, e := range envs {
				if _, err := f.store.Status(ctx, benchWS, e.Name, 40); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("bot", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = statusCommand(b, f, "CALL", "status")
		}
		b.ReportMetric(float64(n), "bytes/reply")
	})
}

func reminder(b *testing.B, f *renderFixture, channel string) int {
	r, err := f.sched.Now(context.Background(), benchWS, channel)
	if err != nil {
		b.Fatal(err)
	}
	return sent(b, r)
}

// BenchmarkReminder1Env is the reminder of a channel following one
// environment of 5,000 modules.
func BenchmarkReminder1Env(b *testing.B) {
	f := renderSetup(b)
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.store.ChannelEnvironments(ctx, benchWS, "C007"); err != nil {
				b.Fatal(err)
			}
			if _, err := f.store.Status(ctx, benchWS, "env007", 15); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bot", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = reminder(b, f, "C007")
		}
		b.ReportMetric(float64(n), "bytes/reply")
	})
}

// BenchmarkReminder100Envs is the reminder of the channel following all
// 100 environments: five shown in full, the others named.
func BenchmarkReminder100Envs(b *testing.B) {
	f := renderSetup(b)
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			envs, err := f.store.ChannelEnvironments(ctx, benchWS, "CALL")
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range envs {
				if _, err := f.store.Status(ctx, benchWS, e.Name, 15); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("bot", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = reminder(b, f, "CALL")
		}
		b.ReportMetric(float64(n), "bytes/reply")
	})
}
