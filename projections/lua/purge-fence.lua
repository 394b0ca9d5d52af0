-- purge-fence.lua: records that an organisation was purged, for apply-batch.lua's purge fence.
--
-- KEYS[1]  P:purge:fence   hash sha1(orgId) -> purgedAt of the org's latest purge
-- ARGV[1]  sha1 hex of the orgId (the fence holds no org id)
-- ARGV[2]  purgedAt (epoch ms)
--
-- Only a later purge moves the value (re-running a purge step is harmless). Returns 1.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or tonumber(cur) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
