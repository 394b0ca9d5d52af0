-- switch-version.lua: makes a replayed projection version the live one, atomically, and only at
-- the exact offsets the live version holds (so every KPI read is the same the instant after).
--
-- KEYS[1]  P:proj:current      string the version queries read (absent = 1)
-- KEYS[2]  {P:vN}:replay       hash   the replay checkpoint of version N (status building|live)
-- KEYS[3]  P:replay:lock       string the replay lock
-- KEYS[4]  {P:vV}:offsets:<t>  hash   the live version's stored offsets
-- KEYS[5]  P:proj:hold         string the replay's hold on the live projector (deleted on switch)
-- ARGV[1]  V, the version the replay found live when it started
-- ARGV[2]  N, the version it built
-- ARGV[3]  the lock value this replay holds
-- ARGV[4]  switch time (ISO-8601, informational)
-- ARGV[5]  the live version's offsets the build reached, "p=o,p=o" sorted by partition
--
-- Returns {1, N} when switched; {0, current} when current is no longer V; {-1, holder} when the
-- lock is no longer held by this replay; {-2, offsets} when the live version moved past the
-- offsets the build reached (the hold expired): nothing is written in those cases.
local lock = redis.call('GET', KEYS[3])
if lock ~= ARGV[3] then
  return {-1, lock or ''}
end
local current = redis.call('GET', KEYS[1]) or '1'
if tonumber(current) ~= tonumber(ARGV[1]) then
  return {0, current}
end
local flat = redis.call('HGETALL', KEYS[4])
local pairs_ = {}
for i = 1, #flat, 2 do
  pairs_[#pairs_ + 1] = {tonumber(flat[i]), flat[i + 1]}
end
table.sort(pairs_, function(a, b) return a[1] < b[1] end)
local parts = {}
for i, p in ipairs(pairs_) do
  parts[i] = p[1] .. '=' .. p[2]
end
local live = table.concat(parts, ',')
if live ~= ARGV[5] then
  return {-2, live}
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[5])
redis.call('HSET', KEYS[2], 'status', 'live', 'switchedAt', ARGV[4])
return {1, ARGV[2]}
