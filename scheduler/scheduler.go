// Package scheduler posts upgradebot's reminders and digest on schedules.
//
// Every replica reads the followed channels with their schedules from the shared store (one read per
// workspace every few seconds). An occurrence is an instant every replica computes alike (spec.go); the
// replica whose claim on it (occKey, under a token of its own) wins posts it. The claim is a lease, renewed
// while posting and retrying, then kept past the grace period as the done mark; a dead holder's lease runs
// out and another replica takes over. An occurrence is posted twice only when the lease runs out before the
// done mark is written and another replica claims it meanwhile: after a crash between Slack accepting the
// post and the mark, or with the store away for as long as the lease.
package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // schedules name IANA zones; a minimal container has none

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/progress"
)

// Defaults of Options.
const (
	DefaultReminderSchedule = "0 9 * * 1-5"
	DefaultDigestSchedule   = "0 9 * * 1"
	DefaultMinInterval      = 15 * time.Minute
	DefaultGrace            = time.Hour
	DefaultStall            = bot.DefaultStall
	DefaultPollInterval     = 5 * time.Second
	DefaultLease            = 3 * time.Minute
	DefaultShutdownTimeout  = 10 * time.Second
)
const (
	tick         = time.Second    // how often occurrences are checked
	missLookback = 24 * time.Hour // how far before the grace period a starting replica counts misses
	maxScan      = 10000          // occurrences one scan walks through at most
)

// Metrics counts scheduled posts, and occurrences missed (past the grace period, or failing until then).
type Metrics interface {
	ReminderPosted()
	ReminderMissed()
}

type noMetrics struct{}

func (noMetrics) ReminderPosted() {}
func (noMetrics) ReminderMissed() {}

// Options are a Scheduler's dependencies and settings; zero values mean the defaults.
type Options struct {
	Store   progress.Store
	Poster  bot.Poster // needed by Run; Set, Next and Now work without it
	Bot     *bot.Bot   // renders reminders and the digest
	Logger  *slog.Logger
	Clock   Clock   // nil: the system clock
	Metrics Metrics // nil: none
	// Posts: the workspaces this process posts to (nil: all), so the Slack bot and the shell sharing a store keep to their own.
	Posts func(workspace string) bool

	DefaultSchedule string         // UPGRADEBOT_REMINDER_SCHEDULE
	Zone            *time.Location // UPGRADEBOT_TIMEZONE, for schedules without CRON_TZ=; nil: UTC
	MinInterval     time.Duration  // UPGRADEBOT_MIN_REMINDER_INTERVAL (negative: no minimum)
	DigestChannel   string         // UPGRADEBOT_DIGEST_CHANNEL; "": no digest
	DigestSchedule  string         // UPGRADEBOT_DIGEST_SCHEDULE
	CommandName     string         // how users invoke the bot; "" means "/upgrade"
	Grace           time.Duration  // how late a missed occurrence is still posted
	Stall           time.Duration  // how long a preparation may go without an update before reminders say so
	PollInterval    time.Duration  // how often schedules are read from the store
	Lease           time.Duration  // a claim's hold without renewal; failed posts retry after Lease/90, doubling
	ShutdownTimeout time.Duration  // how long Run waits for a post in progress
}

// Scheduler posts reminders and the digest, and implements bot.Schedules.
type Scheduler struct {
	o           Options     // with defaults filled in
	def, digest *Schedule   // digest nil: none
	repoll      atomic.Bool // a schedule changed: read them at the next step
	kick        chan struct{}
	jobs        map[string]*job // this field and those below: step's alone
	items       map[string]*item
	workspaces  []string  // those of the last successful poll, this process's (Posts); the digest's
	polledAt    time.Time // the last successful poll; zero: none yet
	nextPoll    time.Time
	failing     bool
}

