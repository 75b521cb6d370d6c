package slackbot

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack/slackevents"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/progress"
)

// Nothing acknowledged is lost: an event with something to answer (a
// message with findings or screenshots, a mention's command) is written to
// the store's journal (progress.Journal, through the Inbox) once admitted
// and before it is acknowledged, and removed when its work has finished.
// What a stopped process left is recovered (by the next process, or
// another replica) and sent through its channel's lane like new work.
// Work runs at least once and is posted at most once: a recovered event's
// reply is looked for in its thread (its EventBlockID) before anything is
// posted. While the store fails, events are answered without durability
// (counted by the Inbox).
//
// Slash commands and clicks are not journaled: Slack never resends them,
// but neither can their replies be found again (an ephemeral reply, an
// update in place), so a recovered one could record or post twice; they
// are finished by the shutdown's drain, and a crash loses the few at work.
// App Home is not journaled either: it is published again when opened.

// putTimeout bounds the journal write on the acknowledgement path. It is
// the store's own read timeout: go-redis takes a context's deadline over
// its timeouts, and a hung store must not slow every ack.
const putTimeout = 500 * time.Millisecond

// durable is what makes one event's work durable.
type durable struct {
	eventID string
	raw     []byte    // the event as received: the journal's payload
	rec     *recovery // set for an event a stopped process left
}

// recovery is a recovered event's run, which runRecovered waits for.
type recovery struct {
	once     sync.Once
	done     chan struct{}
	started  bool // its work was admitted to the lanes
	finished bool // it ran to its end, not cut short by shutdown
}

type recoveredKey struct{}

// recovered reports whether ctx is a recovered event's work.
func recovered(ctx context.Context) bool { return ctx.Value(recoveredKey{}) != nil }

// context marks a recovered event's work.
func (d durable) context(ctx context.Context) context.Context {
	if d.rec == nil {
		return ctx
	}
	return context.WithValue(ctx, recoveredKey{}, true)
}

// end tells runRecovered the work ended (finished: not by shutdown).
func (d durable) end(finished bool) {
	if d.rec != nil {
		d.rec.once.Do(func() {
			d.rec.finished = finished
			close(d.rec.done)
		})
	}
}

// eventOrigin is where the reply to a message event goes.
func eventOrigin(ctx context.Context, eventID string, m bot.Message) origin {
	o := messageOrigin(m)
	o.eventID, o.recovered = eventID, recovered(ctx)
	return o
}

// admitEvent counts an event's job against the bound (a recovered one is
// owed: never refused but at shutdown); false when refused.
func (a *App) admitEvent(j *job, d durable) bool {
	if d.rec != nil {
		j.class = classOwed
	}
	if !a.lanes.admit(*j) {
		if a.stopping.Load() && d.rec == nil {
			a.log.Warn("shutting down: a Slack request arrived too late to be answered", "kind", j.kind)
		}
		return false
	}
	if d.rec != nil {
		d.rec.started = true
	}
	return true
}

// journal writes a new event's entry before it is acknowledged (a
// recovered one has its entry already).
func (a *App) journal(m bot.Message, r *bot.Reading, d durable) progress.Entry {
	if d.rec != nil {
		return progress.Entry{}
	}
	e := progress.Entry{Workspace: m.Workspace, Channel: m.Channel, EventID: d.eventID, Kind: "event", Payload: d.raw}
	// The finding ids are the entry's record of why it was kept (visible
	// with XRANGE); recovery diagnoses the payload again, with the engine
	// of the process that finishes it, rather than trusting a stored copy.
	if r != nil {
		ids := make([]string, 0, len(r.Findings()))
		for _, f := range r.Findings() {
			ids = append(ids, f.ID)
		}
		e.Findings = []byte(strings.Join(ids, ","))
	}
	ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
	defer cancel()
	e, _ = a.inbox.Put(ctx, e) // a failure is counted and logged: answered all the same
	return e
}

