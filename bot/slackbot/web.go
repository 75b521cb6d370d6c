package slackbot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
)

// APIOptions configure the Web API client.
type APIOptions struct {
	// BotToken is the bot token (xoxb-…) every call uses.
	BotToken string
	// AppToken is the app-level token (xapp-…), for Socket Mode only.
	AppToken string
	// URL is the Web API base URL ending in "/"; "" means https://slack.com/api/.
	URL string
	// HTTPClient makes the calls; nil means a client with a 30-second
	// timeout that keeps up to 32 idle connections per host.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Metrics    Metrics
	// MaxAttempts bounds the tries of one call (see retryPolicy); 0 means 4, 1 turns retries off.
	MaxAttempts int
	// Backoff is the first wait after a 5xx or network error, doubled each time up to 8 s; 0 means 500 ms.
	Backoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one fails the call. 0 means 60 s.
	MaxRetryAfter time.Duration
}

// API is the Slack Web API as upgradebot uses it: slack-go retries each
// call as retryPolicy says, failures are counted by method and error code,
// and a channel the bot cannot reach any more comes back wrapping
// bot.ErrChannelGone.
//
// It implements bot.Poster (for the reminder scheduler), bot.Membership
// (for track) and bot.Names (for exports).
type API struct {
	client  *slack.Client
	log     *slog.Logger
	metrics Metrics
	// refused holds the code Slack last refused the bot token with, until a call succeeds again ("" then).
	refused atomic.Pointer[string]
	names   nameCache
	// notFoundGone: auth.test named a workspace in no Enterprise Grid
	// organization, where users.info's user_not_found means the account is gone (lookup).
	notFoundGone atomic.Bool
}

var (
	_ bot.Poster     = (*API)(nil)
	_ bot.Membership = (*API)(nil)
	_ bot.Names      = (*API)(nil)
)

// NewAPI returns a Web API client.
func NewAPI(o APIOptions) *API {
	if o.HTTPClient == nil {
		// The workers call Slack at once: keep their connections for reuse
		// (Go's default keeps 2 per host, so the others were dialed, and
		// TLS-handshaken, anew for each call).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = time.Minute
	}
	if o.URL == "" {
		o.URL = slack.APIURL
	}
	m := metricsOrNop(o.Metrics)
	cfg := slack.RetryConfig{
		MaxRetries:         o.MaxAttempts - 1,
		RetryAfterDuration: time.Second, // a 429 without Retry-After
		BackoffInitial:     o.Backoff,
		BackoffMax:         8 * time.Second,
		BackoffJitter:      o.Backoff / 2,
	}
	cfg.Handlers = []slack.RetryHandler{newRetryPolicy(cfg, o.URL, o.MaxRetryAfter, o.Logger, m)}
	// OptionRetryConfig wraps the HTTP client, so it comes after it.
	opts := []slack.Option{slack.OptionHTTPClient(o.HTTPClient), slack.OptionAPIURL(o.URL), slack.OptionRetryConfig(cfg)}
	if o.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(o.AppToken))
	}
	return &API{client: slack.New(o.BotToken, opts...), log: o.Logger, metrics: m}
}

// Client returns the underlying slack-go client (Socket Mode is built on it).
func (a *API) Client() *slack.Client { return a.client }

// repeatable are the methods that may be sent twice without a second
// effect: reads, and writes that set a state. A post or an upload sent
// again after a 5xx or a broken connection could appear twice: Slack may
// have made it before failing.
var repeatable = map[string]bool{
	"auth.test": true, "apps.connections.open": true, "conversations.info": true, "conversations.replies": true,
	"files.info": true, "files.download": true, "files.getUploadURLExternal": true, "users.conversations": true, "users.info": true,
	"chat.update": true, "pins.add": true, "pins.remove": true, "views.publish": true, "reactions.add": true, "reactions.remove": true,
}

