package slackbot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/progress"
)

// The living status message: one message per environment and channel,
// posted and pinned when the channel first shows the environment, then
// edited in place after every change. Edits are coalesced: a timer per
// message waits until MinInterval has passed since the message's last
// edit (known to every replica: it is kept in the store with the message's
// ts), and a workspace spends at most PerMinute edits a minute (claims on
// PerMinute slots that expire after a minute, shared by the replicas).
// One replica edits a message at a time (a lease); it renders the state
// it reads under the lease and keeps the rendering's version, so an older
// state never overwrites a newer one.

// LivingCore is what the living message needs from the core.
type LivingCore interface {
	// LivingStatus is the message's reply model and version, and when it goes stale.
	LivingStatus(ctx context.Context, workspace, channel, env string) (bot.StatusMessage, error)
	// Chart is env's burn-down chart, nil when there is nothing to draw yet.
	Chart(ctx context.Context, workspace, env string) (*bot.File, error)
	// ChartStamp names the samples Chart would draw now; "" when none.
	ChartStamp(ctx context.Context, workspace, env string) (string, error)
}

var _ LivingCore = (*bot.Bot)(nil)

// LivingAPI is the part of the Web API the living message calls; *API implements it.
type LivingAPI interface {
	PostMessage(ctx context.Context, channel, threadTS string, broadcast bool, r *bot.Reply) (string, error)
	Update(ctx context.Context, channel, ts string, r *bot.Reply) error
	Pin(ctx context.Context, channel, ts string) error
	Unpin(ctx context.Context, channel, ts string) error
}

var _ LivingAPI = (*API)(nil)

// Clock is time for the living message's timers; tests give a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d; stop cancels it.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// LivingOptions configure the living messages.
type LivingOptions struct {
	API    LivingAPI
	Core   LivingCore
	Store  progress.Store // its Values keep each message's record, its Claims the lease and the workspace's rate
	Logger *slog.Logger
	Clock  Clock // nil: the system clock
	// MinInterval is the least time between two edits of one message; 0 means 5 s.
	MinInterval time.Duration
	// PerMinute is how many edits a workspace makes a minute, all replicas together; 0 means 40.
	PerMinute int
}

// Living keeps the living status messages current.
type Living struct {
	o    LivingOptions
	log  *slog.Logger
	slot atomic.Uint64

	mu      sync.Mutex
	pending map[livingKey]timer // a timer per message waiting to be edited
	// notBefore is when a message may next be edited, as this process last
	// saw it: a change sooner waits for then rather than taking the lease
	// and reading the record to learn it (three round trips per change in
	// a burst).
	notBefore map[livingKey]time.Time
	// spent is when a workspace's slots, all found taken, are next worth
	// trying: until then its edits wait without a round trip (a scan of
	// every slot per change, in a busy incident, was most of the bot's
	// claims).
	spent map[string]time.Time
	// editing holds the messages this process is editing, each with a
	// channel closed when the edit let go of the lease: a deletion meanwhile
	// is recorded then (forget, in the background).
	editing map[livingKey]chan struct{}
	closed  bool
	wg      sync.WaitGroup
	// ctx ends the edits under way at Close: one rate-limited by Slack
	// could otherwise hold shutdown for its lease's 30 seconds.
	ctx    context.Context
	cancel context.CancelFunc
}

type timer struct {
	at   time.Time
	stop func() bool
}

type livingKey struct{ workspace, channel, env string }

