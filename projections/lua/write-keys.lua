-- write-keys.lua: a fresh projection's keys as the fold drained them (projections/projector/write-state.ts,
-- inside its MULTI): one script call per chunk of keys instead of an HSET, HINCRBYs and an EXPIREAT each.
--
-- KEYS     the keys of the chunk
-- ARGV     per key, in KEYS order: expireAt (unix seconds, '' for none), ns, ni, then ns field/value
--          pairs (HSET: final values, or every field of a key written for the first time), then ni
--          field/increment pairs (HINCRBY: counters of a key an earlier write of the build wrote)
local at = 1
for i = 1, #KEYS do
  local expireAt, ns, ni = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  at = at + 3
  if ns > 0 then
    redis.call('HSET', KEYS[i], unpack(ARGV, at, at - 1 + 2 * ns))
    at = at + 2 * ns
  end
  for _ = 1, ni do
    redis.call('HINCRBY', KEYS[i], ARGV[at], ARGV[at + 1])
    at = at + 2
  end
  -- after the writes: an expiry already past deletes what they wrote, as EXPIREAT after HSET would
  if expireAt ~= '' then
    redis.call('EXPIREAT', KEYS[i], expireAt)
  end
end
return #KEYS
