-- control-apply.lua: applies one organisation's control events to the control store atomically
-- (ControlStore.apply). The org state was evolved by the caller from the hash it read at
-- revision ARGV[2]; it is written only if the hash is still at that revision (compare-and-set:
-- the caller re-reads and retries otherwise), so two API instances switching at once never
-- leave the older `enabled`. Recipient preferences carry their time and are compared here.
--
-- KEYS[1]  P:ctl:orgs                       set of org ids
-- KEYS[2]  P:ctl:org:<org>                  org state hash (with a `rev` counter)
-- KEYS[3]  P:ctl:contacts:<org>             preferences "<0|1>:<at>" by id, one hash per type:
-- KEYS[4]  P:ctl:leads:<org>
-- KEYS[5]  P:ctl:accounts:<org>
-- KEYS[6]  P:suppress:<org>                 set of suppression hashes ("do not allow")
-- KEYS[7]  P:ctl:unreadable                 unresolved unreadable control records
-- KEYS[8]  P:purge:fence                    sha1(orgId) -> purgedAt of the org's latest purge
-- ARGV[1]  org id
-- ARGV[2]  '<rev>:<fence>': the revision the caller read ('' when the hash did not exist) and the
--          org's purge fence it read ('' when none): a purge fenced since is a change as well
-- ARGV[3]  purgedAt of the evolved state ('' when never purged)
-- ARGV[4]  1 when these events hold an OrgPurged: the org's plain preferences up to purgedAt go
-- ARGV[5]  1 when the evolved state is a purged org with nothing after its purge (purged-org.ts):
--          its hash and its P:ctl:orgs entry go, and the purge is kept in the fence (no org id in
--          clear), from which the caller evolves the org from then on
-- ARGV[6]  n, the number of org state field/value pairs that follow (0 with ARGV[5] = 1)
-- ARGV[7 .. 6+2n]                           field, value, ...
-- then     m, the number of preferences, followed by m groups of
--          type index (3 contact, 4 lead, 5 account), id, allow (0|1), at, suppression hash
--          (id '': a preference a purge left sealed, known only by its hash)
-- then     k, the number of resolved unreadable records, followed by k "<partition>:<offset>"
--
-- Returns 1 when applied, 0 when the org hash moved since ARGV[2] (nothing was written).
local rev = redis.call('HGET', KEYS[2], 'rev') or ''
local fence = redis.call('HGET', KEYS[8], redis.sha1hex(ARGV[1])) or ''
if rev .. ':' .. fence ~= ARGV[2] then
  return 0
end
local purgedAt = tonumber(ARGV[3])
if ARGV[5] == '1' and purgedAt ~= nil then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[1], ARGV[1])
  local fenced = tonumber(fence)
  if fenced == nil or fenced < purgedAt then
    redis.call('HSET', KEYS[8], redis.sha1hex(ARGV[1]), ARGV[3])
  end
end
local n = tonumber(ARGV[6])
local i = 7
if n > 0 then
  local fields = {}
  for j = 0, 2 * n - 1 do
    fields[#fields + 1] = ARGV[i + j]
  end
  redis.call('HSET', KEYS[2], unpack(fields))
  redis.call('HINCRBY', KEYS[2], 'rev', 1)
  redis.call('SADD', KEYS[1], ARGV[1])
end
i = i + 2 * n

local m = tonumber(ARGV[i])
i = i + 1
for _ = 1, m do
  local hash = KEYS[tonumber(ARGV[i])]
  local id, allow, atText, suppressed = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local at = tonumber(atText)
  i = i + 5
  local wins = true
  if id == '' or (purgedAt ~= nil and at <= purgedAt) then
    -- before the purge (or sealed, its key gone): never again a plain preference, only the suppression hash
  else
    local stored = redis.call('HGET', hash, id)
    local storedAt = stored and tonumber(string.match(stored, ':(%-?%d+)$')) or nil
    if storedAt ~= nil and storedAt > at then
      wins = false
    else
      redis.call('HSET', hash, id, allow .. ':' .. atText)
    end
  end
  if wins then
    if allow == '0' then
      redis.call('SADD', KEYS[6], suppressed)
    else
      redis.call('SREM', KEYS[6], suppressed)
    end
  end
end

if ARGV[4] == '1' and purgedAt ~= nil then
  for h = 3, 5 do
    local entries = redis.call('HGETALL', KEYS[h])
    for j = 1, #entries, 2 do
      local at = tonumber(string.match(entries[j + 1], ':(%-?%d+)$'))
      if at == nil or at <= purgedAt then
        redis.call('HDEL', KEYS[h], entries[j])
      end
    end
  end
end

local k = tonumber(ARGV[i])
i = i + 1
for _ = 1, k do
  redis.call('HDEL', KEYS[7], ARGV[i])
  i = i + 1
end
return 1
