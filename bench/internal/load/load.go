// Package load sends correctly signed Slack Events API requests (message
// events: ordinary chat, pasted errors and re-deliveries) to a URL on
// loopback, at a fixed rate or as fast as it can, for a bounded time and
// count, and measures the acknowledgements.
package load

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is what a request carries.
type Kind int

// Request kinds.
const (
	Chat       Kind = iota // an ordinary message: no answer expected
	Paste                  // a pasted error: one threaded answer expected
	Redelivery             // a copy of an earlier event with X-Slack-Retry-Num
)

// Options of a run.
type Options struct {
	URL      string // the events URL (http://127.0.0.1:port/slack/events)
	Secret   string // the signing secret
	TeamID   string // "" means T0FAKE (slackfake's)
	Rate     float64
	Duration time.Duration
	// Concurrency is how many requests may be in flight (one connection
	// each); 0 means 32 at the maximum rate and 96 at a fixed rate (at most 99).
	Concurrency int
	// ErrorShare and RedeliverShare split the mix; the rest is chat.
	ErrorShare, RedeliverShare float64
	Channels                   []string // "" means C0LOAD00…C0LOAD19
	Seed                       uint64
	// Round makes event ids and timestamps unique across several runs
	// against one bot (0…9).
	Round int
	// MaxEvents bounds the requests of a run; 0 means 5,000,000.
	MaxEvents int
	// Timeout bounds one request; 0 means 10 s.
	Timeout time.Duration
}

// DefaultChannels are the channels messages are spread over.
func DefaultChannels() []string {
	out := make([]string, 20)
	for i := range out {
		out[i] = fmt.Sprintf("C0LOAD%02d", i)
	}
	return out
}

// Pasted is a pasted error that was acknowledged.
type Pasted struct {
	Channel, TS, EventID string
}

// Result of a run.
type Result struct {
	Target         float64 // events/s asked for; 0 = max
	Start, End     time.Time
	Sent, Acked    int
	Failures       map[string]int // by kind: "HTTP 503", "transport"
	ByKind         [3]int         // acknowledged, by Kind
	Latencies      []time.Duration
	Pastes         []Pasted // first deliveries of pasted errors, acknowledged
	FirstFailure   string
	MaxConcurrency int
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
	i = min(max(i, 0), len(r.Latencies)-1)
	return r.Latencies[i]
}

// FailureCount is how many requests were not acknowledged with 200.
func (r *Result) FailureCount() int {
	n := 0
	for _, v := range r.Failures {
		n += v
	}
	return n
}

// event is the Events API body, as a struct so that building it costs
// little next to what is measured.
type event struct {
	Token     string   `json:"token"`
	TeamID    string   `json:"team_id"`
	APIAppID  string   `json:"api_app_id"`
	Event     msgEvent `json:"event"`
	Type      string   `json:"type"`
	EventID   string   `json:"event_id"`
	EventTime int64    `json:"event_time"`
}

type msgEvent struct {
	Type        string `json:"type"`
	Channel     string `json:"channel"`
	User        string `json:"user"`
	Text        string `json:"text"`
	TS          string `json:"ts"`
	EventTS     string `json:"event_ts"`
	ChannelType string `json:"channel_type"`
	ClientMsgID string `json:"client_msg_id"`
	Team        string `json:"team"`
}

type sent struct {
	body  []byte
	paste *Pasted
}

// generator makes one worker's requests; ids are unique across workers.
type generator struct {
	o       *Options
	id      int
	n       int
	rng     *rand.Rand
	recent  []sent // ring of recent events
	pastes  []sent // ring of recent pasted errors
	ri, pi  int
	channel []string
}

func newGenerator(o *Options, id int) *generator {
	return &generator{o: o, id: id, rng: rand.New(rand.NewPCG(o.Seed, uint64(id)+1)),
		recent: make([]sent, 0, 256), pastes: make([]sent, 0, 64), channel: o.Channels}
}

