package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/shell"
	"github.com/upgradebot/upgradebot/config"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
	"github.com/upgradebot/upgradebot/scheduler"
)

const shellUsage = `Usage: upgradebot shell [--channel NAME] [--user NAME] [--workspace ID] [-v]

The bot in this terminal, without Slack, on the same store as run.
  /upgrade COMMAND      runs when you press Enter; failed, skipped, done and
                        take with no module on their line read module names
                        from the next lines, up to an empty line
  :image PATH           reads a screenshot
  :file PATH            reads a text, CSV or XLSX file as if shared in Slack
  :quit                 leaves
Anything else is a pasted message: a block pasted at once is one message,
empty lines included; typed text ends at an empty line. From a pipe, a
message ends at an empty line or the end of the input. Buttons are shown
as the commands that do the same.

  --channel NAME   the channel the shell acts in (default shell)
  --user NAME      who you are (default $USER)
  --workspace ID   whose environments to read and change: a Slack
                   workspace's id (T…) reads what upgradebot run kept in
                   this store, e.g. a file left behind after moving to
                   Redis (default local, the shell's own)
  -v               show the log's info lines (or set UPGRADEBOT_LOG_LEVEL)
`

func cmdShell(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("shell", e)
	channel := fs.String("channel", "shell", "channel name the shell acts in")
	userName := fs.String("user", "", "user name (default $USER)")
	workspace := fs.String("workspace", shell.DefaultWorkspace, "workspace id whose environments the shell reads and changes")
	verbose := fs.Bool("v", false, "show info log lines")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("shell takes no arguments (got %q); pipe input or type it", pos[0])}
	}
	cfg, err := config.Load(config.ForShell, e.environ)
	if err = withStartProblems(err, e.environ); err != nil {
		return err
	}
	if strings.TrimSpace(e.environ["UPGRADEBOT_LOG_LEVEL"]) == "" {
		// The terminal is the conversation: the log's info lines only on request.
		cfg.LogLevel = slog.LevelWarn
	}
	if *verbose {
		cfg.LogLevel = min(cfg.LogLevel, slog.LevelInfo)
	}
	logger := e.newLogger(cfg)
	kb, err := loadKB(cfg)
	if err != nil {
		return err
	}
	store, err := openStore(cfg, logger, e.now, true)
	if err != nil {
		return err
	}
	defer store.Close()
	who := *userName
	if who == "" {
		who = currentUser(e)
	}
	ocr := newOCR(cfg, logger)
	if err := ocr.startErr(); err != nil {
		return err
	}
	b := bot.New(bot.Options{Engine: diagnosis.New(kb), Store: store, Logger: logger, Admins: cfg.Admins, OCRNote: ocr.note(), Now: e.now, Zone: cfg.Timezone})
	// The shell posts nothing on a schedule, but "/upgrade remind now" and
	// schedule changes work through the same scheduler as in Slack.
	opts := schedulerOptions(cfg)
	opts.Store, opts.Bot, opts.Logger = store, b, logger
	if e.now != nil {
		opts.Clock = fixedClock{e.now}
	}
	sched, err := scheduler.New(opts)
	if err != nil {
		return err
	}
	b.SetSchedules(sched)
	sh := shell.New(b, e.stdout, e.stdin, shell.Options{
		Workspace: strings.TrimSpace(*workspace), Channel: strings.TrimPrefix(*channel, "#"), User: who, Terminal: e.stdinTerminal, Controls: e.terminal, // "#general" is general
		ReadImage: ocr.readFileFunc(), ImageUnavailable: ocr.note(), Now: e.now,
		Session: e.shellSession,
	})
	return sh.Run(ctx)
}

// fixedClock is the scheduler's clock when the shell's time is fixed: the
// shell waits for nothing, so After never fires.
type fixedClock struct{ now func() time.Time }

func (c fixedClock) Now() time.Time                     { return c.now() }
func (fixedClock) After(time.Duration) <-chan time.Time { return nil }

