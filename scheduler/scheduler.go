// Package scheduler posts upgradebot's reminders and digest on schedules.
//
// Every replica runs a Scheduler on the shared tracking store. Channel
// schedules live in the store (progress.ChannelSettings), so a change made
// through any replica is seen by all at their next poll (every few
// seconds) and survives restarts. Each occurrence of a schedule is a
// fixed instant that every replica computes alike (see spec.go), and the
// replica that claims it (progress.Claims, SET NX in Redis) posts it:
//
//	remind:<workspace>:<channel>:<env>:<unix>   one reminder of one environment
//	digest:<channel>:<unix>                     one digest
//
// The claim is a short lease that its holder renews while it posts and
// retries; after a successful post it becomes a "done" mark that outlives
// the grace period. A replica that finds an occurrence claimed looks again
// after the lease would have run out, so when the holder dies the
// occurrence is taken over, within the grace period. The only path that
// can post an occurrence twice is a crash (or a lost store) between Slack
// accepting the post and the done mark being written.
//
// The scheduler uses robfig/cron's parser but not its runner: the runner
// counts @every from when each process added the job, fires by each
// process's own timers, and skips or repeats reminders when clocks change
// for daylight saving. Here one tick loop, driven by an injectable Clock,
// turns schedules into anchored, DST-safe occurrences that replicas can
// claim.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // schedules name IANA zones; a minimal container has no zone files

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/config"
	"github.com/upgradebot/upgradebot/progress"
)

// Defaults of Options.
const (
	DefaultReminderSchedule = "0 9 * * 1-5"
	DefaultDigestSchedule   = "0 9 * * 1"
	DefaultMinInterval      = 15 * time.Minute
	DefaultGrace            = time.Hour
	DefaultStall            = 2 * time.Hour
	DefaultPollInterval     = 5 * time.Second
	DefaultTickInterval     = time.Second
	DefaultLease            = 3 * time.Minute
	DefaultRetryBackoff     = 2 * time.Second
	DefaultShutdownTimeout  = 10 * time.Second
)

const (
	// missLookback is how far before the grace period a starting replica
	// looks for occurrences nobody posted, to log and count them.
	missLookback = 24 * time.Hour
	// maxMissChecks bounds those checks per schedule (the latest ones).
	maxMissChecks = 3
	// maxScan bounds the occurrences one scan walks through.
	maxScan = 10000
	// openTTL is how long a channel remembers that it was reminded about an
	// environment, so that it gets one "all clear" when the work is done.
	openTTL = 60 * 24 * time.Hour
	// reminderModules is how many modules a reminder lists; the rest are counted.
	reminderModules = 15
	// markButtons is how many "mark republished" buttons a reminder offers.
	markButtons = 5
	// maxReminderEnvs is how many environments one /upgrade remind now shows.
	maxReminderEnvs = 5
	pollTimeout     = 10 * time.Second
)

// Metrics counts what the scheduler did (Prometheus in the binary).
type Metrics interface {
	// ReminderPosted counts a scheduled post: a reminder, an all-clear or a digest.
	ReminderPosted()
	// ReminderMissed counts an occurrence that was due but not posted:
	// older than the grace period when a replica came to it, or failing
	// until the grace period ran out.
	ReminderMissed()
}

type noMetrics struct{}

func (noMetrics) ReminderPosted() {}
func (noMetrics) ReminderMissed() {}

