-- GCRA (generic cell rate algorithm) for throttle and rate limit: take one unit from a bucket.
--
-- KEYS[1]  the bucket: its theoretical arrival time (µs since the epoch); absent = full bucket
-- ARGV[1]  now (µs since the epoch, the caller's clock)
-- ARGV[2]  emission interval (µs): one unit comes back per interval
-- ARGV[3]  tolerance (µs): emission interval times the bucket's capacity (the burst)
--
-- Returns 0 when allowed (the unit is taken), otherwise the earliest instant (µs) at which a
-- call can be allowed; a refused call changes nothing. All values are whole microseconds below
-- 2^53, so the arithmetic on Lua doubles is exact.
local now = tonumber(ARGV[1])
local emission = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
    tat = now
end
local new_tat = tat + emission
local allow_at = new_tat - tolerance
if allow_at > now then
    return allow_at
end
-- Once new_tat has passed, the bucket is full again, the same as absent: let it expire then.
-- '%.0f' because tostring() would print 1.7e15 in exponent form and lose digits.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
