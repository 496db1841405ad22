-- ratelimit.lua - sliding-window rate limits of one subject, one round trip,
-- with reservations: a message in flight holds its place until it is
-- counted (commit) or given back (release, or its lifetime ends).
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
-- ARGV[1]   "check" | "add" | "reserve" | "commit" | "release"
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
-- Reservations (modes reserve, commit, release) live in the first limit's
-- hash, next to its buckets (one key read per check, no key made and
-- deleted per message): field "r:<transaction id>" (the SMTP connection;
-- see src/ratetx.h), value "amount:expiry_ms:tag" (tag: the message within
-- the connection, "" when the caller cannot tell). The key's TTL covers
-- its reservations too.
-- After the count/window pairs ARGV carries: id, tag, unit ("message" |
-- "recipient"), lifetime_ms.
-- reserve: passes only if counted + reserved (every live reservation, this
--        transaction's included) + what this request adds <= count, for
--        every limit; then, and only then, the transaction's reservation
--        grows by `increment`, all limits at once. unit = message: a
--        transaction that already holds a reservation with the same tag
--        adds nothing (one message, one slot). A reservation with another
--        tag is the connection's previous transaction, never ended: it is
--        dropped first. A new reservation lives lifetime_ms; expired ones
--        are dropped as they are seen, so an abandoned session gives its
--        slot back by itself. Over: {i, counted + reserved, count,
--        window_ms, retry_after_ms}, nothing written.
-- commit: drop the transaction's reservation (any tag) and count
--        `increment` (what was really accepted, 0 = nothing) in every
--        limit's current bucket; {0} (it reads nothing: over or not, what
--        was accepted counts).
-- release: drop the transaction's reservation (increment is ignored).
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
local resv = mode == 'reserve' or mode == 'commit' or mode == 'release'
if mode ~= 'check' and mode ~= 'add' and not resv then
	return fail('mode must be check, add, reserve, commit or release')
end
local nlim = #KEYS
local rfield, rid, rtag, runit, rlife
if resv then
	if nlim < 1 or #ARGV ~= 3 + 2 * nlim + 4 then
		return fail('want KEYS=limits and ARGV=mode,now,increment,{count,window}...,id,tag,unit,lifetime')
	end
	local b = 3 + 2 * nlim
	rid, rtag, runit, rlife = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], whole(ARGV[b + 4], 1)
	if rid == '' or rlife == nil or (runit ~= 'message' and runit ~= 'recipient') then
		return fail('want a transaction id, unit message or recipient, lifetime >= 1')
	end
	rfield = 'r:' .. rid
elseif #KEYS == 0 or #ARGV ~= 3 + 2 * #KEYS then
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