// livingRecord is what the store keeps of a message.
type livingRecord struct {
	TS     string `json:"ts,omitempty"`
	Pinned bool   `json:"pinned,omitempty"` // pins.add done: never again for this message
	// PinTried is when pins.add last failed (no pins:write before the app
	// was reinstalled, a passing error): tried again at an edit pinRetry later.
	PinTried time.Time `json:"pin_tried,omitzero"`
	Version  int64     `json:"version,omitempty"`
	Hash     string    `json:"hash,omitempty"` // of what it shows, to skip an edit that changes nothing
	Edited   time.Time `json:"edited"`
	// Gone is when Slack last said the channel is out of reach (archived,
	// the bot removed): its edits are tried again only goneRetry later.
	Gone time.Time `json:"gone,omitzero"`
	// Deleted: people deleted the message; the next one is posted without
	// mentions (a post's mention notifies, an edit's does not).
	Deleted bool `json:"deleted,omitempty"`
}

const (
	livingKeep  = 2 * 365 * 24 * time.Hour // outlives an upgrade and the quiet months before the next: forgotten, its message would stay pinned beside a new one
	livingLease = 30 * time.Second
	goneRetry   = time.Hour
)

// NewLiving returns the living messages' keeper.
func NewLiving(o LivingOptions) *Living {
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.MinInterval <= 0 {
		o.MinInterval = 5 * time.Second
	}
	if o.PerMinute <= 0 {
		o.PerMinute = 40
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Living{o: o, log: log, pending: map[livingKey]timer{}, notBefore: map[livingKey]time.Time{}, spent: map[string]time.Time{},
		editing: map[livingKey]chan struct{}{}, ctx: ctx, cancel: cancel}
}

// Changed schedules an edit of the living message of each environment in
// every channel that follows it, and in channel, where the change was made
// (after an untrack, its message says it is no longer followed). It reads
// which channels those are, unless following says them
// (Response.Following; a channel that starts to follow one meanwhile is
// refreshed by its own track).
func (l *Living) Changed(ctx context.Context, workspace, channel string, envs []string, following map[string][]string) {
	for _, env := range envs {
		channels, known := following[env]
		if !known {
			e, err := l.o.Store.Environment(ctx, workspace, env)
			if err != nil {
				if !errors.Is(err, progress.ErrNotFound) {
					l.log.Warn("cannot read which channels follow an environment; its status message waits for the next change", "env", env, "err", err)
				}
				continue
			}
			channels = e.Channels
		}
		for _, ch := range channels {
			l.schedule(livingKey{workspace, ch, env}, 0)
		}
		if channel != "" && !slices.Contains(channels, channel) {
			l.schedule(livingKey{workspace, channel, env}, 0)
		}
	}
}

// schedule runs an edit of k after d, unless one is already waiting to
// run by then: it will show the state of its time, this change included.
func (l *Living) schedule(k livingKey, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.o.Clock.Now()
	at := now.Add(d)
	if nb, ok := l.notBefore[k]; ok && !at.After(nb) {
		at, d = nb, nb.Sub(now) // kept until a try after it: changes until then wait for it
	} else if ok {
		delete(l.notBefore, k)
	}
	if p, ok := l.pending[k]; l.closed || ok && !p.at.After(at) {
		return
	} else if ok && p.stop() {
		l.wg.Done() // a later one (a snooze's end) gives way
	}
	l.wg.Add(1)
	var self timer
	self = timer{at: at, stop: l.o.Clock.AfterFunc(d, func() {
		defer l.wg.Done()
		l.mu.Lock()
		if p, ok := l.pending[k]; ok && p.at.Equal(self.at) {
			delete(l.pending, k)
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(l.ctx, livingLease)
		defer cancel()
		switch again, stale := l.refresh(ctx, k, false); {
		case again > 0:
			l.schedule(k, again)
		case !stale.IsZero():
			// In this process only: after a restart, the next change edits it.
			l.schedule(k, max(stale.Sub(l.o.Clock.Now()), 0)+time.Second)
		}
	})}
	l.pending[k] = self
}

// Sweep schedules an edit of each status message of workspace's
// environments last edited before its environment's last change, at
// start-up: an edit still waiting when the last process stopped, or one a
// crash lost, is made. Others are left as they are (an edit only for the
// time that passed would spend the workspace's edits a deploy needs), and
// none is posted where there is none.
func (l *Living) Sweep(ctx context.Context, workspace string) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	envs, err := l.o.Store.Environments(ctx, workspace)
	if err != nil {
		l.log.Warn("cannot list the environments to bring their status messages up to date; each waits for its next change", "err", err)
		return
	}
	for _, e := range envs {
		for _, ch := range e.Channels {
			k := livingKey{workspace, ch, e.Name}
			rec, err := l.record(ctx, k)
			switch {
			case err != nil || rec.TS == "":
			case !e.UpdatedAt.Before(rec.Edited.Truncate(time.Millisecond)):
				l.schedule(k, 0)
			case e.State == progress.StatePreparing:
				// Gone quiet, it is edited at its stall, then hourly: that
				// timer was the last process's. Not now (an edit per start).
				if m, err := l.o.Core.LivingStatus(ctx, workspace, ch, e.Name); err == nil && !m.Stale.IsZero() {
					l.schedule(k, max(m.Stale.Sub(l.o.Clock.Now()), 0))
				}
			}
		}
	}
}

// Deleted forgets a status message of channel people deleted (ts), so
// announcements no longer go in its thread and the next change posts a
// new one.
func (l *Living) Deleted(ctx context.Context, workspace, channel, ts string) {
	envs, err := l.o.Store.ChannelEnvironments(ctx, workspace, channel)
	if err != nil {
		l.log.Warn("cannot read which environments a channel follows; a deleted status message is found at the next change", "channel", channel, "err", err)
		return
	}
	for _, e := range envs {
		l.forget(ctx, livingKey{workspace, channel, e.Name}, ts)
	}
}

// forget marks k's record deleted if it still names ts. An edit under way
// in this process may have edited the message before it was deleted, and
// would keep it: forget is done again once it ended, in the background
// (the channel's line does not wait for a rate-limited edit). One under
// way on another replica is left to the next change's edit, which finds
// the message gone.
func (l *Living) forget(ctx context.Context, k livingKey, ts string) {
	lease := leaseKey(k)
	for retried := false; ; {
		token := progress.NewToken()
		if ok, err := l.o.Store.Claim(ctx, k.workspace, lease, token, livingLease); err != nil {
			return
		} else if ok {
			if rec, err := l.record(ctx, k); err == nil && rec.TS == ts {
				l.keep(ctx, k, livingRecord{Version: rec.Version, Deleted: true})
			}
			_ = l.o.Store.Release(context.WithoutCancel(ctx), k.workspace, lease, token)
			return
		}
		l.mu.Lock()
		done := l.editing[k]
		if done != nil && !l.closed {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				select {
				case <-done:
					ctx, cancel := context.WithTimeout(l.ctx, livingLease)
					defer cancel()
					l.forget(ctx, k, ts)
				case <-l.ctx.Done():
				}
			}()
		}
		l.mu.Unlock()
		switch {
		case done != nil:
			return
		case retried: // held elsewhere
			return
		default: // this process's edit may have just let go
			retried = true
		}
	}
}

