package progress

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
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
		if bad.ws != ws {
			continue
		}
		// One bad put among good ones: none is stored.
		if err := s.PutValues(ctx, ws, Put{"batch-good", []byte("v"), time.Hour}, Put{bad.key, bad.value, bad.ttl}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: PutValues = %v; want ErrInvalid", bad.name, err)
		}
		if _, found, _ := s.Value(ctx, ws, "batch-good"); found {
			t.Errorf("%s: PutValues stored a value of a batch it refused", bad.name)
		}
	}
	// Several at once, each with its own time to live, replacing what was there.
	puts := []Put{{"k1", []byte("third"), time.Hour}, {"b1", []byte("one"), time.Minute}, {"b2", nil, 24 * time.Hour}}
	if err := s.PutValues(ctx, ws, puts...); err != nil {
		t.Fatalf("PutValues: %v", err)
	}
	for _, p := range puts {
		got, found, err := s.Value(ctx, ws, p.Key)
		if err != nil || !found || string(got) != string(p.Value) {
			t.Errorf("after PutValues, Value(%s) = %q, %v, %v; want %q", p.Key, got, found, err, p.Value)
		}
	}
	if err := s.PutValues(ctx, ws); err != nil {
		t.Errorf("PutValues of nothing = %v", err)
	}
}

// testValueLists is the lists' contract: items are read back in the order
// appended, apart from values and other workspaces; a restart starts a list
// again; beyond its bound every other older item goes; appends at the same
// moment lose none; bad input is refused.
func testValueLists(t *testing.T, s Store) {
	ctx := context.Background()
	o := AppendOptions{Max: 4, TTL: time.Hour}
	if err := s.PutValue(ctx, ws, "k", []byte("a value"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name    string
		ws      string
		append  string // "": only read
		restart bool
		want    string // the items, comma-separated
	}{
		{"absent", ws, "", false, ""},
		{"first", ws, "1", false, "1"},
		{"other workspace", "T0002", "", false, ""},
		{"in order", ws, "2", false, "1,2"},
		{"up to the bound", ws, "3", false, "1,2,3"},
		{"at the bound", ws, "4", false, "1,2,3,4"},
		{"beyond: every other of the older half goes", ws, "5", false, "1,3,4,5"},
		{"again: the start stays", ws, "6", false, "1,4,5,6"},
		{"restart", ws, "7", true, "7"},
	} {
		opts := o
		opts.Restart = step.restart
		if step.append != "" {
			if err := s.AppendValue(ctx, step.ws, "k", []byte(step.append), opts); err != nil {
				t.Fatalf("%s: append: %v", step.name, err)
			}
		}
		list, err := s.ValueList(ctx, step.ws, "k")
		var got []string
		for _, it := range list {
			got = append(got, string(it))
		}
		if err != nil || strings.Join(got, ",") != step.want {
			t.Errorf("%s: ValueList = %q, %v; want %s", step.name, got, err, step.want)
		}
	}
	if v, found, err := s.Value(ctx, ws, "k"); err != nil || !found || string(v) != "a value" {
		t.Errorf("the value under the list's key: %q, %v, %v; want it untouched", v, found, err)
	}

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := s.AppendValue(ctx, ws, "together", []byte(strconv.Itoa(i)), AppendOptions{Max: 100, TTL: time.Hour}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if list, err := s.ValueList(ctx, ws, "together"); err != nil || len(list) != 20 {
		t.Errorf("20 appends at once kept %d items, %v", len(list), err)
	}

	for _, bad := range []struct {
		name    string
		ws, key string
		item    []byte
		o       AppendOptions
	}{
		{"no workspace", "", "k", nil, o},
		{"no key", ws, "", nil, o},
		{"too large", ws, "k", make([]byte, MaxValueBytes+1), o},
		{"no ttl", ws, "k", nil, AppendOptions{Max: 4}},
		{"bound of two", ws, "k", nil, AppendOptions{Max: 2, TTL: time.Hour}},
		{"bound too large", ws, "k", nil, AppendOptions{Max: MaxListItems + 1, TTL: time.Hour}},
	} {
		if err := s.AppendValue(ctx, bad.ws, bad.key, bad.item, bad.o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AppendValue = %v; want ErrInvalid", bad.name, err)
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
