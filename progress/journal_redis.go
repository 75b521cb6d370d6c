package progress

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// The journal in Redis: a stream per workspace, <prefix>:{W}:#journal (in
// the workspace's hash slot), read by one consumer group, and the set
// <prefix>:journal:workspaces of the workspaces that have one. Entries are
// deleted when done, never trimmed by length.

// JournalGroup is the consumer group of every journal stream.
const JournalGroup = "upgradebot"

var _ Journal = (*RedisStore)(nil)

func (s *RedisStore) journalKey(ws string) string { return s.wsKey(ws) + ":#journal" }
func (s *RedisStore) journalsKey() string         { return s.prefix + ":journal:workspaces" }

// journalAppend adds an entry and delivers it to the consumer appending it
// in the same step, so no other replica reads it as new (">"). Anything
// else still undelivered is taken along; not kept, it is recovered like an
// entry of a stopped process. The group is made with the stream, from its
// start, or again from the start if it was destroyed. Each is made only
// when missing: a failed command counts in Redis's error statistics, which
// operators watch, and an attempt on every append counted one per event.
// KEYS: 1 stream. ARGV: 1 group, 2 consumer, then the fields and values.
var journalAppend = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
local read = redis.pcall('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'STREAMS', KEYS[1], '>')
if type(read) == 'table' and read.err then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0')
  redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'STREAMS', KEYS[1], '>')
end
return id`)

// dropConsumers deletes from the group the consumers with no entry
// pending that are named ARGV[2] or (ARGV[3] not "") idle for longer than
// ARGV[3] ms. Each process joins under a name of its own (ConsumerName),
// so without this every restart would add one for good. XGROUP DELCONSUMER
// drops a consumer's pending entries with it: hence none pending, checked
// in the same atomic step. A consumer deleted while alive loses nothing:
// its next read or claim adds it again.
// KEYS: 1 stream. ARGV: 1 group, 2 consumer, 3 min idle ms.
var dropConsumers = redis.NewScript(`
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if consumers.err then return 0 end -- no stream or group yet
local dropped = 0
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f.pending == 0 and (f.name == ARGV[2] or (ARGV[3] ~= '' and f.idle > tonumber(ARGV[3]))) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f.name)
    dropped = dropped + 1
  end