-- The buckets of key still inside the window: total, sorted ids, counts,
-- and the reservation fields ("r:<id>", flat name/value list). Deletes the
-- buckets that have left the window (and any other field that is not a
-- number).
local function load(key, width, window)
	local flat = redis.call('HGETALL', key)
	local ids, counts, stale, sum, rflat = {}, {}, {}, 0, {}
	local horizon = now - window
	for j = 1, #flat, 2 do
		local id, n = tonumber(flat[j]), tonumber(flat[j + 1])
		if id == nil and string.sub(flat[j], 1, 2) == 'r:' then
			rflat[#rflat + 1] = flat[j]
			rflat[#rflat + 1] = flat[j + 1]
		elseif id == nil or n == nil or (id + 1) * width <= horizon then
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
	return sum, ids, counts, rflat
end

-- ms until sum - (aged-out buckets) + need <= limit; 0 when the counted
-- buckets alone cannot free enough (the rest is held by reservations).
local function retry_after(sum, ids, counts, width, window, limit, need)
	if need > limit then
		return -1
	end
	local excess = sum + need - limit
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

-- The live reservations among the fields flat of KEYS[1]: total held by
-- other transactions, this transaction's amount, expiry and tag (nil when
-- it holds none), the earliest and latest expiry of the others. Expired
-- and malformed entries are deleted.
local function reservations(flat)
	local total, own, ownexp, owntag, minexp, maxexp, stale = 0, nil, nil, nil, nil, 0, {}
	for j = 1, #flat, 2 do
		local a, e, t = string.match(flat[j + 1], '^(%d+):(%d+):(.*)$')
		a, e = tonumber(a), tonumber(e)
		if a == nil or e == nil or e <= now then
			stale[#stale + 1] = flat[j]
		elseif flat[j] == rfield then
			own, ownexp, owntag = a, e, t
		else
			total = total + a
			if minexp == nil or e < minexp then
				minexp = e
			end
			if e > maxexp then
				maxexp = e
			end
		end
	end
	if #stale > 0 then
		redis.call('HDEL', KEYS[1], unpack(stale))
	end
	return total, own, ownexp, owntag, minexp, maxexp
end

if mode == 'release' then
	redis.call('HDEL', KEYS[1], rfield)
	return { 0 }
end

-- Every limit's count, window and bucket width, checked before any mode
-- writes anything (a commit used to delete its reservation first).
local limits = {}
for i = 1, nlim do
	local limit, window = whole(ARGV[2 + 2 * i], 1), whole(ARGV[3 + 2 * i], 1)
	if limit == nil or window == nil then
		return fail('limit ' .. i .. ': count and window must be whole numbers >= 1')
	end
	limits[i] = { limit, window, math.ceil(window / NBUCKETS) }
end

if mode == 'reserve' then
	local _, window1, width1 = unpack(limits[1])
	local sum1, ids1, counts1, rflat = load(KEYS[1], width1, window1)
	local total, own, ownexp, owntag, minexp, maxexp = reservations(rflat)
	if own ~= nil and owntag ~= rtag and rtag ~= '' then
		-- the connection's previous transaction, never committed or released
		redis.call('HDEL', KEYS[1], rfield)
		own, ownexp = nil, nil
	end
	local need = incr
	if runit == 'message' and own ~= nil then
		need = 0
	end
	if need == 0 then
		return { 0 }
	end
	local held = total + (own or 0)
	for i = 1, nlim do
		local limit, window, width = unpack(limits[i])
		local sum, ids, counts
		if i == 1 then
			sum, ids, counts = sum1, ids1, counts1
		else
			sum, ids, counts = load(KEYS[i], width, window)
		end
		if sum + held + need > limit then
			local r = retry_after(sum + held, ids, counts, width, window, limit, need)
			if r == 0 then
				-- only reservations stand in the way: they end by their expiry
				r = math.max(1, (minexp or (now + rlife)) - now)
			end
			return { i, sum + held, limit, window, r }
		end
	end
	local exp = ownexp or (now + rlife)
	local keep = math.max(exp, maxexp)
	redis.call('HSET', KEYS[1], rfield, string.format('%d:%d:%s', (own or 0) + need, exp, rtag))
	-- The key's TTL already reaches its newest bucket's end (set by the
	-- commit that made it); extend it only when this reservation outlives it.
	if #ids1 == 0 or (ids1[#ids1] + 1) * width1 + window1 < keep then
		local ttl = keep - now
		if #ids1 > 0 then
			ttl = math.max(ttl, (ids1[#ids1] + 1) * width1 + window1 - now)
		end
		redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
	end
	return { 0 }
end

if mode == 'commit' then
	-- Count without reading: the next reserve sweeps expired buckets and
	-- reservations, and nobody acts on a commit's reply (what was accepted
	-- is counted, over or not), so a commit stays cheap.
	redis.call('HDEL', KEYS[1], rfield)
	for i = 1, nlim do
		local _, window, width = unpack(limits[i])
		if incr > 0 then
			local id = math.floor(now / width)
			local ttl = (id + 1) * width + window - now
			if i == 1 then
				-- other reservations there live at most a lifetime from now
				ttl = math.max(ttl, rlife)
			end
			redis.call('HINCRBY', KEYS[i], string.format('%d', id), incr)
			redis.call('PEXPIRE', KEYS[i], string.format('%d', ttl))
		end
	end
	return { 0 }
end

-- check, add
local over = nil
for i = 1, nlim do
	local limit, window, width = unpack(limits[i])
	local sum, ids, counts = load(KEYS[i], width, window)
	if mode ~= 'check' and incr > 0 then
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
		local r = retry_after(sum, ids, counts, width, window, limit, incr)
		if mode == 'check' then
			return { i, sum, limit, window, r }
		end
		over = { i, sum, limit, window, r }
	end
end
return over or { 0 }
