package slackbot

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// InboxMetrics are the inbox's counts; *metrics.Metrics implements them.
type InboxMetrics interface {
	// JournalRecovered counts an entry another process (or replica) left, handed to be finished.
	JournalRecovered()
	// JournalUndurable counts work acknowledged without being journaled (the store failed).
	JournalUndurable()
	// JournalAbandoned counts an entry given up after MaxRecoveries.
	JournalAbandoned()
}

// InboxOptions configure an Inbox.
type InboxOptions struct {
	// Consumer names this process in the journal; "" means progress.ConsumerName().
	Consumer string
	// MinIdle is how long an entry goes unkept before another consumer
	// takes it as left by a stopped process; 0 means 1 minute.
	MinIdle time.Duration
	// Every is how often Run keeps the entries at work and looks for left
	// ones; 0 means MinIdle/4.
	Every time.Duration
	// Batch is how many left entries are taken at once; 0 means 1. Each
	// is counted recovered when taken (MaxRecoveries): taken one at a
	// time, an entry is counted only when it runs, not while one before
	// it kills the process.
	Batch int
	// MaxRecoveries is how many times an entry is recovered before it is
	// given up (its work may be what killed the processes that took it:
	// run again, it would crash each replica in turn); 0 means 5.
	MaxRecoveries int
	Logger        *slog.Logger
	Metrics       InboxMetrics
}

// Inbox is the transport's use of the journal: acknowledged work is put
// in it before the acknowledgement and stays until done, claimed by this
// process while it works on it; what a stopped process left is recovered
// and handed back to be finished.
type Inbox struct {
	j       progress.Journal
	o       InboxOptions
	failing atomic.Bool // the last Put failed: log once per outage
	mu      sync.Mutex
	atWork  map[string]progress.Entry // by inboxKey: kept claimed until removed
	// While Run runs (removing), Done leaves the entries to its remover,
	// which removes those finished during one removal together in the next.
	removing bool
	finished []progress.Entry
	wake     chan struct{} // finished has entries
	removal  sync.Mutex    // a removal, or a recovery and its check of atWork
}

type nopInboxMetrics struct{}

func (nopInboxMetrics) JournalRecovered() {}
func (nopInboxMetrics) JournalUndurable() {}
func (nopInboxMetrics) JournalAbandoned() {}

// NewInbox returns an inbox on j; Run starts keeping and recovering.
func NewInbox(j progress.Journal, o InboxOptions) *Inbox {
	if o.Consumer == "" {
		o.Consumer = progress.ConsumerName()
	}
	if o.MinIdle <= 0 {
		o.MinIdle = time.Minute
	}
	if o.Every <= 0 {
		o.Every = o.MinIdle / 4
	}
	if o.Batch <= 0 {
		o.Batch = 1
	}
	if o.MaxRecoveries <= 0 {
		o.MaxRecoveries = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = nopInboxMetrics{}
	}
	return &Inbox{j: j, o: o, atWork: map[string]progress.Entry{}, wake: make(chan struct{}, 1)}
}

func inboxKey(e progress.Entry) string { return e.Workspace + "/" + e.ID }

// Put writes e to the journal; call it before acknowledging. The entry
// returned (with its ID) is kept claimed by Run until Done. When
// the store fails, Put counts it and returns the error: acknowledge and
// answer all the same, without durability, and pass the entry (with no
// ID) to Done, which then does nothing.
func (in *Inbox) Put(ctx context.Context, e progress.Entry) (progress.Entry, error) {
	id, err := in.j.Append(ctx, in.o.Consumer, e)
	if err != nil {
		in.o.Metrics.JournalUndurable()
		if !in.failing.Swap(true) {
			in.o.Logger.Warn("cannot journal acknowledged work: answering it without durability until the store is back", "err", err)
		}
		return e, err
	}
	if in.failing.Swap(false) {
		in.o.Logger.Info("journaling acknowledged work again")
	}
	e.ID = id
	in.mu.Lock()
	in.atWork[inboxKey(e)] = e
	in.mu.Unlock()
	return e, nil
}

// Done removes a finished entry from the journal (while Run runs, with the
// others finished meanwhile). Call it only when the work is finished: work
// stopped by a shutdown is left for the next process.
func (in *Inbox) Done(ctx context.Context, e progress.Entry) {
	if e.ID == "" {
		return
	}
	in.mu.Lock()
	if in.removing { // kept at work until removed: not recovered meanwhile
		in.finished = append(in.finished, e)
		in.mu.Unlock()
		select {
		case in.wake <- struct{}{}:
		default:
		}
		return
	}
	in.mu.Unlock()
	in.remove(ctx, e)
}

// remove deletes finished entries from the journal, in one round trip.
func (in *Inbox) remove(ctx context.Context, entries ...progress.Entry) {
	in.removal.Lock()
	defer in.removal.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := in.j.Done(ctx, entries...); err != nil {
		// Left in the journal, the entries are recovered and run again later.
		in.o.Logger.Warn("cannot mark journaled work done: it will be run again", "entries", len(entries), "err", err)
	}
	in.mu.Lock()
	for _, e := range entries {
		delete(in.atWork, inboxKey(e))
	}
	in.mu.Unlock()
}

// removeFinished removes the entries Done leaves to it: those finished
// while one removal is under way go together in the next, a round trip
// for many under load. When ctx ends it removes what is left, and Done
// removes at once again.
func (in *Inbox) removeFinished(ctx context.Context) {
	for stop := false; !stop; {
		select {
		case <-in.wake:
		case <-ctx.Done():
		}
		in.mu.Lock()
		batch := in.finished
		in.finished, stop = nil, ctx.Err() != nil
		in.removing = !stop
		in.mu.Unlock()
		if len(batch) > 0 {
			in.remove(ctx, batch...)
		}
	}
}

