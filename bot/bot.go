package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// Message is a message posted in a channel, as the transport received it.
type Message struct {
	Workspace string
	Channel   string
	User      string
	TS        string // the message's id; makes tracking changes idempotent
	ThreadTS  string
	Edited    string // for an edited message (HandleEdit), the edit's id: its changes are keyed apart
	// Text is as the chat sent it: in Slack, &, < and > escaped and links
	// as <url|label>. Diagnosis reads that markup itself; only there does
	// a typed "<" differ from a link.
	Text string
	// Images are the screenshots attached to the message, diagnosed after
	// Text, in order. A transport that answers a message in several steps
	// (a slow screenshot updates the reply) passes the same images in the
	// same order each time: the position of an image keys what it records.
	Images []ImageText
}

// ImageText is a screenshot attached to a message, as the transport read it.
type ImageText struct {
	Name string // the file's name, shown in the reply
	Text string // the text read from it (OCR)
	// Problem says, in a few words, why it was not read ("" when it was);
	// the reply shows it when the message gets one.
	Problem string
	// Skipped: not read for one of the bot's limits (too many, too large,
	// too busy, too slow), so the text pasted would be read. A message of
	// such screenshots alone gets a reply saying so.
	Skipped bool
	// Pending means it is still being read: the reply says so, and the
	// transport updates the reply once it is read.
	Pending bool
	// File: a shared file (text, snippet, CSV, XLSX; see ReadFile), not a screenshot.
	File bool
	// Tail: a text file longer than MaxTextBytes, of which the end was read.
	Tail  bool
	Sheet *Sheet // an Error Log export, its rows diagnosed (ReadFile)
}

// Command is a subcommand of /upgrade (or of a mention of the bot).
type Command struct {
	Workspace string
	Channel   string
	User      string
	ID        string // unique per invocation; makes tracking changes idempotent
	Text      string // everything after "/upgrade", plain: the transport undoes its chat's escaping
	// Direct: the channel is the caller's alone with the bot (a direct
	// message, the shell), so a file shared there reaches no one else.
	Direct bool
}

// Action is a click on one of the bot's buttons.
type Action struct {
	Workspace string
	Channel   string
	User      string
	ID        string // unique per click
	ActionID  string
	Value     string
	Message   string // the message holding the button (its ts in Slack); "" when not known
}

// Response is what the bot does in answer.
type Response struct {
	Reply    *Reply // to the asker: a thread reply to a message, or to the caller of a command
	Private  bool   // Reply is for the caller only (ephemeral in Slack)
	Announce *Reply // posted in the channel for everyone: tracking changed
	// Quiet: Announce notifies nobody it mentions, as it repeats what they
	// were told (a shared status names every reporter and owner).
	Quiet bool
	React string // emoji name to add to the message (status recorded quietly)
	// Unreact is the bot's reaction to take off the message: an edit took
	// back what its first version recorded, quietly or not.
	Unreact string
	// Replace says the Reply replaces the message that held the clicked button.
	Replace bool
	// Update is the message holding the clicked button, rebuilt from
	// current state: the transport puts it in place of that message.
	Update *Reply
	// Edit is an earlier reply to a message, rebuilt from current state (a
	// typed undo, for the reply whose Undo button it stands for): the
	// transport edits it where it is.
	Edit *Edit
	// File is a document for the caller (an export), uploaded or printed by the transport.
	File *File
	// Changed lists the environments whose tracking state the response
	// changed (sorted): a transport refreshes what shows them (Slack's living status message).
	Changed []string
	// Following are the channels following each Changed environment, as
	// the request read them (absent: not read, or tracked or untracked by
	// it), so that the transport need not read them again.
	Following map[string][]string
	// Milestone is a short line for the channel when the response brought
	// an environment to a milestone (preparation finished or failed, all
	// clear). A transport that threads announcements under a pinned status
	// shows it in the channel too; the Announce may already say it.
	Milestone *Reply
}

