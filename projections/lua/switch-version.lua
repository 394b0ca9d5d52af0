-- switch-version.lua: makes a replayed projection version the live one, atomically.
--
-- KEYS[1]  P:proj:current      string the version queries read (absent = 1)
-- KEYS[2]  {P:vN}:replay       hash   the replay checkpoint of version N (status building|live)
-- KEYS[3]  P:replay:lock       string the replay lock
-- ARGV[1]  V, the version the replay found live when it started
-- ARGV[2]  N, the version it built
-- ARGV[3]  the lock value this replay holds
-- ARGV[4]  switch time (ISO-8601, informational)
--
-- Returns {1, N} when switched; {0, current} when current is no longer V (nothing written);
-- {-1, holder} when the lock is no longer held by this replay (nothing written).
local lock = redis.call('GET', KEYS[3])
if lock ~= ARGV[3] then
  return {-1, lock or ''}
end
local current = redis.call('GET', KEYS[1]) or '1'
if tonumber(current) ~= tonumber(ARGV[1]) then
  return {0, current}
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'status', 'live', 'switchedAt', ARGV[4])
return {1, ARGV[2]}
