package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/shell"
	"github.com/upgradebot/upgradebot/config"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
	"github.com/upgradebot/upgradebot/scheduler"
)

func cmdShell(ctx context.Context, args []string, flags *config.Flags, e env) error {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	channel := fs.String("channel", "shell", "channel name the shell acts in")
	userName := fs.String("user", "", "user name (default $USER)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("shell takes no arguments (got %q); pipe input or type it", pos[0])}
	}
	cfg, err := config.Load(config.ForShell, config.Sources{Flags: flags, LookupEnv: e.lookupEnv})
	if err != nil {
		return err
	}
	logger := newLogger(cfg, e.stderr)
	kb, err := loadKB(cfg)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
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
	b := bot.New(bot.Options{Engine: diagnosis.New(kb), Store: store, Logger: logger, OCRNote: ocr.note()})
	// The shell posts nothing on a schedule, but "/upgrade remind now" and
	// schedule changes work through the same scheduler as in Slack.
	opts := schedulerOptions(cfg)
	opts.Store, opts.Bot, opts.Logger = store, b, logger
	sched, err := scheduler.New(opts)
	if err != nil {
		return err
	}
	b.SetSchedules(sched)
	sh := shell.New(b, e.stdout, e.stdin, shell.Options{
		Channel: *channel, User: who, Prompt: e.stdinTerminal,
		ReadImage: ocr.readFileFunc(), ImageUnavailable: ocr.note(),
	})
	return sh.Run(ctx)
}

func currentUser(e env) string {
	if u, ok := e.lookupEnv("USER"); ok && u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "you"
}

// openStore opens the Redis store when REDIS_URL is set, else the embedded file.
func openStore(ctx context.Context, cfg *config.Config) (progress.Store, error) {
	if url := cfg.RedisURL.Reveal(); url != "" {
		s, err := progress.OpenRedisURL(url, progress.RedisOptions{Prefix: cfg.RedisPrefix})
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		return s, nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.DataFile), 0o700); err != nil {
		return nil, fmt.Errorf("UPGRADEBOT_DATA: creating the folder of %s: %w", cfg.DataFile, err)
	}
	s, err := progress.OpenBoltStore(cfg.DataFile, progress.BoltOptions{})
	if err != nil {
		return nil, fmt.Errorf("UPGRADEBOT_DATA: %w", err)
	}
	return s, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
