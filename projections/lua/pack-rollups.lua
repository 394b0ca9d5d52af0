-- pack-rollups.lua: packs daily rollups into their month hashes (pack-rollup.lua, prepended to
-- this script), for a writer that is not apply-batch.lua: the replay's fold writer calls it at the
-- end of its MULTI, after everything else it writes (projections/projector/write-state.ts).
--
-- KEYS      triples: day hash, month hash, the org's key index
-- ARGV[1..] nf, the nf rollup fields (ROLLUP_FIELDS), nc, the nc contact-day fields (CONTACT_DAY_FIELDS)
-- ARGV[..]  per triple: the day's field in the month hash (DD), the month hash's expiry (unix seconds)
--           and which fields it packs (r: the rollup fields, c: the contact-day fields)
local fields, at = readPackHeader(1)
for i = 1, #KEYS, 3 do
  packRollup(KEYS[i], KEYS[i + 1], ARGV[at], ARGV[at + 1], fields[ARGV[at + 2]], KEYS[i + 2])
  at = at + 3
end
return #KEYS / 3
