//go:build unix

package slackbot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/metrics"
	"github.com/upgradebot/upgradebot/progress"
)

// benchChat is ordinary channel traffic: nothing in it is answered, so its
// whole cost is the acknowledgement's.
var benchChat = []string{
	"morning all!",
	"can someone review my PR for the invoice screen before lunch?",
	"we start the platform upgrade on prod tonight at 22:00, please don't publish anything until we post the all clear here",
	"modules preparation usually takes about an hour on this environment",
	"ok, republishing Billing_CS now",
	"the release notes for 11.31 mention a change in the compiler, worth a read before we upgrade prod",
	"here is the link to the checklist: <https://intranet.example.com/upgrade-checklist|upgrade checklist>",
	"perf test results are in the shared folder, p95 went from 420ms to 380ms",
}

// BenchmarkEventsEndpoint is the acknowledgement of signed Events API
// requests carrying ordinary chat (nothing in it is answered, so the
// acknowledgement is its whole cost), as the load tool sends them (32 in
// flight, keep-alive, loopback): /bot through the events handler as
// served (signature, parsing, the core's reading, metrics), /noop through
// a handler that only reads the body — the load test's floor. /bot over
// /noop is the ratio the throughput goal is about, less the answered
// events' work; /handler is the events handler alone (no HTTP), to profile.
// cpu-µs/op is the process's CPU time (client and server) per request,
// which other work on the machine changes less than ns/op:
//
//	go test ./bot/slackbot -run '^$' -bench EventsEndpoint -cpuprofile cpu.out
func BenchmarkEventsEndpoint(b *testing.B) {
	reqs := benchRequests()
	bot := benchApp(b).Handler()
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	overHTTP := func(b *testing.B, h http.Handler) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
		defer client.CloseIdleConnections()
		b.SetParallelism(16) // 32 in flight on 2 cores, as the load tool at its maximum rate
		b.ReportAllocs()
		defer cpuPerOp(b)()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				req, _ := reqs[i%len(reqs)].request(srv.URL)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	b.Run("bot", func(b *testing.B) { overHTTP(b, bot) })
	b.Run("noop", func(b *testing.B) { overHTTP(b, noop) })
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine's requests, built once: only their bodies are rewound.
			rs := make([]*http.Request, len(reqs))
			bodies := make([]*bytes.Reader, len(reqs))
			for i, s := range reqs {
				rs[i], bodies[i] = s.request("http://127.0.0.1")
			}
			w := &discardWriter{h: http.Header{}}
			for i := 0; pb.Next(); i++ {
				k := i % len(rs)
				_, _ = bodies[k].Seek(0, io.SeekStart)
				bot.ServeHTTP(w, rs[k])
				if w.code != 0 && w.code != http.StatusOK {
					b.Errorf("status %d", w.code)
					return
				}
				w.reset()
			}
		})
	})
}

// benchRequests are signed chat messages over 20 channels and 50 users.
func benchRequests() []signedBody {
	reqs := make([]signedBody, 256)
	now := time.Now()
	for i := range reqs {
		ts := fmt.Sprintf("1700000000.%06d", i)
		body := slackfake.EventCallback(fmt.Sprintf("EvBench%06d", i),
			slackfake.Message(fmt.Sprintf("C0LOAD%02d", i%20), fmt.Sprintf("U0USER%02d", i%50), ts, benchChat[i%len(benchChat)]))
		reqs[i] = signedBody{body: body, ts: strconv.FormatInt(now.Unix(), 10), sig: slackfake.Sign(secret, now, body)}
	}
	return reqs
}

// cpuPerOp starts measuring the process's CPU time (user and system, every
// thread); the function it returns reports it per operation.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64(cpu()-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op") }
}

// signedBody is a request body with its Slack signature headers.
type signedBody struct {
	body    []byte
	ts, sig string
}

func (s signedBody) request(base string) (*http.Request, *bytes.Reader) {
	body := bytes.NewReader(s.body)
	req, _ := http.NewRequest(http.MethodPost, base+EventsPath, io.NopCloser(body))
	req.ContentLength = int64(len(s.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", s.ts)
	req.Header.Set("X-Slack-Signature", s.sig)
	return req, body
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) { w.code = code }
func (w *discardWriter) reset()               { w.code = 0; clear(w.h) }

// benchApp is the transport in HTTP mode as Run sets it up (the real
// metrics, an info-level log, the embedded store), without a listener.
func benchApp(b *testing.B) *App {
	b.Helper()
	fake := slackfake.New(b)
	fake.BotToken = botToken
	store, err := progress.OpenBoltStore(filepath.Join(b.TempDir(), "bench.db"), progress.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m := metrics.New()
	api := NewAPI(APIOptions{BotToken: botToken, URL: fake.APIURL(), Logger: logger, Metrics: m})
	core := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Logger: logger, Metrics: m, Membership: api})
	core.SetBotUserID(slackfake.BotUserID)
	app, err := New(Options{Mode: ModeHTTP, Core: core, API: api, Store: store, SigningSecret: secret, Logger: logger, Metrics: m})
	if err != nil {
		b.Fatal(err)
	}
	app.botUser, app.botID = slackfake.BotUserID, slackfake.BotID
	app.lanes = newLanes(context.Background(), app.laneOptions())
	app.lanes.start()
	app.setSlack("ok")
	app.ready.Store(true)
	b.Cleanup(func() { app.lanes.shutdown(5 * time.Second) })
	return app
}

// BenchmarkParseEvent is the reading of a chat message's event as served
// (/served: messageCallback, errors reported as they come) against the
// same two decodings reporting errors as encoding/json does (/v1), as
// before:
//
//	go test ./bot/slackbot -run '^$' -bench ParseEvent -count 5
func BenchmarkParseEvent(b *testing.B) {
	raw := slackfake.EventCallback("EvBench", slackfake.Message("C0LOAD01", "U0USER01", "1700000000.000100", benchChat[2]+"\n"+benchChat[0]))
	b.Run("served", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := new(messageCallback).event(raw); !ok {
				b.Fatal("not read")
			}
		}
	})
	b.Run("v1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mc := new(messageCallback)
			if jsonv1.Unmarshal(raw, &mc.cb) != nil || jsonv1.Unmarshal(*mc.cb.InnerEvent, &mc.msg) != nil {
				b.Fatal("not read")
			}
		}
	})
}