// Close makes the edits that were waiting (within MinInterval of the last
// edit) at once: with replicas, no process may start
// after this one to Sweep them, and the last change of an upgrade would
// never show. It gives them and the edits under way a second to end, then
// cancels them, and waits for them.
func (l *Living) Close() {
	l.mu.Lock()
	l.closed = true
	soon := l.o.Clock.Now().Add(l.o.MinInterval)
	for k, p := range l.pending {
		delete(l.pending, k)
		if !p.stop() {
			continue // running: waited for below
		}
		if p.at.After(soon) {
			// Not a change waiting: a stall's or a snooze's end, hours
			// ahead. An edit now would only say the time that passed.
			l.wg.Done()
			continue
		}
		go func() {
			defer l.wg.Done()
			ctx, cancel := context.WithTimeout(l.ctx, livingLease)
			defer cancel()
			l.refresh(ctx, k, true) // sooner than MinInterval after the last edit: one more, once
		}()
	}
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	grace := time.NewTimer(time.Second)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	}
	l.cancel()
	<-done
}

func recordKey(k livingKey) string { return "living:" + k.channel + ":" + k.env }

func (l *Living) record(ctx context.Context, k livingKey) (livingRecord, error) {
	var rec livingRecord
	v, ok, err := l.o.Store.Value(ctx, k.workspace, recordKey(k))
	if err != nil || !ok {
		return rec, err
	}
	return rec, json.Unmarshal(v, &rec)
}

