-- lock-release.lua: deletes a lock only if the caller still holds it.
--
-- KEYS[1]  the lock key (e.g. P:replay:lock)
-- ARGV[1]  the value the holder set (SET NX PX)
--
-- Returns 1 when released, 0 when the lock is gone or held by someone else.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