// Options are a Scheduler's dependencies and settings.
type Options struct {
	Store   progress.Store
	Poster  bot.Poster // needed by Run; Set, Next and Now work without it
	Bot     *bot.Bot   // renders statuses
	Logger  *slog.Logger
	Clock   Clock   // nil: the system clock
	Metrics Metrics // nil: none

	// DefaultSchedule is UPGRADEBOT_REMINDER_SCHEDULE; "" means DefaultReminderSchedule.
	DefaultSchedule string
	// Zone is UPGRADEBOT_TIMEZONE, for schedules without CRON_TZ=; nil means UTC.
	Zone *time.Location
	// MinInterval is UPGRADEBOT_MIN_REMINDER_INTERVAL, the shortest interval
	// a channel may set; 0 means DefaultMinInterval, negative no minimum.
	MinInterval time.Duration
	// Grace is how late a missed occurrence is still posted; 0 means DefaultGrace.
	Grace time.Duration
	// Stall is how long a preparation may go without an update before
	// reminders say so; 0 means DefaultStall.
	Stall time.Duration
	// PollInterval is how often schedules are read from the store; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// TickInterval is how often occurrences are checked; 0 means DefaultTickInterval.
	TickInterval time.Duration
	// Lease is how long a claim on an occurrence holds without renewal
	// (a crashed replica's occurrence is taken over after it); 0 means DefaultLease.
	Lease time.Duration
	// RetryBackoff is the wait after a first failed post, doubling up to a
	// third of the lease; 0 means DefaultRetryBackoff.
	RetryBackoff time.Duration
	// ShutdownTimeout bounds how long Run waits for posts in progress; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// DigestChannel is UPGRADEBOT_DIGEST_CHANNEL; "" turns the digest off.
	DigestChannel string
	// DigestSchedule is UPGRADEBOT_DIGEST_SCHEDULE; "" means DefaultDigestSchedule.
	DigestSchedule string
	// DigestWorkspace limits the digest to one workspace; "" means all.
	DigestWorkspace string
	// CommandName is how users invoke the bot; "" means "/upgrade".
	CommandName string
	// MaxConcurrentPosts bounds posts in flight; 0 means 4.
	MaxConcurrentPosts int
}

// OptionsFromConfig returns the schedule settings of cfg; the caller adds
// the dependencies (Store, Poster, Bot, Logger, Metrics).
func OptionsFromConfig(cfg *config.Config) Options {
	return Options{
		DefaultSchedule: cfg.ReminderSchedule,
		Zone:            cfg.Timezone,
		MinInterval:     cfg.MinReminderInterval,
		DigestChannel:   cfg.DigestChannel,
		DigestSchedule:  cfg.DigestSchedule,
	}
}

// Scheduler posts reminders and the digest, and implements bot.Schedules.
type Scheduler struct {
	store    progress.Store
	poster   bot.Poster
	bot      *bot.Bot
	log      *slog.Logger
	clock    Clock
	metrics  Metrics
	def      *Schedule
	digest   *Schedule // nil: no digest
	zone     *time.Location
	minIvl   time.Duration
	grace    time.Duration
	stall    time.Duration
	pollIvl  time.Duration
	tickIvl  time.Duration
	lease    time.Duration
	backoff  time.Duration
	stopWait time.Duration
	digestCh string
	digestWS string
	cmd      string
	workers  int

	running atomic.Bool
	kick    chan struct{}
	wg      sync.WaitGroup

	mu          sync.Mutex
	jobs        map[string]*job
	items       map[string]*item
	busy        int
	polled      bool // a poll succeeded since Run started
	nextPoll    time.Time
	pollFailing bool
}

var _ bot.Schedules = (*Scheduler)(nil)

