// Package slackbot connects the transport-neutral bot core (package bot) to
// Slack, in Socket Mode or over HTTP (the Events API, slash commands and
// interactivity on one URL, /slack/events), as a thin transport:
//
//   - a message is diagnosed before it is acknowledged: most chat has
//     nothing to answer and ends there, costing no queue space;
//   - work is queued in a lane per channel (lanes.go): what a channel
//     records is applied in the order received, channels run in parallel,
//     read-only commands and App Home wait in no lane;
//   - the work held is bounded in jobs and bytes: above it an event is not
//     acknowledged (HTTP 503, or no Socket Mode ack), so Slack resends it;
//     commands and clicks have a reserve, then get "busy, try again";
//   - an event with something to answer is journaled in the store before it
//     is acknowledged and removed once answered; what a stopped process
//     left is recovered by the next (or another replica) and posted at
//     most once (durable.go, inbox.go);
//   - re-deliveries (late acks, the message + app_mention pair, several
//     replicas) give one reply: the message (channel + ts; App Home: the
//     event id) is claimed in the store while handled and marked done after, and the
//     same diagnosis is not repeated in a thread that already has it;
//   - screenshots shared with a message are downloaded and read with OCR
//     off the workers, and diagnosed with its text in the same one reply,
//     which a screenshot read late updates (screenshots.go);
//   - the core reads (diagnoses) a message once: the transport claims it only
//     when the reading has something to answer, and the answer is built from
//     that reading; replies, the core's neutral model, are rendered here as
//     Block Kit (render.go), which escapes whatever users wrote;
//   - the Web API is called with slack-go's retries (Retry-After on 429; a
//     bounded backoff on 5xx and network errors for calls safe to repeat,
//     never for a post), see API;
//   - /healthz, /readyz and /metrics are served on the same listener in both modes.
//
// See docs/slack.md for creating the Slack app.
package slackbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/progress"
)

// Mode is how Slack reaches the bot.
type Mode string

// Modes.
const (
	ModeSocket Mode = "socket" // a WebSocket the bot opens (SLACK_APP_TOKEN)
	ModeHTTP   Mode = "http"   // signed requests to POST /slack/events (SLACK_SIGNING_SECRET)
)

// Core is the bot core as the transport drives it; *bot.Bot implements it.
// The transport never diagnoses: Read does, once per message, and Answer
// builds the reply from that reading.
type Core interface {
	Read(m bot.Message) *bot.Reading
	Answer(ctx context.Context, r *bot.Reading) bot.Response
	ReadFile(name string, data []byte) bot.ImageText
	HandleCommand(ctx context.Context, c bot.Command) bot.Response
	HandleAction(ctx context.Context, a bot.Action) bot.Response
	HandleEdit(ctx context.Context, m bot.Message) bot.Response
	HandleDelete(ctx context.Context, m bot.Message) bot.Response
	Home(ctx context.Context, workspace string, chart bot.HomeChart) *bot.Reply
	CommandText(text string) (string, bool)
	ReadOnly(command string) bool
	SetBotUserID(id string)
	ResumeReminders(ctx context.Context, workspace, channel string) error
}

var _ Core = (*bot.Bot)(nil)

// Metrics are the counts the transport keeps; *metrics.Metrics implements it.
type Metrics interface {
	InboxMetrics
	Event(typ string)
	Reply(kind string)
	Duplicate(reason string)
	SlackAPIError(method, code string)
	UnconfirmedCall(method string)
	StoreError(op string)
	HandlerLatency(kind string, d time.Duration)
	QueueDepth(n int, bytes int64)
	Refused(kind string)
	Connected(ok bool)
	Reconnect()
}

type nopMetrics struct{}

func (nopMetrics) Event(string)                         {}
func (nopMetrics) Reply(string)                         {}
func (nopMetrics) Duplicate(string)                     {}
func (nopMetrics) SlackAPIError(string, string)         {}
func (nopMetrics) UnconfirmedCall(string)               {}
func (nopMetrics) StoreError(string)                    {}
func (nopMetrics) HandlerLatency(string, time.Duration) {}
func (nopMetrics) QueueDepth(int, int64)                {}
func (nopMetrics) Refused(string)                       {}
func (nopMetrics) Connected(bool)                       {}
func (nopMetrics) Reconnect()                           {}
func (nopMetrics) JournalRecovered()                    {}
func (nopMetrics) JournalUndurable()                    {}
func (nopMetrics) JournalAbandoned()                    {}

