package progress

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// Values keep small documents for a while, per workspace: what a button
// will do when clicked lives here, and the button carries only its key.
type Values interface {
	// PutValue stores value under key in workspace for ttl, replacing any value there.
	PutValue(ctx context.Context, workspace, key string, value []byte, ttl time.Duration) error
	// PutValues stores each put as PutValue does, in one round trip (one
	// transaction in the file); nothing is stored when one is invalid.
	PutValues(ctx context.Context, workspace string, puts ...Put) error
	// Value returns the value under key; false when there is none or it expired.
	Value(ctx context.Context, workspace, key string) ([]byte, bool, error)
	// AppendValue adds item at the end of the list under key (lists are
	// apart from PutValue's values) in one step, so writers at the same
	// moment lose none.
	AppendValue(ctx context.Context, workspace, key string, item []byte, o AppendOptions) error
	// ValueList returns the list under key, oldest first; nil when there is none or it expired.
	ValueList(ctx context.Context, workspace, key string) ([][]byte, error)
}

// Put is one value for PutValues.
type Put struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// AppendOptions say how AppendValue keeps a list.
type AppendOptions struct {
	// Max bounds the list (3 to MaxListItems): beyond it, every other item
	// of its older half is dropped, so it keeps its start and its recent
	// items exact.
	Max int
	// TTL keeps the list for this long after the append.
	TTL time.Duration
	// Restart starts the list again with the item.
	Restart bool
}

// MaxListItems bounds AppendOptions.Max.
const MaxListItems = 10000

// MaxValueBytes bounds one value: a pasted message and what it records.
const MaxValueBytes = 1 << 20

var (
	_ Values = (*RedisStore)(nil)
	_ Values = (*BoltStore)(nil)
)

var (
	bktValues = []byte("values")
	bktLists  = []byte("lists")
)

func checkValue(workspace, key string, value []byte, ttl time.Duration) error {
	switch {
	case workspace == "" || len(workspace) > 255:
		return invalid("workspace", workspace, "must be 1 to 255 bytes")
	case key == "" || len(key) > 255:
		return invalid("value key", key, "must be 1 to 255 bytes")
	case len(value) > MaxValueBytes:
		return invalid("value", "", fmt.Sprintf("is %d bytes, more than %d", len(value), MaxValueBytes))
	case ttl <= 0:
		return invalid("value ttl", ttl.String(), "must be positive")
	}
	return nil
}

func checkPuts(workspace string, puts []Put) error {
	for _, v := range puts {
		if err := checkValue(workspace, v.Key, v.Value, v.TTL); err != nil {
			return err
		}
	}
	return nil
}

func checkAppend(workspace, key string, item []byte, o AppendOptions) error {
	if err := checkValue(workspace, key, item, o.TTL); err != nil {
		return err
	}
	if o.Max < 3 || o.Max > MaxListItems { // thinning 3 items keeps 3
		return invalid("list bound", strconv.Itoa(o.Max), fmt.Sprintf("must be 3 to %d", MaxListItems))
	}
	return nil
}

// thin drops every other item of the older half of a list longer than max.
func thin[T any](list []T, max int) []T {
	if len(list) <= max {
		return list
	}
	half := len(list) / 2
	out := make([]T, 0, max)
	for i := 0; i < half; i += 2 {
		out = append(out, list[i])
	}
	return append(out, list[half:]...)
}

// valueKey is <prefix>:{W}:#val:<key>, in the workspace's slot.
func (s *RedisStore) valueKey(workspace, key string) string {
	return s.wsKey(workspace) + ":#val:" + key
}

// PutValue stores value under key in workspace for ttl.
func (s *RedisStore) PutValue(ctx context.Context, workspace, key string, value []byte, ttl time.Duration) error {
	return s.PutValues(ctx, workspace, Put{key, value, ttl})
}

// PutValues stores each put as PutValue does, in one pipeline.
func (s *RedisStore) PutValues(ctx context.Context, workspace string, puts ...Put) error {
	if err := checkPuts(workspace, puts); err != nil {
		return err
	}
	if len(puts) == 1 {
		return s.wrap("put value", s.client.Set(ctx, s.valueKey(workspace, puts[0].Key), puts[0].Value, puts[0].TTL).Err())
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, v := range puts {
			p.Set(ctx, s.valueKey(workspace, v.Key), v.Value, v.TTL)
		}
		return nil
	})
	return s.wrap("put values", err)
}

