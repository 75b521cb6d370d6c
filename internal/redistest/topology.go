package redistest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters without replicas, each a
// redis-server of its own on a free loopback port.
type Cluster struct {
	Nodes []*Server
}

// NeedCluster is NeedServer for NewCluster, which also needs redis-cli.
func NeedCluster(tb testing.TB) {
	tb.Helper()
	NeedServer(tb)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		unavailable(tb, "redis-cli is not on PATH (apt-get install redis-tools)")
	}
}

// NewCluster starts a three-master Cluster in dir (redis-cli --cluster
// create) and waits until every node says the cluster is ok; end it with Kill.
func NewCluster(dir string) (*Cluster, error) {
	c := &Cluster{}
	args := func(port string) []string {
		return []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes-" + port + ".conf", "--cluster-node-timeout", "2000"}
	}
	create := []string{"--cluster", "create"}
	for range 3 {
		s, err := newServer(dir, args)
		if err != nil {
			c.Kill()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
		create = append(create, s.Addr)
	}
	out, err := exec.Command("redis-cli", append(create, "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("redistest: redis-cli --cluster create: %w\n%s", err, out)
	}
	err = waitFor(10*time.Second, "the cluster to be ok", func(ctx context.Context) bool {
		for _, n := range c.Nodes {
			rc := client(n.Addr)
			info, err := rc.ClusterInfo(ctx).Result()
			rc.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	})
	if err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// URL is the Cluster's URL for go-redis ParseClusterURL (REDIS_CLUSTER_URL).
func (c *Cluster) URL() string {
	u := url.URL{Scheme: "redis", Host: c.Nodes[0].Addr}
	q := url.Values{}
	for _, n := range c.Nodes[1:] {
		q.Add("addr", n.Addr)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Kill ends every node at once.
func (c *Cluster) Kill() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// SentinelMaster is the master name the Sentinel topology monitors.
const SentinelMaster = "upgradebot"

// Sentinel is a master, its replica and three sentinels watching them,
// each a redis-server of its own on a free loopback port. The sentinels
// call the master down after 1 s without an answer and fail over at once.
type Sentinel struct {
	Master, Replica *Server
	Sentinels       []*Server
}

// NewSentinel starts the topology in dir and waits until the replica is in
// sync and every sentinel knows the replica and the other two (a failover
// needs a quorum of 2 and a majority to elect its leader); end it with Kill.
func NewSentinel(dir string) (*Sentinel, error) {
	t := &Sentinel{}
	var err error
	if t.Master, err = newServer(dir, nil); err != nil {
		return nil, err
	}
	_, mport, _ := strings.Cut(t.Master.Addr, ":")
	if t.Replica, err = newServer(dir, func(string) []string { return []string{"--replicaof", "127.0.0.1", mport} }); err != nil {
		t.Kill()
		return nil, err
	}
	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]s 2\nsentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 5000\nsentinel parallel-syncs %[1]s 1\n", SentinelMaster, mport)
	sentinelArgs := func(port string) []string {
		// Sentinel rewrites its file; a restarted sentinel reads what it learnt.
		path := filepath.Join(dir, "sentinel-"+port+".conf")
		if _, err := os.Stat(path); err != nil {
			_ = os.WriteFile(path, []byte(conf), 0o644)
		}
		return []string{path, "--sentinel"}
	}
	for range 3 {
		s, err := newServer(dir, sentinelArgs)
		if err != nil {
			t.Kill()
			return nil, err
		}
		t.Sentinels = append(t.Sentinels, s)
	}
	err = waitFor(30*time.Second, "the replica in sync and the sentinels to know each other", func(ctx context.Context) bool {
		rc := client(t.Replica.Addr)
		info, err := rc.Info(ctx, "replication").Result()
		rc.Close()
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			return false
		}
		for _, s := range t.Sentinels {
			sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
			replicas, err1 := sc.Replicas(ctx, SentinelMaster).Result()
			others, err2 := sc.Sentinels(ctx, SentinelMaster).Result()
			sc.Close()
			if err1 != nil || err2 != nil || len(replicas) != 1 || len(others) != 2 {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Kill()
		return nil, err
	}
	return t, nil
}

// URL is REDIS_URL for the topology: the sentinels, ?master_name= and database db.
func (t *Sentinel) URL(db int) string {
	u := url.URL{Scheme: "redis", Host: t.Sentinels[0].Addr, Path: fmt.Sprint("/", db)}
	q := url.Values{"master_name": {SentinelMaster}}
	for _, s := range t.Sentinels[1:] {
		q.Add("addr", s.Addr)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// MasterAddr is the master's address as the first sentinel that answers sees it.
func (t *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	err := errors.New("redistest: no sentinel is running")
	for _, s := range t.Sentinels {
		if s.PID() == 0 {
			continue
		}
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		var addr []string
		addr, err = sc.GetMasterAddrByName(ctx, SentinelMaster).Result()
		sc.Close()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1], nil
		}
	}
	return "", err
}

// Kill ends every process at once.
func (t *Sentinel) Kill() {
	for _, s := range append([]*Server{t.Master, t.Replica}, t.Sentinels...) {
		if s != nil {
			s.Kill()
		}
	}
}

// waitFor polls cond (each call with a second to answer) until it holds,
// or fails after bound: the servers give no other sign.
func waitFor(bound time.Duration, what string, cond func(ctx context.Context) bool) error {
	for deadline := time.Now().Add(bound); ; time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok := cond(ctx)
		cancel()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: waited %v for %s", bound, what)
		}
	}
}
