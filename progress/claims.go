package progress

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

var bktClaims = []byte("claims")

var (
	_ Claims = (*RedisStore)(nil)
	_ Claims = (*BoltStore)(nil)
)

// SharedToken holds marks rather than leases: any holder that knows a key
// may renew or release it. It is the value older versions gave marks in
// Redis, and bbolt claims written before tokens (an expiry alone) read as
// held by it, so marks set by an older version can still be released.
const SharedToken = "done"

// NewToken returns a random claim token, unique to one holder.
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}

func checkClaim(workspace, key, token string, ttl time.Duration) error {
	if workspace != "" {
		if err := checkID("workspace", workspace); err != nil {
			return err
		}
	}
	if key == "" || len(key) > 512 {
		return invalid("claim key", key, "must be 1 to 512 bytes")
	}
	if token == "" || len(token) > 128 {
		return invalid("claim token", token, "must be 1 to 128 bytes")
	}
	if ttl <= 0 {
		return invalid("claim ttl", ttl.String(), "must be positive")
	}
	return nil
}

// The claim scripts compare tokens on the server, so a holder never
// changes a claim it lost. Each is safe to resend: go-redis resends a
// command whose reply was lost, and the resend finds its own token.
var (
	// KEYS: 1 claim. ARGV: 1 token, 2 ttl ms. Returns 1 when held by token.
	claimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0`)
	// KEYS: 1 claim. ARGV: 1 token, 2 ttl ms. Returns 1 when renewed.
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	// KEYS: 1 claim. ARGV: 1 token.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// claimKey is in the workspace's hash tag, with the rest of its data, so a
// Cluster spreads claims as it spreads workspaces; the digest's, which
// belong to none, keep the key of versions before workspaces had them.
func (s *RedisStore) claimKey(workspace, key string) string {
	if workspace == "" {
		return s.prefix + ":claim:" + key
	}
	return s.wsKey(workspace) + ":#claim:" + key
}

// Claim takes key for ttl under token; true also when token already holds it.
func (s *RedisStore) Claim(ctx context.Context, workspace, key, token string, ttl time.Duration) (bool, error) {
	if err := checkClaim(workspace, key, token, ttl); err != nil {
		return false, err
	}
	n, err := claimScript.Run(ctx, s.client, []string{s.claimKey(workspace, key)}, token, ttl.Milliseconds()).Int()
	return n == 1, s.wrap("claim", err)
}

// Renew holds key for ttl from now when token holds it.
func (s *RedisStore) Renew(ctx context.Context, workspace, key, token string, ttl time.Duration) (bool, error) {
	if err := checkClaim(workspace, key, token, ttl); err != nil {
		return false, err
	}
	n, err := renewScript.Run(ctx, s.client, []string{s.claimKey(workspace, key)}, token, ttl.Milliseconds()).Int()
	return n == 1, s.wrap("renew claim", err)
}

// Release frees key when token holds it.
func (s *RedisStore) Release(ctx context.Context, workspace, key, token string) error {
	if err := checkClaim(workspace, key, token, time.Second); err != nil {
		return err
	}
	return s.wrap("release claim", releaseScript.Run(ctx, s.client, []string{s.claimKey(workspace, key)}, token).Err())
}

// Held reports whether anyone holds key.
func (s *RedisStore) Held(ctx context.Context, workspace, key string) (bool, error) {
	if err := checkClaim(workspace, key, "-", time.Second); err != nil {
		return false, err
	}
	n, err := s.client.Exists(ctx, s.claimKey(workspace, key)).Result()
	return n == 1, s.wrap("read claim", err)
}

// A bbolt claim is its expiry (8 bytes, Unix ms) followed by its token.

// holder returns the token holding a claim value at now, "" when none.
func holder(v []byte, now time.Time) string {
	switch {
	case len(v) < 8 || int64(binary.BigEndian.Uint64(v)) <= toMillis(now):
		return ""
	case len(v) == 8: // written before tokens
		return SharedToken
	}
	return string(v[8:])
}

// boltClaimKey keeps workspaces apart in the one claims bucket; the
// digest's claims (workspace "") keep their key of earlier versions.
func boltClaimKey(workspace, key string) string {
	if workspace == "" {
		return key
	}
	return workspace + "\x00" + key
}

// claimTx runs fn on the claims bucket with the token holding key now.
func (s *BoltStore) claimTx(ctx context.Context, op, key string, fn func(b *bolt.Bucket, held string, now time.Time) error) error {
	return s.update(ctx, op, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktClaims)
		if err != nil {
			return err
		}
		now := s.now()
		return fn(b, holder(b.Get([]byte(key)), now), now)
	})
}

// Claim takes key for ttl under token; true also when token already holds it.
func (s *BoltStore) Claim(ctx context.Context, workspace, key, token string, ttl time.Duration) (bool, error) {
	if err := checkClaim(workspace, key, token, ttl); err != nil {
		return false, err
	}
	key = boltClaimKey(workspace, key)
	var ok bool
	err := s.claimTx(ctx, "claim", key, func(b *bolt.Bucket, held string, now time.Time) error {
		if ok = held == token; ok || held != "" {
			return nil
		}
		ok = true
		return putClaim(b, key, token, now, now.Add(ttl))
	})
	return ok, err
}

// Renew holds key for ttl from now when token holds it.
func (s *BoltStore) Renew(ctx context.Context, workspace, key, token string, ttl time.Duration) (bool, error) {
	if err := checkClaim(workspace, key, token, ttl); err != nil {
		return false, err
	}
	key = boltClaimKey(workspace, key)
	var ok bool
	err := s.claimTx(ctx, "renew claim", key, func(b *bolt.Bucket, held string, now time.Time) error {
		if ok = held == token; !ok {
			return nil
		}
		return putClaim(b, key, token, now, now.Add(ttl))
	})
	return ok, err
}

// Release frees key when token holds it.
func (s *BoltStore) Release(ctx context.Context, workspace, key, token string) error {
	if err := checkClaim(workspace, key, token, time.Second); err != nil {
		return err
	}
	key = boltClaimKey(workspace, key)
	return s.claimTx(ctx, "release claim", key, func(b *bolt.Bucket, held string, _ time.Time) error {
		if held != token {
			return nil
		}
		return b.Delete([]byte(key))
	})
}

// Held reports whether anyone holds key.
func (s *BoltStore) Held(ctx context.Context, workspace, key string) (bool, error) {
	if err := checkClaim(workspace, key, "-", time.Second); err != nil {
		return false, err
	}
	key = boltClaimKey(workspace, key)
	var held bool
	err := s.view(ctx, "read claim", func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktClaims); b != nil {
			held = holder(b.Get([]byte(key)), s.now()) != ""
		}
		return nil
	})
	return held, err
}

// putClaim stores a claim and drops a few expired ones, so the bucket
// does not grow with every message ever seen.
func putClaim(b *bolt.Bucket, key, token string, at, until time.Time) error {
	v := binary.BigEndian.AppendUint64(nil, uint64(toMillis(until)))
	if err := b.Put([]byte(key), append(v, token...)); err != nil {
		return fmt.Errorf("progress: claim: %w", err)
	}
	c := b.Cursor()
	n := 0
	for k, val := c.First(); k != nil && n < 16; k, val = c.Next() {
		if holder(val, at) == "" && string(k) != key {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
	}
	return nil
}