end
return dropped`)

// Append writes e to its workspace's stream, taken by consumer, in one
// round trip. go-redis may resend it after a lost reply, so an entry can
// be written twice: work runs at least once.
func (s *RedisStore) Append(ctx context.Context, consumer string, e Entry) (string, error) {
	if err := checkEntry(consumer, e); err != nil {
		return "", err
	}
	_, cluster := s.client.(*redis.ClusterClient)
	if cluster { // the set lies in another slot, which another node may serve
		if err := s.client.SAdd(ctx, s.journalsKey(), e.Workspace).Err(); err != nil {
			return "", s.wrap("journal append", err)
		}
	}
	listed := redis.NewIntCmd(ctx) // on a Cluster, added above
	id, notReplicated := s.runScript(ctx, func(p redis.Pipeliner) {
		if !cluster {
			listed = p.SAdd(ctx, s.journalsKey(), e.Workspace)
		}
	}, journalAppend, []string{s.journalKey(e.Workspace)}, JournalGroup, consumer,
		"ch", e.Channel, "ev", e.EventID, "kind", e.Kind, "payload", e.Payload, "findings", e.Findings)
	if err := cmp.Or(listed.Err(), id.Err()); err != nil {
		return "", s.wrap("journal append", err)
	}
	if notReplicated {
		// The event is acknowledged all the same: it is journaled on the master.
		s.log.Warn("journal entry not yet on a Redis replica; a failover now could lose it", "workspace", e.Workspace, "event", e.EventID)
	}
	return id.Text()
}

// Recover claims (XAUTOCLAIM) for consumer the entries of every workspace
// pending longer than minIdle, then deletes the consumers left with none
// pending and idle longer than minIdle: stopped processes. Entries taken
// before an error are returned with it.
func (s *RedisStore) Recover(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]Entry, error) {
	if err := checkID("journal consumer", consumer); err != nil {
		return nil, err
	}
	wss, err := s.client.SMembers(ctx, s.journalsKey()).Result()
	if err != nil {
		return nil, s.wrap("journal recover", err)
	}
	slices.Sort(wss)
	var out []Entry
	for _, ws := range wss {
		for start := "0-0"; len(out) < n; {
			msgs, next, err := s.client.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: s.journalKey(ws), Group: JournalGroup,
				MinIdle: minIdle, Start: start, Count: int64(n - len(out)), Consumer: consumer}).Result()
			if redis.HasErrorPrefix(err, "NOGROUP") {
				break // listed, but its stream was never written
			}
			if err != nil {
				return out, s.wrap("journal recover", err)
			}
			took := len(out)
			for _, m := range msgs {
				out = append(out, streamEntry(ws, m))
			}
			if err := s.recoveries(ctx, ws, consumer, out[took:]); err != nil {
				return out, s.wrap("journal recover", err)
			}
			if next == "0-0" {
				break
			}
			start = next
		}
		err := dropConsumers.Run(ctx, s.client, []string{s.journalKey(ws)}, JournalGroup, "", minIdle.Milliseconds()).Err()
		if err != nil {
			return out, s.wrap("journal recover", err)
		}
	}
	return out, nil
}

// recoveries sets the entries' Recovered from their delivery counts
// (XPENDING): one at Append, one more at each XAUTOCLAIM (Keep and Leave
// use JUSTID, which counts none).
func (s *RedisStore) recoveries(ctx context.Context, ws, consumer string, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	cmds := make([]*redis.XPendingExtCmd, len(entries))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			cmds[i] = p.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.journalKey(ws), Group: JournalGroup,
				Start: e.ID, End: e.ID, Count: 1, Consumer: consumer})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, c := range cmds {
		entries[i].Recovered = 1
		if p := c.Val(); len(p) == 1 {
			entries[i].Recovered = int(max(p[0].RetryCount-1, 1))
		}
	}
	return nil
}

func streamEntry(ws string, m redis.XMessage) Entry {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	e := Entry{ID: m.ID, Workspace: ws, Channel: str("ch"), EventID: str("ev"), Kind: str("kind")}
	if v := str("payload"); v != "" {
		e.Payload = []byte(v)
	}
	if v := str("findings"); v != "" {
		e.Findings = []byte(v)
	}
	return e
}

// Keep claims the entries again for consumer (XCLAIM … JUSTID with no
// minimum idle time), which resets their idle time.
func (s *RedisStore) Keep(ctx context.Context, consumer string, entries ...Entry) error {
	if err := checkID("journal consumer", consumer); err != nil {
		return err
	}
	return s.perStream(ctx, "journal keep", entries, func(p redis.Pipeliner, key string, ids []string) {
		p.XClaimJustID(ctx, &redis.XClaimArgs{Stream: key, Group: JournalGroup, Consumer: consumer, Messages: ids})
	})
}

// leftIdle is the idle time Leave gives an entry: longer than any minimum.
const leftIdle = 365 * 24 * time.Hour

// Leave sets the entries' idle time far back (XCLAIM … IDLE, to the
// consumer "left"), so the next XAUTOCLAIM takes them whatever its
// minimum, then deletes consumer from every workspace's group where it
// has nothing pending.
func (s *RedisStore) Leave(ctx context.Context, consumer string, entries ...Entry) error {
	if err := checkID("journal consumer", consumer); err != nil {
		return err
	}
	err := s.perStream(ctx, "journal leave", entries, func(p redis.Pipeliner, key string, ids []string) {
		args := []any{"XCLAIM", key, JournalGroup, "left", 0}
		for _, id := range ids {
			args = append(args, id)
		}
		p.Do(ctx, append(args, "IDLE", leftIdle.Milliseconds(), "JUSTID")...)
	})
	if err != nil {
		return err
	}
	wss, err := s.client.SMembers(ctx, s.journalsKey()).Result()
	if err != nil {
		return s.wrap("journal leave", err)
	}
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ws := range wss {
			// Eval, not EvalSha: a pipeline cannot fall back when the script is not loaded.
			dropConsumers.Eval(ctx, p, []string{s.journalKey(ws)}, JournalGroup, consumer, "")
		}
		return nil
	})
	return s.wrap("journal leave", err)
}

// Done deletes the entries, then acknowledges them: an entry acknowledged
// but left in the stream would stay there for ever, while Redis drops a
// deleted entry's pending record by itself (XAUTOCLAIM).
func (s *RedisStore) Done(ctx context.Context, entries ...Entry) error {
	return s.perStream(ctx, "journal done", entries, func(p redis.Pipeliner, key string, ids []string) {
		p.XDel(ctx, key, ids...)
		p.XAck(ctx, key, JournalGroup, ids...)
	})
}

// perStream sends fn's commands for each workspace's entries in one pipeline.
func (s *RedisStore) perStream(ctx context.Context, op string, entries []Entry, fn func(p redis.Pipeliner, key string, ids []string)) error {
	byWS := map[string][]string{}
	for _, e := range entries {
		if err := checkID("workspace", e.Workspace); err != nil {
			return err
		}
		byWS[e.Workspace] = append(byWS[e.Workspace], e.ID)
	}
	if len(byWS) == 0 {
		return nil
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for ws, ids := range byWS {
			fn(p, s.journalKey(ws), ids)
		}
		return nil
	})
	return s.wrap(op, err)
}
