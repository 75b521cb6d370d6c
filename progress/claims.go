package progress

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bktClaims = []byte("claims")

var (
	_ Claims = (*RedisStore)(nil)
	_ Claims = (*BoltStore)(nil)
)

func checkClaim(key string, ttl time.Duration) error {
	if key == "" || len(key) > 512 {
		return invalid("claim key", key, "must be 1 to 512 bytes")
	}
	if ttl <= 0 {
		return invalid("claim ttl", ttl.String(), "must be positive")
	}
	return nil
}

func (s *RedisStore) claimKey(key string) string { return s.prefix + ":claim:" + key }

// Claim takes key for ttl with SET NX, so only one replica wins.
func (s *RedisStore) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkClaim(key, ttl); err != nil {
		return false, err
	}
	ok, err := s.client.SetNX(ctx, s.claimKey(key), "1", ttl).Result()
	if err != nil {
		return false, s.wrap("claim", err)
	}
	return ok, nil
}

// Mark holds key for ttl unconditionally.
func (s *RedisStore) Mark(ctx context.Context, key string, ttl time.Duration) error {
	if err := checkClaim(key, ttl); err != nil {
		return err
	}
	return s.wrap("mark", s.client.Set(ctx, s.claimKey(key), "done", ttl).Err())
}

// Release frees key.
func (s *RedisStore) Release(ctx context.Context, key string) error {
	if err := checkClaim(key, time.Second); err != nil {
		return err
	}
	return s.wrap("release", s.client.Del(ctx, s.claimKey(key)).Err())
}

// Claim takes key for ttl in one transaction.
func (s *BoltStore) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkClaim(key, ttl); err != nil {
		return false, err
	}
	var ok bool
	err := s.update(ctx, "claim", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktClaims)
		if err != nil {
			return err
		}
		now := s.now()
		if v := b.Get([]byte(key)); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > toMillis(now) {
			ok = false
			return nil
		}
		ok = true
		return putExpiry(b, key, now, now.Add(ttl))
	})
	return ok, err
}

// Mark holds key for ttl unconditionally.
func (s *BoltStore) Mark(ctx context.Context, key string, ttl time.Duration) error {
	if err := checkClaim(key, ttl); err != nil {
		return err
	}
	return s.update(ctx, "mark", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktClaims)
		if err != nil {
			return err
		}
		now := s.now()
		return putExpiry(b, key, now, now.Add(ttl))
	})
}

// Release frees key.
func (s *BoltStore) Release(ctx context.Context, key string) error {
	if err := checkClaim(key, time.Second); err != nil {
		return err
	}
	return s.update(ctx, "release", func(tx *bolt.Tx) error {
		b := tx.Bucket(bktClaims)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
}

// putExpiry stores a claim's expiry and drops a few expired claims, so the
// bucket does not grow with every message ever seen.
func putExpiry(b *bolt.Bucket, key string, at, until time.Time) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(toMillis(until)))
	if err := b.Put([]byte(key), v[:]); err != nil {
		return fmt.Errorf("progress: claim: %w", err)
	}
	now := toMillis(at)
	c := b.Cursor()
	n := 0
	for k, val := c.First(); k != nil && n < 16; k, val = c.Next() {
		if len(val) == 8 && int64(binary.BigEndian.Uint64(val)) < now && string(k) != key {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}
