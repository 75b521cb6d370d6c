// Package load sends correctly signed Slack Events API requests (message
// events: ordinary chat, pasted errors and re-deliveries) to a URL on
// loopback, at a fixed rate or as fast as it can, for a bounded time and
// count, and measures the acknowledgements.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// Options of a run.
type Options struct {
	URL      string // the events URL (http://127.0.0.1:port/slack/events)
	Secret   string // the signing secret
	Rate     float64
	Duration time.Duration
	// Concurrency is how many requests may be in flight (one connection
	// each); 0 means 32 at the maximum rate and 96 at a fixed rate (at most 99).
	Concurrency int
	// ErrorShare and RedeliverShare split the mix; the rest is chat.
	ErrorShare, RedeliverShare float64
	// Round makes event ids and timestamps unique across several runs
	// against one bot (0…9).
	Round int
	// Epoch is the Unix second the messages' timestamps start from (0: the
	// run's start). Slack stamps a message when it is sent, and the bot
	// reads a message older than its upgrade as sent before a reset: one
	// epoch for every round keeps them unique and none older.
	Epoch int64
}

// maxEvents bounds the requests of a run; timeout bounds one request.
const (
	maxEvents = 5_000_000
	timeout   = 10 * time.Second
)

// Channels are the channels messages are spread over.
func Channels() []string {
	out := make([]string, 20)
	for i := range out {
		out[i] = fmt.Sprintf("C0LOAD%02d", i)
	}
	return out
}

// Pasted is a pasted error that was acknowledged.
type Pasted struct {
	Channel, TS string
}

// Result of a run.
type Result struct {
	Start, End   time.Time
	Sent, Acked  int
	Failures     map[string]int // by kind: "HTTP 503", "transport"
	Latencies    []time.Duration
	Pastes       []Pasted // first deliveries of pasted errors, acknowledged
	FirstFailure string
	// Unsent counts requests of a fixed-rate schedule that were still
	// waiting for a free connection when the run's time was up.
	Unsent int
}

// Elapsed is the time from the first send to the last acknowledgement.
func (r *Result) Elapsed() time.Duration { return r.End.Sub(r.Start) }

// Throughput is acknowledged events per second.
func (r *Result) Throughput() float64 {
	if s := r.Elapsed().Seconds(); s > 0 {
		return float64(r.Acked) / s
	}
	return 0
}

// Quantile returns a latency quantile (0.5, 0.99); 1 is the maximum.
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// FailureCount is how many requests were not acknowledged with 200.
func (r *Result) FailureCount() int {
	n := 0
	for _, v := range r.Failures {
		n += v
	}
	return n
}

// generator makes one worker's requests; ids are unique across workers.
type generator struct {
	o        *Options
	id, n    int
	rng      *rand.Rand
	channels []string
	recent   [2][][]byte // rings of recent bodies: any, pasted errors
}

// next returns a request body, its X-Slack-Retry-Num (1 for a
// re-delivery) and, for a first delivery of a pasted error, where it was posted.
func (g *generator) next() ([]byte, int, *Pasted) {
	u := g.rng.Float64()
	if u < g.o.RedeliverShare && len(g.recent[0]) > 0 {
		ring := g.recent[g.rng.IntN(2)] // half of them pasted errors
		if len(ring) == 0 {
			ring = g.recent[0]
		}
		return ring[g.rng.IntN(len(ring))], 1, nil
	}
	paste := u < g.o.RedeliverShare+g.o.ErrorShare
	text := chatText(g.rng)
	if paste {
		text = errorText(g.rng)
	}
	g.n++
	// Unique per worker and run: seconds carry the round and the worker,
	// microseconds the count.
	ts := fmt.Sprintf("%d.%06d", g.o.Epoch+int64(g.o.Round*100_000+g.id*1000+g.n/1_000_000), g.n%1_000_000)
	ch := g.channels[g.rng.IntN(len(g.channels))]
	body := slackfake.EventCallback(fmt.Sprintf("Ev%d%02d%08d", g.o.Round, g.id, g.n),
		slackfake.Message(ch, fmt.Sprintf("U0USER%02d", g.rng.IntN(50)), ts, text))
	for i, ring := range g.recent {
		switch {
		case i == 1 && !paste:
		case len(ring) < 256:
			g.recent[i] = append(ring, body)
		default:
			ring[g.n%len(ring)] = body
		}
	}
	if !paste {
		return body, 0, nil
	}
	return body, 0, &Pasted{Channel: ch, TS: ts}
}

