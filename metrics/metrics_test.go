package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
)

var _ bot.Metrics = (*Metrics)(nil)

// Every method counts under an upgradebot_ name, and /metrics serves only those.
func TestMetricsExposition(t *testing.T) {
	m := New()
	m.Finding("producer-not-prepared")
	m.StoreError("claim")
	m.Event("message")
	m.Reply("thread")
	m.Duplicate("event_id")
	m.SlackAPIError("chat.postMessage", "ratelimited")
	m.ReminderPosted()
	m.ReminderMissed()
	m.HandlerLatency("message", 120*time.Millisecond)
	m.QueueDepth(3, 4096)
	m.Refused("event")
	m.Connected(true)
	m.Reconnect()
	m.JournalRecovered()
	m.JournalAbandoned()
	m.JournalUndurable()
	m.JournalUndurable()
	m.Event(strings.Repeat("x", 200)) // a long label is cut
	m.WatchBreaker(func() bool { return true })

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`upgradebot_findings_total{id="producer-not-prepared"} 1`,
		`upgradebot_store_errors_total{op="claim"} 1`,
		`upgradebot_slack_events_total{type="message"} 1`,
		`upgradebot_replies_total{kind="thread"} 1`,
		`upgradebot_duplicates_suppressed_total{reason="event_id"} 1`,
		`upgradebot_slack_api_errors_total{code="ratelimited",method="chat.postMessage"} 1`,
		`upgradebot_reminders_posted_total 1`,
		`upgradebot_reminders_missed_total 1`,
		`upgradebot_handler_duration_seconds_bucket{kind="message",le="0.25"} 1`,
		`upgradebot_work_queue_depth 3`,
		`upgradebot_work_queue_bytes 4096`,
		`upgradebot_requests_refused_total{kind="event"} 1`,
		`upgradebot_slack_connected 1`,
		`upgradebot_slack_reconnects_total 1`,
		`upgradebot_journal_recovered_total 1`,
		`upgradebot_journal_undurable_total 2`,
		`upgradebot_journal_abandoned_total 1`,
		`upgradebot_store_breaker_open 1`,
		`upgradebot_slack_events_total{type="` + strings.Repeat("x", 64) + `"} 1`,
		`upgradebot_requests_refused_total{kind="command"} 0`, // at 0 from the start, for rate()
		`upgradebot_process_resident_memory_bytes `,
		`upgradebot_process_start_time_seconds `,
		`upgradebot_go_goroutines `,
		`upgradebot_go_build_info{`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "upgradebot_") {
			t.Errorf("not prefixed: %s", line)
		}
	}
}

// A nil *Metrics counts nothing and does not panic.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Finding("x")
	m.StoreError("x")
	m.Event("x")
	m.Reply("x")
	m.Duplicate("x")
	m.SlackAPIError("x", "y")
	m.ReminderPosted()
	m.ReminderMissed()
	m.HandlerLatency("x", time.Second)
	m.QueueDepth(1, 1)
	m.Refused("x")
	m.Connected(true)
	m.Reconnect()
	m.JournalRecovered()
	m.JournalUndurable()
	m.WatchBreaker(func() bool { return true })
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("nil metrics handler: %d", rec.Code)
	}
}
