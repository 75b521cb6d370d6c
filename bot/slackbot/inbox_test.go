package slackbot

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// watched reports the journal's Keep and Done calls, and fails Append on demand.
type watched struct {
	progress.Journal
	kept, done chan []progress.Entry
	down       atomic.Bool
	held       atomic.Pointer[chan struct{}] // Done waits until it is closed
}

func watch(j progress.Journal) *watched {
	return &watched{Journal: j, kept: make(chan []progress.Entry, 100), done: make(chan []progress.Entry, 100)}
}

func (w *watched) Append(ctx context.Context, consumer string, e progress.Entry) (string, error) {
	if w.down.Load() {
		return "", progress.ErrUnavailable
	}
	return w.Journal.Append(ctx, consumer, e)
}

func (w *watched) Keep(ctx context.Context, consumer string, es ...progress.Entry) error {
	err := w.Journal.Keep(ctx, consumer, es...)
	select {
	case w.kept <- es:
	default: // no one is watching: Run keeps every few milliseconds
	}
	return err
}

func (w *watched) Done(ctx context.Context, es ...progress.Entry) error {
	err := w.Journal.Done(ctx, es...)
	w.done <- es
	if held := w.held.Load(); held != nil {
		<-*held
	}
	return err
}

// waitFor waits for a call whose entries hold every event id of want.
func waitEntries(t *testing.T, ch chan []progress.Entry, what string, want ...string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case es := <-ch:
			var got []string
			for _, e := range es {
				got = append(got, e.EventID)
			}
			if !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) }) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s call with %v within 10 s", what, want)
		}
	}
}

// waitRemoved waits until Done calls, together or apart, removed every event id of want.
func waitRemoved(t *testing.T, ch chan []progress.Entry, want ...string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case es := <-ch:
			want = slices.DeleteFunc(want, func(w string) bool {
				return slices.ContainsFunc(es, func(e progress.Entry) bool { return e.EventID == w })
			})
		case <-timeout:
			t.Fatalf("%v not removed within 10 s", want)
		}
	}
}

type inboxCounts struct{ recovered, undurable, abandoned atomic.Int64 }

func (c *inboxCounts) JournalRecovered() { c.recovered.Add(1) }
func (c *inboxCounts) JournalUndurable() { c.undurable.Add(1) }
func (c *inboxCounts) JournalAbandoned() { c.abandoned.Add(1) }

