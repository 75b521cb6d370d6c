package progress

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/internal/redistest"
)

// journalFixture is a fresh journal and a way to let time pass for its
// pending entries (a fake clock, or Redis's idle times set by XCLAIM IDLE).
type journalFixture struct {
	j    Journal
	pass func(t *testing.T, d time.Duration)
}

// runJournalTests is the behaviour every Journal must have.
func runJournalTests(t *testing.T, open func(t *testing.T) journalFixture) {
	t.Run("AppendRecoverDone", func(t *testing.T) { testJournalAppendDone(t, open(t)) })
	t.Run("RecoverAfterIdle", func(t *testing.T) { testJournalIdle(t, open(t)) })
	t.Run("KeepPreventsRecovery", func(t *testing.T) { testJournalKeep(t, open(t)) })
	t.Run("Validation", func(t *testing.T) { testJournalValidation(t, open(t)) })
	t.Run("LeftAreRecoveredAtOnce", func(t *testing.T) { testJournalLeave(t, open(t)) })
	t.Run("RecoveriesCounted", func(t *testing.T) { testJournalRecoveries(t, open(t)) })
}

// Each Recover that takes an entry counts once, whether it was left
// (Leave) or went unkept; Keep counts none.
func testJournalRecoveries(t *testing.T, f journalFixture) {
	ctx := context.Background()
	e := appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C1", EventID: "Ev1"})
	for range 2 {
		if err := f.j.Keep(ctx, "a", e); err != nil {
			t.Fatal(err)
		}
	}
	for i, step := range []struct {
		consumer string
		leave    bool // the consumer before this one left it, rather than stopped
	}{{"b", false}, {"c", true}, {"d", false}} {
		if !step.leave {
			f.pass(t, 2*time.Minute)
		}
		got, err := f.j.Recover(ctx, step.consumer, time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].Recovered != i+1 {
			t.Fatalf("recovery %d by %s: %+v, %v; want the entry with Recovered %d", i+1, step.consumer, got, err, i+1)
		}
		if err := f.j.Keep(ctx, step.consumer, got[0]); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := f.j.Leave(ctx, step.consumer, got[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func appendEntry(t *testing.T, j Journal, consumer string, e Entry) Entry {
	t.Helper()
	id, err := j.Append(context.Background(), consumer, e)
	if err != nil || id == "" {
		t.Fatalf("Append(%s) = %q, %v", e.EventID, id, err)
	}
	e.ID = id
	return e
}

func recoverIDs(t *testing.T, j Journal, consumer string, minIdle time.Duration, n int) []string {
	t.Helper()
	got, err := j.Recover(context.Background(), consumer, minIdle, n)
	if err != nil {
		t.Fatalf("Recover(%s) = %v", consumer, err)
	}
	ids := []string{}
	for _, e := range got {
		ids = append(ids, e.Workspace+"/"+e.ID)
	}
	return ids
}

func testJournalAppendDone(t *testing.T, f journalFixture) {
	ctx := context.Background()
	e1 := appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C1", EventID: "Ev1", Kind: "message",
		Payload: []byte("{\"raw\":\"\x00\xff bytes\"}"), Findings: []byte(`[{"id":"module-not-upgraded"}]`)})
	e2 := appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C2", EventID: "Ev2", Kind: "command"})
	if e1.ID == e2.ID {
		t.Fatalf("two entries have the id %s", e1.ID)
	}
	if got := recoverIDs(t, f.j, "b", time.Hour, 10); len(got) != 0 {
		t.Errorf("entries being worked on were recovered: %v", got)
	}
	if err := f.j.Done(ctx, e2); err != nil {
		t.Fatal(err)
	}
	f.pass(t, 2*time.Hour)
	got, err := f.j.Recover(ctx, "b", time.Hour, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("Recover = %+v, %v; want the entry not done", got, err)
	}
	if g := got[0]; g.ID != e1.ID || g.Workspace != e1.Workspace || g.Channel != e1.Channel || g.EventID != e1.EventID ||
		g.Kind != e1.Kind || string(g.Payload) != string(e1.Payload) || string(g.Findings) != string(e1.Findings) {
		t.Errorf("recovered %+v, want %+v", g, e1)
	}
	if err := f.j.Done(ctx, got...); err != nil {
		t.Fatal(err)
	}
	if err := f.j.Done(ctx, got...); err != nil {
		t.Errorf("Done again: %v", err)
	}
	f.pass(t, 2*time.Hour)
	if got := recoverIDs(t, f.j, "c", 0, 10); len(got) != 0 {
		t.Errorf("done entries recovered: %v", got)
	}
}

func testJournalIdle(t *testing.T, f journalFixture) {
	var want []string
	for _, ev := range []string{"Ev1", "Ev2", "Ev3"} {
		want = append(want, ws+"/"+appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C1", EventID: ev}).ID)
	}
	for _, step := range []struct {
		pass     time.Duration
		consumer string
		n        int
		want     []string
	}{
		{30 * time.Second, "b", 10, nil}, // not idle for a minute yet
		{time.Minute, "b", 2, want[:2]},  // at most n, in order
		{0, "c", 10, want[2:]},           // the rest; b's are fresh again
		{0, "b", 10, nil},                // nothing idle is left
		{2 * time.Minute, "d", 10, want}, // b and c stopped: everything is d's
	} {
		f.pass(t, step.pass)
		if got := recoverIDs(t, f.j, step.consumer, time.Minute, step.n); !slices.Equal(got, step.want) && len(got)+len(step.want) > 0 {
			t.Errorf("after %v, %s recovered %v; want %v", step.pass, step.consumer, got, step.want)
		}
	}
}

func testJournalKeep(t *testing.T, f journalFixture) {
	ctx := context.Background()
	kept := appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C1", EventID: "Ev1"})
	other := appendEntry(t, f.j, "a", Entry{Workspace: "T0002", Channel: "C1", EventID: "Ev2"})
	left := appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C1", EventID: "Ev3"})
	for range 3 {
		f.pass(t, 50*time.Second)
		if err := f.j.Keep(ctx, "a", kept, other); err != nil {
			t.Fatal(err)
		}
	}
	if got := recoverIDs(t, f.j, "b", time.Minute, 10); !slices.Equal(got, []string{ws + "/" + left.ID}) {
		t.Errorf("recovered %v; want only the entry not kept, %s", got, left.ID)
	}
	f.pass(t, 2*time.Minute)
	got := recoverIDs(t, f.j, "b", time.Minute, 10)
	slices.Sort(got)
	want := []string{ws + "/" + kept.ID, ws + "/" + left.ID, "T0002/" + other.ID} // left again: b did not keep it
	slices.Sort(want)

	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("recovered %v once no longer kept; want %v", got, want)
	}
}

func testJournalLeave(t *testing.T, f journalFixture) {
	ctx := context.Background()
	left := appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C1", EventID: "Ev1"})
	kept := appendEntry(t, f.j, "a", Entry{Workspace: ws, Channel: "C1", EventID: "Ev2"})
	if err := f.j.Leave(ctx, "a", left); err != nil {
		t.Fatal(err)
	}
	if got, want := recoverIDs(t, f.j, "b", time.Hour, 10), []string{ws + "/" + left.ID}; !slices.Equal(got, want) {
		t.Errorf("right after Leave, b recovered %v; want only the entry left, %v (not %s, still a's)", got, want, kept.ID)
	}
	if got := recoverIDs(t, f.j, "c", time.Hour, 10); len(got) > 0 {
		t.Errorf("a left entry recovered by b was recovered again by c: %v", got)
	}
}

func testJournalValidation(t *testing.T, f journalFixture) {
	ctx := context.Background()
	for name, err := range map[string]error{
		"no workspace": errOf(f.j.Append(ctx, "a", Entry{Channel: "C1"})),
		"no consumer":  errOf(f.j.Append(ctx, "", Entry{Workspace: ws})),
		"bad consumer": errOf(f.j.Append(ctx, "a b", Entry{Workspace: ws})),
		"recover":      errOf(f.j.Recover(ctx, "", time.Minute, 1)),
		"keep":         f.j.Keep(ctx, "", Entry{Workspace: ws, ID: "1"}),
		"leave":        f.j.Leave(ctx, "", Entry{Workspace: ws, ID: "1"}),
		"done":         f.j.Done(ctx, Entry{ID: "1"}),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestBoltJournal(t *testing.T) {
	runJournalTests(t, func(t *testing.T) journalFixture {
		var mu sync.Mutex
		now := t0
		s := newBoltStore(t, BoltOptions{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
		return journalFixture{j: s, pass: func(_ *testing.T, d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }}
	})
}

// The next process finishes what the last one left, without waiting.
func TestBoltJournalNextProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upgradebot.db")
	s, err := OpenBoltStore(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	left := appendEntry(t, s, "first-1", Entry{Workspace: ws, Channel: "C1", EventID: "Ev1", Payload: []byte("p")})
	done := appendEntry(t, s, "first-1", Entry{Workspace: ws, Channel: "C1", EventID: "Ev2"})
	if err := s.Done(ctx, done); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = OpenBoltStore(path, BoltOptions{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := appendEntry(t, s, "second-1", Entry{Workspace: ws, Channel: "C1", EventID: "Ev3"})
	if got := recoverIDs(t, s, "second-1", time.Hour, 10); !slices.Equal(got, []string{ws + "/" + left.ID}) {
		t.Errorf("the next process recovered %v; want what the first left, %s (not its own %s)", got, left.ID, live.ID)
	}
}

func TestRedisJournal(t *testing.T) {
	redisTestOptions(t)
	runJournalTests(t, func(t *testing.T) journalFixture {
		s, c := newTestRedisStore(t, RedisOptions{})
		return journalFixture{j: s, pass: func(t *testing.T, d time.Duration) { passRedis(t, s, c, d) }}
	})
}

// passRedis makes every pending entry of the test's workspaces idle for d
// longer (XCLAIM … IDLE to its own consumer), as if that time had passed.
func passRedis(t *testing.T, s *RedisStore, c redis.UniversalClient, d time.Duration) {
	ctx := context.Background()
	for _, w := range []string{ws, "T0002"} {
		key := s.journalKey(w)
		pending, err := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: JournalGroup, Start: "-", End: "+", Count: 1000}).Result()
		if redis.HasErrorPrefix(err, "NOGROUP") || errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pending {
			idle := (p.Idle + d).Milliseconds()
			if err := c.Do(ctx, "XCLAIM", key, JournalGroup, p.Consumer, 0, p.ID, "IDLE", idle, "JUSTID").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Keys carry the workspace's hash tag; each entry is pending for the
// consumer that appended it from the start (no other replica reads it as
// new); a done entry leaves nothing behind (XLEN 0, nothing pending).
func TestRedisJournalKeys(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	key := s.prefix + ":{T0001}:#journal"
	var mu sync.Mutex
	var wg sync.WaitGroup
	appended := map[string]string{} // id → consumer
	for _, consumer := range []string{"a", "b", "c", "d"} {
		wg.Go(func() {
			for range 5 {
				id, err := s.Append(ctx, consumer, Entry{Workspace: ws, Channel: "C1"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				appended[id] = consumer
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if typ, err := c.Type(ctx, key).Result(); err != nil || typ != "stream" {
		t.Fatalf("%s is %q, %v; want a stream", key, typ, err)
	}
	if ok, err := c.SIsMember(ctx, s.prefix+":journal:workspaces", ws).Result(); err != nil || !ok {
		t.Errorf("workspace set lacks %s: %v, %v", ws, ok, err)
	}
	pending, err := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: JournalGroup, Start: "-", End: "+", Count: 100}).Result()
	if err != nil || len(pending) != len(appended) {
		t.Fatalf("pending %d, %v; want %d", len(pending), err, len(appended))
	}
	var entries []Entry
	for _, p := range pending {
		if p.Consumer != appended[p.ID] {
			t.Errorf("entry %s is pending for %s, appended by %s", p.ID, p.Consumer, appended[p.ID])
		}
		entries = append(entries, Entry{Workspace: ws, ID: p.ID})
	}
	if err := s.Done(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	if n, err := c.XLen(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("XLEN after done = %d, %v; want 0", n, err)
	}
	if p, err := c.XPending(ctx, key, JournalGroup).Result(); err != nil || p.Count != 0 {
		t.Errorf("XPENDING after done = %+v, %v; want none", p, err)
	}
	keys, err := c.Keys(ctx, s.prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k != s.prefix+":journal:workspaces" && k != key {
			t.Errorf("unexpected key %s", k)
		}
	}
}

// consumers lists the journal group's consumers of a workspace's stream,
// each with how many entries it has pending.
func consumers(t *testing.T, s *RedisStore, c redis.UniversalClient, w string) map[string]int64 {
	t.Helper()
	got, err := c.XInfoConsumers(context.Background(), s.journalKey(w), JournalGroup).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, g := range got {
		out[g.Name] = g.Pending
	}
	return out
}

// Each process joins the group under a name of its own: after many
// lifetimes, some ending with Leave and some stopped dead, the group
// holds none of them (only "left", a name of the journal's own).
func TestRedisJournalEndsConsumers(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	const minIdle = 50 * time.Millisecond
	for i := range 7 { // the last one leaves
		me := fmt.Sprintf("proc-%d", i)
		got, err := s.Recover(ctx, me, minIdle, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Done(ctx, got...); err != nil {
			t.Fatal(err)
		}
		done := appendEntry(t, s, me, Entry{Workspace: ws, Channel: "C1"})
		open := appendEntry(t, s, me, Entry{Workspace: "T0002", Channel: "C1"})
		if err := s.Done(ctx, done); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := s.Leave(ctx, me, open); err != nil {
				t.Fatal(err)
			}
		} else {
			time.Sleep(2 * minIdle) // stopped dead, open still pending: recovered, then ended by the next
		}
	}
	for _, w := range []string{ws, "T0002"} {
		got := consumers(t, s, c, w)
		delete(got, "left")
		if len(got) > 0 {
			t.Errorf("%s: consumers %v stayed in the group; want none (but left)", w, got)
		}
	}
}

// A consumer with entries pending is never ended, idle or leaving: its
// entries would go with it.
func TestRedisJournalKeepsConsumersWithPending(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	const minIdle = 50 * time.Millisecond
	for range 3 {
		appendEntry(t, s, "a", Entry{Workspace: ws, Channel: "C1"})
	}
	if err := s.Leave(ctx, "a"); err != nil { // leaving, with its entries not given up
		t.Fatal(err)
	}
	if got := consumers(t, s, c, ws); got["a"] != 3 {
		t.Fatalf("after Leave with 3 pending: %v; want a with 3", got)
	}
	time.Sleep(2 * minIdle)
	if got := recoverIDs(t, s, "b", minIdle, 1); len(got) != 1 {
		t.Fatalf("recovered %v, want one", got)
	}
	if got := consumers(t, s, c, ws); got["a"] != 2 || got["b"] != 1 {
		t.Errorf("after b recovered one of a's, idle: %v; want a with 2, b with 1", got)
	}
	time.Sleep(2 * minIdle)
	recoverIDs(t, s, "c", minIdle, 10)
	if got := consumers(t, s, c, ws); len(got) != 1 || got["c"] != 3 {
		t.Errorf("after c recovered everything: %v; want c alone, with 3 (a and b ended)", got)
	}
}

// The journal's script is sent by its digest; a Redis that forgot it (a
// restart, a failover, SCRIPT FLUSH) is sent it whole, and the entry is
// written once.
func TestRedisJournalScriptForgotten(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	for i := range 2 {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "c1", Entry{Workspace: "T0001", Channel: "C1", EventID: fmt.Sprintf("Ev%d", i), Kind: "message", Payload: []byte("{}")}); err != nil {
			t.Fatalf("append %d after SCRIPT FLUSH: %v", i, err)
		}
	}
	if n, err := c.XLen(ctx, s.journalKey("T0001")).Result(); err != nil || n != 2 {
		t.Errorf("XLEN %d, %v; want 2 entries", n, err)
	}
	if ok, err := c.SIsMember(ctx, s.journalsKey(), "T0001").Result(); err != nil || !ok {
		t.Errorf("the workspace is not listed among the journals: %v, %v", ok, err)
	}
}

// Appending makes the stream and its group only when missing: on a server
// of its own, twenty appends leave Redis's error count as it was (it rose
// by one per append when the group's creation was tried each time), and a
// group destroyed meanwhile is made again, its entries delivered to the
// consumer appending, with one error reply (the read that found it gone).
func TestRedisJournalAppendsWithoutErrors(t *testing.T) {
	srv := redistest.Start(t)
	opts := srv.Options(0)
	opts.PoolSize = 1 // one connection, opened (with go-redis's own refused commands) before counting
	c := newRedisClient(t, opts)
	s, err := NewRedisStore(c, RedisOptions{Prefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errorReplies := func() int {
		t.Helper()
		info, err := c.Info(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "total_error_replies:"); ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatalf("INFO stats has no total_error_replies:\n%s", info)
		return 0
	}
	appendAs := func(consumer string, i int) string {
		t.Helper()
		id, err := s.Append(ctx, consumer, Entry{Workspace: ws, Channel: "C1", EventID: fmt.Sprintf("Ev%d", i), Kind: "message", Payload: []byte("{}")})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		return id
	}
	appendAs("c1", 0) // also loads the script: EVALSHA's NOSCRIPT is an error reply
	before := errorReplies()
	for i := range 20 {
		appendAs("c1", i+1)
	}
	if n := errorReplies() - before; n != 0 {
		t.Errorf("20 appends made %d error replies; want none", n)
	}
	if err := c.XGroupDestroy(ctx, s.journalKey(ws), JournalGroup).Err(); err != nil {
		t.Fatal(err)
	}
	before = errorReplies()
	id := appendAs("c2", 21)
	if n := errorReplies() - before; n > 1 {
		t.Errorf("the append after the group was destroyed made %d error replies; want at most 1", n)
	}
	pending, err := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.journalKey(ws), Group: JournalGroup, Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The group made again from the stream's start: all 22 entries, now c2's.
	if len(pending) != 22 || pending[21].ID != id || pending[21].Consumer != "c2" {
		t.Errorf("after the group was made again: %d pending, the last %+v; want 22, the last %s for c2", len(pending), pending[len(pending)-1], id)
	}
}
