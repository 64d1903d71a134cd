-- Concurrency release: ARGV[1] gives up its slot in every key of KEYS (absent slots are fine).
--
-- KEYS[i]  sorted set of a concurrency key's holders (see slots_acquire.lua)
-- ARGV[1]  holder
--
-- Returns the number of slots removed.
local removed = 0
for _, key in ipairs(KEYS) do
    removed = removed + redis.call('ZREM', key, ARGV[1])
end
return removed
