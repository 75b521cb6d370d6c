package slackbot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
)

// redisStores opens n stores on the shared test Redis (database 5) with one
// unique key prefix, as n replicas would; skipped without Redis unless CI is
// set. The keys are deleted when the test ends.
func redisStores(t *testing.T, n int) []progress.Store {
	stores, _ := redisStoresPrefix(t, n)
	return stores
}

// redisStoresPrefix is redisStores, with the stores' key prefix.
func redisStoresPrefix(t *testing.T, n int) (stores []progress.Store, prefix string) {
	t.Helper()
	redisURL := redistest.URL(t, 5)
	prefix = redistest.Prefix(t, redistest.Options(t, 5))
	for range n {
		s, err := progress.OpenRedisURL(redisURL, progress.RedisOptions{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	return stores, prefix
}

// Two replicas sharing one Redis store, both given the same message (and
// its app_mention and a re-delivery), post one reply.
func TestReplicasShareRedis(t *testing.T) {
	stores, prefix := redisStoresPrefix(t, 2)
	fake := slackfake.New(t)
	fake.BotToken, fake.AppToken = botToken, appToken
	a := start(t, setup{mode: ModeHTTP, fake: fake, store: stores[0]})
	b := start(t, setup{mode: ModeHTTP, fake: fake, store: stores[1]})
	a.track("prod")
	for round := range 3 {
		ts := fmt.Sprintf("1700003000.00010%d", round)
		text := "<@" + slackfake.BotUserID + "> " + producerPaste
		var wg sync.WaitGroup
		for i, h := range []*harness{a, b, a, b} {
			wg.Go(func() {
				switch i {
				case 0, 1:
					h.postEvent("EvR"+ts, slackfake.Message(channel, ana, ts, text), i)
				case 2:
					h.postEvent("EvM"+ts, slackfake.AppMention(channel, ana, ts, text), 0)
				case 3:
					h.postEvent("EvR"+ts, slackfake.Message(channel, ana, ts, text), 2)
				}
			})
		}
		wg.Wait()
		a.waitJobs(int64(2 * (round + 1)))
		b.waitJobs(int64(2 * (round + 1)))
		if n := len(fake.Calls("chat.postMessage")); n != round+1 {
			t.Fatalf("round %d: %d replies in all, want %d", round, n, round+1)
		}
	}
	if d := a.counter("upgradebot_duplicates_suppressed_total") + b.counter("upgradebot_duplicates_suppressed_total"); d != 9 {
		t.Errorf("duplicates suppressed across replicas: %v, want 9", d)
	}
	// Every key the replicas wrote, the claims and the journal included, is
	// in the workspace's hash tag (one Cluster slot), but the two indexes
	// of workspaces.
	c := redis.NewClient(redistest.Options(t, 5))
	defer c.Close()
	keys, err := c.Keys(context.Background(), prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var claims int
	for _, k := range keys {
		claims += strings.Count(k, ":#claim:")
		if k != prefix+":workspaces" && k != prefix+":journal:workspaces" && !strings.HasPrefix(k, prefix+":{"+slackfake.TeamID+"}:") {
			t.Errorf("key %q is outside the workspace's hash tag", k)
		}
	}
	if claims == 0 {
		t.Errorf("no claim among the %d keys: the test shows nothing", len(keys))
	}
}

// Each process joins the journal under a name of its own: one that ends,
// with work left or none at all, takes its name out of the group, so
// restarts do not add one for good.
func TestInboxLifetimesEndTheirConsumers(t *testing.T) {
	stores, prefix := redisStoresPrefix(t, 1)
	for i := range 4 {
		in := NewInbox(stores[0], InboxOptions{MinIdle: time.Hour})
		e, err := in.Put(context.Background(), progress.Entry{Workspace: "T1", Channel: "C1", EventID: fmt.Sprint("Ev", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			in.Done(context.Background(), e) // nothing at work when it stops
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		in.Run(ctx, func(context.Context, progress.Entry) {})
	}
	c := redis.NewClient(redistest.Options(t, 5))
	defer c.Close()
	got, err := c.XInfoConsumers(context.Background(), prefix+":{T1}:#journal", progress.JournalGroup).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.Name != "left" {
			t.Errorf("consumer %s (%d pending) stayed in the group after its process ended", g.Name, g.Pending)
		}
	}
}
