-- pack-rollups.lua: packs daily rollups into their month hashes (pack-rollup.lua, prepended to
-- this script), for a writer that is not apply-batch.lua: the replay's fold writer calls it at the
-- end of its MULTI, after everything else it writes (projections/projector/write-state.ts).
--
-- KEYS      pairs: day hash, month hash
-- ARGV[1]   n, then ARGV[2 .. 1 + n] the rollup fields (ROLLUP_FIELDS)
-- ARGV[..]  per pair: the day's field in the month hash (DD) and the month hash's expiry (unix seconds)
local nf = tonumber(ARGV[1])
local fields = {unpack(ARGV, 2, 1 + nf)}
local at = 2 + nf
for i = 1, #KEYS, 2 do
  packRollup(KEYS[i], KEYS[i + 1], ARGV[at], ARGV[at + 1], fields)
  at = at + 2
end
return #KEYS / 2
