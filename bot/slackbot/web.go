package slackbot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
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
	// HTTPClient makes the calls; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Metrics    Metrics
	// MaxAttempts bounds the tries of one call (rate limits, 5xx, network errors); 0 means 4.
	MaxAttempts int
	// Backoff is the first wait after a 5xx or network error, doubled each time up to 8 s; 0 means 500 ms.
	Backoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one fails the call. 0 means 60 s.
	MaxRetryAfter time.Duration
}

// API is the Slack Web API as upgradebot uses it: every call is retried
// on rate limits (after Retry-After), 5xx answers and network errors with
// a bounded backoff, counted by method and error code, and a channel the
// bot cannot reach any more comes back wrapping bot.ErrChannelGone.
//
// It implements bot.Poster (for the reminder scheduler) and bot.Membership
// (for track).
type API struct {
	client        *slack.Client
	log           *slog.Logger
	metrics       Metrics
	maxAttempts   int
	backoff       time.Duration
	maxRetryAfter time.Duration
}

var (
	_ bot.Poster     = (*API)(nil)
	_ bot.Membership = (*API)(nil)
)

// NewAPI returns a Web API client.
func NewAPI(o APIOptions) *API {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
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
	opts := []slack.Option{slack.OptionHTTPClient(o.HTTPClient)}
	if o.URL != "" {
		opts = append(opts, slack.OptionAPIURL(o.URL))
	}
	if o.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(o.AppToken))
	}
	return &API{
		client:        slack.New(o.BotToken, opts...),
		log:           o.Logger,
		metrics:       metricsOrNop(o.Metrics),
		maxAttempts:   o.MaxAttempts,
		backoff:       o.Backoff,
		maxRetryAfter: o.MaxRetryAfter,
	}
}

// Client returns the underlying slack-go client (Socket Mode is built on it).
func (a *API) Client() *slack.Client { return a.client }

// APIError is a Web API call that failed for good (after any retries).
type APIError struct {
	Method string
	// Code is Slack's error ("not_in_channel", "missing_scope"…), or
	// "ratelimited", "http_<status>", "network", "canceled".
	Code string
	// Explanation says in words what the code means for upgradebot, when known.
	Explanation string
	Err         error
	gone        bool
}

func (e *APIError) Error() string {
	s := "slack " + e.Method + ": " + e.Code
	if e.Explanation != "" {
		s += " (" + e.Explanation + ")"
	}
	return s
}

// Unwrap gives the cause and, for a channel out of reach, bot.ErrChannelGone.
func (e *APIError) Unwrap() []error {
	if e.gone {
		return []error{bot.ErrChannelGone, e.Err}
	}
	return []error{e.Err}
}

// goneCodes are the errors after which posting to the channel cannot succeed.
var goneCodes = map[string]string{
	"not_in_channel":    "the bot is not a member of the channel: invite it with /invite @upgradebot",
	"channel_not_found": "the channel does not exist, or it is private and the bot was never invited",
	"is_archived":       "the channel is archived",
}

// transientCodes are Slack errors (HTTP 200, ok:false) worth another try.
var transientCodes = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true,
}

// classify names an error and says whether, and after how long, to retry
// (0 wait: the caller's backoff).
func classify(err error) (code string, retry bool, wait time.Duration) {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled", false, 0
	case errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &ne):
		return "timeout", false, 0
	case errors.As(err, &rl):
		return "ratelimited", true, rl.RetryAfter
	case errors.As(err, &sc):
		switch {
		case sc.Code == http.StatusTooManyRequests:
			// A 429 without a usable Retry-After comes as a plain status error.
			return "ratelimited", true, time.Second
		case sc.Code >= 500:
			return fmt.Sprintf("http_%d", sc.Code), true, 0
		}
		return fmt.Sprintf("http_%d", sc.Code), false, 0
	case errors.As(err, &se):
		return se.Err, transientCodes[se.Err], 0
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED):
		return "network", true, 0
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "network", true, 0
	}
	return "error", false, 0
}