// retryPolicy is slack-go's retry handlers with upgradebot's rule of which
// call may be sent again:
//   - a 429, any call (Slack did nothing), after its Retry-After unless that
//     is longer than maxWait;
//   - a 5xx or a broken connection, a repeatable method (or a GET, a download) only;
//   - a connection never made (refused when dialing), any call.
//
// Each retry is counted (SlackAPIError) and logged at debug level.
type retryPolicy struct {
	rateLimit, serverError, connError slack.RetryHandler
	apiPath                           string
	maxWait                           time.Duration
	log                               *slog.Logger
	metrics                           Metrics
}

func newRetryPolicy(cfg slack.RetryConfig, apiURL string, maxWait time.Duration, log *slog.Logger, m Metrics) *retryPolicy {
	apiPath := "/api/"
	if u, err := url.Parse(apiURL); err == nil {
		apiPath = u.Path
	}
	return &retryPolicy{
		rateLimit: slack.NewRateLimitErrorRetryHandler(cfg), serverError: slack.NewServerErrorRetryHandler(cfg),
		connError: slack.NewConnectionErrorRetryHandler(), apiPath: apiPath, maxWait: maxWait, log: log, metrics: m,
	}
}

// ShouldRetry implements slack.RetryHandler.
func (p *retryPolicy) ShouldRetry(s *slack.RetryState, req *http.Request, resp *http.Response, err error) (bool, time.Duration) {
	method := p.method(req)
	retry, wait := p.decide(s, req, resp, err, method)
	if retry {
		code := "network"
		if resp != nil {
			code = statusCode(resp.StatusCode)
		}
		p.metrics.SlackAPIError(method, code)
		p.log.Debug("slack call failed, retrying", "method", method, "code", code, "attempt", s.Attempt+1, "wait", wait)
	}
	return retry, wait
}

func (p *retryPolicy) decide(s *slack.RetryState, req *http.Request, resp *http.Response, err error, method string) (bool, time.Duration) {
	if ok, wait := p.rateLimit.ShouldRetry(s, req, resp, err); ok {
		if dl, has := req.Context().Deadline(); has && time.Until(dl) < wait {
			// The wait would end in a timeout, which reads as "Slack may
			// have made it": fail now as what it is, rate limited, so a
			// later try may post it.
			return false, 0
		}
		return wait <= p.maxWait, wait
	}
	if repeatable[method] || req.Method == http.MethodGet {
		if ok, wait := p.serverError.ShouldRetry(s, req, resp, err); ok {
			return true, wait
		}
		return p.connError.ShouldRetry(s, req, resp, err)
	}
	if neverSent(err) {
		return p.connError.ShouldRetry(s, req, resp, err)
	}
	return false, 0
}

// neverSent: the connection could not be made, so Slack got nothing.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// method names a request by its Web API method ("" for a response_url or an upload).
func (p *retryPolicy) method(req *http.Request) string {
	if m, ok := strings.CutPrefix(req.URL.Path, p.apiPath); ok {
		return m
	}
	if req.Method == http.MethodGet {
		return "files.download"
	}
	return "response_url"
}

// APIError is a Web API call that failed for good (after any retries).
type APIError struct {
	Method string
	// Code is Slack's error ("not_in_channel", "missing_scope"…), or
	// "ratelimited", "http_<status>", "network", "timeout", "canceled".
	Code string
	// Explanation says in words what the code means for upgradebot, when known.
	Explanation string
	// RetryAfter is the wait a rate limit asked for (Retry-After), 0 when none.
	RetryAfter  time.Duration
	Err         error
	gone        bool
	unconfirmed bool
	refused     bool
}

func (e *APIError) Error() string {
	s := "slack " + e.Method + ": " + e.Code
	if e.Explanation != "" {
		s += " (" + e.Explanation + ")"
	}
	return s
}

