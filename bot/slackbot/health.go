package slackbot

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Readiness is the body of /readyz.
type Readiness struct {
	// Status is "ok", "degraded" (the store is unreachable: diagnosis still
	// answers) or "unavailable" (Slack traffic cannot be taken).
	Status string `json:"status"`
	// Checks are "store": "ok"|"unreachable" and "slack": "ok"|"connecting"|
	// "authenticating"|"invalid_auth"|"starting"|"stopping".
	Checks map[string]string `json:"checks"`
}

// Ready reports whether the bot can take Slack traffic (in Socket Mode:
// connected) and whether its store answers. It answers within a second
// even when Redis hangs: the ping has 500 ms (the store honours context
// deadlines), and while the store's breaker is open it fails at once.
func (a *App) Ready(ctx context.Context) (Readiness, bool) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	store := "ok"
	if err := a.store.Ping(ctx); err != nil {
		store = "unreachable"
	}
	slackState := a.slackCheck()
	if slackState != "ok" {
		r := Readiness{Status: "unavailable", Checks: map[string]string{"store": store, "slack": slackState}}
		return r, false
	}
	degraded := store != "ok"
	if refused := a.api.tokenRefused(); refused != "" {
		// Events are still taken in (and journaled), so it stays ready: an
		// instance taken out of a load balancer would never learn the token works again.
		slackState, degraded = "bot token refused ("+refused+")", true
	}
	r := Readiness{Status: "ok", Checks: map[string]string{"store": store, "slack": slackState}}
	if degraded {
		r.Status = "degraded"
	}
	return r, true
}

func (a *App) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (a *App) serveReady(w http.ResponseWriter, r *http.Request) {
	rd, ok := a.Ready(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rd)
}
