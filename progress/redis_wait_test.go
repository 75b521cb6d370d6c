package progress

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/internal/redistest"
)

// waits is how many WAIT commands the server of c has run.
func waits(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(l, "cmdstat_wait:calls="); ok {
			n, _, _ := strings.Cut(rest, ",")
			return atoi(n)
		}
	}
	return 0
}

// Without a replica a write sends no WAIT; with one in sync, each tracking
// write and journal entry is followed by WAIT and confirmed; with the
// replica hung, the write is recorded but said NotReplicated, after
// replicaWait. Another store (another process) starts with a fresh ROLE.
func TestRedisWaitForReplica(t *testing.T) {
	master, replica := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	mc := newRedisClient(t, master.Options(1))
	prefix := "wait-" + NewToken()[:8]
	open := func() *RedisStore {
		// Timeouts for a busy test machine, not a hung server.
		s, err := OpenRedisURL(master.URL(1)+"?dial_timeout=2s&read_timeout=2s&write_timeout=2s", RedisOptions{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	write := func(s *RedisStore, key string) (TrackResult, Result) {
		t.Helper()
		tr, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "prod", Channel: "C1", Actor: "U1", Version: "11.31." + key[len(key)-1:]})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Apply(ctx, ws, "prod", Change{Kind: ChangeAddModules, Key: key, Actor: "U1", Reason: ReasonFailed, Modules: []string{"Mod" + key}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "c1", Entry{Workspace: ws, Channel: "C1", EventID: "Ev" + key}); err != nil {
			t.Fatal(err)
		}
		return tr, res
	}

	tr, res := write(open(), "k1")
	if n := waits(t, mc); n != 0 || tr.NotReplicated || res.NotReplicated {
		t.Errorf("without a replica: %d WAIT, NotReplicated %v/%v; want none", n, tr.NotReplicated, res.NotReplicated)
	}

	rc := newRedisClient(t, replica.Options(1))
	host, port, _ := strings.Cut(master.Addr, ":")
	if err := rc.ReplicaOf(ctx, host, port).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// The master lists the replica once it is in sync and has acknowledged.
		info, _ := mc.Info(ctx, "replication").Result()
		if strings.Contains(info, "connected_slaves:1") && strings.Contains(info, "state=online") &&
			mc.Set(ctx, prefix+":probe", 1, time.Minute).Err() == nil && mc.Wait(ctx, 1, time.Second).Val() == 1 {
			break // and it acknowledges writes
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica did not sync within 10 s")
		}
	}
	s := open()
	before := waits(t, mc) // the probes'
	tr, res = write(s, "k2")
	if n := waits(t, mc) - before; n != 3 || tr.NotReplicated || res.NotReplicated {
		t.Errorf("with a replica: %d WAIT, NotReplicated %v/%v; want 3 and confirmed", n, tr.NotReplicated, res.NotReplicated)
	}
	if got, err := rc.HGet(ctx, s.envKey(ws, "prod", "modules"), "modk2").Result(); err != nil || !strings.Contains(got, "Modk2") {
		t.Errorf("the replica lacks the confirmed change: %q, %v", got, err)
	}

	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tr, res = write(s, "k3")
	took := time.Since(start)
	if err := replica.Resume(); err != nil {
		t.Fatal(err)
	}
	if !tr.NotReplicated || !res.NotReplicated || took < 2*replicaWait {
		t.Errorf("replica hung: NotReplicated %v/%v after %v; want both, after WAIT's timeout each", tr.NotReplicated, res.NotReplicated, took)
	}
	st, err := s.Status(ctx, ws, "prod", -1)
	if err != nil || st.ModuleCount != 3 {
		t.Errorf("after an unconfirmed write: %d modules, %v; want it recorded (3)", st.ModuleCount, err)
	}
	if again, err := s.Apply(ctx, ws, "prod", Change{Kind: ChangeAddModules, Key: "k3", Actor: "U1", Reason: ReasonFailed, Modules: []string{"Modk3"}}); err != nil || !again.Duplicate {
		t.Errorf("repeating the unconfirmed change: %+v, %v; want a duplicate (safe)", again, err)
	}
}
