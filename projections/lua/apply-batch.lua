-- apply-batch.lua: applies one partition batch of the KPI projector atomically with its offset.
--
-- KEYS[1]   {P:vV}:offsets:<topic>   hash partition -> next offset to read
-- KEYS[2]   P:proj:current           only when ARGV[5] is not '' (the live projector follows the pointer)
-- KEYS[3]   P:proj:hold              only when ARGV[5] is not '': a replay holds the live projection to switch it
-- KEYS[..]  then every key the payload names, by index into KEYS (all under the {P:vV} hash tag)
-- ARGV[1]   partition
-- ARGV[2]   offset of the batch's first record
-- ARGV[3]   next offset (offset of the batch's last record + 1)
-- ARGV[4]   section sizes "i s lo hi d a x y e p" (entries, not ARGV items), built by
--           projections/projector/apply-args.ts; the entries follow flat from ARGV[8 + 2m] on
--           (k is a KEYS index). The writes that depend on state (first-time flags, the click-burst
--           rule) were decided by the projector from what the keys held before the batch
--           (projections/projector/delta.ts); the fence below makes that state still current:
--             i  k field by                  HINCRBY
--             s  k n (field value)*n         HSET (one call per key)
--             lo k field value               HSET when absent or smaller (firstOpenedAt)
--             hi k field value               HSET when absent or larger (lastOpenedAt)
--             d  k n field*n                 HDEL (flags a click burst took back)
--             a  k n member*n                SADD (org key index, seen eventIds)
--             x  k unixSeconds               EXPIREAT NX, else GT: only later than the key's expiry (or
--                                            when it has none): every projection key, at the HISTORY_DAYS horizon
--             y  k unixSeconds               EXPIREAT NX (when the key has none): a key whose expiry is a
--                                            function of the key (a day's, an email's with a known send)
--             e  k seconds                   EXPIRE (seen sets)
--             p  (header, always: nf field*nf nc field*nc, ROLLUP_FIELDS then CONTACT_DAY_FIELDS)
--                dk mk field unixSeconds kind ik
--                                           a daily rollup (kind r) or contact day (kind c) packed into
--                                           its month hash (pack-rollup.lua), after every other write;
--                                           ik the org's key index
-- ARGV[5]   '' or the version V this batch writes to; when given, KEYS[2] is P:proj:current (default 1)
-- ARGV[6]   the offset the version starts at when nothing is stored for the partition
-- ARGV[7]   '' or "k m": the purge fence, KEYS[k] is P:purge:fence (sha1(orgId) -> purgedAt) and
--           ARGV[8 .. 7 + 2m] are m pairs (orgId, the purgedAt the batch was gated with, -1 for none),
--           one per org the batch writes
--
-- The fence is two-sided: a batch is applied only when it starts exactly where the stored offset
-- (or, with nothing stored, the version's start) says the version ends. Anything else writes
-- nothing and returns {0, stored} (stored is -1 when nothing is stored): ahead means another
-- instance applied it; behind or missing means Redis lost writes, and the runner rebuilds.
-- Returns {1} when applied; {2, currentVersion} when ARGV[5] is given and the current
-- version is no longer V (a replay switched it); {3, holder} while a replay holds the projection
-- to switch it; {4, orgId} when retention fenced a purge of orgId that the batch was not gated
-- with (the runner waits for the control topic again and re-gates: DESIGN §2, a purge is ordered
-- with the processors). In none of those cases is anything written.
if ARGV[5] ~= '' then
  -- no pointer: version 1 is live (projections/current-version.ts)
  local current = redis.call('GET', KEYS[2]) or '1'
  if tonumber(current) ~= tonumber(ARGV[5]) then
    return {2, current}
  end
  local hold = redis.call('GET', KEYS[3])
  if hold then
    return {3, hold}
  end
end
local stored = redis.call('HGET', KEYS[1], ARGV[1])
local expected = tonumber(stored or ARGV[6])
if expected ~= tonumber(ARGV[2]) then
  return {0, stored or -1}
end

local at = 8
if ARGV[7] ~= '' then
  local fenceKey, m = string.match(ARGV[7], '(%d+) (%d+)')
  fenceKey = KEYS[tonumber(fenceKey)]
  for i = 0, tonumber(m) - 1 do
    local org, known = ARGV[8 + 2 * i], tonumber(ARGV[9 + 2 * i])
    local fence = redis.call('HGET', fenceKey, redis.sha1hex(org))
    if fence and tonumber(fence) > known then
      return {4, org}
    end
  end
  at = 8 + 2 * tonumber(m)
end

local n = {}
for count in string.gmatch(ARGV[4], '%d+') do
  n[#n + 1] = tonumber(count)
end
local function next3()
  local k, field, v = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  at = at + 3
  return KEYS[tonumber(k)], field, v
end
for _ = 1, n[1] do
  local k, field, by = next3()
  redis.call('HINCRBY', k, field, by)
end
for _ = 1, n[2] do
  local k, count = KEYS[tonumber(ARGV[at])], tonumber(ARGV[at + 1])
  redis.call('HSET', k, unpack(ARGV, at + 2, at + 1 + 2 * count))
  at = at + 2 + 2 * count
end
for _ = 1, n[3] do
  local k, field, value = next3()
  local cur = redis.call('HGET', k, field)
  if not cur or tonumber(value) < tonumber(cur) then
    redis.call('HSET', k, field, value)
  end
end
for _ = 1, n[4] do
  local k, field, value = next3()
  local cur = redis.call('HGET', k, field)
  if not cur or tonumber(value) > tonumber(cur) then
    redis.call('HSET', k, field, value)
  end
end
for _ = 1, n[5] do
  local k, count = KEYS[tonumber(ARGV[at])], tonumber(ARGV[at + 1])
  redis.call('HDEL', k, unpack(ARGV, at + 2, at + 1 + count))
  at = at + 2 + count
end
for _ = 1, n[6] do
  local k, count = KEYS[tonumber(ARGV[at])], tonumber(ARGV[at + 1])
  redis.call('SADD', k, unpack(ARGV, at + 2, at + 1 + count))
  at = at + 2 + count
end
-- An expiry only moves later (the newest event of a key wins, whatever the order batches of
-- different partitions arrive in); one in the past deletes a key that had none (beyond the horizon).
-- NX gives a key without one its expiry; GT moves an existing one later only (Redis >= 7.0: one or
-- two calls, where PTTL, TIME and EXPIREAT took up to three).
for _ = 1, n[7] do
  local k, seconds = KEYS[tonumber(ARGV[at])], ARGV[at + 1]
  if redis.call('EXPIREAT', k, seconds, 'NX') == 0 then
    redis.call('EXPIREAT', k, seconds, 'GT')
  end
  at = at + 2
end
-- set once: only for a key that has none
for _ = 1, n[8] do
  redis.call('EXPIREAT', KEYS[tonumber(ARGV[at])], ARGV[at + 1], 'NX')
  at = at + 2
end
for _ = 1, n[9] do
  local k, seconds = KEYS[tonumber(ARGV[at])], ARGV[at + 1]
  redis.call('EXPIRE', k, seconds)
  at = at + 2
end
-- ---- section p: daily rollups packed for reads, last (after the expiries that may delete a day) ----
local packFields
packFields, at = readPackHeader(at)
for _ = 1, n[10] do
  packRollup(KEYS[tonumber(ARGV[at])], KEYS[tonumber(ARGV[at + 1])], ARGV[at + 2], ARGV[at + 3], packFields[ARGV[at + 4]], KEYS[tonumber(ARGV[at + 5])])
  at = at + 6
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {1}