func metricsOrNop(m Metrics) Metrics {
	if m == nil {
		return nopMetrics{}
	}
	return m
}

// Options configure the transport.
type Options struct {
	Mode Mode
	Core Core
	// API is the Web API client; in Socket Mode it must hold the app token.
	API *API
	// Store deduplicates deliveries (its Claims), journals acknowledged
	// events (its Journal, see durable.go) and is checked by /readyz (its Ping).
	Store progress.Store
	// JournalMinIdle is how long a journaled event goes unkept before
	// another process (or replica) takes it as left by a stopped one; 0
	// means 1 minute. The embedded store's next process takes them at once.
	JournalMinIdle time.Duration
	// SigningSecret checks HTTP requests (HTTP mode).
	SigningSecret string
	// Addr is the listen address (UPGRADEBOT_ADDR); Listener, when set, is used instead.
	Addr     string
	Listener net.Listener
	// AllowedBots are bot (B…) or app (A…) ids whose messages are diagnosed.
	AllowedBots []string
	Logger      *slog.Logger
	Metrics     Metrics
	// MetricsHandler serves /metrics; nil answers 404.
	MetricsHandler http.Handler
	// Workers is how many channels' requests are worked on at once; 0 means 32
	// (they mostly wait on Redis and Slack: 8 fell behind at full load).
	Workers int
	// ReadOnlyWorkers serve read-only commands and App Home, which wait in
	// no channel's lane; 0 means 2.
	ReadOnlyWorkers int
	// MaxQueue and MaxQueueBytes bound the requests held (waiting or being
	// worked on): above them events are refused so Slack resends them, and
	// commands and clicks have 10% more. 0 means 2,000 and 64 MiB.
	MaxQueue      int
	MaxQueueBytes int64
	// ShutdownTimeout bounds finishing replies in flight on shutdown; 0 means 10 s.
	ShutdownTimeout time.Duration
	// Drain (HTTP mode) is how long a stopping process keeps its port open
	// within ShutdownTimeout: /readyz answers 503 and events are refused
	// (Slack sends them again), while slash commands and clicks, which
	// Slack never sends again, are still taken until the load balancer has
	// seen it go; 0: none.
	Drain time.Duration
	// MaxBodyBytes bounds an HTTP request body; 0 means 1 MiB.
	MaxBodyBytes int64
	// ClaimTTL is how long a delivery the journal does not hold is held
	// while handled, so a crash lets a re-delivery answer after it (a
	// journaled one is held for DoneTTL at once); 0 means 2 minutes.
	ClaimTTL time.Duration
	// DoneTTL is how long an answered delivery is remembered; 0 means 1 hour
	// (Slack re-delivers for about 5 minutes).
	DoneTTL time.Duration
	// ThreadTTL is how long a thread remembers the diagnoses it holds; 0 means 7 days.
	ThreadTTL time.Duration
	// JobTimeout bounds the work on one request; 0 means 2 minutes.
	JobTimeout time.Duration
	// PingInterval is how long Socket Mode waits for Slack's ping before
	// reconnecting; 0 means slack-go's 30 s.
	PingInterval time.Duration
	// ReconnectBackoff is the first wait before opening Socket Mode again
	// after slack-go gave up; it doubles up to 5 minutes. 0 means 1 s.
	ReconnectBackoff time.Duration

	// OCR reads the screenshots (PNG, JPEG) shared in messages, which are
	// diagnosed with the message's text; nil ignores images (Tesseract
	// missing, UPGRADEBOT_OCR=off) and text works as ever.
	OCR OCR
	// ImageWait is how long a message's reply waits for its screenshots; one
	// read later updates the reply (or is the reply, when the text had
	// nothing to say). 0 means 8 s.
	ImageWait time.Duration
	// ImageTimeout bounds one screenshot: waiting for a slot, the download
	// and OCR. 0 means 1 minute.
	ImageTimeout time.Duration
	// MaxImages is how many screenshots of one message are read; 0 means 4.
	MaxImages int
	// ImageConcurrency is how many screenshots are downloaded and read at
	// once, all messages together (the OCR reader has its own, smaller
	// bound on Tesseract processes); 0 means 4.
	ImageConcurrency int
	// MaxImageJobs bounds the goroutines of screenshot work, all messages
	// together: one per screenshot being read, one per message waiting for
	// its screenshots. Beyond it a screenshot is not read (the reply says
	// so) instead of waiting. 0 means 4 × ImageConcurrency.
	MaxImageJobs int
	// MaxImageBytes and MaxImagePixels skip a larger screenshot before it is
	// downloaded (its declared size, original_w × original_h); MaxImageBytes
	// also caps the download. 0 means 20 MB and 40 megapixels.
	MaxImageBytes  int64
	MaxImagePixels int64

	// Living keeps a pinned status message per environment and channel
	// current (living.go), and announcements of changes go in its thread;
	// nil posts announcements in the channel as they come.
	Living *Living
	// Ready, when set, is told the installation's workspace once Slack
	// accepted the token and requests are taken: the reminder scheduler
	// starts then, to post for that workspace only.
	Ready func(team string)
}

