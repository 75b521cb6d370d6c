package progress

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testValues is the Values contract: a value is read back as put, per
// workspace, replaced by a later put, and bad input is refused.
func testValues(t *testing.T, s Store) {
	ctx := context.Background()
	big := []byte(strings.Repeat("x", 100_000))
	for _, step := range []struct {
		name      string
		ws, key   string
		put       []byte // nil: only read
		want      []byte
		wantFound bool
	}{
		{"absent", ws, "k1", nil, nil, false},
		{"put", ws, "k1", []byte(`{"a":1}`), []byte(`{"a":1}`), true},
		{"other workspace", "T0002", "k1", nil, nil, false},
		{"replaced", ws, "k1", []byte("second"), []byte("second"), true},
		{"a large value", ws, "k2", big, big, true},
	} {
		if step.put != nil {
			if err := s.PutValue(ctx, step.ws, step.key, step.put, time.Hour); err != nil {
				t.Fatalf("%s: put: %v", step.name, err)
			}
		}
		got, found, err := s.Value(ctx, step.ws, step.key)
		if err != nil || found != step.wantFound || string(got) != string(step.want) {
			t.Errorf("%s: Value = %.20q, %v, %v; want %.20q, %v", step.name, got, found, err, step.want, step.wantFound)
		}
	}
	for _, bad := range []struct {
		name    string
		ws, key string
		value   []byte
		ttl     time.Duration
	}{
		{"no workspace", "", "k", nil, time.Hour},
		{"no key", ws, "", nil, time.Hour},
		{"too large", ws, "k", make([]byte, MaxValueBytes+1), time.Hour},
		{"no ttl", ws, "k", nil, 0},
	} {
		if err := s.PutValue(ctx, bad.ws, bad.key, bad.value, bad.ttl); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: PutValue = %v; want ErrInvalid", bad.name, err)
		}
	}
}

// A bbolt value expires at its ttl, and expired values are dropped by later puts.
func TestBoltValueExpires(t *testing.T) {
	now := t0
	s := newBoltStore(t, BoltOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	if err := s.PutValue(ctx, ws, "old", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Minute)
	if _, found, err := s.Value(ctx, ws, "old"); err != nil || !found {
		t.Fatalf("before its ttl: %v, %v", found, err)
	}
	now = now.Add(time.Minute)
	if _, found, err := s.Value(ctx, ws, "old"); err != nil || found {
		t.Fatalf("at its ttl: %v, %v; want gone", found, err)
	}
	if err := s.PutValue(ctx, ws, "new", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, s, bktValues); n != 1 {
		t.Errorf("%d values kept after a put; want the expired one dropped", n)
	}
}

func countKeys(t *testing.T, s *BoltStore, bucket []byte) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A Redis value lives in the workspace's slot and expires with its ttl.
func TestRedisValueKey(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	if err := s.PutValue(ctx, ws, "k1", []byte("v"), 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	ttl, err := c.TTL(ctx, s.prefix+":{"+ws+"}:#val:k1").Result()
	if err != nil || ttl <= 7*24*time.Hour-time.Minute || ttl > 7*24*time.Hour {
		t.Errorf("value TTL = %v, %v; want about 7 days", ttl, err)
	}
}
