-- write-keys.lua: a fresh projection's keys, each written once (projections/projector/write-state.ts,
-- inside its MULTI): one script call per chunk of keys instead of an HSET and an EXPIREAT each.
--
-- KEYS     the keys of the chunk
-- ARGV     per key, in KEYS order: expireAt (unix seconds, '' for none), n, then n field/value pairs
local at = 1
for i = 1, #KEYS do
  local expireAt, n = ARGV[at], tonumber(ARGV[at + 1])
  if n > 0 then
    redis.call('HSET', KEYS[i], unpack(ARGV, at + 2, at + 1 + 2 * n))
  end
  if expireAt ~= '' then
    redis.call('EXPIREAT', KEYS[i], expireAt)
  end
  at = at + 2 + 2 * n
end
return #KEYS
