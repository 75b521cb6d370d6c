package progress

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// Values keep small documents for a while, per workspace: what a button
// will do when clicked lives here, and the button carries only its key.
type Values interface {
	// PutValue stores value under key in workspace for ttl, replacing any value there.
	PutValue(ctx context.Context, workspace, key string, value []byte, ttl time.Duration) error
	// Value returns the value under key; false when there is none or it expired.
	Value(ctx context.Context, workspace, key string) ([]byte, bool, error)
}

// MaxValueBytes bounds one value: a pasted message and what it records.
const MaxValueBytes = 1 << 20

var (
	_ Values = (*RedisStore)(nil)
	_ Values = (*BoltStore)(nil)
)

var bktValues = []byte("values")

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

// valueKey is <prefix>:{W}:#val:<key>, in the workspace's slot.
func (s *RedisStore) valueKey(workspace, key string) string {
	return s.wsKey(workspace) + ":#val:" + key
}

// PutValue stores value under key in workspace for ttl.
func (s *RedisStore) PutValue(ctx context.Context, workspace, key string, value []byte, ttl time.Duration) error {
	if err := checkValue(workspace, key, value, ttl); err != nil {
		return err
	}
	return s.wrap("put value", s.client.Set(ctx, s.valueKey(workspace, key), value, ttl).Err())
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

// A bbolt value is stored under workspace NUL key as its expiry (8 bytes,
// Unix ms) followed by the value.

func boltValueKey(workspace, key string) []byte { return []byte(workspace + "\x00" + key) }

// PutValue stores value under key in workspace for ttl, and drops a few
// expired values so the bucket does not grow with every value ever put.
func (s *BoltStore) PutValue(ctx context.Context, workspace, key string, value []byte, ttl time.Duration) error {
	if err := checkValue(workspace, key, value, ttl); err != nil {
		return err
	}
	return s.update(ctx, "put value", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktValues)
		if err != nil {
			return err
		}
		now := toMillis(s.now())
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
		v := binary.BigEndian.AppendUint64(nil, uint64(now+ttl.Milliseconds()))
		return b.Put(boltValueKey(workspace, key), append(v, value...))
	})
}

// Value returns the value under key; false when there is none or it expired.
func (s *BoltStore) Value(ctx context.Context, workspace, key string) ([]byte, bool, error) {
	if err := checkValue(workspace, key, nil, time.Second); err != nil {
		return nil, false, err
	}
	var out []byte
	err := s.view(ctx, "read value", func(tx *bolt.Tx) error {
		b := tx.Bucket(bktValues)
		if b == nil {
			return nil
		}
		v := b.Get(boltValueKey(workspace, key))
		if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > toMillis(s.now()) {
			out = append([]byte{}, v[8:]...)
		}
		return nil
	})
	return out, out != nil, err
}
