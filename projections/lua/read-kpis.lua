-- read-kpis.lua: one KPI query in one round trip, atomically: which version is live, the org's
-- control state, and the projection keys the query needs (projections/queries/context.ts).
--
-- KEYS[1]   P:proj:current (no pointer: version 1 is live, projections/current-version.ts)
-- KEYS[2]   P:ctl:org:<org>
-- KEYS[3]   P:ctl:synced:layout2 (the control store's synced mark, projections/keys.ts)
-- KEYS[4..] projection keys of version ARGV[1] (the version the caller believes is live)
-- ARGV[1]   that version
-- ARGV[2]   what to read:
--             'hash'  HGETALL of each key
--             'sum'   HGETALL of KEYS[4], then ARGV[3..] summed over KEYS[5..] (a contact's window)
--             'rows'  ARGV[3..] of each key as HMGET answers them, joined by ',' into one string per key,
--                     a missing field empty (a rollup's daily series: counters only HINCRBY writes,
--                     so never a ','). The caller makes them numbers: in Lua, turning an org
--                     window's 330 strings into numbers cost Redis about as much as reading them,
--                     and 30 bulk strings cost Redis and the API less to send and parse than 330
--             'packed' a daily series from its month hashes (projections/keys.ts, orgm… contactm):
--                     KEYS[4] is {P:vV}:packed, then ARGV[4] hashes read whole (HGETALL: a contact's
--                     own hash), then the month hashes; ARGV[3] the level the read needs, ARGV[5..]
--                     per month hash its count and DD fields. With the marker at that level, one
--                     HMGET per month hash (a missing day nil); below it (a version written before
--                     those month hashes) nothing is read: the caller reads the day hashes
-- ARGV[3..] field names ('sum', 'rows')
--
-- Returns {current} alone when the live version is not ARGV[1] (a replay switched it: the caller
-- asks again with that version), else {current, orgHash, syncedMark, ...}:
--   hash: one flat field/value array per key
--   sum:  the first key's flat hash, the sums (one per field), how many of the summed keys exist
--   rows: one string per key, its #fields values joined by ','
--   packed: 1, the whole hashes, then one string (or nil) per day, as 'rows'; or 0 alone below the level
local current = redis.call('GET', KEYS[1]) or '1'
if tonumber(current) ~= tonumber(ARGV[1]) then
  return {current}
end
-- the synced mark's value (false, a nil reply, when there is none: a nil would end the array here)
local out = {current, redis.call('HGETALL', KEYS[2]), redis.call('GET', KEYS[3]) or false}
local mode = ARGV[2]
if mode == 'hash' then
  for i = 4, #KEYS do
    out[#out + 1] = redis.call('HGETALL', KEYS[i])
  end
  return out
end
local function rows(firstKey, fields)
  local n = #fields
  for i = firstKey, #KEYS do
    local values = redis.call('HMGET', KEYS[i], unpack(fields))
    -- a missing field is false in Lua: empty in the row, so positions are kept
    for f = 1, n do
      if not values[f] then
        values[f] = ''
      end
    end
    out[#out + 1] = table.concat(values, ',')
  end
  return out
end
if mode == 'packed' then
  if tonumber(redis.call('GET', KEYS[4]) or '0') < tonumber(ARGV[3]) then
    out[4] = 0
    return out
  end
  out[4] = 1
  local heads = tonumber(ARGV[4])
  for i = 5, 4 + heads do
    out[#out + 1] = redis.call('HGETALL', KEYS[i])
  end
  local at = 5
  for i = 5 + heads, #KEYS do
    local n = tonumber(ARGV[at])
    local values = redis.call('HMGET', KEYS[i], unpack(ARGV, at + 1, at + n))
    for d = 1, n do
      out[#out + 1] = values[d]
    end
    at = at + 1 + n
  end
  return out
end
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
if mode == 'sum' then
  out[4] = redis.call('HGETALL', KEYS[4])
  local sums = {}
  for f = 1, #fields do
    sums[f] = 0
  end
  local present = 0
  for i = 5, #KEYS do
    local values = redis.call('HMGET', KEYS[i], unpack(fields))
    local any = false
    for f = 1, #fields do
      local v = values[f]
      if v then
        sums[f] = sums[f] + tonumber(v)
        any = true
      end
    end
    if any then
      present = present + 1
    end
  end
  out[5] = sums
  out[6] = present
  return out
end
if mode == 'rows' then
  return rows(4, fields)
end
return redis.error_reply('read-kpis: unknown mode ' .. tostring(mode))
