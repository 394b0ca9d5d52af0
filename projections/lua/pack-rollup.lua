-- pack-rollup.lua: the one definition of how a daily rollup or contact day is packed into its
-- month hash for reads (projections/keys.ts, orgm/senderm/templatem/contactm). Not a script of its own: it is prepended
-- to every script that writes rollups (apply-batch.lua, pack-rollups.lua), which call it after
-- every other write of theirs, expiries included, so the packed day is what the day hash holds.
--
-- day       the daily rollup hash
-- month     its month hash; `field` the day's DD there
-- expireAt  the month hash's expiry (unix seconds), its last day's: a function of the month, so it
--           is set by each write that adds a field (a hash whose fields all predate this write got
--           it when they were added). Plain EXPIREAT: the same value again is harmless, and a
--           HISTORY_DAYS changed since takes effect
-- fields    ROLLUP_FIELDS or CONTACT_DAY_FIELDS, in order: the packed value is their values joined by
--           ',', a missing one empty
-- index     the org's key index: a purge finds the month hash through it, so while the month hash
--           holds a day the index's expiry is moved to the month hash's if earlier (it expires with
--           the org's newest event otherwise, up to a month before the month hash). Once per index
--           and expiry per script; after every expiry the writer sets, so both writers agree
local indexKeptTo = {}
local function keepIndex(index, expireAt)
  local at = tonumber(expireAt)
  if (indexKeptTo[index] or 0) >= at then
    return
  end
  indexKeptTo[index] = at
  if redis.call('EXPIREAT', index, expireAt, 'NX') == 0 then
    redis.call('EXPIREAT', index, expireAt, 'GT')
  end
end

-- The header both writers send before their entries (apply-args.ts PACK_HEADER): nf, the nf
-- ROLLUP_FIELDS, nc, the nc CONTACT_DAY_FIELDS. Returns the field lists by kind ('r', 'c') and
-- the ARGV position after the header.
local function readPackHeader(at)
  local fields = {}
  for _, kind in ipairs({'r', 'c'}) do
    local nf = tonumber(ARGV[at])
    fields[kind] = {unpack(ARGV, at + 1, at + nf)}
    at = at + 1 + nf
  end
  return fields, at
end

local function packRollup(day, month, field, expireAt, fields, index)
  local values = redis.call('HMGET', day, unpack(fields))
  local any = false
  for f = 1, #fields do
    if values[f] then
      any = true
    else
      values[f] = ''
    end
  end
  if not any then
    -- the day hash is gone (beyond the horizon): so is its packed day
    redis.call('HDEL', month, field)
    return
  end
  if redis.call('HSET', month, field, table.concat(values, ',')) == 1 then
    redis.call('EXPIREAT', month, expireAt)
  end
  keepIndex(index, expireAt)
end
