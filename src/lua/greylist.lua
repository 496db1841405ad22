-- greylist.lua: one greylisting decision, atomically, in one round trip.
-- KEYS[1] triplet key   rg:g:{net}:<hash>   hash: f = first seen, p = passed,
--                                           n = passes, s = sender,
--                                           r = recipient (plain text, for
--                                           relayguardctl)
-- KEYS[2] network key   rg:a:{net}          passed-triplet count (auto-whitelist);
--                                           >= 1e15: whitelisted by hand
--                                           (relayguardctl whitelist add)
-- Both keys carry the {net} hash tag: one Redis Cluster slot (src/rkeys.h).
-- ARGV: now (s; 0 = use Redis TIME, so every relay node shares one clock),
--       delay (s), retry window (s), whitelist lifetime (s),
--       auto-whitelist threshold (0 = off), sender, recipient (normalised,
--       stored so that the triplet can be listed)
-- Returns {state, seconds}:
--   {"new", delay}       first attempt: defer
--   {"early", remaining} retried before the delay was over: defer
--   {"pass", waited}     first retry after the delay: accept, triplet now known
--   {"known", 0}         triplet passed before (refreshed): accept
--   {"awl", 0}           client network auto-whitelisted: accept
local now = tonumber(ARGV[1])
if now == 0 then
  now = tonumber(redis.call('TIME')[1])
end
local delay = tonumber(ARGV[2])
local retry = tonumber(ARGV[3])
local life = tonumber(ARGV[4])
local awl = tonumber(ARGV[5])

local n = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if n >= 1e15 then
  return {'awl', 0}
end
if awl > 0 and n >= awl then
  redis.call('EXPIRE', KEYS[2], life)
  return {'awl', 0}
end

local v = redis.call('HMGET', KEYS[1], 'f', 'p')
local first = tonumber(v[1])
if first == nil then
  redis.call('HSET', KEYS[1], 'f', now, 's', ARGV[6] or '', 'r', ARGV[7] or '')
  -- a pending triplet lives for the retry window, counted from first sight
  redis.call('EXPIRE', KEYS[1], math.max(retry, delay + 1))
  return {'new', delay}
end
if v[2] then
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  redis.call('EXPIRE', KEYS[1], life)
  return {'known', 0}
end
local waited = now - first
if waited < delay then
  return {'early', delay - waited}
end
redis.call('HSET', KEYS[1], 'p', now, 'n', 1)
redis.call('EXPIRE', KEYS[1], life)
if awl > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], life)
end
return {'pass', waited}
