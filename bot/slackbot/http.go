package slackbot

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/upgradebot/upgradebot/bot"
)

// Handler serves /slack/events (HTTP mode), /healthz, /readyz and /metrics.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	if a.opts.Mode == ModeHTTP {
		mux.HandleFunc(EventsPath, a.serveEvents)
	}
	mux.HandleFunc("GET /healthz", a.serveHealth)
	mux.HandleFunc("GET /readyz", a.serveReady)
	if a.opts.MetricsHandler != nil {
		mux.Handle("GET /metrics", a.opts.MetricsHandler)
	} else {
		mux.Handle("GET /metrics", http.NotFoundHandler())
	}
	return mux
}

// serveEvents takes Events API callbacks, slash commands and interactivity
// payloads on one URL, as Bolt does. The signature is checked on the raw
// body before anything is parsed or stored; the request is then
// acknowledged at once and its work queued.
func (a *App) serveEvents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	// A stopping process (draining) still takes slash commands and clicks,
	// which Slack never sends again; events are sent again, elsewhere.
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if !a.ready.Load() || a.stopping.Load() && !form {
		// Not acknowledged: Slack tries again later.
		w.Header().Set("Retry-After", "5")
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	limit := a.opts.MaxBodyBytes
	if r.ContentLength > limit {
		a.metrics.Event("rejected_too_large")
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, limit), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			a.metrics.Event("rejected_too_large")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return
	}
	if err := a.verify(r.Header, body); err != nil {
		a.metrics.Event("rejected_signature")
		// Anyone can send these: one line a minute, its reason cut short.
		if held, ok := a.refusedLog.allow(time.Now()); ok {
			a.log.Warn("refused a request to /slack/events: bad or missing Slack signature (check SLACK_SIGNING_SECRET)",
				"reason", bot.Shorten(err.Error(), 120), "remote", r.RemoteAddr, "refused_since_last_line", held)
		}
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct != "application/json" { // as Slack sends events: no parameters to parse
		ct, _, _ = mime.ParseMediaType(ct)
	}
	switch ct {
	case "application/json":
		a.serveJSON(w, r, body)
	case "application/x-www-form-urlencoded":
		// slack-go reads the form from the request: its body again.
		r.Body = io.NopCloser(bytes.NewReader(body))
		a.serveForm(w, r, int64(len(body)))
	default:
		http.Error(w, "unsupported content type", http.StatusUnsupportedMediaType)
	}
}

// preallocMax is the most readBody allocates on a body's declared size
// alone: a client that declares 1 MiB and sends a byte, before anything
// is verified, holds no more than this (300 such requests held 300 MiB).
const preallocMax = 16 << 10

// readBody reads a request body of the declared size (-1: unknown), in one
// allocation up to preallocMax; a larger one grows as its bytes come.
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > preallocMax {
		return io.ReadAll(r)
	}
	body := make([]byte, size)
	_, err := io.ReadFull(r, body)
	return body, err
}

// verify checks Slack's v0 signature (HMAC-SHA256 of "v0:timestamp:body",
// compared in constant time) and that the timestamp is within 5 minutes.
func (a *App) verify(h http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(h, string(a.secret))
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

// serveJSON takes an Events API payload. One whose event the bot cannot
// read is logged and acknowledged all the same: Slack would only send it
// again. A body that is not a JSON object is refused.
func (a *App) serveJSON(w http.ResponseWriter, r *http.Request, body []byte) {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		http.Error(w, "invalid JSON", http.StatusBadRequest)
		return
	}
	ev, err := parseEvent(body)
	switch {
	case errors.Is(err, errInvalidJSON):
		http.Error(w, "invalid JSON", http.StatusBadRequest)
		return
	case err != nil:
		a.log.Warn("unreadable Events API payload; acknowledged", "err", err)
	case ev.Type == slackevents.URLVerification:
		a.metrics.Event("url_verification")
		challenge := ""
		if v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); ok {
			challenge = v.Challenge
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": challenge})
		return
	case ev.Type == slackevents.CallbackEvent:
		retry, _ := strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
		if !a.onCallback(ev, body, retry, r.Header.Get("X-Slack-Retry-Reason"), nil) {
			// Not acknowledged: Slack resends it later.
			w.Header().Set("Retry-After", "60")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
	case ev.Type == slackevents.AppRateLimited:
		a.metrics.Event("app_rate_limited")
		a.log.Warn("Slack is rate limiting the events it sends this app (app_rate_limited): some events were not delivered")
	default:
		a.log.Debug("ignoring Events API payload", "type", ev.Type)
	}
	w.WriteHeader(http.StatusOK)
}

// busyResponse answers a slash command refused at the bound.
var busyResponse = map[string]string{"response_type": "ephemeral", "text": busyText}

// serveForm takes a slash command or an interactivity payload, read with slack-go.
func (a *App) serveForm(w http.ResponseWriter, r *http.Request, size int64) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	switch {
	case r.PostForm.Get("ssl_check") == "1":
		// Slack checking the certificate: nothing to do.
	case r.PostForm.Get("payload") != "":
		p, err := slack.InteractionCallbackParse(r)
		if err != nil {
			a.log.Warn("unreadable interactivity payload; acknowledged", "err", err)
			break
		}
		a.onInteraction(p, size)
	case r.PostForm.Get("command") != "":
		sc, err := slack.SlashCommandParse(r)
		if err != nil {
			http.Error(w, "invalid form", http.StatusBadRequest)
			return
		}
		if !a.onSlashCommand(sc, size) {
			// The response to a slash command can be its (ephemeral) reply.
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(busyResponse)
			return
		}
	default:
		http.Error(w, "neither a slash command nor an interaction", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// logLimiter lets one log line through a minute and counts those it holds back.
type logLimiter struct {
	mu   sync.Mutex
	last time.Time
	held int
}

// allow reports whether a line may be logged now, and how many were held back since the last.
func (l *logLimiter) allow(now time.Time) (held int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) < time.Minute {
		l.held++
		return 0, false
	}
	held, l.held, l.last = l.held, 0, now
	return held, true
}