// App is upgradebot on Slack.
type App struct {
	opts       Options
	core       Core
	api        *API
	store      progress.Store
	log        *slog.Logger
	refusedLog logLimiter // unsigned requests, one line a minute
	metrics    Metrics
	allowed    map[string]bool
	secret     []byte

	ready    atomic.Bool // identity known and work accepted
	stopping atomic.Bool
	botUser  string // set before ready
	botID    string
	team     string // the installation's workspace (auth.test)
	org      string // its Enterprise Grid organization, "" when none

	mu            sync.Mutex
	slackState    string
	recoveredMsgs map[string]bool // messages whose events were recovered (recoverOnce)

	connectedOnce atomic.Bool
	lanes         *lanes // set by Run before any request is taken
	inbox         *Inbox // the journal of acknowledged events (durable.go)
	journalOrder  journalOrder
	inboxDone     chan struct{}
	stopInbox     context.CancelFunc
	fatal         chan error
	running       atomic.Bool

	// Screenshots are read, and their replies posted, off the workers (see
	// screenshots.go): imageSlots bounds the downloads and reads at once,
	// bg tracks that work so shutdown can wait for it, bgCtx ends it.
	ocr         OCR
	imageSlots  chan struct{}
	imageJobs   chan struct{} // room for goroutines of screenshot work (MaxImageJobs)
	imageRoomMu sync.Mutex    // takes room for a message's goroutines all at once
	busySlots   chan struct{} // bounds the "busy" notes sent at once for refused clicks
	bg          sync.WaitGroup
	bgMu        sync.Mutex // guards bgClosed and bg.Add from zero
	bgClosed    bool
	bgRunning   atomic.Int64
	bgCtx       context.Context
	bgCancel    context.CancelFunc

	living *Living // nil: no living status messages
}

// New checks the options and returns the transport; Run starts it.
func New(o Options) (*App, error) {
	var problems []error
	if o.Core == nil {
		problems = append(problems, errors.New("slackbot: no Core"))
	}
	if o.API == nil {
		problems = append(problems, errors.New("slackbot: no API client"))
	}
	if o.Store == nil {
		problems = append(problems, errors.New("slackbot: no Store"))
	}
	switch o.Mode {
	case ModeSocket:
	case ModeHTTP:
		if o.SigningSecret == "" {
			problems = append(problems, errors.New("slackbot: HTTP mode needs the signing secret"))
		}
	default:
		problems = append(problems, fmt.Errorf("slackbot: unknown mode %q", o.Mode))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{
		{&o.ShutdownTimeout, 10 * time.Second}, {&o.ClaimTTL, 2 * time.Minute}, {&o.DoneTTL, time.Hour},
		{&o.ThreadTTL, 7 * 24 * time.Hour}, {&o.JobTimeout, 2 * time.Minute}, {&o.ReconnectBackoff, time.Second},
	}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.def
		}
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.ReadOnlyWorkers <= 0 {
		o.ReadOnlyWorkers = 2
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 2000
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = 64 << 20
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	o.setImageDefaults()
	a := &App{
		opts: o, core: o.Core, api: o.API, store: o.Store, log: o.Logger,
		metrics: metricsOrNop(o.Metrics), allowed: map[string]bool{}, secret: []byte(o.SigningSecret),
		slackState: "starting", fatal: make(chan error, 1),
		ocr: o.OCR, imageSlots: make(chan struct{}, o.ImageConcurrency), imageJobs: make(chan struct{}, o.MaxImageJobs),
		busySlots: make(chan struct{}, 8), living: o.Living,
	}
	a.bgCtx, a.bgCancel = context.WithCancel(context.Background())
	a.inbox = NewInbox(o.Store, InboxOptions{MinIdle: o.JournalMinIdle, Logger: o.Logger, Metrics: a.metrics})
	for _, id := range o.AllowedBots {
		a.allowed[id] = true
	}
	return a, nil
}

func (a *App) setSlack(state string) {
	a.mu.Lock()
	changed := a.slackState != state
	a.slackState = state
	a.mu.Unlock()
	if changed {
		a.metrics.Connected(state == "ok")
	}
}

func (a *App) slackCheck() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.slackState
}

