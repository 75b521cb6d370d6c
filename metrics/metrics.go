// Package metrics counts what upgradebot does, for Prometheus: every metric
// is named upgradebot_…, registered on the package's own registry (so only
// upgradebot's metrics are exported), and served by Handler on /metrics.
//
// *Metrics implements bot.Metrics (findings, store errors) and the counters
// the Slack transport and the reminder scheduler call. A nil *Metrics is
// valid and counts nothing, so tests and the shell need no registry.
package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "upgradebot"

// Metrics holds upgradebot's Prometheus collectors.
type Metrics struct {
	reg *prometheus.Registry

	events          *prometheus.CounterVec
	findings        *prometheus.CounterVec
	replies         *prometheus.CounterVec
	duplicates      *prometheus.CounterVec
	slackErrors     *prometheus.CounterVec
	unconfirmed     *prometheus.CounterVec
	storeErrors     *prometheus.CounterVec
	remindersPosted prometheus.Counter
	remindersMissed prometheus.Counter
	latency         *prometheus.HistogramVec
	queueDepth      prometheus.Gauge
	queueBytes      prometheus.Gauge
	refused         *prometheus.CounterVec
	connected       prometheus.Gauge
	reconnects      prometheus.Counter
	recovered       prometheus.Counter
	undurable       prometheus.Counter
	abandoned       prometheus.Counter
}

// New returns the collectors, registered on a fresh registry.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	m.events = counterVec("slack_events_total", "Slack events, slash commands and interactions received, by type.", "type")
	m.findings = counterVec("findings_total", "Known upgrade messages recognized, by finding id.", "id")
	m.replies = counterVec("replies_total", "Messages the bot posted or changed in Slack, by kind (thread, ephemeral, announce, update, reaction, file, home, reminder).", "kind")
	m.duplicates = counterVec("duplicates_suppressed_total", "Deliveries not answered because they were already handled, by reason (event_id, message, thread; recovered: a recovered event whose reply was already in its thread; retried: the same for Slack's re-delivery; changed: a message taken up late that was edited or deleted since).", "reason")
	m.slackErrors = counterVec("slack_api_errors_total", "Failed Slack Web API calls (every attempt), by method and error code.", "method", "code")
	m.unconfirmed = counterVec("slack_calls_unconfirmed_total", "Slack Web API posts and uploads that failed after Slack may have made them (5xx, broken connection, timeout): not sent again, so nothing is posted twice; by method.", "method")
	m.storeErrors = counterVec("store_errors_total", "Tracking store operations that failed, by operation.", "op")
	m.remindersPosted = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "reminders_posted_total", Help: "Scheduled posts made: reminders, all-clears and digests."})
	m.remindersMissed = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "reminders_missed_total", Help: "Scheduled posts that were due but not posted (too late, failing until the grace period ran out, or refused by Slack for the token or the app's rights)."})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "handler_duration_seconds",
		Help:    "Time from receiving a Slack request to finishing its replies, by kind (message, command, action, home, screenshot, resume).",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60},
	}, []string{"kind"})
	m.refused = counterVec("requests_refused_total", "Slack requests refused because the work held was at its bound, by kind (message, home: an event not acknowledged, which Slack resends; command, action: the user was told to try again).", "kind")
	m.queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "work_queue_depth", Help: "Slack requests held: waiting in their channel's lane or being worked on."})
	m.queueBytes = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "work_queue_bytes", Help: "Bytes of the Slack requests held (the bound counts them)."})
	m.connected = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "slack_connected", Help: "1 while the bot can take Slack traffic (Socket Mode: connected), else 0."})
	m.reconnects = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "slack_reconnects_total", Help: "Socket Mode connections opened after the first."})
	m.recovered = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "journal_recovered_total", Help: "Acknowledged work taken up again from the journal: left by a stopped process (or replica), or a reply Slack refused (rate limits, an outage), tried a minute later."})
	m.undurable = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "journal_undurable_total", Help: "Work acknowledged without being journaled, because the store failed: answered, but lost if the process stops first."})
	m.abandoned = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "journal_abandoned_total", Help: "Journaled work given up after being taken up again and again without finishing (its work may be what stopped the processes)."})
	m.reg.MustRegister(m.remindersPosted, m.remindersMissed, m.latency, m.queueDepth, m.queueBytes, m.connected, m.reconnects, m.recovered, m.undurable, m.abandoned)
	// At 0 from the start: a first burst of refusals shows as an increase
	// (rate() of a series born at N reads 0, and the alert would not fire).
	for _, kind := range []string{"message", "home", "command", "action"} {
		m.refused.WithLabelValues(kind)
	}
	// The process and the Go runtime (memory, goroutines, restarts, the
	// build), named upgradebot_process_…, upgradebot_go_… as every metric here.
	prometheus.WrapRegistererWithPrefix(Namespace+"_", m.reg).MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector(), collectors.NewBuildInfoCollector())
	return m
}

