package progress

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/internal/redistest"
)

// The contract and journal suites also run on a Redis Cluster (three
// masters) and through Sentinel (a master, its replica, three sentinels):
// on the Cluster, a script or a transaction touching keys of two slots
// fails (CROSSSLOT), so the suite passing there shows that none does. Each
// topology is started once per test run, on first use (they take seconds
// to form), and ended by TestMain; tests keep apart by their key prefixes.

var topologies struct {
	dir string

	clusterOnce sync.Once
	cluster     *redistest.Cluster
	clusterErr  error

	sentinelOnce sync.Once
	sentinel     *redistest.Sentinel
	sentinelErr  error
}

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // go-redis says each time it asks a sentinel for the master
	code := m.Run()
	if topologies.cluster != nil {
		topologies.cluster.Kill()
	}
	if topologies.sentinel != nil {
		topologies.sentinel.Kill()
	}
	if topologies.dir != "" {
		os.RemoveAll(topologies.dir)
	}
	os.Exit(code)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func topologyDir(tb testing.TB) string {
	if topologies.dir == "" {
		dir, err := os.MkdirTemp("", "upgradebot-progress-redis-*")
		if err != nil {
			tb.Fatal(err)
		}
		topologies.dir = dir
	}
	return topologies.dir
}

// testCluster is the package's Cluster; skipped without redis-server (failed with CI set).
func testCluster(tb testing.TB) *redistest.Cluster {
	tb.Helper()
	redistest.NeedCluster(tb)
	topologies.clusterOnce.Do(func() { topologies.cluster, topologies.clusterErr = redistest.NewCluster(topologyDir(tb)) })
	if topologies.clusterErr != nil {
		tb.Fatal(topologies.clusterErr)
	}
	return topologies.cluster
}

// testSentinel is the package's Sentinel topology; skipped as testCluster.
func testSentinel(tb testing.TB) *redistest.Sentinel {
	tb.Helper()
	redistest.NeedServer(tb)
	topologies.sentinelOnce.Do(func() { topologies.sentinel, topologies.sentinelErr = redistest.NewSentinel(topologyDir(tb)) })
	if topologies.sentinelErr != nil {
		tb.Fatal(topologies.sentinelErr)
	}
	return topologies.sentinel
}

// openTopologyStore opens a store with a prefix of its own as the binary
// does (OpenRedis), on the Cluster or through Sentinel, and a client of
// the same kind for looking at its keys.
func openTopologyStore(tb testing.TB, kind string) (*RedisStore, redis.UniversalClient) {
	tb.Helper()
	var rawURL, clusterURL string
	var c redis.UniversalClient
	if kind == "cluster" {
		clusterURL = testCluster(tb).URL()
		opts, _ := redis.ParseClusterURL(clusterURL)
		c = redis.NewClusterClient(opts)
	} else {
		rawURL = testSentinel(tb).URL(3)
		opts, _ := redis.ParseFailoverURL(rawURL)
		c = redis.NewFailoverClient(opts)
	}
	tb.Cleanup(func() { c.Close() })
	// Timeouts for a busy test machine, not a hung server.
	const slow = "&dial_timeout=2s&read_timeout=2s&write_timeout=2s"
	if clusterURL != "" {
		clusterURL += slow
	} else {
		rawURL += slow
	}
	s, got, err := OpenRedis(rawURL, clusterURL, RedisOptions{Prefix: "upgradebot-test-" + NewToken()[:12]})
	if err != nil {
		tb.Fatal(err)
	}
	if got != kind {
		tb.Fatalf("OpenRedis connected to a %q, want %q", got, kind)
	}
	tb.Cleanup(func() { s.Close() })
	return s, c
}

func TestTopologyContract(t *testing.T) {
	for _, kind := range []string{"cluster", "sentinel"} {
		t.Run(kind, func(t *testing.T) {
			openTopologyStore(t, kind)
			runContractTests(t, func(t *testing.T) Store {
				s, _ := openTopologyStore(t, kind)
				return s
			})
		})
	}
}

func TestTopologyJournal(t *testing.T) {
	for _, kind := range []string{"cluster", "sentinel"} {
		t.Run(kind, func(t *testing.T) {
			runJournalTests(t, func(t *testing.T) journalFixture {
				s, c := openTopologyStore(t, kind)
				return journalFixture{j: s, pass: func(t *testing.T, d time.Duration) { passRedis(t, s, c, d) }}
			})
		})
	}
}

// The Cluster spreads the workspaces over its masters: the store reads and
// writes each on its own node (nothing assumes one server).
func TestClusterSpreadsWorkspaces(t *testing.T) {
	s, c := openTopologyStore(t, "cluster")
	ctx := context.Background()
	var wss []string
	for i := range 12 {
		w := "T" + strings.Repeat("0", 3) + string(rune('A'+i))
		wss = append(wss, w)
		track(t, s, TrackRequest{Workspace: w, Environment: "prod", Channel: "C1"})
		if _, err := s.Apply(ctx, w, "prod", Change{Kind: ChangeAddModules, Key: "k", Reason: ReasonFailed, Modules: []string{"Orders"}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Workspaces(ctx)
	if err != nil || len(got) != len(wss) {
		t.Fatalf("Workspaces = %v, %v; want %v", got, err, wss)
	}
	nodes := map[string]bool{}
	for _, w := range wss {
		m, err := c.(*redis.ClusterClient).MasterForKey(ctx, s.envKey(w, "prod", "meta"))
		if err != nil {
			t.Fatal(err)
		}
		nodes[m.Options().Addr] = true
	}
	if len(nodes) < 2 {
		t.Errorf("12 workspaces on %d node(s); the test shows nothing", len(nodes))
	}
}

// A master name the Sentinels do not know is a settings problem, not
// Redis down: the Sentinels answer, with no master of that name. With one
// of them down, which may know it, it is an outage.
func TestSentinelUnknownMasterName(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	rawURL := strings.Replace(testSentinel(t).URL(3), "master_name="+redistest.SentinelMaster, "master_name=upgradebot-typo", 1)
	for _, c := range []struct{ url, want string }{
		{rawURL, "know no master by the URL's master_name"},
		{rawURL + "&addr=" + down, ""},
	} {
		s, _, err := OpenRedis(c.url+"&dial_timeout=2s", "", RedisOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = s.Ping(ctx)
		cancel()
		s.Close()
		if got := SettingsProblem(err); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: SettingsProblem(%v) = %q, want %q", c.url, err, got, c.want)
		}
	}
}
