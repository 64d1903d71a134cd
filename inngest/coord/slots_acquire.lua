-- Concurrency acquire, all or nothing: ARGV[1] gets a slot in every key of KEYS, or in none.
--
-- KEYS[i]  sorted set of a concurrency key's holders, member = holder, score = lease expiry (µs)
-- ARGV[1]  holder
-- ARGV[2]  now (µs since the epoch, the caller's clock)
-- ARGV[3]  lease expiry for the holder (µs)
-- ARGV[4]  extra key TTL beyond the latest lease in the set (ms), against clock skew
-- ARGV[4+i] limit of KEYS[i] (>= 1)
--
-- Returns {0, 0} when granted, or {i, n}: KEYS[i] was the first key with no room, holding n
-- live holders. Expired holders of every claimed key are removed either way (housekeeping only;
-- a refused call adds nothing for ARGV[1]).
local holder = ARGV[1]
local now = tonumber(ARGV[2])
local expires = ARGV[3]
local grace_ms = tonumber(ARGV[4])

-- Check every key before touching any: the refusal must leave the holder's slots unchanged.
for i, key in ipairs(KEYS) do
    -- A lease expiring at exactly `now` has expired (the same boundary as in PostgreSQL).
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if not redis.call('ZSCORE', key, holder) then
        local n = redis.call('ZCARD', key)
        if n >= tonumber(ARGV[4 + i]) then
            return {i, n}
        end
    end
end

for _, key in ipairs(KEYS) do
    -- GT: a lease is extended, never shortened, by a call carrying an older clock.
    redis.call('ZADD', key, 'GT', expires, holder)
    -- The set lives as long as its longest lease (plus grace), so keys of per-value limits that
    -- nobody touches again vanish on their own.
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', key, math.ceil((tonumber(last[2]) - now) / 1000) + grace_ms)
end
return {0, 0}