func pushRing(ring []sent, i *int, s sent) []sent {
	if len(ring) < cap(ring) {
		return append(ring, s)
	}
	ring[*i%len(ring)] = s
	*i++
	return ring
}

// next returns a request body, its kind and, for a pasted error, what it is.
func (g *generator) next() ([]byte, Kind, *Pasted) {
	u := g.rng.Float64()
	if u < g.o.RedeliverShare && len(g.recent) > 0 {
		var s sent
		if len(g.pastes) > 0 && g.rng.IntN(2) == 0 {
			s = g.pastes[g.rng.IntN(len(g.pastes))]
		} else {
			s = g.recent[g.rng.IntN(len(g.recent))]
		}
		return s.body, Redelivery, nil
	}
	kind := Chat
	text := ""
	if u < g.o.RedeliverShare+g.o.ErrorShare {
		kind, text = Paste, errorText(g.rng)
	} else {
		text = chatText(g.rng)
	}
	g.n++
	// Unique per worker and run: seconds carry the worker, microseconds the count.
	ts := strconv.Itoa(1_700_000_000+g.o.Round*100_000+g.id*1000+g.n/1_000_000) + "." + fmt.Sprintf("%06d", g.n%1_000_000)
	ch := g.channel[g.rng.IntN(len(g.channel))]
	ev := event{
		Token: "legacy-verification-token", TeamID: g.o.TeamID, APIAppID: "A0APP", Type: "event_callback",
		EventID: fmt.Sprintf("Ev%d%02d%08d", g.o.Round, g.id, g.n), EventTime: time.Now().Unix(),
		Event: msgEvent{Type: "message", Channel: ch, User: fmt.Sprintf("U0USER%02d", g.rng.IntN(50)), Text: text,
			TS: ts, EventTS: ts, ChannelType: "channel", ClientMsgID: "c0ffee-" + ts, Team: g.o.TeamID},
	}
	body, _ := json.Marshal(ev)
	s := sent{body: body}
	if kind == Paste {
		s.paste = &Pasted{Channel: ch, TS: ts, EventID: ev.EventID}
		g.pastes = pushRing(g.pastes, &g.pi, s)
	}
	g.recent = pushRing(g.recent, &g.ri, s)
	return body, kind, s.paste
}

