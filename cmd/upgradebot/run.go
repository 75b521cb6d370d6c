package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot"
	"github.com/upgradebot/upgradebot/config"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/metrics"
	"github.com/upgradebot/upgradebot/progress"
	"github.com/upgradebot/upgradebot/scheduler"
)

// shellHint ends the list of settings problems of run that the shell has not.
var shellHint = config.Problem{
	Name:    "To try upgradebot without Slack",
	Message: "run `upgradebot shell`: it needs none of the Slack settings (see docs/slack.md to create the Slack app)",
}

const runUsage = `Usage: upgradebot run

Connects to Slack and serves until interrupted: Socket Mode with
SLACK_APP_TOKEN, HTTP mode (POST /slack/events) with SLACK_SIGNING_SECRET;
UPGRADEBOT_MODE decides when both are set. SLACK_BOT_TOKEN is required.
/healthz, /readyz and /metrics listen on UPGRADEBOT_ADDR (default :3000).
The store is Redis (REDIS_URL, or REDIS_CLUSTER_URL) or the embedded file
UPGRADEBOT_DATA. Every setting is in the README; docs/slack.md creates the app.
`

// cmdRun connects to Slack in Socket Mode (SLACK_APP_TOKEN) or HTTP mode
// (SLACK_SIGNING_SECRET; UPGRADEBOT_MODE decides when both are set) and
// serves until ctx is cancelled (SIGINT, SIGTERM).
func cmdRun(ctx context.Context, args []string, e env) error {
	pos, err := parseInterspersed(newFlagSet("run", e), args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		return usageError{"run takes no arguments; settings come from the environment (see the README)"}
	}
	cfg, err := config.Load(config.ForRun, e.environ)
	if err = withStartProblems(err, e.environ); err != nil {
		var ve *config.ValidationError
		if _, serr := config.Load(config.ForShell, e.environ); errors.As(err, &ve) && serr == nil { // the shell would start
			return &config.ValidationError{Problems: append(append([]config.Problem(nil), ve.Problems...), shellHint)}
		}
		return err
	}
	logger := e.newLogger(cfg)
	kb, err := loadKB(cfg)
	if err != nil {
		return err
	}
	store, err := openStore(cfg, logger, nil, false)
	if err != nil {
		return err
	}
	defer store.Close()
	m := metrics.New()
	if rs, ok := store.(*progress.RedisStore); ok {
		m.WatchBreaker(rs.BreakerOpen)
	}
	api := slackbot.NewAPI(slackbot.APIOptions{
		BotToken: cfg.SlackBotToken.Reveal(),
		AppToken: cfg.SlackAppToken.Reveal(),
		URL:      cfg.SlackAPIURL,
		Logger:   logger,
		Metrics:  m,
	})
	ocr := newOCR(cfg, logger)
	if err := ocr.startErr(); err != nil {
		return err
	}
	core := bot.New(bot.Options{
		Engine:     diagnosis.New(kb),
		Store:      store,
		Logger:     logger,
		Admins:     cfg.Admins,
		Metrics:    m,
		OCRNote:    ocr.note(),
		Membership: api,
		Names:      api,
		Zone:       cfg.Timezone,
	})
	// Reminders and the digest are posted through the same Web API client.
	schedOpts := schedulerOptions(cfg)
	schedOpts.Store, schedOpts.Bot, schedOpts.Logger, schedOpts.Poster, schedOpts.Metrics = store, core, logger, api, m
	// Only the installation's workspace, known once Slack accepted the token:
	// a store may be shared with other installations or with the shell's
	// practice environments, whose channels this token cannot post in.
	var team string // set before sched.Run starts, and read only by it
	schedOpts.Posts = func(ws string) bool { return ws == team }
	sched, err := scheduler.New(schedOpts)
	if err != nil {
		return err
	}
	core.SetSchedules(sched)
	maxImageBytes, maxImagePixels := ocr.imageLimits()
	mode := slackbot.ModeSocket
	if cfg.Mode == config.ModeHTTP {
		mode = slackbot.ModeHTTP
	}
	teamKnown := make(chan string, 1)
	living := slackbot.NewLiving(slackbot.LivingOptions{API: api, Core: core, Store: store, Logger: logger})
	app, err := slackbot.New(slackbot.Options{
		Living: living,
		Ready:  func(t string) { teamKnown <- t },
		Mode:   mode,
		// HTTP mode: 2 s for a load balancer to see /readyz fail while
		// slash commands and clicks, never sent again, are still taken.
		Drain:          2 * time.Second,
		Core:           core,
		API:            api,
		Store:          store,
		SigningSecret:  cfg.SlackSigningSecret.Reveal(),
		Addr:           cfg.Addr,
		AllowedBots:    cfg.AllowedBots,
		Logger:         logger,
		Metrics:        m,
		MetricsHandler: m.Handler(),
		// Screenshots shared in messages (nil when not read: images are ignored).
		OCR:            ocr.slackOCR(),
		MaxImageBytes:  maxImageBytes,
		MaxImagePixels: maxImagePixels,
	})
	if err != nil {
		return err
	}
	logger.Info("starting upgradebot", "version", versionString(), "config", cfg)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	schedDone := make(chan error, 1)
	go func() {
		select {
		case team = <-teamKnown:
		case <-runCtx.Done():
			schedDone <- nil
			return
		}
		err := sched.Run(runCtx)
		if err != nil {
			stop() // without reminders, stop rather than run half a bot
		}
		schedDone <- err
	}()
	err = app.Run(runCtx)
	stop()
	if serr := <-schedDone; err == nil && serr != nil {
		err = fmt.Errorf("reminder scheduler: %w", serr)
	}
	return err
}

// schedulerOptions returns the schedule settings of cfg; the caller adds
// the dependencies (Store, Poster, Bot, Logger, Metrics).
func schedulerOptions(cfg *config.Config) scheduler.Options {
	return scheduler.Options{
		DefaultSchedule: cfg.ReminderSchedule,
		Zone:            cfg.Timezone,
		MinInterval:     cfg.MinReminderInterval,
		DigestChannel:   cfg.DigestChannel,
		DigestSchedule:  cfg.DigestSchedule,
	}
}