// New returns a scheduler; it validates the default and digest schedules.
func New(o Options) (*Scheduler, error) {
	if o.Store == nil {
		return nil, errors.New("scheduler: a store is required")
	}
	if o.Bot == nil {
		return nil, errors.New("scheduler: a bot is required to render reminders")
	}
	s := &Scheduler{
		store: o.Store, poster: o.Poster, bot: o.Bot, log: o.Logger, clock: o.Clock, metrics: o.Metrics,
		zone: o.Zone, minIvl: o.MinInterval, grace: o.Grace, stall: o.Stall, pollIvl: o.PollInterval,
		tickIvl: o.TickInterval, lease: o.Lease, backoff: o.RetryBackoff, stopWait: o.ShutdownTimeout,
		digestCh: o.DigestChannel, digestWS: o.DigestWorkspace, cmd: o.CommandName, workers: o.MaxConcurrentPosts,
		kick: make(chan struct{}, 1), jobs: map[string]*job{}, items: map[string]*item{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.zone == nil {
		s.zone = time.UTC
	}
	setDefault(&s.minIvl, DefaultMinInterval)
	setDefault(&s.grace, DefaultGrace)
	setDefault(&s.stall, DefaultStall)
	setDefault(&s.pollIvl, DefaultPollInterval)
	setDefault(&s.tickIvl, DefaultTickInterval)
	setDefault(&s.lease, DefaultLease)
	setDefault(&s.backoff, DefaultRetryBackoff)
	setDefault(&s.stopWait, DefaultShutdownTimeout)
	if s.cmd == "" {
		s.cmd = "/upgrade"
	}
	if s.workers <= 0 {
		s.workers = 4
	}
	spec := o.DefaultSchedule
	if spec == "" {
		spec = DefaultReminderSchedule
	}
	var err error
	if s.def, err = Parse(spec, s.zone); err != nil {
		return nil, fmt.Errorf("UPGRADEBOT_REMINDER_SCHEDULE: %w", err)
	}
	if s.digestCh != "" {
		spec := o.DigestSchedule
		if spec == "" {
			spec = DefaultDigestSchedule
		}
		if s.digest, err = Parse(spec, s.zone); err != nil {
			return nil, fmt.Errorf("UPGRADEBOT_DIGEST_SCHEDULE: %w", err)
		}
	}
	return s, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// doneTTL is how long a handled occurrence stays marked: past the grace
// period and the look-back of a starting replica, so no replica posts it
// again or counts it as missed.
func (s *Scheduler) doneTTL() time.Duration { return s.grace + missLookback + time.Hour }

// job is one schedule: a channel's reminders or the digest.
type job struct {
	ws, ch  string
	digest  bool
	envs    []string // environments the channel follows
	sched   *Schedule
	start   time.Time // occurrences count strictly after it
	last    time.Time // scanned up to
	version string    // identity of the settings, to notice changes
	err     error     // the stored schedule cannot be used
}

type itemKind uint8

const (
	kindReminder itemKind = iota
	kindDigest
)

// item is one occurrence for one environment (or the digest), from first
// sight until it is posted, found handled elsewhere, or given up.
type item struct {
	key         string
	kind        itemKind
	ws, ch, env string
	occ         time.Time
	deadline    time.Time // occ + grace
	miss        bool      // older than the grace period when found
	retryAt     time.Time
	running     bool // a worker has it; the fields below are the worker's
	owned       bool // we hold the claim
	leaseAt     time.Time
	built       bool
	reply       *bot.Reply // nil when built: nothing to post
	outstanding bool
	allClear    bool
	posted      bool // Slack accepted it (or it needs no post); only the done mark is left
	failures    int
}

// Run checks schedules until ctx is cancelled, then waits (at most the
// shutdown timeout) for posts in progress and frees the claims it holds;
// it returns nil after a cancellation.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.poster == nil {
		return errors.New("scheduler: Run needs a Poster")
	}
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("scheduler: already running")
	}
	defer s.running.Store(false)
	// Posts outlive ctx: a post in progress finishes (within the shutdown
	// timeout) rather than being cut between Slack and the done mark.
	work, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	s.log.Info("reminder scheduler started", "default_schedule", s.def.Describe(), "grace", s.grace, "digest_channel", s.digestCh)
	for {
		s.step(work)
		select {
		case <-ctx.Done():
			s.shutdown(hardStop)
			return nil
		case <-s.clock.After(s.tickIvl):
		case <-s.kick:
		}
	}
}

