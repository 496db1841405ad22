-- ratelimit.lua - sliding-window rate limits of one subject, one round trip.
--
-- Each limit (count per window) has one hash: field = sub-bucket number,
-- value = messages (or recipients) counted in it. A window is cut into
-- NBUCKETS sub-buckets of width w = ceil(window / NBUCKETS) ms; bucket b
-- covers [b*w, (b+1)*w). The count for the window ending now is the sum of
-- every bucket whose end lies after now - window. That over-counts by at
-- most one bucket's age, never under-counts: no span of `window` ms ever
-- admits more than `count` (no 2x burst at a clock-hour edge as fixed
-- buckets would allow). Buckets past that horizon are deleted as we go.
--
-- KEYS[i]   one hash per limit, all with the same {subject} hash tag, so a
--           Redis Cluster keeps them on one node
-- ARGV[1]   "check" | "add"
-- ARGV[2]   now in ms since the epoch; 0 = ask Redis (TIME), so all
--           relayguard nodes share one clock
-- ARGV[3]   increment (>= 0): messages, or recipients, this request counts
-- ARGV[2+2i], ARGV[3+2i]   count (>= 1) and window_ms (>= 1) of KEYS[i]
--
-- check: would adding `increment` now push a limit over? For the first
--        limit that it would: {i, current, count, window_ms, retry_after_ms}
--        where current is the window's count before adding; else {0}.
--        Writes nothing but the deletion of expired buckets.
-- add:   add `increment` to every limit's current bucket (a message that
--        is accepted counts against all of them), set each key's TTL to
--        the moment its newest bucket leaves the window, then report the
--        first limit now over its count the same way (current = after
--        adding), else {0}.
-- retry_after_ms: how long until enough buckets age out that `increment`
-- more fits again (> 0); -1 when it never can (increment > count).
--
-- Redis 7 rules: every key is in KEYS; TIME is allowed before writes since
-- scripts replicate their effects (the default since Redis 5; older ones are
-- asked to with redis.replicate_commands()).

local NBUCKETS = 60

local function fail(msg)
	return redis.error_reply('ratelimit: ' .. msg)
end

local function whole(s, min)
	local n = tonumber(s)
	if n == nil or n ~= math.floor(n) or n < min or n > 9007199254740991 then
		return nil
	end
	return n
end

local mode = ARGV[1]
if mode ~= 'check' and mode ~= 'add' then
	return fail('mode must be check or add')
end
if #KEYS == 0 or #ARGV ~= 3 + 2 * #KEYS then
	return fail('want KEYS=limits and ARGV=mode,now,increment,{count,window}...')
end
local now = whole(ARGV[2], 0)
local incr = whole(ARGV[3], 0)
if now == nil or incr == nil then
	return fail('now and increment must be whole numbers >= 0')
end
if now == 0 then
	if redis.replicate_commands then
		pcall(redis.replicate_commands)
	end
	local t = redis.call('TIME')
	now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The buckets of key still inside the window: total, sorted ids, counts.
-- Deletes the ones that have left it (and any field that is not a number).
local function load(key, width, window)
	local flat = redis.call('HGETALL', key)
	local ids, counts, stale, sum = {}, {}, {}, 0
	local horizon = now - window
	for j = 1, #flat, 2 do
		local id, n = tonumber(flat[j]), tonumber(flat[j + 1])
		if id == nil or n == nil or (id + 1) * width <= horizon then
			stale[#stale + 1] = flat[j]
		else
			ids[#ids + 1] = id
			counts[id] = n
			sum = sum + n
		end
	end
	if #stale > 0 then
		redis.call('HDEL', key, unpack(stale))
	end
	table.sort(ids)
	return sum, ids, counts
end

-- ms until sum - (aged-out buckets) + incr <= limit.
local function retry_after(sum, ids, counts, width, window, limit)
	if incr > limit then
		return -1
	end
	local excess = sum + incr - limit
	local freed = 0
	for _, id in ipairs(ids) do
		if freed >= excess then
			break
		end
		freed = freed + counts[id]
		if freed >= excess then
			return math.max(1, (id + 1) * width + window - now)
		end
	end
	return 0
end

local over = nil
for i = 1, #KEYS do
	local limit = whole(ARGV[2 + 2 * i], 1)
	local window = whole(ARGV[3 + 2 * i], 1)
	if limit == nil or window == nil then
		return fail('limit ' .. i .. ': count and window must be whole numbers >= 1')
	end
	local width = math.ceil(window / NBUCKETS)
	local sum, ids, counts = load(KEYS[i], width, window)
	if mode == 'add' and incr > 0 then
		local id = math.floor(now / width)
		redis.call('HINCRBY', KEYS[i], string.format('%d', id), incr)
		if counts[id] == nil then
			counts[id] = 0
			ids[#ids + 1] = id
			table.sort(ids)
		end
		counts[id] = counts[id] + incr
		sum = sum + incr
		redis.call('PEXPIRE', KEYS[i], string.format('%d', (id + 1) * width + window - now))
	end
	local exceeded
	if mode == 'check' then
		exceeded = sum + incr > limit
	else
		exceeded = sum > limit
	end
	if exceeded and over == nil then
		over = { i, sum, limit, window, retry_after(sum, ids, counts, width, window, limit) }
		if mode == 'check' then
			return over
		end
	end
end
return over or { 0 }
