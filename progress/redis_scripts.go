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
  redis.call('HINCRBY', meta, 'rev', 1)
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
// 6 set of every module named since the last reset, 7 this change's undo
// record, 8 republished hash, 9 set of producer → consumer edges, 10… (an
// undo) the undo records of the changes it takes back.
// ARGV: 1 change JSON, 2 history entry JSON, 3 idempotency TTL seconds,
// 4 history limit, 5 change time ms, 6 actor, 7 token of this Apply call,
// 8 the state decided ("" for an undo: it puts the state back itself),
// 9 the state instead when no module is left listed ("" for none),
// 10 undo TTL seconds, then pairs of a meta field and the value the
// decision read there (see guarded).
// The undo record (undo.go) lists what the change touched, each as
// {kind, key, before, after}: m a module's record, n its membership of the
// named set, r its record among the republished, s the state fields; false
// is absent.
// The idempotency key keeps the token and the reply, so a resend of the same
// call gets its reply back while any other call with the key is a duplicate.
// An add or done gets its history detail here, from what it did, as
// describeModules writes it; one that did nothing is not logged.
// Returns {1} for a duplicate, {2} when a field read has moved (decide again),
// {3} when the environment is no longer at the change's ifrev (ErrChanged),
// {4} when it was reset after the change's message was sent (ErrStartedAgain),
// else {0, state, remaining, became_empty, added, updated, removed,
// not_found, became_done, kept, state_kept, undid, reopened, marked} with the name lists
// joined by "\n" (module names never contain control characters). Lists
// travel as strings because cjson encodes an empty table as an object, not
// an array.
const applyLua = `
local meta, mods, order, hist, idem, named, repub, edges = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[8], KEYS[9]
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
for i = 11, #ARGV, 2 do
  if (redis.call('HGET', meta, ARGV[i]) or '') ~= ARGV[i + 1] then return {2} end
end
local was = redis.call('HGET', meta, 'state')
local c = cjson.decode(ARGV[1])
if c.ifrev and c.ifrev ~= (redis.call('HGET', meta, 'rev') or '0') then return {3} end
if c.sent and tonumber(redis.call('HGET', meta, 'reset_at') or '0') > c.sent then return {4} end
local at = tonumber(ARGV[5])
local actor = ARGV[6]
local function given(v) return v ~= nil and v ~= cjson.null end
local nfs = tonumber(redis.call('HGET', meta, 'named_fs') or '0')
local nfs0 = nfs
-- A module counts as named once per upgrade, whatever its reason, and stays
-- counted after it is republished: Service Center's failed and skipped
-- counts do not go down when modules are fixed.
local function name(key) if redis.call('SADD', named, key) == 1 then nfs = nfs + 1 end end
-- Producers not prepared sort first: the others get 2^42 ms (year 2109) added.
local function score(m)
  if m.reason == 'producer-not-prepared' or m.producer then return string.format('%.0f', m.at) end
  return string.format('%.0f', m.at + 4398046511104)
end
local function group(reason)
  if reason == 'failed' or reason == 'skipped' then return reason end
  return 'reported'
end
local function clearprep() redis.call('HDEL', meta, 'percent', 'expected', 'current', 'total', 'prep_at') end
local function setnum(field, v)
  if given(v) then redis.call('HSET', meta, field, string.format('%d', v)) end
end
local before = redis.call('ZCARD', order)
-- No news of this upgrade yet: the change is its first (Environment.FirstNews).
local fresh = (was or 'following') == 'following' and before == 0 and redis.call('HLEN', repub) == 0 and
  not redis.call('HGET', meta, 'prepared') and
  not redis.call('HGET', meta, 'failed') and not redis.call('HGET', meta, 'skipped')
local added, updated, removed, notfound, moved, producers, reopened, marked = {}, {}, {}, {}, {}, {}, {}, {}
local covered, detail = 0, nil
-- republish keeps a module taken off the list (its record cur) in the
-- republished hash under key, with who and when.
-- A module name as a history detail lists it (quotedName in Go).
local function qname(n)
  if string.find(n, '[,;"]') then return '"' .. (string.gsub(n, '"', '""')) .. '"' end
  return n
end
local function namelist(t)
  local q = {}
  for i, n in ipairs(t) do q[i] = qname(n) end
  return table.concat(q, ', ')
end
local function republish(key, cur)
  local m = cjson.decode(cur)
  m.done_by, m.done_at = actor, at
  redis.call('HSET', repub, key, cjson.encode(m))
  return m.name
end
local k = c.kind
-- The states that follow the preparation's outcome (lifecycle.go's stage 2 and later).
local outcome = {['finished-with-errors'] = true, failed = true, ready = true, republishing = true, done = true}
local SNAP = {'state', 'percent', 'expected', 'current', 'total', 'prepared', 'failed', 'skipped', 'covered', 'prep_at', 'news_at', 'reset_at'} -- new fields last: older snapshots restore what they hold
-- n: the state's first n fields (a snapshot taken before fields were added holds fewer).
local function get(kind, key, n)
  if kind == 'm' then return redis.call('HGET', mods, key) end
  if kind == 'n' then return redis.call('SISMEMBER', named, key) == 1 and '1' or false end
  if kind == 'r' then return redis.call('HGET', repub, key) end
  return cjson.encode(redis.call('HMGET', meta, unpack(SNAP, 1, n or #SNAP)))
end
local touched, kept, keptstate, undid = {}, {}, 0, {}
if k == 'undo' then
  for i = 10, #KEYS do
    local r = redis.call('GET', KEYS[i])
    if r then undid[#undid + 1] = {KEYS[i], cjson.decode(r)} end
  end
  if #undid == 0 then return redis.error_reply('NOUNDO nothing to undo') end
elseif k == 'reset' or (k == 'done' and c.all) then
  local listed = redis.call('ZRANGE', order, 0, -1)
  for _, key in ipairs(listed) do touched[#touched + 1] = {'m', key} end
  if k == 'reset' then -- done leaves the named set as it is
    for _, key in ipairs(redis.call('SMEMBERS', named)) do touched[#touched + 1] = {'n', key} end
    for _, key in ipairs(redis.call('HKEYS', repub)) do touched[#touched + 1] = {'r', key} end
  else
    for _, key in ipairs(listed) do touched[#touched + 1] = {'r', key} end
  end
elseif k == 'preparing' and outcome[was or ''] then
  -- A new run (see below): the modules it no longer counts as named.
  for _, key in ipairs(redis.call('HKEYS', repub)) do
    if not redis.call('ZSCORE', order, key) then touched[#touched + 1] = {'n', key} end
  end
else
  for _, m in ipairs(c.modules or {}) do
    for _, key in ipairs({m.key, unpack(m.legacy or {})}) do
      touched[#touched + 1] = {'m', key}
      touched[#touched + 1] = {'n', key}
      touched[#touched + 1] = {'r', key}
    end
  end
end
touched[#touched + 1] = {'s', ''}
for _, t in ipairs(touched) do t[3] = get(t[1], t[2]) end
if k == 'undo' then
  local left = {}
  for i = #undid, 1, -1 do
    local items = undid[i][2].t
    -- A module any part of which changed since (listed, named, republished)
    -- is left whole, as the state is: so are its earlier values (left holds
    -- across the records, newest first). undo.go does the same.
    local names = {}
    for j = 1, #items do
      local kind, key, b, a = items[j][1], items[j][2], items[j][3], items[j][4]
      if (kind == 'm' or kind == 'r') and not names[key] then names[key] = cjson.decode(b or a).name end
    end
    for j = 1, #items do
      local kind, key, a = items[j][1], items[j][2], items[j][4]
      if not left[key] and get(kind, key, kind == 's' and a and #cjson.decode(a) or nil) ~= a then
        left[key] = true
        if kind == 's' then keptstate = 1 else kept[#kept + 1] = names[key] or key end
      end
    end
    for j = 1, #items do
      local kind, key, b, a = items[j][1], items[j][2], items[j][3], items[j][4]
      local mod = names[key]
      if left[key] then
        -- changed since: left as it is
      elseif kind == 'm' then
        if b then
          local w = cjson.decode(b)
          redis.call('HSET', mods, key, b)
          redis.call('ZADD', order, score(w), key)
          if not a then added[#added + 1] = mod
          elseif cjson.decode(a).reason ~= w.reason then updated[#updated + 1] = mod end -- not a report counted again
        else
          redis.call('HDEL', mods, key)
          redis.call('ZREM', order, key)
          removed[#removed + 1] = mod
        end
      elseif kind == 'n' then
        if b then nfs = nfs + redis.call('SADD', named, key) else nfs = nfs - redis.call('SREM', named, key) end
      elseif kind == 'r' then
        if b then redis.call('HSET', repub, key, b) else redis.call('HDEL', repub, key) end
      else
        for f, v in ipairs(cjson.decode(b)) do
          if v then redis.call('HSET', meta, SNAP[f], v) else redis.call('HDEL', meta, SNAP[f]) end
        end
      end
    end
    redis.call('DEL', undid[i][1])
    undid[i] = undid[i][2].d
  end
  -- lifecycle.go's Settle: the state the list and counts call for now.
  local state, n = redis.call('HGET', meta, 'state') or 'following', redis.call('ZCARD', order)
  local f, s = redis.call('HGET', meta, 'failed'), redis.call('HGET', meta, 'skipped')
  local unnamed = 0
  if redis.call('HGET', meta, 'covered') ~= '1' and (f or s) then unnamed = math.max(0, tonumber(f or '0') + tonumber(s or '0') - nfs) end
  if state == 'done' and n > 0 then state = 'republishing'
  elseif state == 'republishing' and n == 0 and unnamed == 0 then state = 'done'
  elseif state == 'ready' and n == 0 and f and s and tonumber(f) + tonumber(s) == 0 then state = 'done' end
  redis.call('HSET', meta, 'state', state)
  if state ~= (was or 'following') then keptstate = 0 end -- not left as it was after all
  local e = cjson.decode(ARGV[2])
  e.detail = 'undo of ' .. table.concat(undid, '; ')
  if #kept > 0 or keptstate == 1 then
    local what = {unpack(kept)}
    if keptstate == 1 then what[#what + 1] = 'state' end
    e.detail = e.detail .. ' (changed since, left as is: ' .. namelist(what) .. ')'
  end
  ARGV[2] = cjson.encode(e)
elseif k == 'preparing' then
  if was ~= 'preparing' then clearprep() end
  if outcome[was or ''] then
    -- The preparation runs again after an outcome (its step failed, or
    -- recorded anyway after a summary): its summary counts what this run
    -- failed and skipped. Modules republished before it do not cover those
    -- counts; those still listed do (bolt.go does the same).
    for _, t in ipairs(touched) do
      if t[1] == 'n' then nfs = nfs - redis.call('SREM', named, t[2]) end
    end
    redis.call('HDEL', meta, 'prepared', 'failed', 'skipped', 'covered')
  end
  -- Preparation.At: it began, or a banner or counter showed where it is.
  if given(c.percent) or given(c.current) or not redis.call('HGET', meta, 'prep_at') then
    redis.call('HSET', meta, 'prep_at', ARGV[5])
  end
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
  for _, e in ipairs(c.edges or {}) do redis.call('SADD', edges, e) end
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
      -- The error that named it, learned after it was listed.
      local learned = (old.error == nil or old.error == '') and m.error and m.error ~= ''
      if learned then old.error = m.error end
      -- A failed or skipped module stays so when another message reports
      -- it; shown to be a producer not prepared, it goes first all the same.
      local reason = c.reason
      if group(c.reason) == 'reported' and group(old.reason) ~= 'reported' then reason = old.reason end
      local producer = old.producer or old.reason == 'producer-not-prepared' or c.reason == 'producer-not-prepared'
      local flag = producer and reason ~= 'producer-not-prepared' or nil
      if flag and not old.producer and reason == old.reason then producers[#producers + 1] = old.name end
      if reason ~= old.reason then
        moved[#moved + 1] = qname(old.name) .. ' (was ' .. old.reason .. ')'
        updated[#updated + 1] = old.name
      end
      -- Reported again by someone else: counted, so that undoing the first
      -- report leaves it.
      local again = actor ~= old.by
      if again then old.also = (old.also or 0) + 1 end
      if learned or reason ~= old.reason or flag ~= old.producer or again then
        if reason == old.reason and (learned or flag ~= old.producer) then marked[#marked + 1] = old.name end
        old.reason, old.producer = reason, flag
        redis.call('HSET', mods, key, cjson.encode(old))
        redis.call('ZADD', order, score(old), key)
      end
    else
      -- Marked republished in this upgrade, reported again: said so, and a
      -- failed or skipped module keeps its group.
      local reason, was = c.reason, redis.call('HGET', repub, m.key)
      if was then
        local old = cjson.decode(was)
        if group(c.reason) == 'reported' and group(old.reason) ~= 'reported' then reason = old.reason end
        reopened[#reopened + 1] = table.concat({old.name, old.done_by or '', string.format('%.0f', old.done_at or 0)}, '\t')
      end
      -- Shown to be a producer not prepared, a failed module goes first.
      local flag = (c.reason == 'producer-not-prepared' and reason ~= c.reason) or nil
      redis.call('HSET', mods, m.key, cjson.encode({name = m.name, reason = reason, by = actor, at = at, source = c.source, error = m.error, producer = flag}))
      redis.call('ZADD', order, score({reason = reason, at = at, producer = flag}), m.key)
      name(m.key)
      added[#added + 1] = m.name
    end
  end
  local parts = {}
  if #added > 0 then
    local noun = 'modules'
    if #added == 1 then noun = 'module' end
    parts[#parts + 1] = string.format('%d %s reported (%s): %s', #added, noun, c.reason, namelist(added))
  end
  if #moved > 0 then parts[#parts + 1] = 'moved to ' .. c.reason .. ': ' .. table.concat(moved, ', ') end
  if #producers > 0 then parts[#parts + 1] = 'producers not prepared, to republish first: ' .. namelist(producers) end
  detail = table.concat(parts, '; ')
elseif k == 'done' then
  if c.all then
    -- done all also covers what Service Center counted and nobody named;
    -- with no counts yet, not while the preparation runs or after it failed (bolt.go).
    local f, s = redis.call('HGET', meta, 'failed'), redis.call('HGET', meta, 'skipped')
    if redis.call('HGET', meta, 'covered') ~= '1' and (f or s) then
      covered = math.max(0, tonumber(f or '0') + tonumber(s or '0') - nfs)
    end
    if f or s or (was ~= 'preparing' and was ~= 'failed') then redis.call('HSET', meta, 'covered', '1') end
    for _, key in ipairs(redis.call('ZRANGE', order, 0, -1)) do
      local cur = redis.call('HGET', mods, key)
      if cur then removed[#removed + 1] = republish(key, cur) end
    end
    redis.call('DEL', mods, order)
    detail = ''
    if #removed > 0 or covered > 0 then
      detail = 'republished all'
      if #removed > 0 then detail = detail .. ': ' .. namelist(removed) end
      if covered > 0 then detail = detail .. string.format('; %d counted by Service Center but not named', covered) end
    end
  else
    for _, m in ipairs(c.modules or {}) do
      local found
      for _, key in ipairs({m.key, unpack(m.legacy or {})}) do
        local cur = redis.call('HGET', mods, key)
        if cur then
          redis.call('HDEL', mods, key)
          redis.call('ZREM', order, key)
          if not found then found = republish(m.key, cur) end
        end
      end
      if found then
        removed[#removed + 1] = found
      else
        notfound[#notfound + 1] = m.name
        -- Marked republished already, confirmed by someone else: counted,
        -- so that undoing the first mark leaves it.
        local was = redis.call('HGET', repub, m.key)
        if was then
          local w = cjson.decode(was)
          if w.done_by ~= actor then
            w.also = (w.also or 0) + 1
            redis.call('HSET', repub, m.key, cjson.encode(w))
          end
        end
      end
    end
    detail = ''
    if #removed > 0 then detail = 'republished: ' .. namelist(removed) end
  end
elseif k == 'reset' then
  redis.call('DEL', mods, order, named, repub)
  redis.call('HDEL', meta, 'percent', 'expected', 'current', 'total', 'prep_at', 'prepared', 'failed', 'skipped', 'covered', 'news_at')
  redis.call('HSET', meta, 'reset_at', ARGV[5])
  nfs = 0
end
local after = redis.call('ZCARD', order)
local state = ARGV[8]
if state == '' then state = redis.call('HGET', meta, 'state') or 'following' end
if after == 0 and ARGV[9] ~= '' then state = ARGV[9] end
-- An upgrade from Platform Server 10: nothing listed, yet done all ends it.
if k == 'done' and c.all and detail == '' and was ~= 'done' and state == 'done' then detail = 'republished all' end
if k == 'done' and not c.all and #removed == 0 then state = was or 'following' end -- none of its modules was listed
if detail == '' and (k == 'add' or (k == 'done' and not c.all)) and state == (was or 'following') then
  -- An add of what is listed already, a done of nothing listed: nothing
  -- changed, so neither who changed the environment last (bolt.go too).
  -- It may still name a module listed but not named (an undo listed it
  -- after a new run began): the count must follow the named set.
  if nfs ~= nfs0 then redis.call('HSET', meta, 'named_fs', string.format('%d', nfs)) end
else
  redis.call('HSET', meta, 'state', state, 'named_fs', string.format('%d', nfs), 'updated_at', ARGV[5], 'updated_by', actor)
  redis.call('HINCRBY', meta, 'rev', 1)
  if fresh and k ~= 'reset' and k ~= 'undo' then redis.call('HSET', meta, 'news_at', ARGV[5]) end
end
if detail then
  local e = cjson.decode(ARGV[2])
  -- "add (recorded anyway)": the life cycle's note stays with the detail.
  if detail ~= '' then detail = detail .. (string.match(e.detail or '', ' %(recorded anyway%)$') or '') end
  e.detail = detail
  ARGV[2] = cjson.encode(e)
end
if detail ~= '' then
  redis.call('RPUSH', hist, ARGV[2])
  redis.call('LTRIM', hist, -tonumber(ARGV[4]), -1)
end
local became, done = 0, 0
if k == 'done' and before > 0 and after == 0 then became = 1 end
if was ~= 'done' and state == 'done' then done = 1 end
local reply = {0, state, after, became,
  table.concat(added, '\n'), table.concat(updated, '\n'), table.concat(removed, '\n'), table.concat(notfound, '\n'), done,
  table.concat(kept, '\n'), keptstate, table.concat(undid, '; '), table.concat(reopened, '\n'), table.concat(marked, '\n'), was or 'following'}
redis.call('SET', idem, cjson.encode({t = ARGV[7], r = reply}), 'EX', ARGV[3])
if k ~= 'undo' then
  local items = {}
  for _, t in ipairs(touched) do
    local now = get(t[1], t[2])
    if now ~= t[3] then items[#items + 1] = {t[1], t[2], t[3], now} end
  end
  redis.call('SET', KEYS[7], cjson.encode({d = cjson.decode(ARGV[2]).detail, t = items}), 'EX', ARGV[10])
end
return reply
`