// Thread is the ts of channel's living message of env, for thread replies; "" when there is none.
func (l *Living) Thread(ctx context.Context, workspace, channel, env string) string {
	rec, err := l.record(ctx, livingKey{workspace, channel, env})
	if err != nil {
		l.log.Debug("cannot read the status message's record", "env", env, "err", err)
	}
	return rec.TS
}

// refresh edits k's message if it is its turn, and says when to try again
// (0: no need) and when what it shows goes stale without a change (zero: never).
// closing: the process stops, and an edit sooner than MinInterval after
// the last is made all the same.
func (l *Living) refresh(ctx context.Context, k livingKey, closing bool) (again time.Duration, stale time.Time) {
	if wait := l.spentFor(k); wait > 0 {
		return wait, time.Time{}
	}
	// A token per edit: a claim is won again by the token holding it.
	lease, token := leaseKey(k), progress.NewToken()
	if ok, err := l.o.Store.Claim(ctx, k.workspace, lease, token, livingLease); err != nil || !ok {
		return l.o.MinInterval, time.Time{} // another edit is under way here or on another replica, or the store is away
	}
	done := make(chan struct{})
	l.mu.Lock()
	l.editing[k] = done
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.editing[k] == done {
			delete(l.editing, k)
		}
		l.mu.Unlock()
		_ = l.o.Store.Release(context.WithoutCancel(ctx), k.workspace, lease, token)
		close(done)
	}()
	rec, err := l.record(ctx, k)
	if err != nil {
		l.log.Warn("cannot read the status message's record", "env", k.env, "err", err)
		return l.o.MinInterval, time.Time{}
	}
	now := l.o.Clock.Now()
	if wait := rec.Edited.Add(l.o.MinInterval).Sub(now); rec.TS != "" && wait > 0 && !closing {
		l.waitUntil(k, now.Add(wait))
		return wait, time.Time{}
	}
	m, err := l.o.Core.LivingStatus(ctx, k.workspace, k.channel, k.env)
	r, version := m.Reply, m.Version
	switch {
	case errors.Is(err, progress.ErrNotFound):
		return 0, time.Time{}
	case err != nil:
		l.log.Warn("cannot render the status message", "env", k.env, "err", err)
		return l.o.MinInterval, time.Time{}
	case version < rec.Version:
		return 0, time.Time{} // a newer state is shown already
	case m.Ended && rec.TS == "":
		if !rec.Gone.IsZero() || rec.Deleted {
			l.keep(ctx, k, livingRecord{Version: version}) // a new track posts a new one at once
		}
		return 0, time.Time{} // no message here to end
	}
	if wait := rec.Gone.Add(goneRetry).Sub(now); !rec.Gone.IsZero() && !m.Ended && wait > 0 {
		// Its channel was out of reach: tried again an hour later, not at
		// each change (a Slack call and two warnings each).
		return wait, time.Time{}
	}
	hash := replyHash(r)
	if rec.TS != "" && hash == rec.Hash {
		return 0, m.Stale
	}
	if !l.permit(ctx, k.workspace) {
		return l.spentFor(k), time.Time{}
	}
	reposting := rec.Deleted // after a deletion
	if rec.TS != "" {
		err := l.o.API.Update(ctx, k.channel, rec.TS, r)
		var ae *APIError
		switch {
		case errors.As(err, &ae) && uneditable(ae.Code):
			// Deleted, or no longer the bot's to edit. One still there is
			// unpinned, so that the channel has one pinned status message of
			// the environment; a new one is posted and pinned, unless the
			// environment is no longer followed here.
			if ae.Code != "message_not_found" {
				if err := l.o.API.Unpin(ctx, k.channel, rec.TS); err != nil {
					l.log.Info("cannot unpin the status message Slack no longer lets the bot edit", "channel", k.channel, "env", k.env, "err", err)
				}
			}
			if !m.Ended {
				rec, reposting = livingRecord{}, true
			}
		case err != nil && transient(err):
			l.log.Info("cannot edit the status message; trying again", "channel", k.channel, "env", k.env, "err", err)
			if ae := (*APIError)(nil); errors.As(err, &ae) && ae.RetryAfter > l.o.MinInterval {
				// Rate limited: no edit in the workspace is tried before Slack said.
				l.mu.Lock()
				l.spent[k.workspace] = now.Add(ae.RetryAfter)
				l.mu.Unlock()
				return ae.RetryAfter, time.Time{}
			}
			return l.o.MinInterval, time.Time{}
		case err != nil && errors.Is(err, bot.ErrChannelGone):
			// Archived, the bot removed: tried again an hour from now.
			rec.Gone = now
			if m.Ended {
				rec = livingRecord{Version: version} // a new track posts a new one
			}
			l.keep(ctx, k, rec)
			l.log.Warn("cannot edit the status message: its channel is out of reach; trying again in an hour", "channel", k.channel, "env", k.env, "err", err)
			if m.Ended {
				return 0, time.Time{}
			}
			return goneRetry, time.Time{}
		case err != nil:
			// Its token refused: trying again every few seconds would only
			// spend the workspace's edits.
			l.log.Warn("cannot edit the status message; trying again at its next change", "channel", k.channel, "env", k.env, "err", err)
			return 0, time.Time{}
		case rec.TS != "":
			l.pin(ctx, k, &rec, now) // edited: pinned if it never was
		}
	}
	if rec.TS == "" {
		q, mentions := r, false
		if reposting {
			q, mentions = withoutMentions(r)
		}
		ts, err := l.o.API.PostMessage(ctx, k.channel, "", false, q)
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.RetryAfter > 0:
			// Rate limited, so certainly not posted: posted once Slack says,
			// not at the next change (posts are limited per channel: other
			// channels' edits go on).
			// The wait outlasts the retry scheduled from the return value
			// (the clock moved during the call), so that it holds until then.
			l.waitUntil(k, l.o.Clock.Now().Add(ae.RetryAfter+time.Second))
			return ae.RetryAfter, time.Time{}
		case err != nil && errors.Is(err, bot.ErrChannelGone):
			rec.Gone = now // as for an edit: tried again an hour from now, not at each change
			l.keep(ctx, k, rec)
			l.log.Warn("cannot post the status message: its channel is out of reach; trying again in an hour", "channel", k.channel, "env", k.env, "err", err)
			return goneRetry, time.Time{}
		case err != nil:
			// Not repeated: a post that failed late may be in the channel.
			l.log.Info("cannot post the status message", "channel", k.channel, "env", k.env, "err", err)
			return 0, time.Time{}
		}
		rec.TS = ts
		l.pin(ctx, k, &rec, now)
		if mentions {
			if err := l.o.API.Update(ctx, k.channel, ts, r); err != nil {
				l.log.Info("cannot show the mentions in the status message; trying again", "channel", k.channel, "env", k.env, "err", err)
				hash, again = replyHash(q), l.o.MinInterval
			}
		}
	}
	rec.Version, rec.Hash, rec.Edited, rec.Gone, rec.Deleted = version, hash, now, time.Time{}, false
	if m.Ended {
		rec = livingRecord{Version: version} // left as it is; a new track posts a new one
	}
	l.waitUntil(k, now.Add(l.o.MinInterval))
	l.keep(ctx, k, rec)
	return again, m.Stale
}

