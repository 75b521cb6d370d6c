package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
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

// socketAckBudget bounds, in Socket Mode, how long an event's
// acknowledgement waits for its journal write and those of its channel
// before it: well inside Slack's 3 seconds. An event still unwritten then
// is acknowledged and answered without durability (counted).
const socketAckBudget = 2 * time.Second

// durable is what makes one event's work durable.
type durable struct {
	eventID string
	raw     []byte     // the event as received: the journal's payload
	rec     *recovery  // set for an event a stopped process left
	ack     *socketAck // Socket Mode: the journal write runs beside the reader
	// retried: Slack delivered it again. A stopped process may have
	// answered it, its claim gone since: its reply is looked for first.
	retried bool
}

// tag marks a retried event's work (retried).
func (d durable) tag(run func(context.Context)) func(context.Context) {
	if !d.retried {
		return run
	}
	return func(ctx context.Context) { run(context.WithValue(ctx, retriedKey{}, true)) }
}

// socketAck is, in Socket Mode, the journal write an event's
// acknowledgement waits for. The reader does not wait for the store: it
// queues the event and goes on, so a command behind a few pastes is still
// acknowledged at once when the store is slow. In HTTP mode each request
// has its own goroutine, which writes before it acknowledges.
type socketAck struct{ write *journalWrite }

// journalWrite is one event's journal write, under way or ended.
type journalWrite struct {
	done  chan struct{}
	entry progress.Entry // set before done is closed; no ID when not written
}

// wait returns the entry once written; false when ctx ended first.
func (w *journalWrite) wait(ctx context.Context) (progress.Entry, bool) {
	select {
	case <-w.done:
		return w.entry, true
	case <-ctx.Done():
		return progress.Entry{}, false
	}
}

// journalOrder keeps, in Socket Mode, each channel's journal writes in the
// order the reader took its events, as recovery replays them: a write
// starts when the channel's previous one ended.
type journalOrder struct {
	mu   sync.Mutex
	last map[string]chan struct{} // by lane key: the newest write's done
}

// next records done as key's newest write and returns the one before it (nil: none under way).
func (o *journalOrder) next(key string, done chan struct{}) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == nil {
		o.last = map[string]chan struct{}{}
	}
	prev := o.last[key]
	o.last[key] = done
	return prev
}

// end forgets done once it is closed, unless a newer write followed it.
func (o *journalOrder) end(key string, done chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last[key] == done {
		delete(o.last, key)
	}
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

type journaledKey struct{}

// journaled reports whether ctx is the work of an event the journal holds until it is done.
func journaled(ctx context.Context) bool { return ctx.Value(journaledKey{}) != nil }

type retriedKey struct{}

// retried reports whether ctx is the work of an event Slack delivered again.
func retried(ctx context.Context) bool { return ctx.Value(retriedKey{}) != nil }

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
	o.eventID, o.recovered, o.retried = eventID, recovered(ctx), retried(ctx)
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

// journal writes a new event's entry into w before it is acknowledged (a
// recovered one has its entry already): at once, or in Socket Mode beside
// the reader, which d.ack is given w to wait for. A failure is counted and
// logged (Inbox.Put): the event is answered all the same.
func (a *App) journal(w *journalWrite, m bot.Message, r *bot.Reading, d durable, received time.Time) {
	if d.rec != nil {
		close(w.done)
		return
	}
	e := progress.Entry{Workspace: m.Workspace, Channel: m.Channel, EventID: d.eventID, Kind: "event", Payload: withoutToken(d.raw)}
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
	if d.ack == nil {
		ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
		defer cancel()
		w.entry, _ = a.inbox.Put(ctx, e)
		close(w.done)
		return
	}
	d.ack.write = w
	key := laneKey(m.Workspace, m.Channel)
	prev := a.journalOrder.next(key, w.done)
	write := func() {
		ctx, cancel := context.WithDeadline(context.Background(), received.Add(socketAckBudget))
		defer cancel()
		if prev != nil {
			select {
			case <-prev:
			case <-ctx.Done(): // Put fails at once: counted, answered without durability
			}
		}
		put, cancelPut := context.WithTimeout(ctx, putTimeout)
		defer cancelPut()
		w.entry, _ = a.inbox.Put(put, e)
		close(w.done)
		a.journalOrder.end(key, w.done)
	}
	// Background work: shutdown waits for it before it closes the
	// connection and the store.
	if !a.startBackground(write) {
		write()
	}
}

// withoutToken is an event as received less Slack's legacy verification
// token, a credential the bot never uses, not to be kept in the store.
func withoutToken(raw []byte) []byte {
	// Slack writes it first: cut it out without decoding the event (a
	// decode and encode cost 20 µs on the acknowledgement path).
	const first = `{"token":"`
	if bytes.HasPrefix(raw, []byte(first)) {
		value := raw[len(first):]
		if end := bytes.IndexByte(value, '"'); end >= 0 && bytes.IndexByte(value[:end], '\\') < 0 && len(value) > end+1 && value[end+1] == ',' {
			return append([]byte("{"), value[end+2:]...)
		}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields["token"] == nil {
		return raw
	}
	delete(fields, "token")
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // kept as Slack wrote it: <@U…> stays, not \u003c@U…\u003e
	if enc.Encode(fields) != nil {
		return raw
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// afterJournal is an event's work that first waits for its journal write:
// not run when shutdown comes first (its entry stays for the next process).
func (a *App) afterJournal(w *journalWrite, run func(context.Context), rec *recovery) func(context.Context) {
	return func(ctx context.Context) {
		if e, ok := w.wait(ctx); ok {
			a.finishing(run, e, rec)(ctx)
		}
	}
}

// submitEvent admits, queues and journals an event's job; false when
// refused. It takes its place in its channel's lane as it comes, before
// its journal write, so that a later command in the
// channel, which is not journaled, cannot overtake it; it runs once
// journaled.
func (a *App) submitEvent(j job, m bot.Message, r *bot.Reading, d durable) bool {
	if !a.admitEvent(&j, d) {
		return false
	}
	w := &journalWrite{done: make(chan struct{})}
	j.run = a.afterJournal(w, j.run, d.rec)
	j.done = func(ran bool) {
		if !ran {
			d.end(false)
		}
	}
	a.lanes.queue(j)
	a.journal(w, m, r, d, j.received)
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
		work := d.context(ctx)
		if e.ID != "" || rec != nil {
			work = context.WithValue(work, journaledKey{}, true)
		}
		run(context.WithValue(work, undeliveredKey{}, &undelivered))
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
	accepted := a.take(ev, cb, e.Payload, rec, nil, false)
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
		a.log.Warn("cannot read the thread of a recovered or re-delivered event; answering it", "event_id", o.eventID, "err", err)
		return ""
	}
	if ts != "" {
		reason := "recovered"
		if !o.recovered {
			reason = "retried" // Slack's re-delivery of an event a stopped process answered
		}
		a.metrics.Duplicate(reason)
		a.log.Info("an event was already answered", "event_id", o.eventID, "channel", o.channel, "reason", reason)
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