// Unwrap gives the cause and, for a channel out of reach, bot.ErrChannelGone;
// for a post Slack may have made anyway, bot.ErrMaybePosted; for a token or
// rights Slack refused, bot.ErrRefused.
func (e *APIError) Unwrap() []error {
	switch {
	case e.gone:
		return []error{bot.ErrChannelGone, e.Err}
	case e.unconfirmed:
		return []error{bot.ErrMaybePosted, e.Err}
	case e.refused:
		return []error{bot.ErrRefused, e.Err}
	}
	return []error{e.Err}
}

// final reports whether a reply that failed with err must not be tried
// again: its channel is gone, or Slack may have posted it.
func final(err error) bool {
	return errors.Is(err, bot.ErrChannelGone) || errors.Is(err, bot.ErrMaybePosted)
}

// refusedCodes are the errors a retry within minutes will not change.
var refusedCodes = map[string]bool{"invalid_auth": true, "not_authed": true, "token_revoked": true, "account_inactive": true,
	"token_expired": true, "missing_scope": true, "restricted_action": true, "not_allowed_token_type": true, "team_access_not_granted": true}

// goneCodes are the errors after which posting to the channel cannot succeed.
var goneCodes = map[string]string{
	"not_in_channel":    "the bot is not a member of the channel: invite it with /invite @upgradebot",
	"channel_not_found": "the channel does not exist, or it is private and the bot was never invited",
	"is_archived":       "the channel is archived",
}

// unconfirmed reports whether a call that failed with code may have been
// done by Slack all the same: a server error, a broken connection, a
// timeout, or Slack saying it failed partway (fatal_error: "some aspect of
// the operation may have succeeded").
func unconfirmed(code string) bool {
	switch code {
	case "network", "timeout", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return true
	}
	return strings.HasPrefix(code, "http_5")
}

// tokenRefused is the code Slack last refused the bot token with; "" while it works.
func (a *API) tokenRefused() string {
	if c := a.refused.Load(); c != nil {
		return *c
	}
	return ""
}

// transient reports whether a call that failed with err may succeed if
// tried again soon: Slack was busy, slow or out of reach, not refusing it.
func transient(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return true
	}
	return ae.Code == "ratelimited" || ae.Code == "canceled" || unconfirmed(ae.Code)
}

func statusCode(status int) string {
	if status == http.StatusTooManyRequests {
		return "ratelimited"
	}
	return fmt.Sprintf("http_%d", status)
}

// classify names the error of a call.
func classify(err error) string {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &rl):
		return "ratelimited"
	case errors.As(err, &sc):
		return statusCode(sc.Code)
	case errors.As(err, &se):
		return se.Err
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED):
		return "network"
	}
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		return "network"
	case strings.Contains(err.Error(), "redirected to the sign-in page"):
		// slack-go's error for a download the token may not make (no files:read).
		return "sign_in_page"
	}
	return "error"
}

// do runs one Web API call, which slack-go retries as retryPolicy says,
// and names its failure. A call that is not repeatable and may have been
// done by Slack anyway is logged and counted as unconfirmed: it is never
// sent twice. channel is for the log only.
func (a *API) do(ctx context.Context, method, channel string, fn func(context.Context) error) error {
	err := fn(ctx)
	if err == nil {
		if a.refused.Load() != nil && method != "files.download" && method != "response_url" {
			a.refused.Store(nil) // the token works again
		}
		return nil
	}
	redactURL(err)
	code := classify(err)
	if ctx.Err() != nil && code != "timeout" {
		code = "canceled"
	}
	a.metrics.SlackAPIError(method, code)
	if !repeatable[method] && unconfirmed(code) && !neverSent(err) {
		a.metrics.UnconfirmedCall(method)
		a.log.Warn("a Slack call failed after Slack may have acted on it: not sent again, so that nothing is posted twice",
			"method", method, "channel", channel, "code", code, "err", err)
		return &APIError{Method: method, Code: code, Err: err, unconfirmed: true}
	}
	return a.fail(method, channel, code, err)
}