// Run sends requests until Duration has passed (or 5,000,000 were sent, or
// ctx ends) and returns what was measured. Only loopback URLs are accepted.
func Run(ctx context.Context, o Options) (*Result, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("load: %s is not a loopback address; the load tool only targets this machine", u.Hostname())
	}
	switch {
	case o.Duration <= 0:
		return nil, errors.New("load: a duration is required")
	case o.Round < 0 || o.Round > 9:
		return nil, errors.New("load: Round is 0…9")
	case o.Concurrency > 99:
		return nil, errors.New("load: at most 99 connections")
	case o.Concurrency <= 0 && o.Rate > 0:
		o.Concurrency = 96
	case o.Concurrency <= 0:
		o.Concurrency = 32
	}
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: o.Concurrency * 2, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}

	start := time.Now()
	if o.Epoch == 0 {
		o.Epoch = start.Unix()
	}
	end := start.Add(o.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end.Add(timeout))
	defer cancel()
	var tokens chan time.Time
	if o.Rate > 0 {
		// Open loop: each request has its time on the schedule, and its
		// latency counts from then, so a stalled server shows as latency
		// rather than as fewer requests (no coordinated omission).
		total := min(int(o.Rate*o.Duration.Seconds()), maxEvents)
		tokens = make(chan time.Time, total)
		go pace(runCtx, tokens, start, o.Rate, total)
	}
	var count atomic.Int64
	// Each worker counts into a Result of its own; Merge adds them up.
	results := make([]*Result, o.Concurrency)
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wr := &Result{Start: start, End: start, Failures: map[string]int{}}
		results[w] = wr
		gen := &generator{o: &o, id: w, rng: rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w))), channels: Channels()}
		wg.Go(func() {
			for {
				var intended time.Time // when the request is due: on the schedule, else now
				if tokens != nil {
					var ok bool
					select {
					case intended, ok = <-tokens:
						if !ok {
							return
						}
					case <-runCtx.Done():
						return
					}
				} else if time.Now().After(end) || runCtx.Err() != nil || count.Add(1) > maxEvents {
					return
				}
				body, retry, paste := gen.next()
				req := slackfake.EventRequest(o.URL, o.Secret, body, retry).WithContext(runCtx)
				if intended.IsZero() {
					intended = time.Now()
				}
				resp, err := client.Do(req)
				if err != nil && runCtx.Err() != nil && time.Now().After(end) {
					return // the run's time is up: not sent
				}
				wr.Sent++
				failure := ""
				if err != nil {
					failure = "transport"
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						failure = "HTTP " + strconv.Itoa(resp.StatusCode)
					}
				}
				if failure != "" {
					wr.Failures[failure]++
					if wr.FirstFailure == "" {
						wr.FirstFailure = failure
						if err != nil {
							wr.FirstFailure = err.Error()
						}
					}
					continue
				}
				wr.End = time.Now()
				wr.Acked++
				wr.Latencies = append(wr.Latencies, wr.End.Sub(intended))
				if paste != nil {
					wr.Pastes = append(wr.Pastes, *paste)
				}
			}
		})
	}
	wg.Wait()
	res := Merge(results...)
	if tokens != nil {
		res.Unsent = len(tokens)
	}
	return res, nil
}

// pace puts total send times on tokens, rate per second from start.
func pace(ctx context.Context, tokens chan<- time.Time, start time.Time, rate float64, total int) {
	defer close(tokens)
	interval := time.Duration(float64(time.Second) / rate)
	for i := range total {
		t := start.Add(time.Duration(i) * interval)
		if wait := time.Until(t); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		tokens <- t
	}
}

// NoopServer is the floor: an HTTP server on loopback that reads each
// request and answers 200, nothing else. It returns its events URL.
func NoopServer() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/slack/events", func() { _ = srv.Close() }, nil
}

// Merge adds up several runs: counts and latencies; Start is the earliest
// and End the latest (so Elapsed spans them all, pauses included).
func Merge(rs ...*Result) *Result {
	out := &Result{Failures: map[string]int{}}
	for i, r := range rs {
		if i == 0 || r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		out.Sent += r.Sent
		out.Acked += r.Acked
		out.Unsent += r.Unsent
		for k, v := range r.Failures {
			out.Failures[k] += v
		}
		if out.FirstFailure == "" {
			out.FirstFailure = r.FirstFailure
		}
		out.Latencies = append(out.Latencies, r.Latencies...)
		out.Pastes = append(out.Pastes, r.Pastes...)
	}
	slices.Sort(out.Latencies)
	return out
}