// pinRetry is how long a status message that could not be pinned waits
// before an edit tries again.
const pinRetry = time.Hour

// pin pins rec's message once: one people unpinned stays unpinned. One
// that could not be pinned is tried again at an edit pinRetry later.
func (l *Living) pin(ctx context.Context, k livingKey, rec *livingRecord, now time.Time) {
	if rec.Pinned || now.Sub(rec.PinTried) < pinRetry {
		return
	}
	if err := l.o.API.Pin(ctx, k.channel, rec.TS); err != nil {
		rec.PinTried = now
		l.log.Info("cannot pin the status message; trying again at an edit an hour from now", "channel", k.channel, "env", k.env, "err", err)
		return
	}
	rec.Pinned, rec.PinTried = true, time.Time{}
}

// leaseKey names the claim one edit of k's message holds (one at a time, across replicas).
func leaseKey(k livingKey) string { return "living-lease:" + k.channel + ":" + k.env }

// keep writes k's record, even when the edit was cancelled (shutdown):
// it says what is in Slack, a message posted included.
func (l *Living) keep(ctx context.Context, k livingKey, rec livingRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	v, _ := json.Marshal(rec)
	puts := []progress.Put{{Key: recordKey(k), Value: v, TTL: livingKeep}}
	if rec.TS != "" { // pastes in its thread (its milestones' too) are k.env's
		puts = append(puts, bot.ThreadPut(k.channel, rec.TS, k.env, livingKeep))
	}
	if err := l.o.Store.PutValues(ctx, k.workspace, puts...); err != nil {
		l.log.Warn("cannot keep the status message's record", "env", k.env, "err", err)
	}
}