// redactURL cuts the URL of a failed request in err down to its scheme and
// host: a response_url's path is a capability (whoever holds it answers
// the user or replaces their message), so it is no more logged than a
// token is.
func redactURL(err error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			ue.URL = u.Scheme + "://" + u.Host + "/…"
		} else {
			ue.URL = "[a URL]"
		}
	}
}

// fail builds the error of a call that will not be retried, and logs what
// an operator can act on.
func (a *API) fail(method, channel, code string, err error) error {
	e := &APIError{Method: method, Code: code, Err: err}
	if rl := (*slack.RateLimitedError)(nil); errors.As(err, &rl) {
		e.RetryAfter = rl.RetryAfter
	}
	if why, ok := goneCodes[code]; ok {
		e.gone, e.Explanation = true, why
		if method != "conversations.info" {
			a.log.Warn("cannot post to a Slack channel", "method", method, "channel", channel, "code", code, "explanation", why)
		}
		return e
	}
	var se slack.SlackErrorResponse
	e.refused = refusedCodes[code]
	switch {
	case code == "missing_scope" && errors.As(err, &se):
		e.Explanation = fmt.Sprintf("the app lacks the %s scope: add it under OAuth & Permissions (or in the manifest) and reinstall the app", se.Needed)
		a.log.Error("Slack refused a call for a missing scope", "method", method, "needed", se.Needed, "provided", se.Provided)
	case code == "invalid_auth" || code == "not_authed" || code == "token_revoked" || code == "account_inactive" || code == "token_expired":
		e.Explanation = "Slack refused the token: check SLACK_BOT_TOKEN (Bot User OAuth Token, xoxb-…) and that the app is installed"
		if prev := a.refused.Swap(&code); prev == nil || *prev != code {
			// Once per episode: every call fails alike until the token works again.
			a.log.Error("Slack refused the bot token; calls refused for it are not logged again until one succeeds", "method", method, "code", code)
		}
	case code == "canceled":
	default:
		a.log.Warn("Slack call failed", "method", method, "channel", channel, "code", code, "err", err)
	}
	return e
}

// msgOptions are the blocks and fallback text of a reply.
func msgOptions(r *bot.Reply) []slack.MsgOption { return msgOptionsID(r, "") }

// msgOptionsID are msgOptions with blockID on the first block ("": none).
func msgOptionsID(r *bot.Reply, blockID string) []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(FallbackText(r), false),
		slack.MsgOptionBlocks(withBlockID(RenderBlocks(r), blockID)...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
}

// AuthTest returns who the bot token belongs to.
func (a *API) AuthTest(ctx context.Context) (*slack.AuthTestResponse, error) {
	var res *slack.AuthTestResponse
	err := a.do(ctx, "auth.test", "", func(ctx context.Context) (err error) {
		res, err = a.client.AuthTestContext(ctx)
		return err
	})
	if err == nil {
		a.notFoundGone.Store(res.TeamID != "" && res.EnterpriseID == "")
	}
	return res, err
}

// Post posts a reply in a channel (bot.Poster: reminders and digests),
// and uploads its files in its thread. The reply counts as posted once
// the message is: a file that fails is logged, not tried again.
func (a *API) Post(ctx context.Context, channel string, r *bot.Reply) error {
	ts, err := a.PostMessage(ctx, channel, "", false, r)
	if err != nil {
		return err
	}
	for _, f := range r.Files {
		if _, err := a.Upload(ctx, channel, ts, "", f); err != nil {
			a.log.Info("cannot upload a file in the thread of a scheduled post", "channel", channel, "file", f.Name, "err", err)
		}
	}
	return nil
}

// PostMessage posts a reply in a channel, in thread when threadTS is set
// (broadcast also shows it in the channel), and returns its ts.
func (a *API) PostMessage(ctx context.Context, channel, threadTS string, broadcast bool, r *bot.Reply) (string, error) {
	return a.post(ctx, channel, threadTS, broadcast, "", r)
}

