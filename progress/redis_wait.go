package progress

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A write the bot acknowledges should survive a failover: Redis replicates
// asynchronously, so a master that dies right after a write may take it
// along. Where the master has a replica, a tracking write (Track, Apply,
// Untrack) and a journal entry are therefore followed by WAIT 1 on the
// same connection, in the same pipeline: the write is on a replica when
// WAIT answers 1. When it answers 0 after replicaWait, the write is on the
// master only, and Track and Apply say so (NotReplicated): repeating it is
// safe, as a change's key makes it a no-op when it did land. Without a
// replica there is nothing to wait for, and no WAIT.

const (
	// replicaWait is WAIT's timeout; below redisTimeout, the read timeout
	// that covers the whole pipeline's replies.
	replicaWait = 250 * time.Millisecond
	// replicaCheck is how long ROLE's answer is trusted: replicas come and
	// go rarely, and a failed write forgets it at once.
	replicaCheck = 5 * time.Second
)

// replicaSeen is what ROLE last said about a master's replicas.
type replicaSeen struct {
	any bool
	at  time.Time
}

// replicas remembers, per master client, whether it has a connected replica.
type replicas struct {
	mu   sync.Mutex
	seen map[redis.UniversalClient]replicaSeen
}

// has says whether c's server is a master with a connected replica, asking
// ROLE at most every replicaCheck; an error is taken for no replica.
func (r *replicas) has(ctx context.Context, c redis.UniversalClient) bool {
	r.mu.Lock()
	seen, ok := r.seen[c]
	r.mu.Unlock()
	if ok && time.Since(seen.at) < replicaCheck {
		return seen.any
	}
	role, err := c.Do(ctx, "ROLE").Slice()
	if isUnavailable(err) {
		return false // the write fails too; ask again next time
	}
	// A refusal (an ACL without ROLE) is remembered as no replica, so
	// that writes do not ask each time.
	seen = replicaSeen{at: time.Now()}
	if err == nil && len(role) == 3 && role[0] == "master" {
		list, _ := role[2].([]any)
		seen.any = len(list) > 0
	}
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[redis.UniversalClient]replicaSeen{}
	}
	r.seen[c] = seen
	r.mu.Unlock()
	return seen.any
}

// forget drops what ROLE said about c: after an error the master may have changed.
func (r *replicas) forget(c redis.UniversalClient) {
	r.mu.Lock()
	delete(r.seen, c)
	r.mu.Unlock()
}

// replicated runs fn's commands in one pipeline on the client of key's
// master (on a Cluster, the node serving key's slot, so every command must
// be in that slot), followed by WAIT 1 when that master has a replica.
// notReplicated is true when it has one and WAIT answered 0.
func (s *RedisStore) replicated(ctx context.Context, key string, fn func(p redis.Pipeliner)) (notReplicated bool, err error) {
	c := s.client
	cc, cluster := c.(*redis.ClusterClient)
	if cluster {
		if c, err = cc.MasterForKey(ctx, key); err != nil {
			return false, err
		}
	}
	wait := s.replicas.has(ctx, c)
	var acked *redis.Cmd
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		fn(p)
		if wait {
			acked = p.Do(ctx, "WAIT", 1, replicaWait.Milliseconds()) // Pipeliner has no Wait
		}
		return nil
	})
	if err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
		s.replicas.forget(c)
	}
	if cluster && (redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")) {
		// The node no longer serves the slot (a resharding, a failover):
		// the cluster client follows the redirection, without WAIT, so
		// the write is not known to be on a replica.
		cc.ReloadState(ctx)
		_, err = cc.Pipelined(ctx, func(p redis.Pipeliner) error { fn(p); return nil })
		return wait, err
	}
	if !wait {
		return false, err
	}
	n, _ := acked.Int64()
	return n < 1, err
}

// runScript is sc.Run (EVALSHA, then EVAL when the script is not loaded)
// through replicated, after also's commands (nil: none) in its pipeline.
func (s *RedisStore) runScript(ctx context.Context, also func(redis.Pipeliner), sc *redis.Script, keys []string, args ...any) (cmd *redis.Cmd, notReplicated bool) {
	for _, load := range []bool{false, true} {
		var err error
		notReplicated, err = s.replicated(ctx, keys[0], func(p redis.Pipeliner) {
			if also != nil {
				also(p)
			}
			if load {
				cmd = sc.Eval(ctx, p, keys, args...)
			} else {
				cmd = sc.EvalSha(ctx, p, keys, args...)
			}
		})
		if cmd == nil {
			cmd = redis.NewCmd(ctx)
			cmd.SetErr(err)
		}
		if !redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			break
		}
	}
	return cmd, notReplicated
}
