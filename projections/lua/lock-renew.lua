-- lock-renew.lua: extends a lock's TTL only while the caller still holds it.
--
-- KEYS[1]  the lock key (e.g. P:replay:lock)
-- ARGV[1]  the value the holder set (SET NX PX)
-- ARGV[2]  new TTL in milliseconds
--
-- Returns 1 when renewed, 0 when the lock is gone or held by someone else.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
