package load

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// What the load sends is what Slack would: signed message events, the
// re-deliveries copies of earlier events with X-Slack-Retry-Num, and the
// pasted errors it reports are the first deliveries the server saw.
func TestRun(t *testing.T) {
	const secret = "load-test-secret"
	var mu sync.Mutex
	seen := map[string]string{} // event id -> channel/ts of the first delivery
	var first, retries, bad int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		var ev struct {
			EventID string `json:"event_id"`
			Event   struct{ Channel, TS, Text string }
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil || json.Unmarshal(body, &ev) != nil || ev.EventID == "" || ev.Event.Text == "" {
			bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, known := seen[ev.EventID]
		switch retry := r.Header.Get("X-Slack-Retry-Num"); {
		case retry == "" && !known:
			first++
			seen[ev.EventID] = ev.Event.Channel + "/" + ev.Event.TS
			if isChat(ev.Event.Text) {
				seen[ev.EventID] = "chat"
			}
		case retry == "1" && known:
			retries++
		default:
			bad++ // a new event sent as a retry, or an old one sent as new
		}
	}))
	defer srv.Close()

	res, err := Run(context.Background(), Options{URL: srv.URL + "/slack/events", Secret: secret, Rate: 400,
		Duration: 500 * time.Millisecond, Concurrency: 4, ErrorShare: 0.3, RedeliverShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if bad > 0 || res.FailureCount() > 0 || res.Sent != first+retries || res.Acked != res.Sent {
		t.Errorf("sent %d, acknowledged %d, failures %v; the server saw %d first deliveries, %d re-deliveries, %d bad", res.Sent, res.Acked, res.Failures, first, retries, bad)
	}
	if first == 0 || retries == 0 || len(res.Pastes) == 0 || len(res.Latencies) != res.Acked {
		t.Errorf("the mix is missing a kind: %d first deliveries, %d re-deliveries, %d pasted errors, %d latencies", first, retries, len(res.Pastes), len(res.Latencies))
	}
	pastes := map[string]bool{}
	for _, where := range seen {
		if where != "chat" {
			pastes[where] = true
		}
	}
	for _, p := range res.Pastes {
		if !pastes[p.Channel+"/"+p.TS] {
			t.Errorf("pasted error %s/%s was not sent as one", p.Channel, p.TS)
		}
	}
	if len(res.Pastes) != len(pastes) {
		t.Errorf("%d pasted errors reported, the server saw %d", len(res.Pastes), len(pastes))
	}
	if _, err := Run(context.Background(), Options{URL: "http://192.0.2.1/slack/events", Duration: time.Second}); err == nil {
		t.Error("a URL that is not on loopback was accepted")
	}
}

// isChat reports whether every line of text is a chat line.
func isChat(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		if !slices.Contains(chatLines, l) {
			return false
		}
	}
	return true
}