func (l *Living) waitUntil(k livingKey, t time.Time) {
	l.mu.Lock()
	l.notBefore[k] = t
	l.mu.Unlock()
}

// permit takes one of the workspace's edits of the minute, false when all
// are spent: then none is tried for MinInterval (a slot frees a minute
// after it was taken, and this process cannot tell when that is).
func (l *Living) permit(ctx context.Context, workspace string) bool {
	n := uint64(l.o.PerMinute)
	start := l.slot.Add(1)
	for i := range n {
		key := fmt.Sprintf("living-rate:%d", (start+i)%n)
		if ok, err := l.o.Store.Claim(ctx, workspace, key, progress.NewToken(), time.Minute); err == nil && ok {
			return true
		}
	}
	l.mu.Lock()
	l.spent[workspace] = l.o.Clock.Now().Add(l.o.MinInterval)
	l.mu.Unlock()
	return false
}

// spentFor is how long k waits for its workspace's slots, found all taken,
// to be worth trying again; 0: they may be. A wait also holds back the
// changes to k in the meantime (see waitUntil).
func (l *Living) spentFor(k livingKey) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.o.Clock.Now()
	until, ok := l.spent[k.workspace]
	if !ok || !until.After(now) {
		delete(l.spent, k.workspace)
		return 0
	}
	l.notBefore[k] = until
	return until.Sub(now)
}

// withoutMentions is r with its mentions as "…", and whether it had any.
// A status message posted again after a deletion is posted so, then edited
// to mention them: a post's mention notifies, an edit's does not, and the
// message is no news to the people it names (reminders ping owners).
func withoutMentions(r *bot.Reply) (*bot.Reply, bool) {
	found := false
	q := mapSpans(r, func(s bot.Span) bot.Span {
		if s.Style == bot.Mention {
			s, found = bot.T("…"), true
		}
		return s
	})
	return q, found
}

// mapSpans is a copy of r with each span of its lines and fields through f.
func mapSpans(r *bot.Reply, f func(bot.Span) bot.Span) *bot.Reply {
	return r.MapLines(func(l bot.Line) bot.Line {
		out := slices.Clone(l)
		for i, s := range out {
			out[i] = f(s)
		}
		return out
	})
}

