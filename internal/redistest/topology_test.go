package redistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Cluster spreads keys over its three masters; the Sentinel topology
// answers through go-redis's failover client at its master.
func TestTopologies(t *testing.T) {
	NeedServer(t)
	ctx := context.Background()
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		NeedCluster(t)
		c, err := NewCluster(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Kill()
		opts, err := redis.ParseClusterURL(c.URL())
		if err != nil || len(opts.Addrs) != 3 {
			t.Fatalf("URL %s: %v, %v", c.URL(), opts, err)
		}
		cc := redis.NewClusterClient(opts)
		defer cc.Close()
		for i := range 30 {
			if err := cc.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		masters := 0
		err = cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			n, err := m.DBSize(ctx).Result()
			if n > 0 {
				masters++
			}
			return err
		})
		if err != nil || masters != 3 {
			t.Errorf("keys on %d masters (%v), want 3", masters, err)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		s, err := NewSentinel(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Kill()
		opts, err := redis.ParseFailoverURL(s.URL(2))
		if err != nil || len(opts.SentinelAddrs) != 3 || opts.MasterName != SentinelMaster || opts.DB != 2 {
			t.Fatalf("URL %s: %+v, %v", s.URL(2), opts, err)
		}
		fc := redis.NewFailoverClient(opts)
		defer fc.Close()
		if err := fc.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := fc.Wait(ctx, 1, time.Second).Result(); err != nil || n != 1 {
			t.Errorf("WAIT 1 = %d, %v; want the replica", n, err)
		}
		if addr, err := s.MasterAddr(ctx); err != nil || addr != s.Master.Addr {
			t.Errorf("master %q, %v; want %s", addr, err, s.Master.Addr)
		}
	})
}