// PostEventReply is PostMessage for the reply to a Slack event: its first
// block carries EventBlockID(eventID), which Replied looks for.
func (a *API) PostEventReply(ctx context.Context, channel, threadTS, eventID string, r *bot.Reply) (string, error) {
	return a.post(ctx, channel, threadTS, false, EventBlockID(eventID), r)
}

func (a *API) post(ctx context.Context, channel, threadTS string, broadcast bool, blockID string, r *bot.Reply) (string, error) {
	opts := msgOptionsID(r, blockID)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
		if broadcast {
			opts = append(opts, slack.MsgOptionBroadcast())
		}
	}
	var ts string
	err := a.do(ctx, "chat.postMessage", channel, func(ctx context.Context) (err error) {
		_, ts, err = a.client.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

// PostEphemeralText shows plain text (already escaped for Slack) to one user in a channel.
func (a *API) PostEphemeralText(ctx context.Context, channel, user, threadTS, text string) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	return a.do(ctx, "chat.postEphemeral", channel, func(ctx context.Context) error {
		_, err := a.client.PostEphemeralContext(ctx, channel, user, opts...)
		return err
	})
}

// PostEphemeral shows a reply to one user in a channel (in thread when threadTS is set).
func (a *API) PostEphemeral(ctx context.Context, channel, user, threadTS string, r *bot.Reply) error {
	opts := msgOptions(r)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	return a.do(ctx, "chat.postEphemeral", channel, func(ctx context.Context) error {
		_, err := a.client.PostEphemeralContext(ctx, channel, user, opts...)
		return err
	})
}

// Update replaces a message the bot posted.
func (a *API) Update(ctx context.Context, channel, ts string, r *bot.Reply) error {
	return a.UpdateBlocks(ctx, channel, ts, FallbackText(r), RenderBlocks(r))
}

// UpdateEventReply is Update for a reply PostEventReply posted: it keeps its EventBlockID.
func (a *API) UpdateEventReply(ctx context.Context, channel, ts, eventID string, r *bot.Reply) error {
	return a.UpdateBlocks(ctx, channel, ts, FallbackText(r), withBlockID(RenderBlocks(r), EventBlockID(eventID)))
}

// maxThreadPages bounds the pages of a thread Replied reads (200 messages each).
const maxThreadPages = 50

// Replied reports whether the thread threadTS in channel holds a bot's
// message carrying EventBlockID(eventID): the reply to an event, posted
// before the process that took the event stopped. It reads the thread
// (conversations.replies, safe to repeat); a thread that is gone holds no reply.
func (a *API) Replied(ctx context.Context, channel, threadTS, eventID string) (string, error) {
	want := EventBlockID(eventID)
	params := &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: threadTS, Limit: 200}
	for range maxThreadPages {
		var msgs []slack.Message
		var more bool
		err := a.do(ctx, "conversations.replies", channel, func(ctx context.Context) (err error) {
			msgs, more, params.Cursor, err = a.client.GetConversationRepliesContext(ctx, params)
			return err
		})
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "thread_not_found" {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			if m.BotID != "" && slices.ContainsFunc(m.Blocks.BlockSet, func(b slack.Block) bool { return b.ID() == want }) {
				return m.Timestamp, nil
			}
		}
		if !more || params.Cursor == "" {
			return "", nil
		}
	}
	a.log.Warn("thread too long to look for an earlier reply in", "channel", channel, "thread", threadTS, "pages", maxThreadPages)
	return "", nil
}