// Value returns the value under key; false when there is none or it expired.
func (s *RedisStore) Value(ctx context.Context, workspace, key string) ([]byte, bool, error) {
	if err := checkValue(workspace, key, nil, time.Second); err != nil {
		return nil, false, err
	}
	v, err := s.client.Get(ctx, s.valueKey(workspace, key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	return v, err == nil, s.wrap("read value", err)
}

// listKey is <prefix>:{W}:#list:<key>, in the workspace's slot.
func (s *RedisStore) listKey(workspace, key string) string {
	return s.wsKey(workspace) + ":#list:" + key
}

// appendList is AppendValue in one step, thinning as thin does.
// KEYS: 1 list. ARGV: 1 item, 2 max, 3 ttl ms, 4 "1" to restart.
var appendList = redis.NewScript(`
if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) end
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
if n > tonumber(ARGV[2]) then
  local all = redis.call('LRANGE', KEYS[1], 0, -1)
  local keep = {}
  for i = 1, math.floor(n / 2), 2 do keep[#keep + 1] = all[i] end
  for i = math.floor(n / 2) + 1, n do keep[#keep + 1] = all[i] end
  redis.call('DEL', KEYS[1])
  for i = 1, #keep, 500 do redis.call('RPUSH', KEYS[1], unpack(keep, i, math.min(i + 499, #keep))) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return n`)

// AppendValue adds item at the end of the list under key, in one script.
func (s *RedisStore) AppendValue(ctx context.Context, workspace, key string, item []byte, o AppendOptions) error {
	if err := checkAppend(workspace, key, item, o); err != nil {
		return err
	}
	restart := "0"
	if o.Restart {
		restart = "1"
	}
	err := appendList.Run(ctx, s.client, []string{s.listKey(workspace, key)}, item, o.Max, o.TTL.Milliseconds(), restart).Err()
	return s.wrap("append value", err)
}

// ValueList returns the list under key, oldest first.
func (s *RedisStore) ValueList(ctx context.Context, workspace, key string) ([][]byte, error) {
	if err := checkValue(workspace, key, nil, time.Second); err != nil {
		return nil, err
	}
	items, err := s.client.LRange(ctx, s.listKey(workspace, key), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("read list", err)
	}
	var out [][]byte
	for _, it := range items {
		out = append(out, []byte(it))
	}
	return out, nil
}

// A bbolt value is stored under workspace NUL key as its expiry (8 bytes,
// Unix ms) followed by the value.

func boltValueKey(workspace, key string) []byte { return []byte(workspace + "\x00" + key) }

// PutValue stores value under key in workspace for ttl, and drops a few
// expired values so the bucket does not grow with every value ever put.
func (s *BoltStore) PutValue(ctx context.Context, workspace, key string, value []byte, ttl time.Duration) error {
	return s.PutValues(ctx, workspace, Put{key, value, ttl})
}

// PutValues stores each put as PutValue does, in one transaction.
func (s *BoltStore) PutValues(ctx context.Context, workspace string, puts ...Put) error {
	if err := checkPuts(workspace, puts); err != nil {
		return err
	}
	return s.update(ctx, "put value", func(tx *bolt.Tx) error {
		for _, v := range puts {
			if err := s.putLive(tx, bktValues, boltValueKey(workspace, v.Key), v.TTL, func([]byte) ([]byte, error) { return v.Value, nil }); err != nil {
				return err
			}
		}
		return nil
	})
}

// putLive puts under k in bucket, for ttl, what value makes of the entry
// there (nil when none or expired), and drops a few expired entries.
func (s *BoltStore) putLive(tx *bolt.Tx, bucket, k []byte, ttl time.Duration, value func(old []byte) ([]byte, error)) error {
	b, err := tx.CreateBucketIfNotExists(bucket)
	if err != nil {
		return err
	}
	now := toMillis(s.now())
	if err := dropExpired(b, now); err != nil {
		return err
	}
	v, err := value(live(b, k, now))
	if err != nil {
		return err
	}
	return b.Put(k, append(binary.BigEndian.AppendUint64(nil, uint64(now+ttl.Milliseconds())), v...))
}

// dropExpired deletes up to 16 expired values of b.
func dropExpired(b *bolt.Bucket, now int64) error {
	c := b.Cursor()
	n := 0
	for k, v := c.First(); k != nil && n < 16; k, v = c.Next() {
		if len(v) < 8 || int64(binary.BigEndian.Uint64(v)) <= now {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}

// Value returns the value under key; false when there is none or it expired.
func (s *BoltStore) Value(ctx context.Context, workspace, key string) ([]byte, bool, error) {
	if err := checkValue(workspace, key, nil, time.Second); err != nil {
		return nil, false, err
	}
	var out []byte
	err := s.view(ctx, "read value", func(tx *bolt.Tx) error {
		if v := live(tx.Bucket(bktValues), boltValueKey(workspace, key), toMillis(s.now())); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, out != nil, err
}

// live is what b keeps under k, nil when nothing or it expired (b may be nil).
func live(b *bolt.Bucket, k []byte, now int64) []byte {
	if b == nil {
		return nil
	}
	if v := b.Get(k); len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > now {
		return v[8:]
	}
	return nil
}

// A bbolt list is stored as a value is (its expiry first), its items as a JSON array.

// AppendValue adds item at the end of the list under key, in one
// transaction, and drops a few expired lists.
func (s *BoltStore) AppendValue(ctx context.Context, workspace, key string, item []byte, o AppendOptions) error {
	if err := checkAppend(workspace, key, item, o); err != nil {
		return err
	}
	return s.update(ctx, "append value", func(tx *bolt.Tx) error {
		return s.putLive(tx, bktLists, boltValueKey(workspace, key), o.TTL, func(old []byte) ([]byte, error) {
			var list [][]byte
			if old != nil && !o.Restart && json.Unmarshal(old, &list) != nil {
				list = nil // a damaged list starts again
			}
			return json.Marshal(thin(append(list, item), o.Max))
		})
	})
}

// ValueList returns the list under key, oldest first.
func (s *BoltStore) ValueList(ctx context.Context, workspace, key string) ([][]byte, error) {
	if err := checkValue(workspace, key, nil, time.Second); err != nil {
		return nil, err
	}
	var out [][]byte
	err := s.view(ctx, "read list", func(tx *bolt.Tx) error {
		if v := live(tx.Bucket(bktLists), boltValueKey(workspace, key), toMillis(s.now())); v != nil {
			return json.Unmarshal(v, &out)
		}
		return nil
	})
	return out, err
}
