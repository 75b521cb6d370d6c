package progress

// The Lua scripts run atomically on the Redis server, so two replicas
// changing one environment at once never lose an update, and a change, its
// history entry and its idempotency key are written together. Every check
// that can fail runs before the first write: Redis does not roll a script
// back, so a script that stopped halfway would leave half a change.

// trackLua follows an environment from a channel.
// KEYS: 1 meta, 2 env channels, 3 workspace envs, 4 channel envs, 5 workspace channels, 6 history.
// ARGV: 1 env name, 2 channel, 3 version, 4 install type, 5 time ms, 6 actor, 7 history entry JSON, 8 history limit, 9 from-version.
// Returns {created, followed, updated}.
const trackLua = `
local meta = KEYS[1]
local created, updated = 0, 0
if redis.call('EXISTS', meta) == 0 then
  created = 1
  redis.call('HSET', meta, 'name', ARGV[1], 'state', 'following', 'named_fs', '0')
end
if ARGV[3] ~= '' and redis.call('HGET', meta, 'version') ~= ARGV[3] then
  redis.call('HSET', meta, 'version', ARGV[3])
  updated = 1
end
if ARGV[4] ~= '' and redis.call('HGET', meta, 'install') ~= ARGV[4] then
  redis.call('HSET', meta, 'install', ARGV[4])
  updated = 1
end
if ARGV[9] ~= '' and redis.call('HGET', meta, 'from') ~= ARGV[9] then
  redis.call('HSET', meta, 'from', ARGV[9])
  updated = 1
end
if created == 1 then updated = 0 end
if created == 1 or updated == 1 then
  redis.call('HSET', meta, 'updated_at', ARGV[5], 'updated_by', ARGV[6])
end
local followed = redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[2])
if created == 1 or updated == 1 or followed == 1 then
  redis.call('RPUSH', KEYS[6], ARGV[7])
  redis.call('LTRIM', KEYS[6], -tonumber(ARGV[8]), -1)
end
return {created, followed, updated}
`

// untrackLua stops a channel following an environment.
// KEYS: 1 meta, 2 env channels, 3 channel envs, 4 workspace channels, 5 history.
// ARGV: 1 env name, 2 channel, 3 history entry JSON, 4 history limit.
// Returns 1 when the channel followed the environment, else 0.
const untrackLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('NOTFOUND environment is not tracked')
end
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then
  return 0
end
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('SCARD', KEYS[3]) == 0 then
  redis.call('SREM', KEYS[4], ARGV[2])
end
redis.call('RPUSH', KEYS[5], ARGV[3])
redis.call('LTRIM', KEYS[5], -tonumber(ARGV[4]), -1)
return 1
`

// applyLua applies one change and the state Next decided for it, while the
// fields the decision read still hold what it read.
// KEYS: 1 meta, 2 modules hash, 3 order zset, 4 history, 5 idempotency key,
// 6 set of every module named since the last reset.
// ARGV: 1 change JSON, 2 history entry JSON, 3 idempotency TTL seconds,
// 4 history limit, 5 change time ms, 6 actor, 7 token of this Apply call,
// 8 the state decided, 9 the state instead when no module is left listed
// ("" for none), then pairs of a meta field and the value the decision
// read there (see guarded).
// The idempotency key keeps the token and the reply, so a resend of the same
// call gets its reply back while any other call with the key is a duplicate.
// Returns {1} for a duplicate, {2} when a field read has moved (decide again),
// else {0, state, remaining, became_empty, added, updated, removed,
// not_found, became_done} with the name lists joined by "\n" (module names
// never contain control characters). Lists travel as strings because cjson
// encodes an empty table as an object, not an array.
const applyLua = `
local meta, mods, order, hist, idem, named = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
if redis.call('EXISTS', meta) == 0 then
  return redis.error_reply('NOTFOUND environment is not tracked')
end
local seen = redis.call('GET', idem)
if seen then
  local rec = cjson.decode(seen)
  -- The same Apply call, resent by the client after a lost reply: answer
  -- what it did then, not "duplicate".
  if rec.t == ARGV[7] then return rec.r end
  return {1}
end
for i = 10, #ARGV, 2 do
  if (redis.call('HGET', meta, ARGV[i]) or '') ~= ARGV[i + 1] then return {2} end
