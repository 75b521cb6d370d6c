package progress

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// Owners keep who took which module of an environment (/upgrade take), by
// module key (ModuleKey). They are kept apart from the module list: a
// module's owner survives the module being reported again, and the core
// shows owners only for the modules listed.
type Owners interface {
	// SetOwner makes owner the owner of modules in env; owner "" releases them.
	// A take or release by a user (by) is kept in the history with it; by ""
	// (what a change does to the owners, and its undo) is not. It returns
	// the owners the modules had before, by module key.
	SetOwner(ctx context.Context, workspace, env, owner, by string, modules []string) (map[string]string, error)
	// ModuleOwners returns every owner of env's modules, by module key.
	ModuleOwners(ctx context.Context, workspace, env string) (map[string]string, error)
	// ClearOwners releases every module of env (a new upgrade starts).
	ClearOwners(ctx context.Context, workspace, env string) error
}

var (
	_ Owners = (*RedisStore)(nil)
	_ Owners = (*BoltStore)(nil)
)

var bktOwners = []byte("owners")

// maxOwned bounds the modules one SetOwner takes or releases.
const maxOwned = 10000

// ownerKeys validates the arguments of SetOwner and returns the module
// keys, and the names normalized in modules.
func ownerKeys(workspace, env, owner, by string, modules []string) (_ string, keys, names []string, _ error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return "", nil, nil, err
	}
	if owner != "" {
		if err := checkID("owner", owner); err != nil {
			return "", nil, nil, err
		}
	}
	if err := checkText("actor", by, maxID); err != nil {
		return "", nil, nil, err
	}
	if len(modules) > maxOwned {
		return "", nil, nil, invalid("modules", "", fmt.Sprintf("are %d, more than %d at once", len(modules), maxOwned))
	}
	for _, m := range modules {
		n, err := NormalizeModule(m)
		if err != nil {
			return "", nil, nil, err
		}
		names = append(names, n)
		keys = append(keys, ModuleKey(n))
	}
	return env, keys, names, nil
}

// ownerEntry is the history entry of a take or release by a user.
func ownerEntry(at time.Time, owner, by string, modules []string) HistoryEntry {
	if owner == "" {
		return HistoryEntry{Time: at, Actor: by, Action: ActionRelease, Detail: "released: " + nameList(modules)}
	}
	return HistoryEntry{Time: at, Actor: by, Action: ActionTake, Detail: "took: " + nameList(modules)}
}

// SetOwner makes owner the owner of modules in env ("" releases them).
func (s *RedisStore) SetOwner(ctx context.Context, workspace, env, owner, by string, modules []string) (map[string]string, error) {
	env, keys, names, err := ownerKeys(workspace, env, owner, by, modules)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	entry := ""
	if by != "" {
		if entry, err = encodeEntry(ownerEntry(s.now(), owner, by, names)); err != nil {
			return nil, fmt.Errorf("progress: encode history: %w", err)
		}
	}
	args := []any{env, owner, entry, s.historyLimit}
	for _, k := range keys {
		args = append(args, k)
	}
	prev, err := setOwnerScript.Run(ctx, s.client, []string{s.wsEnvsKey(workspace), s.envKey(workspace, env, "owners"), s.envKey(workspace, env, "history")}, args...).Slice()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, notFound(workspace, env)
	case err != nil:
		return nil, s.wrap("set owner", err)
	}
	before := map[string]string{}
	for i, v := range prev {
		if o, ok := v.(string); ok && i < len(keys) {
			before[keys[i]] = o
		}
	}
	return before, nil
}

// setOwnerScript reads and sets the owners in one step, so that two people
// taking a module at once each learn whom they took it from.
// KEYS: 1 the workspace's environments, 2 env's owners, 3 env's history.
// ARGV: 1 env, 2 owner ("" releases), 3 the history entry ("": none),
// 4 the history's limit, then the module keys. Nil when env is not tracked.
var setOwnerScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return false end
local prev = redis.call('HMGET', KEYS[2], unpack(ARGV, 5))
for i = 5, #ARGV do
  if ARGV[2] == '' then redis.call('HDEL', KEYS[2], ARGV[i]) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[2]) end
end
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
end
return prev`)

// ModuleOwners returns every owner of env's modules, by module key.
func (s *RedisStore) ModuleOwners(ctx context.Context, workspace, env string) (map[string]string, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return nil, err
	}
	m, err := s.client.HGetAll(ctx, s.envKey(workspace, env, "owners")).Result()
	return m, s.wrap("read owners", err)
}

// ClearOwners releases every module of env.
func (s *RedisStore) ClearOwners(ctx context.Context, workspace, env string) error {
	env, err := envRef(workspace, env)
	if err != nil {
		return err
	}
	return s.wrap("clear owners", s.client.Del(ctx, s.envKey(workspace, env, "owners")).Err())
}

// SetOwner makes owner the owner of modules in env ("" releases them).
func (s *BoltStore) SetOwner(ctx context.Context, workspace, env, owner, by string, modules []string) (map[string]string, error) {
	env, keys, names, err := ownerKeys(workspace, env, owner, by, modules)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	before := map[string]string{}
	err = s.update(ctx, "set owner", func(tx *bolt.Tx) error {
		eb := envBucket(tx, workspace, env)
		if eb == nil {
			return notFound(workspace, env)
		}
		ob, err := eb.CreateBucketIfNotExists(bktOwners)
		if err != nil {
			return err
		}
		for _, k := range keys { // all read before any is written, as Redis's HMGET does
			if v := ob.Get([]byte(k)); v != nil {
				before[k] = string(v)
			}
		}
		for _, k := range keys {
			if owner == "" {
				err = ob.Delete([]byte(k))
			} else {
				err = ob.Put([]byte(k), []byte(owner))
			}
			if err != nil {
				return err
			}
		}
		if by == "" {
			return nil
		}
		return s.appendHistory(eb, ownerEntry(s.now(), owner, by, names))
	})
	return before, err
}

// ModuleOwners returns every owner of env's modules, by module key.
func (s *BoltStore) ModuleOwners(ctx context.Context, workspace, env string) (map[string]string, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = s.view(ctx, "read owners", func(tx *bolt.Tx) error {
		ob := nested(envBucket(tx, workspace, env), bktOwners)
		if ob == nil {
			return nil
		}
		return ob.ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	return out, err
}

// ClearOwners releases every module of env.
func (s *BoltStore) ClearOwners(ctx context.Context, workspace, env string) error {
	env, err := envRef(workspace, env)
	if err != nil {
		return err
	}
	return s.update(ctx, "clear owners", func(tx *bolt.Tx) error {
		eb := envBucket(tx, workspace, env)
		if eb == nil || eb.Bucket(bktOwners) == nil {
			return nil
		}
		return eb.DeleteBucket(bktOwners)
	})
}
