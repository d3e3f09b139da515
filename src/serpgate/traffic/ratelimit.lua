-- Sliding-window counters for every limit of one request, judged and counted in one atomic step.
--
-- KEYS[i]  for i <= n: one hash per limit: w = index of the window the counts belong to,
--          c = its count, p = the count of window w - 1. Every KEYS[i] shares one hash tag
--          (the API key).
-- KEYS[n + 1]  optional: a key to SET when the request is admitted (the search archive's copy
--          of the answer), so that a cache hit costs one round trip, not two.
-- KEYS[n + 2]  optional, with KEYS[n + 1]: a shared value that value refers to (a cache hit's
--          answer after its metadata, stored once for all the hits of one cache entry).
-- ARGV[1]  now in milliseconds, or '' to read Redis TIME (so replica clocks do not matter)
-- ARGV[2]  cost of this request (0 reads the figures and counts nothing)
-- ARGV[3]  n, the number of limits
-- ARGV[2 + 2i], ARGV[3 + 2i]  limit and window length in milliseconds of KEYS[i]
-- ARGV[4 + 2n], ARGV[5 + 2n]  with KEYS[n + 1]: the value and its expiry in milliseconds
-- ARGV[6 + 2n]  with KEYS[n + 2]: the shared value's expiry in milliseconds, at least the value's
-- ARGV[7 + 2n]  optional: the shared value itself, sent when the caller does not know it stored
--
-- A limit admits when previous * (window - elapsed) / window + current + cost <= limit; the
-- comparison is multiplied out so that it is exact integer arithmetic, the same as the Python
-- side. Counting is all or nothing: unless every limit admits, no hash is written, and neither
-- is the value.
--
-- A value never refers to a missing shared value: a present one has its expiry raised to at
-- least ARGV[6 + 2n] (never lowered), so it outlives every value written with it; an absent one
-- is SET when sent, and when it was not sent the value is not written either (stored stays 0,
-- the request still counted): the caller then writes both itself.
--
-- Returns {now_ms, stored, previous_1, current_1, previous_2, current_2, ...}: stored is 1 when
-- the value was written; the counts are as they stood before this request, from which the
-- caller derives remaining, reset and retry-after.

local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local cost = tonumber(ARGV[2])
local n = tonumber(ARGV[3])

local reply = {now, 0}
local rows = {}
local admits = true
for i = 1, n do
  local key = KEYS[i]
  local limit = tonumber(ARGV[2 + 2 * i])
  local window = tonumber(ARGV[3 + 2 * i])
  local index = math.floor(now / window)
  local stored = redis.call('HMGET', key, 'w', 'c', 'p')
  local at = tonumber(stored[1])
  local current, previous = 0, 0
  if at == index then
    current, previous = tonumber(stored[2]) or 0, tonumber(stored[3]) or 0
  elseif at == index - 1 then
    previous = tonumber(stored[2]) or 0
  end
  local elapsed = now - index * window
  if previous * (window - elapsed) + (current + cost) * window > limit * window then
    admits = false
  end
  rows[i] = {index, current, previous, window}
  reply[#reply + 1] = previous
  reply[#reply + 1] = current
end

if admits and cost > 0 then
  for i = 1, n do
    local row = rows[i]
    redis.call('HSET', KEYS[i], 'w', row[1], 'c', row[2] + cost, 'p', row[3])
    -- The counts matter until the end of the next window.
    redis.call('PEXPIRE', KEYS[i], 2 * row[4])
  end
end
local present = true
if admits and KEYS[n + 2] then
  local ttl = tonumber(ARGV[6 + 2 * n])
  local left = redis.call('PTTL', KEYS[n + 2])
  if left == -2 then
    if ARGV[7 + 2 * n] then
      redis.call('SET', KEYS[n + 2], ARGV[7 + 2 * n], 'PX', ttl)
    else
      present = false
    end
  elseif left >= 0 and left < ttl then
    redis.call('PEXPIRE', KEYS[n + 2], ttl)
  end
end
if admits and present and KEYS[n + 1] then
  redis.call('SET', KEYS[n + 1], ARGV[4 + 2 * n], 'PX', ARGV[5 + 2 * n])
  reply[2] = 1
end
return reply
