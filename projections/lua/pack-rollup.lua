-- pack-rollup.lua: the one definition of how a daily rollup is packed into its month hash for
-- reads (projections/keys.ts, orgm/senderm/templatem). Not a script of its own: it is prepended
-- to every script that writes rollups (apply-batch.lua, pack-rollups.lua), which call it after
-- every other write of theirs, expiries included, so the packed day is what the day hash holds.
--
-- day       the daily rollup hash
-- month     its month hash; `field` the day's DD there
-- expireAt  the day hash's expiry (unix seconds): the month hash's only ever moves later, to its
--           latest day's (a key without one gets it; one in the past deletes a key that had none)
-- fields    ROLLUP_FIELDS, in order: the packed value is their values joined by ',', a missing one empty
local function packRollup(day, month, field, expireAt, fields)
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
  redis.call('HSET', month, field, table.concat(values, ','))
  if redis.call('EXPIREAT', month, expireAt, 'NX') == 0 then
    redis.call('EXPIREAT', month, expireAt, 'GT')
  end
end