// Edit is the reply to Message (its workspace, channel and ts) as it stands now.
type Edit struct {
	Message Message
	Reply   *Reply
}

// File is a generated document.
type File struct {
	Name    string
	Title   string
	Type    string // "markdown", "csv" or "png"
	Content []byte
	Alt     string // an image in words
	Env     string // the environment a chart shows: Slack posts it in its status message's thread
	Stamp   string // a chart's samples (ChartStamp)
}

// Options are the bot's dependencies and settings.
type Options struct {
	Engine Diagnoser
	Store  progress.Store
	Logger *slog.Logger
	Now    func() time.Time
	// Admins may reset, untrack and change schedules; empty means everyone.
	Admins []string
	// BotUserID is the bot's own Slack user id, to read "@bot status" as a command.
	BotUserID string
	// CommandName is how users invoke the bot, "/upgrade".
	CommandName string
	// Metrics receives counts; nil counts nothing.
	Metrics Metrics
	// Schedules answers reminder questions; nil means reminders are not available.
	Schedules Schedules
	// OCRNote explains in help why screenshots are not read; "" when they are.
	OCRNote string
	// Membership tells whether the bot is in a channel; nil skips the check (the shell).
	Membership Membership
	// Zone is where working days begin (a snooze until tomorrow) and how times are shown; nil means UTC.
	Zone *time.Location
	// Names names people and channels in the files the bot shares; nil leaves their ids (the shell).
	Names Names
}

// Diagnoser recognizes known errors in text; *diagnosis.Engine is the one in use.
type Diagnoser interface {
	Diagnose(text string) []diagnosis.Finding
	// KB is the knowledge base: an Error Log's findings, kept without
	// their entries (Sheet), find them there again.
	KB() *diagnosis.KB
}

// Membership answers whether the bot is a member of a channel (conversations.info in Slack).
type Membership interface {
	InChannel(ctx context.Context, channel string) (bool, error)
}

// Names gives the names of people and channels, for files read outside
// Slack, where an id means nothing (users.info and conversations.info).
type Names interface {
	// Names returns the names it knows of ids (user and channel ids), by id.
	Names(ctx context.Context, workspace string, ids []string) map[string]string
	// Departed returns which of the user ids it knows have left the workspace (deactivated, or gone).
	Departed(ctx context.Context, workspace string, ids []string) map[string]bool
}

// Metrics counts what the bot did (implemented with Prometheus by the binary).
type Metrics interface {
	Finding(id string)
	StoreError(op string)
}

// Schedules is the reminder scheduler as the commands see it.
type Schedules interface {
	// Set validates and stores a channel's schedule ("" = default, "off" = pause).
	Set(ctx context.Context, workspace, channel, spec, actor string) (string, error)
	// Next describes a channel's next reminder (after after, when not zero), "" when none.
	Next(ctx context.Context, workspace, channel string, after time.Time) string
	// Now builds the reminder a channel would get now; nil when nothing is outstanding.
	Now(ctx context.Context, workspace, channel string) (*Reply, error)
}

// Bot is the transport-neutral core.
type Bot struct {
	engine   Diagnoser
	store    progress.Store
	log      *slog.Logger
	now      func() time.Time
	admins   []string
	botUser  string
	cmd      string
	metrics  Metrics
	sched    Schedules
	ocrNote  string
	member   Membership
	names    Names
	zone     *time.Location
	commands []*commandDef
}