// UpdateBlocks replaces a message's text and blocks.
func (a *API) UpdateBlocks(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	return a.do(ctx, "chat.update", channel, func(ctx context.Context) error {
		_, _, _, err := a.client.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
}

// response_url modes.
const (
	respondEphemeral = "ephemeral"
	respondInChannel = "in_channel"
	respondReplace   = "replace"
	respondDelete    = "delete"
)

// Respond answers through an interaction's or slash command's response_url:
// ephemeral, in_channel, replace (the message holding the clicked button)
// or delete (it). r may be nil for delete.
func (a *API) Respond(ctx context.Context, responseURL, mode string, r *bot.Reply) error {
	return a.RespondID(ctx, responseURL, mode, "", r)
}

// RespondID is Respond with blockID on the first block ("": none).
func (a *API) RespondID(ctx context.Context, responseURL, mode, blockID string, r *bot.Reply) error {
	if u, err := url.Parse(responseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &APIError{Method: "response_url", Code: "invalid_url", Err: errors.New("the response_url Slack sent is not a URL")}
	}
	var opts []slack.MsgOption
	switch mode {
	case respondReplace:
		opts = append(msgOptionsID(r, blockID), slack.MsgOptionReplaceOriginal(responseURL))
	case respondDelete:
		opts = []slack.MsgOption{slack.MsgOptionDeleteOriginal(responseURL)}
	default:
		opts = append(msgOptionsID(r, blockID), slack.MsgOptionResponseURL(responseURL, mode))
	}
	return a.do(ctx, "response_url", "", func(ctx context.Context) error {
		_, _, err := a.client.PostMessageContext(ctx, "", opts...)
		return err
	})
}

// RespondText answers through a response_url with plain text (already escaped).
func (a *API) RespondText(ctx context.Context, responseURL, mode, text string) error {
	return a.do(ctx, "response_url", "", func(ctx context.Context) error {
		_, _, err := a.client.PostMessageContext(ctx, "", slack.MsgOptionText(text, false), slack.MsgOptionResponseURL(responseURL, mode))
		return err
	})
}

// React adds an emoji reaction to a message; one already there counts as done.
func (a *API) React(ctx context.Context, channel, ts, name string) error {
	err := a.do(ctx, "reactions.add", channel, func(ctx context.Context) error {
		return a.client.AddReactionContext(ctx, name, slack.NewRefToMessage(channel, ts))
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "already_reacted" {
		return nil
	}
	return err
}

// Unreact takes the bot's reaction off a message; one not there (or the
// message gone) counts as done.
func (a *API) Unreact(ctx context.Context, channel, ts, name string) error {
	err := a.do(ctx, "reactions.remove", channel, func(ctx context.Context) error {
		return a.client.RemoveReactionContext(ctx, name, slack.NewRefToMessage(channel, ts))
	})
	var ae *APIError
	if errors.As(err, &ae) && (ae.Code == "no_reaction" || ae.Code == "message_not_found") {
		return nil
	}
	return err
}

// InChannel reports whether the bot is a member of a channel (bot.Membership).
// A channel the bot cannot see (private, not invited) is not one it is in.
func (a *API) InChannel(ctx context.Context, channel string) (bool, error) {
	if direct(channel) {
		// A direct message with the bot, where its Messages tab runs commands:
		// asking Slack would need im:read, a scope the app does not ask for.
		return true, nil
	}
	var ch *slack.Channel
	err := a.do(ctx, "conversations.info", channel, func(ctx context.Context) (err error) {
		ch, err = a.client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	if errors.Is(err, bot.ErrChannelGone) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return ch.IsMember || ch.IsIM, nil
}

// maxUserChannelPages bounds the pages UserChannels reads (200 channels each).
const maxUserChannelPages = 25

// UserChannels returns the public and private channels a user is a member
// of, as far as the bot can see them (users.conversations): private ones
// only where the bot is a member too, which is enough to tell whether the
// user is in a channel the bot follows an environment in.
func (a *API) UserChannels(ctx context.Context, user string) (map[string]bool, error) {
	in := map[string]bool{}
	params := &slack.GetConversationsForUserParameters{UserID: user, Types: []string{"public_channel", "private_channel"}, Limit: 200, ExcludeArchived: true}
	for range maxUserChannelPages {
		var chs []slack.Channel
		err := a.do(ctx, "users.conversations", "", func(ctx context.Context) (err error) {
			chs, params.Cursor, err = a.client.GetConversationsForUserContext(ctx, params)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, ch := range chs {
			in[ch.ID] = true
		}
		if params.Cursor == "" {
			return in, nil
		}
	}
	a.log.Warn("a user is in too many channels to read them all", "user", user, "pages", maxUserChannelPages)
	return in, nil
}

// PublishHome shows a reply as a user's App Home tab (up to 100 blocks).
func (a *API) PublishHome(ctx context.Context, user string, r *bot.Reply) error {
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: RenderBlocksLimit(r, MaxHomeBlocks)}}
	return a.do(ctx, "views.publish", "", func(ctx context.Context) error {
		_, err := a.client.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view})
		return err
	})
}

// errFileTooLarge: a download went over its byte limit.
var errFileTooLarge = errors.New("file larger than the limit")

// DownloadFile fetches a file's url_private_download with the bot token
// (Authorization: Bearer), through the client's HTTP client (redirects
// followed), retried like every call. The token is only sent to https
// Slack hosts and the API URL's host (slack-go refuses others). It reads
// at most max bytes: a larger file fails with an error wrapping
// errFileTooLarge, without reading the rest. Slack may answer 200 with an
// HTML page instead of the file: the caller checks what came back.
func (a *API) DownloadFile(ctx context.Context, url string, max int64) ([]byte, error) {
	var data []byte
	tooLarge := false
	err := a.do(ctx, "files.download", "", func(ctx context.Context) error {
		w := &limitedBuffer{max: max}
		err := a.client.GetFileContext(ctx, url, w)
		if w.over {
			tooLarge = true
			return nil
		}
		data = w.buf.Bytes()
		return err
	})
	if tooLarge {
		return nil, fmt.Errorf("downloading the file: %w (%d bytes)", errFileTooLarge, max)
	}
	return data, err
}

// limitedBuffer keeps up to max bytes and fails the write that goes over.
type limitedBuffer struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if int64(l.buf.Len())+int64(len(p)) > l.max {
		l.over = true
		return 0, errFileTooLarge
	}
	return l.buf.Write(p)
}

// FileInfo returns a file's details (files.info): a message event may
// carry only a file's id (file_access "check_file_info").
func (a *API) FileInfo(ctx context.Context, id string) (*slack.File, error) {
	var f *slack.File
	err := a.do(ctx, "files.info", "", func(ctx context.Context) (err error) {
		f, _, _, err = a.client.GetFileInfoContext(ctx, id, 0, 0)
		return err
	})
	return f, err
}

// Upload shares a file in a channel (in thread when threadTS is set) with
// files.getUploadURLExternal, the upload, and files.completeUploadExternal,
// and returns its id.
func (a *API) Upload(ctx context.Context, channel, threadTS, comment string, f *bot.File) (string, error) {
	var id string
	err := a.do(ctx, "files.upload", channel, func(ctx context.Context) error {
		s, err := a.client.UploadFileContext(ctx, slack.UploadFileParameters{
			Filename: f.Name, Title: f.Title, Content: string(f.Content), FileSize: len(f.Content),
			Channel: channel, ThreadTimestamp: threadTS, InitialComment: comment, AltTxt: bot.Shorten(f.Alt, MaxAltChars),
		})
		if s != nil {
			id = s.ID
		}
		return err
	})
	return id, err
}

// isAuthError tells a refused token from a transient failure.
func isAuthError(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case "invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired", "not_allowed_token_type":
			return true
		}
	}
	if err != nil {
		switch strings.TrimSpace(err.Error()) {
		case "invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired", "not_allowed_token_type":
			return true
		}
	}
	return false
}