// sign sets Slack's v0 signature headers on a request.
func sign(h http.Header, secret []byte, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// Run sends requests until Duration has passed (or MaxEvents were sent, or
// ctx ends) and returns what was measured. Only loopback URLs are accepted.
func Run(ctx context.Context, o Options) (*Result, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("load: %s is not a loopback address; the load tool only targets this machine", u.Hostname())
	}
	if o.Duration <= 0 {
		return nil, errors.New("load: a duration is required")
	}
	if o.TeamID == "" {
		o.TeamID = "T0FAKE"
	}
	if len(o.Channels) == 0 {
		o.Channels = DefaultChannels()
	}
	if o.Round < 0 || o.Round > 9 {
		return nil, errors.New("load: Round is 0…9")
	}
	if o.Concurrency > 99 {
		return nil, errors.New("load: at most 99 connections")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
		if o.Rate > 0 {
			o.Concurrency = 96
		}
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 5_000_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        o.Concurrency * 2,
		MaxIdleConnsPerHost: o.Concurrency * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: o.Timeout}
	secret := []byte(o.Secret)

	start := time.Now()
	end := start.Add(o.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end.Add(o.Timeout))
	defer cancel()

	var tokens chan time.Time
	if o.Rate > 0 {
		// Open loop: each request has its time on the schedule, and its
		// latency counts from then, so a stalled server shows as latency
		// rather than as fewer requests (no coordinated omission).
		total := min(int(o.Rate*o.Duration.Seconds()), o.MaxEvents)
		tokens = make(chan time.Time, total)
		go pace(runCtx, tokens, start, o.Rate, total)
	}
	var count atomic.Int64
	var inflight, peak atomic.Int64
	// Each worker counts into a Result of its own; Merge adds them up.
	results := make([]*Result, o.Concurrency)
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wr := &Result{Target: o.Rate, Start: start, End: start, Failures: map[string]int{}}
		results[w] = wr
		gen := newGenerator(&o, w)
		wg.Go(func() {
			for {
				var intended time.Time
				if tokens != nil {
					select {
					case t, ok := <-tokens:
						if !ok {
							return
						}
						intended = t
					case <-runCtx.Done():
						return
					}
				} else {
					if time.Now().After(end) || runCtx.Err() != nil || count.Add(1) > int64(o.MaxEvents) {
						return
					}
				}
				body, kind, paste := gen.next()
				req, _ := http.NewRequestWithContext(runCtx, http.MethodPost, o.URL, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
				if kind == Redelivery {
					req.Header.Set("X-Slack-Retry-Num", "1")
					req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
				}
				now := time.Now()
				sign(req.Header, secret, body, now)
				if intended.IsZero() {
					intended = now
				}
				if n := inflight.Add(1); n > peak.Load() {
					peak.Store(n)
				}
				resp, err := client.Do(req)
				inflight.Add(-1)
				wr.Sent++
				if err != nil {
					if runCtx.Err() != nil && time.Now().After(end) {
						wr.Sent--
						return
					}
					wr.Failures["transport"]++
					if wr.FirstFailure == "" {
						wr.FirstFailure = err.Error()
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				done := time.Now()
				if resp.StatusCode != http.StatusOK {
					k := "HTTP " + strconv.Itoa(resp.StatusCode)
					wr.Failures[k]++
					if wr.FirstFailure == "" {
						wr.FirstFailure = k
					}
					continue
				}
				wr.Acked++
				wr.ByKind[kind]++
				wr.Latencies = append(wr.Latencies, done.Sub(intended))
				wr.End = done
				if paste != nil {
					wr.Pastes = append(wr.Pastes, *paste)
				}
			}
		})
	}
	wg.Wait()
	res := Merge(results...)
	res.MaxConcurrency = int(peak.Load())
	if tokens != nil {
		res.Unsent = len(tokens)
	}
	return res, nil
}

// pace puts total send times on tokens, rate per second from start.
func pace(ctx context.Context, tokens chan<- time.Time, start time.Time, rate float64, total int) {
	defer close(tokens)
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; i < total; {
		now := time.Now()
		for ; i < total; i++ {
			t := start.Add(time.Duration(i) * interval)
			if t.After(now) {
				break
			}
			tokens <- t
		}
		if i >= total {
			return
		}
		wait := time.Until(start.Add(time.Duration(i) * interval))
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
	}
}

// NoopServer is the floor: an HTTP server on loopback that reads each
// request and answers 200, nothing else. It returns its events URL.
func NoopServer() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/slack/events", func() { _ = srv.Close() }, nil
}

// SignedForm posts a signed form (a slash command) and returns the status.
func SignedForm(ctx context.Context, target, secret string, form url.Values) (int, string, error) {
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(req.Header, []byte(secret), body, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
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
		out.Target = r.Target
		out.Sent += r.Sent
		out.Acked += r.Acked
		out.Unsent += r.Unsent
		for k := range out.ByKind {
			out.ByKind[k] += r.ByKind[k]
		}
		for k, v := range r.Failures {
			out.Failures[k] += v
		}
		if out.FirstFailure == "" {
			out.FirstFailure = r.FirstFailure
		}
		out.Latencies = append(out.Latencies, r.Latencies...)
		out.Pastes = append(out.Pastes, r.Pastes...)
		out.MaxConcurrency = max(out.MaxConcurrency, r.MaxConcurrency)
	}
	slices.Sort(out.Latencies)
	return out
}