func (s *Scheduler) shutdown(hardStop context.CancelFunc) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.stopWait):
		s.log.Warn("stopping with a scheduled post still in progress; it is cut short and another replica may post it", "waited", s.stopWait)
		hardStop()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	s.mu.Lock()
	var held []*item
	for _, it := range s.items {
		if !it.running && it.owned {
			held = append(held, it)
		}
	}
	s.items = map[string]*item{}
	s.jobs = map[string]*job{}
	s.polled, s.nextPoll = false, time.Time{}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, it := range held {
		var err error
		if it.posted {
			err = s.store.Mark(ctx, it.key, s.doneTTL())
		} else {
			// Free it for another replica, within the grace period.
			err = s.store.Release(ctx, it.key)
		}
		if err != nil {
			s.log.Warn("could not settle a claim while stopping", "key", it.key, "err", err)
		}
	}
	s.log.Info("reminder scheduler stopped")
}

// wake makes a running scheduler re-read schedules now.
func (s *Scheduler) wake() {
	s.mu.Lock()
	s.nextPoll = time.Time{}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// step polls schedules when due, turns due occurrences into items and
// starts workers for the items whose time has come.
func (s *Scheduler) step(ctx context.Context) {
	now := s.clock.Now()
	s.mu.Lock()
	pollDue := !now.Before(s.nextPoll)
	s.mu.Unlock()
	if pollDue {
		s.poll(ctx, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.jobs))
	for k := range s.jobs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s.scan(s.jobs[k], now)
	}
	var due []*item
	for _, it := range s.items {
		if !it.running && !it.retryAt.After(now) {
			due = append(due, it)
		}
	}
	// Posts first, then the bookkeeping of missed occurrences.
	slices.SortFunc(due, func(a, b *item) int {
		if a.miss != b.miss {
			if a.miss {
				return 1
			}
			return -1
		}
		if c := a.occ.Compare(b.occ); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for _, it := range due {
		if s.busy >= s.workers {
			break
		}
		it.running = true
		s.busy++
		s.wg.Add(1)
		go s.work(ctx, it)
	}
}

func (s *Scheduler) work(ctx context.Context, it *item) {
	defer s.wg.Done()
	finished := s.attempt(ctx, it)
	s.mu.Lock()
	it.running = false
	s.busy--
	if finished {
		delete(s.items, it.key)
	}
	s.mu.Unlock()
}

// poll reads every followed channel's settings and the environments it follows.
func (s *Scheduler) poll(ctx context.Context, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	found, err := s.loadJobs(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextPoll = now.Add(s.pollIvl)
	if err != nil {
		if !s.pollFailing {
			s.log.Warn("cannot read reminder schedules; keeping the last ones read", "err", err)
		}
		s.pollFailing = true
		return
	}
	if s.pollFailing {
		s.log.Info("reminder schedules readable again")
		s.pollFailing = false
	}
	if s.digest != nil {
		found["digest"] = &job{ch: s.digestCh, digest: true, sched: s.digest, version: "digest"}
	}
	// A new schedule starts a grace period back (an occurrence missed by
	// every replica is still posted); on start-up the look-back is longer,
	// to count what was missed while all replicas were down.
	initial := now.Add(-s.grace)
	if !s.polled {
		initial = initial.Add(-missLookback)
	}
	for k, nj := range found {
		old := s.jobs[k]
		if old == nil {
			nj.last = initial
		} else {
			nj.last = old.last
		}
		if nj.err != nil && (old == nil || old.version != nj.version) {
			s.log.Warn("a channel's stored reminder schedule is unusable; no reminders there until it is set again",
				"workspace", nj.ws, "channel", nj.ch, "err", nj.err)
		}
	}
	s.jobs = found
	s.polled = true
}

func (s *Scheduler) loadJobs(ctx context.Context) (map[string]*job, error) {
	found := map[string]*job{}
	wss, err := s.store.Workspaces(ctx)
	if err != nil {
		return nil, err
	}
	for _, ws := range wss {
		follows, err := s.store.FollowedChannels(ctx, ws)
		if err != nil {
			return nil, err
		}
		for _, f := range follows {
			cs, err := s.store.ChannelSettings(ctx, ws, f.Channel)
			if err != nil {
				return nil, err
			}
			j := &job{ws: ws, ch: f.Channel, envs: f.Environments, start: cs.UpdatedAt,
				version: fmt.Sprintf("%s|%t|%d", cs.Schedule, cs.Paused, cs.UpdatedAt.UnixMilli())}
			j.sched, j.err = s.channelSchedule(cs)
			found[ws+"\x00"+f.Channel] = j
		}
	}
	return found, nil
}

// channelSchedule is a channel's schedule, anchored; nil when paused.
func (s *Scheduler) channelSchedule(cs progress.ChannelSettings) (*Schedule, error) {
	if cs.Paused {
		return nil, nil
	}
	if cs.Schedule == "" {
		return s.def.Anchored(cs.UpdatedAt), nil
	}
	sc, err := Parse(cs.Schedule, s.zone)
	if err != nil {
		return nil, err
	}
	return sc.Anchored(cs.UpdatedAt), nil
}

// scan turns a job's occurrences since the last scan into items. When
// several are due at once (after downtime), only the latest is posted: one
// reminder of the current state, not a burst of stale ones. Those older
// than the grace period are only checked, to log and count misses.
func (s *Scheduler) scan(j *job, now time.Time) {
	from := j.last
	if j.start.After(from) {
		from = j.start
	}
	j.last = now
	if j.sched == nil || !now.After(from) {
		return
	}
	cutoff := now.Add(-s.grace)
	if e := j.sched.Every(); e > 0 {
		if lim := cutoff.Add(-time.Duration(maxMissChecks+1) * e); from.Before(lim) {
			from = lim
		}
	}
	var older []time.Time
	var fresh time.Time
	t := from
	for range maxScan {
		t = j.sched.Next(t)
		if t.IsZero() || t.After(now) {
			break
		}
		if t.After(cutoff) {
			fresh = t
			continue
		}
		older = append(older, t)
		if len(older) > maxMissChecks {
			older = older[1:]
		}
	}
	for _, occ := range older {
		s.enqueue(j, occ, true)
	}
	if !fresh.IsZero() {
		s.enqueue(j, fresh, false)
	}
}

func (s *Scheduler) enqueue(j *job, occ time.Time, miss bool) {
	add := func(it *item) {
		if _, ok := s.items[it.key]; !ok {
			s.items[it.key] = it
		}
	}
	if j.digest {
		add(&item{key: fmt.Sprintf("digest:%s:%d", j.ch, occ.Unix()), kind: kindDigest, ch: j.ch,
			occ: occ, deadline: occ.Add(s.grace), miss: miss})
		return
	}
	for _, env := range j.envs {
		add(&item{key: reminderKey(j.ws, j.ch, env, occ), kind: kindReminder, ws: j.ws, ch: j.ch, env: env,
			occ: occ, deadline: occ.Add(s.grace), miss: miss})
	}
}

func reminderKey(ws, ch, env string, occ time.Time) string {
	return fmt.Sprintf("remind:%s:%s:%s:%d", ws, ch, env, occ.Unix())
}

// openKey marks that a channel was reminded about an environment and has
// not had its all-clear yet.
func openKey(ws, ch, env string) string { return "remind-open:" + ws + ":" + ch + ":" + env }

func (s *Scheduler) retryDelay(failures int) time.Duration {
	d := s.backoff
	for i := 1; i < failures && d < s.lease; i++ {
		d *= 2
	}
	return min(d, s.lease/3)
}

// attempt moves an item one step: claim it, build its message, post it,
// record it. It reports whether the item is finished.
func (s *Scheduler) attempt(ctx context.Context, it *item) bool {
	now := s.clock.Now()
	if it.miss || (!it.owned && now.After(it.deadline)) {
		s.recordMiss(ctx, it, now)
		return true
	}
	if it.owned && now.Sub(it.leaseAt) > s.lease*2/3 {
		// Too long since we renewed (a stalled process): the lease may
		// have run out and gone to another replica. Claim it again.
		it.owned = false
	}
	if !it.owned {
		ok, err := s.store.Claim(ctx, it.key, s.lease)
		if err != nil {
			s.log.Debug("cannot claim a scheduled post yet", "key", it.key, "err", err)
			it.retryAt = now.Add(s.backoff)
			return false
		}
		if !ok {
			// Another replica has it (or had it). Look again once its
			// lease would have run out, in case that replica died.
			it.retryAt = now.Add(s.lease / 2)
			return false
		}
		it.owned, it.leaseAt = true, now
	} else if !it.posted {
		if err := s.store.Mark(ctx, it.key, s.lease); err != nil {
			s.log.Debug("cannot renew the claim on a scheduled post", "key", it.key, "err", err)
			it.retryAt = now.Add(s.backoff)
			return false
		}
		it.leaseAt = now
	}
	if it.posted {
		return s.finish(ctx, it, now)
	}
	if !it.built {
		if err := s.build(ctx, it, now); err != nil {
			return s.failed(ctx, it, now, "cannot build a scheduled post", err)
		}
		it.built = true
	}
	if it.reply == nil {
		it.posted = true // nothing to say this time
		return s.finish(ctx, it, now)
	}
	pctx, cancel := context.WithTimeout(ctx, s.lease/3)
	err := s.poster.Post(pctx, it.ch, it.reply)
	cancel()
	switch {
	case err == nil:
		it.posted = true
		s.metrics.ReminderPosted()
		s.log.Info("scheduled post sent", "key", it.key, "occurrence", it.occ, "all_clear", it.allClear)
		s.afterPost(ctx, it)
		return s.finish(ctx, it, s.clock.Now())
	case errors.Is(err, bot.ErrChannelGone):
		s.channelGone(ctx, it, now, err)
		it.posted = true
		return s.finish(ctx, it, now)
	case errors.Is(err, bot.ErrMaybePosted):
		// Posting again could post it twice (the transport logged and counted it).
		it.posted = true
		return s.finish(ctx, it, now)
	case ctx.Err() != nil:
		// Shutting down: free it for another replica.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.store.Release(rctx, it.key)
		it.owned = false
		return true
	}
	return s.failed(ctx, it, s.clock.Now(), "scheduled post failed", err)
}

// failed schedules a retry with backoff within the grace period, or gives up.
func (s *Scheduler) failed(ctx context.Context, it *item, now time.Time, msg string, err error) bool {
	it.failures++
	next := now.Add(s.retryDelay(it.failures))
	if next.After(it.deadline) {
		s.log.Error(msg+"; giving up, the grace period is over", "key", it.key, "channel", it.ch, "attempts", it.failures, "err", err)
		s.metrics.ReminderMissed()
		it.posted = true
		it.reply = nil
		return s.finish(ctx, it, now)
	}
	s.log.Warn(msg+"; retrying", "key", it.key, "channel", it.ch, "attempt", it.failures, "retry_in", next.Sub(now), "err", err)
	it.retryAt = next
	return false
}

// finish records the occurrence as handled; if the store does not answer,
// the item keeps its claim and tries again at the next tick.
func (s *Scheduler) finish(ctx context.Context, it *item, now time.Time) bool {
	if err := s.store.Mark(ctx, it.key, s.doneTTL()); err != nil {
		s.log.Warn("cannot record a scheduled post as done; will try again", "key", it.key, "err", err)
		it.retryAt = now.Add(s.backoff)
		return false
	}
	return true
}

// recordMiss notes an occurrence nobody posted within the grace period.
func (s *Scheduler) recordMiss(ctx context.Context, it *item, now time.Time) {
	ok, err := s.store.Claim(ctx, it.key, s.doneTTL())
	if err != nil || !ok {
		return // handled elsewhere, or the store is away (nothing to do either way)
	}
	if it.kind == kindReminder {
		st, err := s.store.Status(ctx, it.ws, it.env, 0)
		if err == nil && !s.outstanding(st, now).any() {
			return // it would have said nothing
		}
	}
	s.log.Warn("scheduled post missed: it was due when no replica could post it, longer ago than the grace period; skipped",
		"key", it.key, "occurrence", it.occ, "grace", s.grace)
	s.metrics.ReminderMissed()
}

// build prepares the message of an item: a reminder, the all-clear, the
// digest, or nothing.
func (s *Scheduler) build(ctx context.Context, it *item, now time.Time) error {
	if it.kind == kindDigest {
		r, err := s.digestReply(ctx, now)
		it.reply = r
		return err
	}
	st, err := s.store.Status(ctx, it.ws, it.env, reminderModules)
	if errors.Is(err, progress.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r := s.reminderReply(st, now, 0); r != nil {
		it.reply, it.outstanding = r, true
		return nil
	}
	if !clean(st) {
		return nil
	}
	open, err := s.isOpen(ctx, it)
	if err != nil {
		return err
	}
	if open {
		it.reply, it.allClear = s.bot.AllClear(st.Name), true
	}
	return nil
}

// isOpen reports whether the channel was reminded about the environment
// since its last all-clear. Claims cannot be read, so it tries to take
// the mark: taking it means there was none (and it is given back).
func (s *Scheduler) isOpen(ctx context.Context, it *item) (bool, error) {
	key := openKey(it.ws, it.ch, it.env)
	took, err := s.store.Claim(ctx, key, time.Minute)
	if err != nil {
		return false, err
	}
	if took {
		return false, s.store.Release(ctx, key)
	}
	return true, nil
}

func (s *Scheduler) afterPost(ctx context.Context, it *item) {
	var err error
	switch {
	case it.outstanding:
		err = s.store.Mark(ctx, openKey(it.ws, it.ch, it.env), openTTL)
	case it.allClear:
		err = s.store.Release(ctx, openKey(it.ws, it.ch, it.env))
	}
	if err != nil {
		s.log.Warn("cannot record whether the channel awaits an all-clear", "channel", it.ch, "env", it.env, "err", err)
	}
}

// channelGone pauses a channel the bot can no longer post to.
func (s *Scheduler) channelGone(ctx context.Context, it *item, now time.Time, postErr error) {
	if it.kind == kindDigest {
		s.log.Error("cannot post the digest: the bot is not in UPGRADEBOT_DIGEST_CHANNEL or it no longer exists", "channel", it.ch, "err", postErr)
		return
	}
	cs, err := s.store.ChannelSettings(ctx, it.ws, it.ch)
	if err != nil {
		s.log.Error("cannot pause the reminders of a channel the bot left; the next reminder tries again", "workspace", it.ws, "channel", it.ch, "err", err)
		return
	}
	if cs.Paused {
		return
	}
	cs.Paused = true
	cs.PauseReason = fmt.Sprintf("I was removed from this channel, or it was archived or deleted (noticed %s). Invite me back, then `%s remind default` (or a schedule) turns them on again.",
		now.UTC().Format("2006-01-02 15:04 UTC"), s.cmd)
	cs.UpdatedAt, cs.UpdatedBy = now, ""
	if err := s.store.SetChannelSettings(ctx, it.ws, it.ch, cs); err != nil {
		s.log.Error("cannot pause the reminders of a channel the bot left", "workspace", it.ws, "channel", it.ch, "err", err)
		return
	}
	s.log.Warn("reminders paused: the bot is not in the channel or it is gone", "workspace", it.ws, "channel", it.ch, "err", postErr)
	s.wake()
}