// Run serves until ctx is cancelled, then stops taking work, finishes the
// replies in flight within ShutdownTimeout and returns nil. It returns an
// error when it cannot start: the address is taken, or Slack refuses a token.
func (a *App) Run(ctx context.Context) error {
	if a.running.Swap(true) {
		return errors.New("slackbot: Run called twice")
	}
	ln := a.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", a.opts.Addr); err != nil {
			return fmt.Errorf("UPGRADEBOT_ADDR: cannot listen on %s: %w", a.opts.Addr, err)
		}
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10, // Slack's are a few KB; Go's default is 1 MB
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	what := "health and metrics"
	if a.opts.Mode == ModeHTTP {
		what = "Slack requests on /slack/events, health and metrics"
	}
	a.log.Info("listening for "+what, "addr", ln.Addr().String(), "mode", string(a.opts.Mode))

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	a.lanes = newLanes(ctx, a.laneOptions())
	a.lanes.start()

	var err error
	if err = a.authenticate(runCtx); err == nil && runCtx.Err() == nil {
		if a.opts.Mode == ModeSocket {
			a.setSlack("connecting")
			go a.runSocket(runCtx)
		} else {
			a.setSlack("ok")
		}
		a.ready.Store(true)
		if a.opts.Ready != nil {
			a.opts.Ready(a.team)
		}
		a.startInbox(ctx)
		if a.living != nil && a.team != "" {
			go a.living.Sweep(runCtx, a.team)
		}
		select {
		case <-ctx.Done():
		case err = <-a.fatal:
		case err = <-serveErr:
			err = fmt.Errorf("serving on %s: %w", ln.Addr(), err)
		}
	}
	a.shutdown(srv, stopRun)
	return err
}