// New returns a scheduler; it validates the default and digest schedules.
func New(o Options) (*Scheduler, error) {
	if o.Store == nil || o.Bot == nil {
		return nil, errors.New("scheduler: a store and a bot (to render reminders) are required")
	}
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	o.Clock, o.Metrics = cmp.Or[Clock](o.Clock, realClock{}), cmp.Or[Metrics](o.Metrics, noMetrics{})
	o.Zone = cmp.Or(o.Zone, time.UTC)
	o.MinInterval, o.Grace, o.Stall = cmp.Or(o.MinInterval, DefaultMinInterval), cmp.Or(o.Grace, DefaultGrace), cmp.Or(o.Stall, DefaultStall)
	o.PollInterval, o.Lease = cmp.Or(o.PollInterval, DefaultPollInterval), cmp.Or(o.Lease, DefaultLease)
	o.ShutdownTimeout, o.CommandName = cmp.Or(o.ShutdownTimeout, DefaultShutdownTimeout), cmp.Or(o.CommandName, "/upgrade")
	s := &Scheduler{o: o, kick: make(chan struct{}, 1), jobs: map[string]*job{}, items: map[string]*item{}}
	var err error
	if s.def, err = Parse(cmp.Or(o.DefaultSchedule, DefaultReminderSchedule), o.Zone); err != nil {
		return nil, fmt.Errorf("UPGRADEBOT_REMINDER_SCHEDULE: %w", err)
	}
	if o.DigestChannel != "" {
		if s.digest, err = Parse(cmp.Or(o.DigestSchedule, DefaultDigestSchedule), o.Zone); err != nil {
			return nil, fmt.Errorf("UPGRADEBOT_DIGEST_SCHEDULE: %w", err)
		}
	}
	return s, nil
}

// doneTTL keeps a handled occurrence marked past the grace period and a starting replica's look-back.
func (s *Scheduler) doneTTL() time.Duration { return s.o.Grace + missLookback + time.Hour }

// job is one schedule: a channel's reminders or the digest.
type job struct {
	key      string // in Scheduler.jobs
	ws, ch   string
	env      string // its items' env: allEnvs, the digest's ""
	settings progress.ChannelSettings
	sched    *Schedule // nil: paused or unusable
	last     time.Time // scanned up to
}

// item is one occurrence for a channel (or the digest: env "") until posted, handled elsewhere or given up.
type item struct {
	key, token   string // the claim, and our token for it
	job          string // its job's key
	ws, ch, env  string // env: allEnvs, or "" for the digest
	occ, retryAt time.Time
	owned        bool // our claim won
	posted       bool // handled; only the done mark is left
	failures     int
}

