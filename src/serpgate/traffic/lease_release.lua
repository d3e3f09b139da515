-- KEYS[1]: the lease. ARGV: our token, the channel, the name to announce.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
-- Announced even when the lease had run out: waiters should look at the cache now either way.
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