// authenticate learns the bot's identity with auth.test, retrying while
// Slack cannot be reached; a refused token, or one of no workspace, fails
// start-up.
func (a *App) authenticate(ctx context.Context) error {
	a.setSlack("authenticating")
	wait := time.Second
	for {
		res, err := a.api.AuthTest(ctx)
		if err == nil && res.TeamID == "" {
			// An organization-wide installation: its events come from every
			// workspace, and the bot keeps (and reminds) one workspace's data.
			org := ""
			if res.EnterpriseID != "" {
				org = " " + res.EnterpriseID
			}
			return fmt.Errorf("SLACK_BOT_TOKEN belongs to an organization-wide installation (Slack names no workspace for it, only the organization%s): upgradebot serves one workspace; install the app to a workspace instead, not to the whole Enterprise Grid organization (the manifests in slack/ set org_deploy_enabled: false; docs/slack.md)", org)
		}
		if err == nil {
			a.botUser, a.botID, a.team, a.org = res.UserID, res.BotID, res.TeamID, res.EnterpriseID
			a.core.SetBotUserID(res.UserID)
			a.log.Info("connected to Slack", "team", res.Team, "team_id", res.TeamID, "bot_user", res.User, "bot_user_id", res.UserID, "bot_id", res.BotID)
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if isAuthError(err) {
			return fmt.Errorf("SLACK_BOT_TOKEN was refused by Slack (%s): use the Bot User OAuth Token (xoxb-…) under OAuth & Permissions of the installed app, and reinstall the app if it was revoked (docs/slack.md)", errorCode(err))
		}
		a.log.Warn("cannot reach Slack yet; retrying", "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(wait*2, time.Minute)
	}
}

func errorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return err.Error()
}

// shutdown stops taking work, lets replies in flight finish within
// ShutdownTimeout, and closes the listener.
func (a *App) shutdown(srv *http.Server, stopRun context.CancelFunc) {
	a.stopping.Store(true)
	a.setSlack("stopping")
	a.log.Info("shutting down: finishing replies in flight", "within", a.opts.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.ShutdownTimeout)
	defer cancel()
	if a.opts.Mode == ModeSocket {
		// Events read and being journaled are acknowledged before the
		// connection closes: else Slack sends them again while the next
		// process recovers them. New events are not acknowledged meanwhile
		// (socketEvent); screenshot work is waited for too, within the bound.
		a.waitBackground(min(socketAckBudget, time.Until(deadline(ctx))))
	}
	if a.opts.Mode == ModeHTTP && a.opts.Drain > 0 {
		drain := time.NewTimer(min(a.opts.Drain, a.opts.ShutdownTimeout/2))
		<-drain.C
	}
	stopRun() // Socket Mode closes its connection
	// HTTP handlers only acknowledge: they end quickly.
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
	// Screenshots being read end by queueing their message's reply: wait
	// for them first (the lanes go on working meanwhile), then for the lanes.
	if !a.waitBackground(time.Until(deadline(ctx))) {
		a.log.Warn("shutting down with screenshots unread", "messages", a.bgRunning.Load())
	}
	abandoned := a.lanes.shutdown(max(time.Until(deadline(ctx)), 0))
	if a.living != nil {
		a.living.Close() // an edit still waiting is made now
	}
	// What was not finished stays in the journal for the next process.
	if a.stopInbox != nil {
		a.stopInbox()
		<-a.inboxDone
	}
	a.bgMu.Lock()
	a.bgClosed = true
	a.bgMu.Unlock()
	a.bgCancel()
	a.waitBackground(2 * time.Second)
	if abandoned > 0 {
		a.log.Warn("shut down with requests unanswered (journaled events are left for the next process)", "abandoned", abandoned)
	} else {
		a.log.Info("shut down")
	}
}

// waitBackground waits up to d for the screenshot work; false when some is left.
func (a *App) waitBackground(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		a.bg.Wait()
		close(done)
	}()
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// laneOptions sizes the lanes from the options and hooks them to the
// metrics and the log.
func (a *App) laneOptions() laneOptions {
	return laneOptions{
		workers: a.opts.Workers, freeWorkers: a.opts.ReadOnlyWorkers, timeout: a.opts.JobTimeout,
		maxJobs: a.opts.MaxQueue, maxBytes: a.opts.MaxQueueBytes, reserve: 0.1,
		depth:    a.metrics.QueueDepth,
		finished: func(j job) { a.metrics.HandlerLatency(j.kind, time.Since(j.received)) },
		refused:  func(j job) { a.metrics.Refused(j.kind) },
		panicked: func(j job, p any, stack []byte) {
			a.log.Error("handling a Slack request panicked", "kind", j.kind, "panic", p, "stack", string(stack))
		},
		episode: func(start bool, refused int) {
			if start {
				a.log.Warn("refusing Slack requests: the work held is at its bound (events are left for Slack to resend; commands and clicks are told to try again)",
					"max_jobs", a.opts.MaxQueue, "max_bytes", a.opts.MaxQueueBytes, "workers", a.opts.Workers)
			} else {
				a.log.Info("taking Slack requests again: half the bound is free", "refused", refused)
			}
		},
	}
}

// submit offers work to the lanes; false when it is refused: the work held
// is at its bound, or the process is stopping.
func (a *App) submit(j job) bool {
	if a.lanes.submit(j) {
		return true
	}
	if a.stopping.Load() {
		a.log.Warn("shutting down: a Slack request arrived too late to be answered", "kind", j.kind)
	}
	return false
}

// allowedBot reports whether another bot's (or app's) messages are diagnosed.
func (a *App) allowedBot(ids ...string) bool {
	return slices.ContainsFunc(ids, func(id string) bool { return id != "" && a.allowed[id] })
}

// What the Slack app must grant for the code above to work; the manifests
// in slack/ are tested against these lists.
var (
	// BotEvents are the event subscriptions the bot handles.
	BotEvents = []string{"app_home_opened", "app_mention", "message.channels", "message.groups", "message.im", "message.mpim",
		"member_joined_channel", "channel_unarchive", "group_unarchive"} // the last three: reminders resumed when the bot is back in a channel
	// BotScopes are the OAuth bot scopes of the Web API methods and events used.
	BotScopes = []string{
		"app_mentions:read", // app_mention
		"channels:history",  // message.channels
		"channels:read",     // conversations.info (track), users.conversations (App Home's charts)
		"chat:write",        // chat.postMessage, chat.postEphemeral, chat.update
		"commands",          // /upgrade
		"files:read",        // screenshots
		"files:write",       // files.getUploadURLExternal, files.completeUploadExternal (export, charts)
		"groups:history",    // message.groups
		"groups:read",       // conversations.info, users.conversations on private channels
		"im:history",        // message.im
		"mpim:history",      // message.mpim
		"reactions:write",   // reactions.add
		"pins:write",        // pins.add: the living status message
		"users:read",        // users.info: people's names in exports
	}
	// EventsPath is the one request URL of HTTP mode.
	EventsPath = "/slack/events"
)