func currentUser(e env) string {
	if u := e.environ["USER"]; u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "you"
}

// openStore opens the Redis store when a Redis URL is set, else the embedded file.
// now is the store's clock; nil means time.Now. forShell: for the shell,
// whose environments are those of its own workspace.
func openStore(cfg *config.Config, logger *slog.Logger, now func() time.Time, forShell bool) (progress.Store, error) {
	if cfg.RedisURL.IsSet() || cfg.RedisClusterURL.IsSet() {
		s, kind, err := progress.OpenRedis(cfg.RedisURL.Reveal(), cfg.RedisClusterURL.Reveal(), progress.RedisOptions{Prefix: cfg.RedisPrefix, Logger: logger, Now: now})
		if err != nil {
			return nil, err
		}
		// A Redis that is down may come back (tracking waits for it); one
		// that refuses the settings will not: that is a settings problem.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		err = s.Ping(ctx)
		reachable := err == nil
		if reachable {
			err = s.CheckAccess(ctx)
		}
		if problem := progress.SettingsProblem(err); problem != "" {
			s.Close()
			name := "REDIS_URL"
			if cfg.RedisClusterURL.IsSet() {
				name = "REDIS_CLUSTER_URL"
			}
			return nil, fmt.Errorf("%s: %s", name, problem)
		}
		n := 0
		for ws, k := range progress.EnvironmentsInFile(cfg.DataFile) {
			if (ws == shell.DefaultWorkspace) == forShell { // the shell's practice, or Slack's upgrades
				n += k
			}
		}
		if n > 0 {
			// Moving to Redis (replicas) mid-upgrade: what the file holds
			// stays there, and the channels would find their upgrades gone.
			logger.Warn("the embedded store file holds environments that are not moved to Redis: upgradebot reads only Redis now, where they are not tracked unless tracked there too; to go on with them, run without REDIS_URL (or track them again, and unpin their old status messages)",
				"file", cfg.DataFile, "environments", n)
		}
		switch {
		case reachable && err != nil: // full (OOM), or too few replicas to write
			logger.Warn("store: Redis, which refused a test write: tracking fails until it takes writes", "kind", kind, "err", err)
		case err != nil:
			attrs := []any{"kind", kind, "err", err}
			if strings.HasPrefix(cmp.Or(cfg.RedisURL.Reveal(), cfg.RedisClusterURL.Reveal()), "rediss://") {
				attrs = append(attrs, "hint", "the URL asks for TLS (rediss://): if this Redis does not use it, write redis://")
			}
			logger.Warn("store: Redis, not reachable yet: tracking waits for it", attrs...)
		default:
			logger.Info("store: Redis", "kind", kind)
		}
		return s, nil
	}
	if cfg.DataIsDefault {
		// Only the default folder is created: config reports a given one that is missing.
		if err := os.MkdirAll(filepath.Dir(cfg.DataFile), 0o700); err != nil {
			return nil, fmt.Errorf("UPGRADEBOT_DATA: creating the folder of %s: %w: set UPGRADEBOT_DATA to a file in a writable folder (a mounted volume), or use Redis (REDIS_URL)", cfg.DataFile, err)
		}
	}
	s, err := progress.OpenBoltStore(cfg.DataFile, progress.BoltOptions{Now: now})
	if err != nil {
		return nil, fmt.Errorf("UPGRADEBOT_DATA: %w", err)
	}
	logger.Info("store: embedded", "file", cfg.DataFile)
	return s, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		// Durations as people write them ("1h0m0s"), not nanoseconds, as in text logs.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newLogger returns the command's logger on standard error and hands it to
// the libraries that log on their own (env.useLogger).
func (e env) newLogger(cfg *config.Config) *slog.Logger {
	logger := newLogger(cfg, e.stderr)
	if e.useLogger != nil {
		e.useLogger(logger)
	}
	return logger
}