// do runs one Web API call with retries. channel is for the log only.
func (a *API) do(ctx context.Context, method, channel string, fn func(context.Context) error) error {
	backoff := a.backoff
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		code, retry, wait := classify(err)
		if ctx.Err() != nil {
			code, retry = "canceled", false
		}
		a.metrics.SlackAPIError(method, code)
		if retry && wait > a.maxRetryAfter {
			retry = false
		}
		if !retry || attempt >= a.maxAttempts {
			return a.fail(method, channel, code, err)
		}
		if wait <= 0 {
			wait = backoff + rand.N(backoff/2+1)
			backoff = min(backoff*2, 8*time.Second)
		}
		a.log.Debug("slack call failed, retrying", "method", method, "code", code, "attempt", attempt, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			a.metrics.SlackAPIError(method, "canceled")
			return a.fail(method, channel, "canceled", ctx.Err())
		case <-t.C:
		}
	}
}

// fail builds the error of a call that will not be retried, and logs what
// an operator can act on.
func (a *API) fail(method, channel, code string, err error) error {
	e := &APIError{Method: method, Code: code, Err: err}
	if why, ok := goneCodes[code]; ok {
		e.gone, e.Explanation = true, why
		if method != "conversations.info" {
			a.log.Warn("cannot post to a Slack channel", "method", method, "channel", channel, "code", code, "explanation", why)
		}
		return e
	}
	var se slack.SlackErrorResponse
	switch {
	case code == "missing_scope" && errors.As(err, &se):
		e.Explanation = fmt.Sprintf("the app lacks the %s scope: add it under OAuth & Permissions (or in the manifest) and reinstall the app", se.Needed)
		a.log.Error("Slack refused a call for a missing scope", "method", method, "needed", se.Needed, "provided", se.Provided)
	case code == "invalid_auth" || code == "not_authed" || code == "token_revoked" || code == "account_inactive" || code == "token_expired":
		e.Explanation = "Slack refused the token: check SLACK_BOT_TOKEN (Bot User OAuth Token, xoxb-…) and that the app is installed"
		a.log.Error("Slack refused the bot token", "method", method, "code", code)
	case code == "canceled":
	default:
		a.log.Warn("Slack call failed", "method", method, "channel", channel, "code", code, "err", err)
	}
	return e
}

// msgOptions are the blocks and fallback text of a reply.
func msgOptions(r *bot.Reply) []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(FallbackText(r), false),
		slack.MsgOptionBlocks(RenderBlocks(r)...),
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
	return res, err
}

// Post posts a reply in a channel (bot.Poster: reminders and digests).
func (a *API) Post(ctx context.Context, channel string, r *bot.Reply) error {
	_, err := a.PostMessage(ctx, channel, "", false, r)
	return err
}

// PostMessage posts a reply in a channel, in thread when threadTS is set
// (broadcast also shows it in the channel), and returns its ts.
func (a *API) PostMessage(ctx context.Context, channel, threadTS string, broadcast bool, r *bot.Reply) (string, error) {
	opts := msgOptions(r)
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
	if u, err := url.Parse(responseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &APIError{Method: "response_url", Code: "invalid_url", Err: fmt.Errorf("response_url %q is not a URL", responseURL)}
	}
	var opts []slack.MsgOption
	switch mode {
	case respondReplace:
		opts = append(msgOptions(r), slack.MsgOptionReplaceOriginal(responseURL))
	case respondDelete:
		opts = []slack.MsgOption{slack.MsgOptionDeleteOriginal(responseURL)}
	default:
		opts = append(msgOptions(r), slack.MsgOptionResponseURL(responseURL, mode))
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

// InChannel reports whether the bot is a member of a channel (bot.Membership).
// A channel the bot cannot see (private, not invited) is not one it is in.
func (a *API) InChannel(ctx context.Context, channel string) (bool, error) {
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
// files.getUploadURLExternal, the upload, and files.completeUploadExternal.
func (a *API) Upload(ctx context.Context, channel, threadTS, comment string, f *bot.File) error {
	return a.do(ctx, "files.upload", channel, func(ctx context.Context) error {
		_, err := a.client.UploadFileContext(ctx, slack.UploadFileParameters{
			Filename: f.Name, Title: f.Title, Content: string(f.Content), FileSize: len(f.Content),
			Channel: channel, ThreadTimestamp: threadTS, InitialComment: comment,
		})
		return err
	})
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