func openBolt(t *testing.T, path string) *progress.BoltStore {
	t.Helper()
	s, err := progress.OpenBoltStore(path, progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runInbox runs in with a handler that reports each entry and then waits
// for release (nil: returns at once); it stops when the test ends.
func runInbox(t *testing.T, in *Inbox, release func(progress.Entry)) chan progress.Entry {
	handled := make(chan progress.Entry, 100)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		in.Run(ctx, func(_ context.Context, e progress.Entry) {
			handled <- e
			if release != nil {
				release(e)
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	return handled
}

func waitHandled(t *testing.T, handled chan progress.Entry) progress.Entry {
	t.Helper()
	select {
	case e := <-handled:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no entry handed to the handler within 10 s")
		return progress.Entry{}
	}
}

// What a stopped process left is handed to the handler, in order, as
// recovered work, and done once handled: the next process (embedded
// store), or another replica once the entry has been idle (Redis).
func TestInboxRecoversLeftWork(t *testing.T) {
	left := []progress.Entry{
		{Workspace: "T1", Channel: "C1", EventID: "Ev1", Kind: "message", Payload: []byte(`{"text":"x"}`), Findings: []byte(`[]`)},
		{Workspace: "T1", Channel: "C2", EventID: "Ev2", Kind: "message"},
	}
	for _, tc := range []struct {
		name string
		// leave puts the entries as a process that then stops, and returns the journal of the one after it.
		leave   func(t *testing.T) progress.Journal
		minIdle time.Duration
	}{
		{"bolt", func(t *testing.T) progress.Journal {
			path := filepath.Join(t.TempDir(), "upgradebot.db")
			first := openBolt(t, path)
			in := NewInbox(first, InboxOptions{})
			for _, e := range left {
				if _, err := in.Put(context.Background(), e); err != nil {
					t.Fatal(err)
				}
			}
			first.Close()
			next := openBolt(t, path)
			t.Cleanup(func() { next.Close() })
			return next
		}, time.Hour},
		{"redis", func(t *testing.T) progress.Journal {
			stores := redisStores(t, 2)
			in := NewInbox(stores[0], InboxOptions{})
			for _, e := range left {
				if _, err := in.Put(context.Background(), e); err != nil {
					t.Fatal(err)
				}
			}
			return stores[1]
		}, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := watch(tc.leave(t))
			counts := &inboxCounts{}
			in := NewInbox(w, InboxOptions{MinIdle: tc.minIdle, Every: 5 * time.Millisecond, Metrics: counts})
			handled := runInbox(t, in, nil)
			for _, want := range left {
				got := waitHandled(t, handled)
				if got.EventID != want.EventID || got.Channel != want.Channel || string(got.Payload) != string(want.Payload) ||
					string(got.Findings) != string(want.Findings) || got.Kind != want.Kind {
					t.Errorf("handled %+v, want %+v", got, want)
				}
			}
			waitRemoved(t, w.done, "Ev1", "Ev2")
			if n := counts.recovered.Load(); n != int64(len(left)) {
				t.Errorf("recovered %d, want %d", n, len(left))
			}
			if es, err := w.Recover(context.Background(), "another", 0, 10); err != nil || len(es) != 0 {
				t.Errorf("after handling, the journal still has %+v, %v", es, err)
			}
		})
	}
}

// Work at hand, put live or recovered, is kept claimed while it runs; a
// recovered entry whose handling a shutdown stops is left for the next process.
func TestInboxKeepsWorkClaimed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upgradebot.db")
	first := openBolt(t, path)
	if _, err := NewInbox(first, InboxOptions{}).Put(context.Background(), progress.Entry{Workspace: "T1", Channel: "C1", EventID: "EvLeft"}); err != nil {
		t.Fatal(err)
	}
	first.Close()
	s := openBolt(t, path)
	defer s.Close()
	w := watch(s)
	in := NewInbox(w, InboxOptions{MinIdle: time.Hour, Every: 5 * time.Millisecond})
	live, err := in.Put(context.Background(), progress.Entry{Workspace: "T1", Channel: "C1", EventID: "EvLive"})
	if err != nil || live.ID == "" {
		t.Fatalf("Put = %+v, %v", live, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		in.Run(ctx, func(_ context.Context, e progress.Entry) {
			// While it runs, the recovered entry is kept with the live one.
			waitEntries(t, w.kept, "Keep", "EvLeft", "EvLive")
			cancel() // a shutdown, before it finished
		})
	}()
	<-stopped
	in.Done(context.Background(), live)
	waitEntries(t, w.done, "Done", "EvLive")
	select {
	case es := <-w.done:
		t.Errorf("Done(%+v) after a shutdown stopped the work", es)
	default:
	}
	es, err := s.Recover(context.Background(), "next", 0, 10)
	if err != nil || len(es) != 1 || es[0].EventID != "EvLeft" {
		t.Errorf("left for the next process: %+v, %v; want EvLeft alone", es, err)
	}
}

// Entries finished while a removal is under way are removed together in
// the next (one round trip for many under load); once Run has returned,
// Done removes at once.
func TestInboxRemovesFinishedTogether(t *testing.T) {
	s := openBolt(t, filepath.Join(t.TempDir(), "upgradebot.db"))
	defer s.Close()
	w := watch(s)
	held := make(chan struct{})
	w.held.Store(&held)
	in := NewInbox(w, InboxOptions{MinIdle: time.Hour, Every: 5 * time.Millisecond})
	put := func(ev string) progress.Entry {
		e, err := in.Put(context.Background(), progress.Entry{Workspace: "T1", Channel: "C1", EventID: ev})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e1, e2, e3 := put("Ev1"), put("Ev2"), put("Ev3")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		in.Run(ctx, func(context.Context, progress.Entry) {})
	}()
	waitEntries(t, w.kept, "Keep", "Ev1") // Run runs
	go in.Done(ctx, e1)
	waitEntries(t, w.done, "Done", "Ev1") // under way, held
	var later sync.WaitGroup
	later.Go(func() { in.Done(ctx, e2) })
	later.Go(func() { in.Done(ctx, e3) })
	returned := make(chan struct{})
	go func() { later.Wait(); close(returned) }()
	select {
	case <-returned: // left to the remover
	case <-time.After(10 * time.Second):
		t.Fatal("Done waited for the removal under way")
	}
	close(held)
	waitEntries(t, w.done, "Done", "Ev2", "Ev3") // one call for both
	cancel()
	<-stopped
	in.Done(context.Background(), put("Ev4"))
	select {
	case es := <-w.done:
		if len(es) != 1 || es[0].EventID != "Ev4" {
			t.Errorf("Done after Run removed %+v; want Ev4", es)
		}
	default:
		t.Error("Done after Run returned did not remove the entry at once")
	}
	if left, err := s.Recover(context.Background(), "next", 0, 10); err != nil || len(left) != 0 {
		t.Errorf("left in the journal: %+v, %v; want none", left, err)
	}
}

// While the store is down, work is acknowledged without durability:
// counted, logged once, and Done has nothing to do.
func TestInboxStoreDown(t *testing.T) {
	s := openBolt(t, filepath.Join(t.TempDir(), "upgradebot.db"))
	defer s.Close()
	w := watch(s)
	w.down.Store(true)
	counts := &inboxCounts{}
	logs := &syncBuffer{}
	in := NewInbox(w, InboxOptions{Metrics: counts, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	for range 2 {
		e, err := in.Put(context.Background(), progress.Entry{Workspace: "T1", Channel: "C1", EventID: "Ev1"})
		if err == nil || e.ID != "" || e.EventID != "Ev1" {
			t.Fatalf("Put with the store down = %+v, %v; want the entry back, no id, an error", e, err)
		}
		in.Done(context.Background(), e)
	}
	if n := counts.undurable.Load(); n != 2 {
		t.Errorf("undurable %d, want 2", n)
	}
	w.down.Store(false)
	if e, err := in.Put(context.Background(), progress.Entry{Workspace: "T1", Channel: "C1", EventID: "Ev2"}); err != nil || e.ID == "" {
		t.Errorf("Put with the store back = %+v, %v", e, err)
	}
	if n := strings.Count(logs.String(), "without durability"); n != 1 {
		t.Errorf("logged the outage %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "journaling acknowledged work again") {
		t.Errorf("the store's return is not logged:\n%s", logs)
	}
	select {
	case es := <-w.done:
		t.Errorf("Done called for work never journaled: %+v", es)
	default:
	}
}

// An entry taken up more than MaxRecoveries times without finishing (each
// process that took it was killed running it: its work may be what killed
// them) is given up, counted and logged, instead of stopping every next
// process; the entries left after it are counted only when they run, so
// they are handled.
func TestInboxPoisonSparesTheRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upgradebot.db")
	first := openBolt(t, path)
	for _, ev := range []string{"EvPoison", "EvFine"} {
		if _, err := first.Append(ctx, "first", progress.Entry{Workspace: "T1", Channel: "C1", EventID: ev}); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()
	for range 2 { // two processes took EvPoison up and were killed running it
		s := openBolt(t, path)
		in := NewInbox(s, InboxOptions{MinIdle: time.Hour, Every: 5 * time.Millisecond, MaxRecoveries: 2})
		runCtx, cancel := context.WithCancel(ctx)
		got, stopped := make(chan string, 10), make(chan struct{})
		go func() {
			defer close(stopped)
			in.Run(runCtx, func(ctx context.Context, e progress.Entry) { got <- e.EventID; <-ctx.Done() })
		}()
		if ev := <-got; ev != "EvPoison" {
			t.Fatalf("ran %s first", ev)
		}
		s.Close() // killed: nothing more reaches the file
		cancel()
		<-stopped
	}
	next := openBolt(t, path)
	defer next.Close()
	w, counts := watch(next), &inboxCounts{}
	handled := runInbox(t, NewInbox(w, InboxOptions{MinIdle: time.Hour, Every: 5 * time.Millisecond, MaxRecoveries: 2, Metrics: counts}), nil)
	if e := waitHandled(t, handled); e.EventID != "EvFine" {
		t.Fatalf("handled %s, want EvFine (EvPoison, taken up a third time, given up)", e.EventID)
	}
	waitEntries(t, w.done, "Done", "EvPoison")
	if counts.abandoned.Load() != 1 || counts.recovered.Load() != 1 {
		t.Errorf("abandoned %d (want 1: EvPoison only), recovered %d (want 1)", counts.abandoned.Load(), counts.recovered.Load())
	}
}
