package botproc

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

const exposition = `# HELP upgradebot_handler_duration_seconds Time to handle one request.
# TYPE upgradebot_handler_duration_seconds histogram
upgradebot_handler_duration_seconds_bucket{kind="message",le="0.1"} 7
upgradebot_handler_duration_seconds_bucket{kind="message",le="+Inf"} 9
upgradebot_handler_duration_seconds_sum{kind="message"} 0.5
upgradebot_handler_duration_seconds_count{kind="message"} 9
upgradebot_handler_duration_seconds_bucket{kind="command",le="+Inf"} 2
upgradebot_handler_duration_seconds_sum{kind="command"} 0.1
upgradebot_handler_duration_seconds_count{kind="command"} 2
# TYPE upgradebot_replies_total counter
upgradebot_replies_total{kind="diagnosis",result="ok"} 4
upgradebot_replies_total{kind="diagnosis",result="error"} 1
upgradebot_replies_total{kind="command",result="ok"} 3
# TYPE upgradebot_work_queue_depth gauge
upgradebot_work_queue_depth 12
`

func TestMetric(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, exposition)
	}))
	defer srv.Close()
	b := &Bot{Base: srv.URL, client: srv.Client()}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"upgradebot_handler_duration_seconds", []string{"kind", "message"}, 9},
		{"upgradebot_handler_duration_seconds", nil, 11},
		{"upgradebot_replies_total", nil, 8},
		{"upgradebot_replies_total", []string{"kind", "diagnosis"}, 5},
		{"upgradebot_replies_total", []string{"kind", "diagnosis", "result", "ok"}, 4},
		{"upgradebot_replies_total", []string{"kind", "none"}, 0},
		{"upgradebot_work_queue_depth", nil, 12},
		{"upgradebot_replies", nil, 0}, // a prefix of a name is not the name
		{"upgradebot_absent_total", nil, 0},
	} {
		got, err := b.Metric(c.name, c.labels...)
		if err != nil || got != c.want {
			t.Errorf("Metric(%s, %v) = %v, %v; want %v", c.name, c.labels, got, err, c.want)
		}
	}
}