// submitEvent admits, queues and journals an event's job; false when
// refused. It takes its place in its channel's lane as it comes, before
// its journal write (up to putTimeout), so that a later command in the
// channel, which is not journaled, cannot overtake it; it runs once
// journaled.
func (a *App) submitEvent(j job, m bot.Message, r *bot.Reading, d durable) bool {
	if !a.admitEvent(&j, d) {
		return false
	}
	var entry progress.Entry
	journaled, run := make(chan struct{}), j.run
	j.run = func(ctx context.Context) {
		select {
		case <-journaled:
		case <-ctx.Done():
			return // not run: its entry stays for the next process
		}
		a.finishing(run, entry, d.rec)(ctx)
	}
	j.done = func(ran bool) {
		if !ran {
			d.end(false)
		}
	}
	a.lanes.queue(j)
	entry = a.journal(m, r, d)
	close(journaled)
	return true
}

// finishing wraps an event's work: once it ended (even by a panic), not
// cut short by shutdown, its journal entry is done, or, recovered, its
// run is told. Work cut short stays in the journal for the next process.
func (a *App) finishing(run func(context.Context), e progress.Entry, rec *recovery) func(context.Context) {
	d := durable{rec: rec}
	return func(ctx context.Context) {
		var undelivered bool
		defer func() {
			finished := a.lanes.ctx.Err() == nil
			switch {
			case rec != nil:
				d.end(finished)
			case finished && undelivered:
				// Its reply failed in a way a later try may not (Slack
				// rate-limited or away): left in the journal, it is
				// recovered after JournalMinIdle, the thread looked in first.
				a.inbox.forget(e)
			case finished:
				a.inbox.Done(ctx, e)
			}
		}()
		run(context.WithValue(d.context(ctx), undeliveredKey{}, &undelivered))
	}
}

// undeliveredKey holds the flag finish raises when a journaled event's work
// failed in a way worth trying again.
type undeliveredKey struct{}

// runRecovered finishes an event a stopped process left: it goes through
// its channel's lane like new work, and is done when that work ended.
// Cut short by shutdown, it returns only when ctx ends, so the inbox
// leaves it for the next process.
func (a *App) runRecovered(ctx context.Context, e progress.Entry) {
	ev, err := parseEvent(e.Payload)
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if err != nil || !ok {
		a.log.Warn("cannot read a journaled event; dropped", "event_id", e.EventID, "err", err)
		return
	}
	rec := &recovery{done: make(chan struct{})}
	accepted := a.take(ev, cb, e.Payload, rec)
	if !rec.started {
		if !accepted {
			<-ctx.Done() // refused: shutting down
		}
		return // nothing to answer
	}
	select {
	case <-rec.done:
	case <-ctx.Done():
		return
	}
	if !rec.finished {
		<-ctx.Done()
	}
}

// recoverOnce reports whether a recovered message is the first of its
// events this process recovers: a mention comes as two events (message
// and app_mention), both journaled, which the claims of a live process
// answer once.
func (a *App) recoverOnce(m bot.Message) bool {
	key := m.Workspace + "/" + m.Channel + "/" + m.TS
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.recoveredMsgs == nil || len(a.recoveredMsgs) > 10000 {
		a.recoveredMsgs = map[string]bool{}
	}
	if a.recoveredMsgs[key] {
		return false
	}
	a.recoveredMsgs[key] = true
	return true
}

// replied is the ts of a recovered event's reply already in its thread
// (posted by the process that stopped), "" when there is none. When that
// cannot be read, the reply is posted: at least once.
func (a *App) replied(ctx context.Context, o origin) string {
	if o.eventID == "" {
		return ""
	}
	ts, err := a.api.Replied(ctx, o.channel, o.replyThread(), o.eventID)
	if err != nil {
		a.log.Warn("cannot read the thread of a recovered event; answering it", "event_id", o.eventID, "err", err)
		return ""
	}
	if ts != "" {
		a.metrics.Duplicate("recovered")
		a.log.Info("a recovered event was already answered", "event_id", o.eventID, "channel", o.channel)
	}
	return ts
}

// startInbox starts keeping this process's entries and recovering what a
// stopped process left, once the bot knows who it is (its own messages
// are not answered). The inbox outlives ctx: recovered work is waited for
// until the lanes have shut down, then shutdown stops it.
func (a *App) startInbox(ctx context.Context) {
	inboxCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopInbox, a.inboxDone = stop, make(chan struct{})
	go func() {
		defer close(a.inboxDone)
		a.inbox.Run(inboxCtx, a.runRecovered)
	}()
}