// Run checks schedules until ctx is cancelled, lets a post in progress finish (within the shutdown timeout: it is not
// cut between Slack and its done mark), frees the claims it holds and returns nil. Run it once.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.o.Poster == nil {
		return errors.New("scheduler: Run needs a Poster")
	}
	work, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	defer context.AfterFunc(ctx, func() {
		s.o.Logger.Info("stopping: a scheduled post in progress may finish", "at_most", s.o.ShutdownTimeout)
		time.AfterFunc(s.o.ShutdownTimeout, hardStop)
	})()
	s.o.Logger.Info("reminder scheduler started", "default_schedule", s.def.Describe(), "grace", s.o.Grace, "digest_channel", s.o.DigestChannel)
	for ctx.Err() == nil {
		s.step(work)
		select {
		case <-ctx.Done():
		case <-s.o.Clock.After(tick):
		case <-s.kick:
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, it := range s.items {
		if !it.posted {
			s.drop(sctx, it) // awaiting a retry: free it for another replica
		} else if err := s.markDone(sctx, it); err != nil { // else another replica posts it again once the lease runs out
			s.o.Logger.Warn("could not record a scheduled post as done while stopping; it may be posted again", "key", it.key, "err", err)
		}
	}
	s.jobs, s.items, s.polledAt, s.nextPoll = map[string]*job{}, map[string]*item{}, time.Time{}, time.Time{}
	s.o.Logger.Info("reminder scheduler stopped")
	return nil
}

// wake makes a running scheduler re-read schedules now.
func (s *Scheduler) wake() {
	s.repoll.Store(true)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// step reads schedules when due, makes items of due occurrences and attempts them.
func (s *Scheduler) step(ctx context.Context) {
	now := s.o.Clock.Now()
	if s.repoll.Swap(false) || !now.Before(s.nextPoll) {
		s.poll(ctx, now)
	}
	for _, j := range s.jobs {
		s.scan(ctx, j, now)
	}
	byOcc := func(a, b *item) int { return cmp.Or(a.occ.Compare(b.occ), strings.Compare(a.key, b.key)) }
	for _, it := range slices.SortedFunc(maps.Values(s.items), byOcc) {
		// A post waiting for its retry is not made after `remind off` or untrack; a made one keeps its item for the mark.
		if j := s.jobs[it.job]; !it.posted && (j == nil || j.sched == nil) {
			s.drop(ctx, it)
		} else if !it.retryAt.After(now) && s.attempt(ctx, it) {
			delete(s.items, it.key)
		}
	}
}

// drop forgets an item and frees our claim rather than hold it for the rest of the lease.
func (s *Scheduler) drop(ctx context.Context, it *item) {
	delete(s.items, it.key)
	if it.owned {
		if err := s.o.Store.Release(ctx, it.ws, it.key, it.token); err != nil {
			s.o.Logger.Debug("cannot free the claim of a post no longer due; its lease runs out", "key", it.key, "err", err)
		}
	}
}

// poll reads every followed channel with its settings, one read per workspace.
func (s *Scheduler) poll(ctx context.Context, now time.Time) {
	s.nextPoll = now.Add(s.o.PollInterval)
	// On start-up a schedule starts a grace period back (what every replica
	// missed is still posted), and further to count what all replicas missed.
	// A schedule first seen later starts at the previous poll, when it was not there: a channel that
	// starts following an environment is not reminded of an occurrence from before it followed.
	initial := now.Add(-s.o.Grace - missLookback)
	if !s.polledAt.IsZero() {
		initial = s.polledAt
	}
	found := map[string]*job{}
	if s.digest != nil {
		found["digest"] = &job{key: "digest", ch: s.o.DigestChannel, sched: s.digest, last: initial}
	}
	wss, err := s.o.Store.Workspaces(ctx)
	if s.o.Posts != nil {
		wss = slices.DeleteFunc(wss, func(ws string) bool { return !s.o.Posts(ws) })
	}
	for i := 0; err == nil && i < len(wss); i++ {
		var follows []progress.ChannelFollow
		follows, err = s.o.Store.FollowedChannels(ctx, wss[i])
		for _, f := range follows {
			k := wss[i] + "\x00" + f.Channel
			j := &job{key: k, ws: wss[i], ch: f.Channel, env: allEnvs, settings: f.Settings, last: initial}
			var serr error
			if j.sched, serr = s.channelSchedule(f.Settings); serr != nil && (s.jobs[k] == nil || s.jobs[k].settings != f.Settings) {
				s.o.Logger.Warn("a channel's stored reminder schedule is unusable; no reminders there until it is set again",
					"workspace", j.ws, "channel", j.ch, "err", serr)
			}
			found[k] = j
		}
	}
	if err != nil {
		if !s.failing {
			s.o.Logger.Warn("cannot read reminder schedules; keeping the last ones read", "err", err)
		}
		s.failing = true
		return
	}
	s.workspaces = wss
	if s.failing {
		s.o.Logger.Info("reminder schedules readable again")
	}
	for k, j := range found {
		if old := s.jobs[k]; old != nil {
			j.last = old.last
		}
	}
	s.jobs, s.polledAt, s.failing = found, now, false
}

// channelSchedule is a channel's schedule, anchored; nil when paused.
func (s *Scheduler) channelSchedule(cs progress.ChannelSettings) (*Schedule, error) {
	if cs.Paused {
		return nil, nil
	}
	if cs.Schedule == "" {
		return s.def.Anchored(cs.UpdatedAt), nil
	}
	sc, err := Parse(cs.Schedule, s.o.Zone)
	if err != nil {
		return nil, err
	}
	return sc.Anchored(cs.UpdatedAt), nil
}

// scan makes an item of a job's latest occurrence since the last scan (one reminder of the current state, not a burst
// of stale ones after downtime); the latest one older than the grace period is only checked, to count a miss.
func (s *Scheduler) scan(ctx context.Context, j *job, now time.Time) {
	from := slices.MaxFunc([]time.Time{j.settings.UpdatedAt, j.last}, time.Time.Compare) // a schedule counts from when it was set
	j.last = now
	if j.sched == nil || !now.After(from) {
		return
	}
	cutoff := now.Add(-s.o.Grace)
	if e := j.sched.every; e > 0 {
		from = slices.MaxFunc([]time.Time{cutoff.Add(-2 * e), from}, time.Time.Compare)
	}
	var missed, fresh time.Time
	for t, n := j.sched.Next(from), 0; !t.IsZero() && !t.After(now) && n < maxScan; t, n = j.sched.Next(t), n+1 {
		if t.After(cutoff) {
			fresh = t
		} else {
			missed = t
		}
	}
	if !missed.IsZero() {
		s.recordMiss(ctx, &item{key: occKey(j.ws, j.ch, j.env, missed), ws: j.ws, ch: j.ch, env: j.env, occ: missed}, now)
	}
	if key := occKey(j.ws, j.ch, j.env, fresh); !fresh.IsZero() && s.items[key] == nil {
		s.items[key] = &item{key: key, token: progress.NewToken(), job: j.key, ws: j.ws, ch: j.ch, env: j.env, occ: fresh}
	}
}

// allEnvs is the env of a channel's reminder: every environment it follows, in one post (owners named once).
const allEnvs = "*"

// occKey names the claim of one occurrence.
func occKey(ws, ch, env string, occ time.Time) string {
	if env == "" {
		return fmt.Sprintf("digest:%s:%d", ch, occ.Unix())
	}
	return fmt.Sprintf("remind:%s:%s:%s:%d", ws, ch, env, occ.Unix())
}

// recordMiss counts an occurrence nobody posted in time, unless it had nothing to say.
func (s *Scheduler) recordMiss(ctx context.Context, it *item, now time.Time) {
	if ok, err := s.o.Store.Claim(ctx, it.ws, it.key, progress.NewToken(), s.doneTTL()); err != nil || !ok {
		if err != nil { // whether a replica posted it before the store went away cannot be told: not counted
			s.o.Logger.Warn("a scheduled post may have been missed: the store was away past its grace period", "key", it.key, "occurrence", it.occ, "err", err)
		}
		return
	}
	// Nothing to say then, or now: a digest of no environment, an upgrade started after it.
	if it.env == "" {
		if r, err := s.o.Bot.Digest(ctx, s.workspaces, now, s.digest.loc, s.o.Stall); err == nil && r == nil {
			return
		}
	} else if r, _, err := s.o.Bot.ScheduledReminder(ctx, it.ws, it.ch, it.occ, now, s.o.Stall); err == nil && r == nil {
		return
	}
	s.o.Logger.Warn("scheduled post missed: it was due when no replica could post it (the store away, or none running), longer ago than the grace period; skipped",
		"key", it.key, "occurrence", it.occ, "grace", s.o.Grace)
	s.o.Metrics.ReminderMissed()
}

// attempt claims, posts and marks an item done; it reports whether the item is finished.
func (s *Scheduler) attempt(ctx context.Context, it *item) bool {
	now := s.o.Clock.Now()
	if !it.owned && now.After(it.occ.Add(s.o.Grace)) {
		s.recordMiss(ctx, it, now)
		return true
	}
	if !it.posted {
		ok, err := s.o.Store.Claim(ctx, it.ws, it.key, it.token, s.o.Lease)
		if err == nil && ok && it.owned {
			ok, err = s.o.Store.Renew(ctx, it.ws, it.key, it.token, s.o.Lease)
		}
		if err != nil {
			s.o.Logger.Debug("cannot claim a scheduled post yet", "key", it.key, "err", err)
			it.retryAt = now.Add(s.o.Lease / 90)
			return false
		}
		if it.owned = ok; !ok {
			// Held elsewhere: look again once its lease would have run out.
			it.retryAt = now.Add(s.o.Lease / 2)
			return false
		}
		if err := s.post(ctx, it, now); err != nil {
			it.failures++
			next := s.o.Clock.Now().Add(min(s.o.Lease/90<<min(it.failures-1, 8), s.o.Lease/3))
			if !next.After(it.occ.Add(s.o.Grace)) {
				s.o.Logger.Warn("scheduled post failed; retrying", "key", it.key, "channel", it.ch, "attempt", it.failures, "retry_at", next, "err", err)
				it.retryAt = next
				return false
			}
			s.o.Logger.Error("scheduled post failed; giving up, the grace period is over", "key", it.key, "channel", it.ch, "attempts", it.failures, "err", err)
			s.o.Metrics.ReminderMissed()
		}
		it.posted = true
	}
	if err := s.markDone(ctx, it); err != nil {
		s.o.Logger.Warn("cannot record a scheduled post as done; will try again", "key", it.key, "err", err)
		it.retryAt = now.Add(s.o.Lease / 90)
		return false
	}
	return true
}

// markDone turns our claim on a handled item into its done mark. Should the
// lease have run out meanwhile (the store was away), it claims the
// occurrence anew: without a mark, another replica would post it again.
func (s *Scheduler) markDone(ctx context.Context, it *item) error {
	ok, err := s.o.Store.Renew(ctx, it.ws, it.key, it.token, s.doneTTL())
	if err == nil && !ok {
		if ok, err = s.o.Store.Claim(ctx, it.ws, it.key, it.token, s.doneTTL()); err == nil && !ok {
			s.o.Logger.Warn("a scheduled post was handled, but its claim ran out and another replica took it: the occurrence may be posted twice", "key", it.key)
		}
	}
	return err
}

// post builds and posts an item's message, if any.
func (s *Scheduler) post(ctx context.Context, it *item, now time.Time) error {
	var r *bot.Reply
	var posted func(context.Context) error
	var err error
	if it.env == "" {
		r, err = s.o.Bot.Digest(ctx, s.workspaces, now, s.digest.loc, s.o.Stall)
	} else {
		r, posted, err = s.o.Bot.ScheduledReminder(ctx, it.ws, it.ch, it.occ, now, s.o.Stall)
	}
	if err != nil || r == nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, s.o.Lease/3)
	err = s.o.Poster.Post(pctx, it.ch, r)
	cancel()
	if posted != nil && (err == nil || errors.Is(err, bot.ErrMaybePosted)) { // one Slack may have made counts as made
		if perr := posted(ctx); perr != nil {
			s.o.Logger.Warn("cannot record whether the channel awaits an all-clear", "channel", it.ch, "env", it.env, "err", perr)
		}
	}
	switch {
	case err == nil:
		s.o.Metrics.ReminderPosted()
		s.o.Logger.Info("scheduled post sent", "key", it.key, "occurrence", it.occ, "summary", r.Summary)
	case errors.Is(err, bot.ErrChannelGone) && it.env != "": // pause the channel's reminders
		if perr := s.o.Bot.PauseReminders(ctx, it.ws, it.ch, now); perr != nil {
			s.o.Logger.Warn("cannot pause the reminders of a channel the bot left; the next reminder tries again", "workspace", it.ws, "channel", it.ch, "err", perr)
		} else {
			s.o.Logger.Warn("reminders paused: the bot is not in the channel or it is gone", "workspace", it.ws, "channel", it.ch, "err", err)
			s.wake()
		}
	case errors.Is(err, bot.ErrRefused), errors.Is(err, bot.ErrChannelGone): // the token or rights, the digest's channel: retrying within the grace only repeats it
		s.o.Logger.Error("Slack refused a scheduled post (a digest's: is the bot in UPGRADEBOT_DIGEST_CHANNEL, and does it exist?); the next occurrence tries again", "key", it.key, "channel", it.ch, "err", err)
		s.o.Metrics.ReminderMissed()
	case errors.Is(err, bot.ErrMaybePosted):
		// Posting again could post it twice (the transport logged and counted it).
		s.o.Logger.Warn("scheduled post may not have been made; not posting it again", "key", it.key, "channel", it.ch, "err", err)
	default: // failed (or cut short by a shutdown: Run then frees the claim)
		return err
	}
	return nil
}

// Clock is the scheduler's time source; tests set one to cross DST changes or a grace period at once.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time // delivers once d has passed on this clock
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