end
local was = redis.call('HGET', meta, 'state')
local c = cjson.decode(ARGV[1])
local at = tonumber(ARGV[5])
local actor = ARGV[6]
local function given(v) return v ~= nil and v ~= cjson.null end
local nfs = tonumber(redis.call('HGET', meta, 'named_fs') or '0')
-- A module counts as named once per upgrade, whatever its reason, and stays
-- counted after it is republished: Service Center's failed and skipped
-- counts do not go down when modules are fixed.
local function name(key) if redis.call('SADD', named, key) == 1 then nfs = nfs + 1 end end
-- Producers not prepared sort first: the others get 2^42 ms (year 2109) added.
local function score(reason, t)
  if reason == 'producer-not-prepared' then return string.format('%.0f', t) end
  return string.format('%.0f', t + 4398046511104)
end
local function clearprep() redis.call('HDEL', meta, 'percent', 'expected', 'current', 'total') end
local function setnum(field, v)
  if given(v) then redis.call('HSET', meta, field, string.format('%d', v)) end
end
local before = redis.call('ZCARD', order)
local added, updated, removed, notfound = {}, {}, {}, {}
local k = c.kind
if k == 'preparing' then
  if was ~= 'preparing' then clearprep() end
  setnum('percent', c.percent)
  if given(c.expected) and c.expected ~= '' then redis.call('HSET', meta, 'expected', c.expected) end
  setnum('current', c.current)
  setnum('total', c.total)
elseif k == 'summary' then
  setnum('prepared', c.prepared)
  setnum('failed', c.failed)
  setnum('skipped', c.skipped)
  clearprep()
elseif k == 'state' then
  clearprep()
elseif k == 'add' then
  for _, m in ipairs(c.modules or {}) do
    local key, cur = m.key, redis.call('HGET', mods, m.key)
    -- A record stored before names were normalized keeps its key.
    for _, alt in ipairs(m.legacy or {}) do
      if cur then break end
      key, cur = alt, redis.call('HGET', mods, alt)
    end
    if cur then
      local old = cjson.decode(cur)
      name(key)
      if old.reason ~= c.reason then
        old.reason = c.reason
        redis.call('HSET', mods, key, cjson.encode(old))
        redis.call('ZADD', order, score(c.reason, old.at), key)
        updated[#updated + 1] = old.name
      end
    else
      redis.call('HSET', mods, m.key, cjson.encode({name = m.name, reason = c.reason, by = actor, at = at, source = c.source}))
      redis.call('ZADD', order, score(c.reason, at), m.key)
      name(m.key)
      added[#added + 1] = m.name
    end
  end
elseif k == 'done' then
  if c.all then
    for _, key in ipairs(redis.call('ZRANGE', order, 0, -1)) do
      local cur = redis.call('HGET', mods, key)
      if cur then removed[#removed + 1] = cjson.decode(cur).name end
    end
    redis.call('DEL', mods, order)
  else
    for _, m in ipairs(c.modules or {}) do
      local found
      for _, key in ipairs({m.key, unpack(m.legacy or {})}) do
        local cur = redis.call('HGET', mods, key)
        if cur then
          redis.call('HDEL', mods, key)
          redis.call('ZREM', order, key)
          found = found or cjson.decode(cur).name
        end
      end
      if found then
        removed[#removed + 1] = found
      else
        notfound[#notfound + 1] = m.name
      end
    end
  end
elseif k == 'reset' then
  redis.call('DEL', mods, order, named)
  redis.call('HDEL', meta, 'percent', 'expected', 'current', 'total', 'prepared', 'failed', 'skipped')
  nfs = 0
end
local after = redis.call('ZCARD', order)
local state = ARGV[8]
if after == 0 and ARGV[9] ~= '' then state = ARGV[9] end
redis.call('HSET', meta, 'state', state, 'named_fs', string.format('%d', nfs), 'updated_at', ARGV[5], 'updated_by', actor)
redis.call('RPUSH', hist, ARGV[2])
redis.call('LTRIM', hist, -tonumber(ARGV[4]), -1)
local became, done = 0, 0
if k == 'done' and before > 0 and after == 0 then became = 1 end
if was ~= 'done' and state == 'done' then done = 1 end
local reply = {0, state, after, became,
  table.concat(added, '\n'), table.concat(updated, '\n'), table.concat(removed, '\n'), table.concat(notfound, '\n'), done}
redis.call('SET', idem, cjson.encode({t = ARGV[7], r = reply}), 'EX', ARGV[3])
return reply
`
