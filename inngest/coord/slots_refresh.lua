-- Concurrency refresh, the reconcile path: re-assert (KEYS[i], ARGV[3 + i]) pairs, re-creating
-- slots that are missing (after a restart or FLUSHALL) without looking at any limit.
--
-- KEYS[i]    sorted set of a concurrency key's holders (see slots_acquire.lua); may repeat
-- ARGV[1]    now (µs since the epoch, the caller's clock)
-- ARGV[2]    lease expiry for every pair (µs)
-- ARGV[3]    extra key TTL beyond the latest lease in the set (ms), against clock skew
-- ARGV[3+i]  holder of the pair with KEYS[i]
--
-- Returns the number of slots that had to be re-created.
local now = tonumber(ARGV[1])
local expires = ARGV[2]
local grace_ms = tonumber(ARGV[3])
local created = 0
for i, key in ipairs(KEYS) do
    -- GT: extend, never shorten (another process may have asserted a later expiry).
    created = created + redis.call('ZADD', key, 'GT', expires, ARGV[3 + i])
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', key, math.ceil((tonumber(last[2]) - now) / 1000) + grace_ms)
end
return created