// New returns a bot with its dependencies.
func New(o Options) *Bot {
	b := &Bot{
		engine:  o.Engine,
		store:   o.Store,
		log:     o.Logger,
		now:     o.Now,
		admins:  o.Admins,
		botUser: o.BotUserID,
		cmd:     o.CommandName,
		metrics: o.Metrics,
		sched:   o.Schedules,
		ocrNote: o.OCRNote,
		member:  o.Membership,
		names:   o.Names,
		zone:    o.Zone,
	}
	if b.zone == nil {
		b.zone = time.UTC
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.store != nil {
		b.store = changeRecorder{b.store, b.log, b.now}
	}
	if b.cmd == "" {
		b.cmd = "/upgrade"
	}
	if b.metrics == nil {
		b.metrics = noMetrics{}
	}
	b.commands = commandTable()
	return b
}

// SetSchedules connects the reminder scheduler once it exists (it needs the bot to render).
func (b *Bot) SetSchedules(s Schedules) { b.sched = s }

// SetBotUserID records the bot's own user id once the transport learns it.
func (b *Bot) SetBotUserID(id string) { b.botUser = id }

type noMetrics struct{}

func (noMetrics) Finding(string) {}

func (noMetrics) StoreError(string) {}

// isAdmin reports whether user may run admin commands.
// adminSpans names the admins, who they are to Slack (UPGRADEBOT_ADMINS).
func (b *Bot) adminSpans() []Span {
	if len(b.admins) == 0 {
		return []Span{T("UPGRADEBOT_ADMINS names none, so for now everyone")}
	}
	var l []Span
	for i, a := range b.admins {
		if i == 10 {
			return append(l, T(fmt.Sprintf(" … and %d more", len(b.admins)-i)))
		}
		if i > 0 {
			l = append(l, T(", "))
		}
		l = append(l, M(a))
	}
	return l
}

// adminsOnly refuses what only admins may do (msg) and names them.
func (b *Bot) adminsOnly(msg string) *Reply {
	return (&Reply{Summary: msg}).Section(append(Line{T(msg + ". Ask one of them to do it: ")}, b.adminSpans()...))
}

func (b *Bot) isAdmin(user string) bool {
	return len(b.admins) == 0 || slices.Contains(b.admins, user)
}

// storeError turns a storage error into what the user reads.
func (b *Bot) storeError(op string, err error) *Reply {
	var verr *progress.ValidationError
	var nf *progress.NotFoundError
	switch {
	case errors.As(err, &verr):
		s := "That " + verr.Field + " " + verr.Problem + "."
		if verr.Value != "" {
			s = fmt.Sprintf("That %s, %q, %s.", verr.Field, Shorten(verr.Value, 60), verr.Problem)
		}
		if verr.Field == "environment name" {
			s += " An environment's name is one word, such as prod or prod-eu: `" + b.cmd + " envs` lists the tracked ones."
		}
		return errorReply(s)
	case errors.As(err, &nf):
		return errorReply(fmt.Sprintf("No environment named %s is tracked in this workspace: `%s envs` lists those that are, and `%s track %s` starts following it.", nf.Env, b.cmd, b.cmd, nf.Env))
	case errors.Is(err, progress.ErrNotFound):
		return errorReply("That environment is not tracked here. Start with `" + b.cmd + " track <env>`.")
	case errors.Is(err, progress.ErrChanged):
		return errorReply("Others changed that environment at the same moment, again and again, while I tried to " + op + "; this did not change it. Try again in a moment.")
	case errors.Is(err, progress.ErrUnavailable):
		b.metrics.StoreError(op)
		b.log.Log(context.Background(), storeLogLevel(err), "tracking store unavailable", "op", op, "err", err)
		return errorReply("Tracking is unavailable right now (storage unreachable). Diagnosis still works; try the command again in a minute.")
	default:
		b.metrics.StoreError(op)
		b.log.Error("tracking store failed", "op", op, "err", err)
		return errorReply("Tracking failed on my side (" + op + "); nothing was changed. Try again, and tell your upgradebot admin if it keeps failing.")
	}
}

// storeLogLevel is Warn for an outage, Debug for a call the store's breaker
// failed at once: the store said when it opened, once.
func storeLogLevel(err error) slog.Level {
	if errors.Is(err, progress.ErrBreakerOpen) {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

func errorReply(text string) *Reply {
	r := &Reply{Summary: text}
	r.Section(Line{T(text)})
	return r
}