func replyHash(r *bot.Reply) string {
	js, _ := json.Marshal(RenderBlocks(r))
	h := sha256.Sum256(append(js, FallbackText(r)...))
	return hex.EncodeToString(h[:8])
}

// Pin pins a message in its channel; one pinned already counts as done.
func (a *API) Pin(ctx context.Context, channel, ts string) error {
	err := a.do(ctx, "pins.add", channel, func(ctx context.Context) error {
		return a.client.AddPinContext(ctx, channel, slack.NewRefToMessage(channel, ts))
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "already_pinned" {
		return nil
	}
	return err
}

// uneditable: chat.update's error code says the status message cannot be
// edited any more (deleted, no longer the bot's, past the workspace's edit window).
func uneditable(code string) bool {
	return code == "message_not_found" || code == "cant_update_message" || code == "edit_window_closed"
}

// Unpin unpins a message; one not pinned (any more) counts as done.
func (a *API) Unpin(ctx context.Context, channel, ts string) error {
	err := a.do(ctx, "pins.remove", channel, func(ctx context.Context) error {
		return a.client.RemovePinContext(ctx, channel, slack.NewRefToMessage(channel, ts))
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "no_pin" {
		return nil
	}
	return err
}

// threadAnnouncement posts a response's announcement (or, when it has none,
// its milestone) as a short reply under the living message of the one
// environment it changed; a milestone is also shown in the channel, and
// followed by the burn-down chart (see milestoneChart). It reports
// whether it did: false when there is no such message.
func (a *App) threadAnnouncement(ctx context.Context, resp bot.Response, o origin) (bool, error) {
	if a.living == nil || len(resp.Changed) != 1 || o.kind == fromMention && o.thread != "" {
		return false, nil
	}
	r := resp.Announce
	switch {
	case r.Empty():
		r = resp.Milestone
	case !resp.Milestone.Empty():
		// Sent to the channel for the milestone: its notification says it first.
		q := *r
		q.Summary = resp.Milestone.Summary + " · " + r.Summary
		r = &q
	}
	if r.Empty() {
		return false, nil
	}
	env := resp.Changed[0]
	ts := a.living.Thread(ctx, o.workspace, o.channel, env)
	if ts == "" {
		return false, nil
	}
	_, err := a.api.PostMessage(ctx, o.channel, ts, resp.Milestone != nil, r)
	if err == nil && resp.Milestone != nil {
		if release, ok := a.milestoneChart(ctx, o, env, resp.Milestone.Summary); ok {
			if f, cerr := a.living.o.Core.Chart(ctx, o.workspace, env); cerr != nil || f == nil {
				a.log.Debug("no chart for the milestone", "env", env, "err", cerr)
				release()
			} else if id, uerr := a.api.Upload(ctx, o.channel, ts, "", f); uerr != nil {
				a.log.Info("cannot upload the burn-down chart", "env", env, "err", uerr)
				release()
			} else {
				a.keepChart(ctx, o.workspace, f, id)
			}
		}
	}
	return true, err
}

// milestoneChart claims the chart that follows a milestone: one per
// milestone, environment and channel every homeChartEvery. An upgrade has a
// few milestones, but pastes that swing its state between two outcomes
// would each draw and upload a chart (a third of the CPU in a flood).
// release gives the claim back when no chart went out; a store that
// cannot say lets the chart be tried, as without the claim.
func (a *App) milestoneChart(ctx context.Context, o origin, env, milestone string) (release func(), ok bool) {
	key, token := fmt.Sprintf("milestone-chart:%s:%s:%s", o.channel, env, milestone), progress.NewToken()
	ok, err := a.store.Claim(ctx, o.workspace, key, token, homeChartEvery)
	return func() { _ = a.store.Release(context.WithoutCancel(ctx), o.workspace, key, token) }, err != nil || ok
}
