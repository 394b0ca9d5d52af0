-- apply-batch.lua: applies one partition batch of the KPI projector atomically with its offset.
--
-- KEYS[1]   {P:vV}:offsets:<topic>   hash partition -> next offset to read
-- KEYS[2..] every key the payload names, by index into KEYS (all under the {P:vV} hash tag)
-- ARGV[1]   partition
-- ARGV[2]   offset of the batch's first record
-- ARGV[3]   next offset (offset of the batch's last record + 1)
-- ARGV[4]   payload JSON, built by projections/projector/apply-args.ts:
--             i  [[k, field, by]]            HINCRBY
--             s  [[k, field, value]]         HSET
--             lo [[k, field, value]]         HSET when absent or smaller (firstOpenedAt)
--             hi [[k, field, value]]         HSET when absent or larger (lastOpenedAt)
--             f  [[k, field, [[k, field, by]]]]  HSETNX the flag; when new, HINCRBY each
--             a  [[k, [member...]]]          SADD (org key index, seen eventIds)
--             x  [[k, unixSeconds]]          EXPIREAT (contact-day keys)
--             e  [[k, seconds]]              EXPIRE (seen sets)
--
-- Returns {1, newFlags} when applied; {0, storedOffset} when fenced: the stored offset is past
-- this batch's first offset, so another instance already applied it and nothing is written.
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored and tonumber(stored) > tonumber(ARGV[2]) then
  return {0, stored}
end

local d = cjson.decode(ARGV[4])
for _, op in ipairs(d.i) do
  redis.call('HINCRBY', KEYS[op[1]], op[2], op[3])
end
for _, op in ipairs(d.s) do
  redis.call('HSET', KEYS[op[1]], op[2], op[3])
end
for _, op in ipairs(d.lo) do
  local cur = redis.call('HGET', KEYS[op[1]], op[2])
  if not cur or tonumber(op[3]) < tonumber(cur) then
    redis.call('HSET', KEYS[op[1]], op[2], op[3])
  end
end
for _, op in ipairs(d.hi) do
  local cur = redis.call('HGET', KEYS[op[1]], op[2])
  if not cur or tonumber(op[3]) > tonumber(cur) then
    redis.call('HSET', KEYS[op[1]], op[2], op[3])
  end
end
local newFlags = 0
for _, op in ipairs(d.f) do
  if redis.call('HSETNX', KEYS[op[1]], op[2], '1') == 1 then
    newFlags = newFlags + 1
    for _, inc in ipairs(op[3]) do
      redis.call('HINCRBY', KEYS[inc[1]], inc[2], inc[3])
    end
  end
end
for _, op in ipairs(d.a) do
  redis.call('SADD', KEYS[op[1]], unpack(op[2]))
end
for _, op in ipairs(d.x) do
  redis.call('EXPIREAT', KEYS[op[1]], op[2])
end
for _, op in ipairs(d.e) do
  redis.call('EXPIRE', KEYS[op[1]], op[2])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {1, newFlags}