// WatchBreaker exports whether the store's circuit breaker is open (1: Redis
// kept failing and store calls fail at once) as upgradebot_store_breaker_open,
// read from open at each scrape.
func (m *Metrics) WatchBreaker(open func() bool) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "store_breaker_open",
		Help: "1 while Redis kept failing and store calls fail at once (the breaker is open: tracking is unavailable, diagnosis goes on), else 0."},
		func() float64 {
			if open() {
				return 1
			}
			return 0
		}))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is where the collectors are registered (to add more, or to gather in tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// label keeps label values short and printable: they come from Slack
// (error codes) and the knowledge base (finding ids).
func label(s string) string {
	if s == "" {
		return "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}

// Finding counts a recognized message (bot.Metrics).
func (m *Metrics) Finding(id string) {
	if m != nil {
		m.findings.WithLabelValues(label(id)).Inc()
	}
}

// StoreError counts a failed store operation (bot.Metrics).
func (m *Metrics) StoreError(op string) {
	if m != nil {
		m.storeErrors.WithLabelValues(label(op)).Inc()
	}
}

// Event counts a received Slack event, command or interaction by type.
func (m *Metrics) Event(typ string) {
	if m != nil {
		m.events.WithLabelValues(label(typ)).Inc()
	}
}

// Reply counts a message posted or changed, by kind.
func (m *Metrics) Reply(kind string) {
	if m != nil {
		m.replies.WithLabelValues(label(kind)).Inc()
	}
}

// Duplicate counts a delivery not answered because it was already handled.
func (m *Metrics) Duplicate(reason string) {
	if m != nil {
		m.duplicates.WithLabelValues(label(reason)).Inc()
	}
}

// SlackAPIError counts a failed Web API call attempt by method and code
// ("ratelimited", "http_503", "network", or Slack's error such as "not_in_channel").
func (m *Metrics) SlackAPIError(method, code string) {
	if m != nil {
		m.slackErrors.WithLabelValues(label(method), label(code)).Inc()
	}
}

// UnconfirmedCall counts a post or upload that failed after Slack may have made it (not sent again).
func (m *Metrics) UnconfirmedCall(method string) {
	if m != nil {
		m.unconfirmed.WithLabelValues(label(method)).Inc()
	}
}

// ReminderPosted counts a scheduled post: a reminder, an all-clear or a digest (called by the scheduler).
func (m *Metrics) ReminderPosted() {
	if m != nil {
		m.remindersPosted.Inc()
	}
}

// ReminderMissed counts a scheduled post that was due but not posted (called by the scheduler).
func (m *Metrics) ReminderMissed() {
	if m != nil {
		m.remindersMissed.Inc()
	}
}

// HandlerLatency observes how long a request took from receipt to its last reply.
func (m *Metrics) HandlerLatency(kind string, d time.Duration) {
	if m != nil {
		m.latency.WithLabelValues(label(kind)).Observe(d.Seconds())
	}
}

// QueueDepth sets how many requests are held (waiting or being worked on) and their bytes.
func (m *Metrics) QueueDepth(n int, bytes int64) {
	if m != nil {
		m.queueDepth.Set(float64(n))
		m.queueBytes.Set(float64(bytes))
	}
}

// Refused counts a request refused at the bound, by kind (event, command, action).
func (m *Metrics) Refused(kind string) {
	if m != nil {
		m.refused.WithLabelValues(label(kind)).Inc()
	}
}

// Connected records whether the bot can take Slack traffic.
func (m *Metrics) Connected(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

// Reconnect counts a Socket Mode connection opened after the first.
func (m *Metrics) Reconnect() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// JournalRecovered counts journaled work a stopped process left, taken up to be finished.
func (m *Metrics) JournalRecovered() {
	if m != nil {
		m.recovered.Inc()
	}
}

// JournalAbandoned counts journaled work given up after too many recoveries.
func (m *Metrics) JournalAbandoned() {
	if m != nil {
		m.abandoned.Inc()
	}
}

// JournalUndurable counts work acknowledged without being journaled (the store failed).
func (m *Metrics) JournalUndurable() {
	if m != nil {
		m.undurable.Inc()
	}
}