// Run keeps the entries at work claimed (every Every) and hands each entry
// left by a stopped process to handle, one at a time in the journal's
// order; such an entry is done when handle returns, unless ctx ended
// first (then the next process takes it). Run returns when ctx ends,
// leaving the entries still at work (not Done) to be recovered at once,
// so end it when this process's work has stopped.
func (in *Inbox) Run(ctx context.Context, handle func(ctx context.Context, e progress.Entry)) {
	in.mu.Lock()
	in.removing = true
	in.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { in.removeFinished(ctx) })
	wg.Go(func() { in.every(ctx, in.keep) })
	in.every(ctx, func(ctx context.Context) {
		for ctx.Err() == nil {
			if in.recoverBatch(ctx, handle) < in.o.Batch {
				return
			}
		}
	})
	wg.Wait()
	in.leave(ctx)
}

// leave gives up the entries still at work, so the next process (or
// another replica) takes them without waiting for MinIdle, and this
// process's consumer, even with nothing at work.
func (in *Inbox) leave(ctx context.Context) {
	in.mu.Lock()
	entries := make([]progress.Entry, 0, len(in.atWork))
	for k, e := range in.atWork {
		entries = append(entries, e)
		delete(in.atWork, k)
	}
	in.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := in.j.Leave(ctx, in.o.Consumer, entries...)
	switch {
	case err != nil && len(entries) > 0:
		in.o.Logger.Warn("cannot leave unfinished work to the next process: it is taken after the minimum idle time", "entries", len(entries), "err", err)
	case err != nil:
		in.o.Logger.Warn("cannot take this process out of the journal", "err", err)
	case len(entries) > 0:
		in.o.Logger.Info("left unfinished work to the next process", "entries", len(entries))
	}
}

// every runs fn now and then every Every until ctx ends.
func (in *Inbox) every(ctx context.Context, fn func(context.Context)) {
	t := time.NewTicker(in.o.Every)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// keep claims the entries at work again, so no one recovers them.
func (in *Inbox) keep(ctx context.Context) {
	in.mu.Lock()
	entries := make([]progress.Entry, 0, len(in.atWork))
	for _, e := range in.atWork {
		entries = append(entries, e)
	}
	in.mu.Unlock()
	if len(entries) == 0 {
		return
	}
	if err := in.j.Keep(ctx, in.o.Consumer, entries...); err != nil && ctx.Err() == nil {
		in.o.Logger.Warn("cannot keep journaled work claimed: another replica may run it too", "entries", len(entries), "err", err)
	}
}

// recoverBatch takes a batch of left entries and hands them to handle; it
// returns how many it took.
func (in *Inbox) recoverBatch(ctx context.Context, handle func(context.Context, progress.Entry)) int {
	// Not during a removal: it could take back an entry being removed.
	in.removal.Lock()
	entries, err := in.j.Recover(ctx, in.o.Consumer, in.o.MinIdle, in.o.Batch)
	busy := make([]bool, len(entries))
	in.mu.Lock()
	for i, e := range entries {
		if _, busy[i] = in.atWork[inboxKey(e)]; !busy[i] {
			in.atWork[inboxKey(e)] = e
		}
	}
	in.mu.Unlock()
	in.removal.Unlock()
	if err != nil && ctx.Err() == nil {
		in.o.Logger.Warn("cannot look for work a stopped process left", "err", err)
	}
	for i, e := range entries {
		if busy[i] {
			continue // ours, still at work (or being removed): its keeping was late
		}
		if ctx.Err() != nil {
			continue // not started: kept at work, so that leave gives it to the next process at once
		}
		if e.Recovered > in.o.MaxRecoveries {
			in.o.Metrics.JournalAbandoned()
			in.o.Logger.Error("giving up journaled work taken up again and again without finishing: it may be what stopped the processes that took it",
				"event_id", e.EventID, "kind", e.Kind, "channel", e.Channel, "recovered", e.Recovered)
			in.Done(ctx, e)
			continue
		}
		// A stopped process's, or one whose reply Slack refused a minute ago
		// (left by whichever replica; the journal does not say which).
		in.o.Metrics.JournalRecovered()
		in.o.Logger.Info("taking up journaled work left unfinished: a stopped process's, or a reply Slack refused", "event_id", e.EventID, "kind", e.Kind, "channel", e.Channel)
		in.run(ctx, handle, e)
	}
	return len(entries)
}

// run hands one recovered entry to handle and marks it done, unless ctx ended.
func (in *Inbox) run(ctx context.Context, handle func(context.Context, progress.Entry), e progress.Entry) {
	defer func() {
		if p := recover(); p != nil {
			// Run again, it would fail again: done.
			in.o.Logger.Error("recovered work panicked", "event_id", e.EventID, "panic", p, "stack", string(debug.Stack()))
			in.Done(ctx, e)
		}
	}()
	handle(ctx, e)
	if ctx.Err() != nil {
		return // cut short: kept at work, so that leave gives it to the next process at once
	}
	in.Done(ctx, e)
}

// forget stops keeping an entry without marking it done: it is tried
// again once MinIdle passed.
func (in *Inbox) forget(e progress.Entry) {
	in.mu.Lock()
	delete(in.atWork, inboxKey(e))
	in.mu.Unlock()
}
