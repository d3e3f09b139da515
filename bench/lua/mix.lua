-- A query mix for wrk: request paths from a file, in order, cycling; optional request count.
--
--   wrk -t1 -c64 -d60s -s bench/lua/mix.lua URL -- PATHS_FILE OUT_JSON [LIMIT]
--
-- The harness runs one thread, which sends the paths in the file's order. With LIMIT,
-- the run stops once the LIMIT requests of the file have all been answered. A connection that
-- has nothing left to send meanwhile asks /healthz, whose answers are told apart by their body
-- and not counted (their latencies do enter wrk's histogram: at most one per connection). Then
-- OUT_JSON.done appears, for the harness to end wrk with SIGINT rather than wait out -d.
-- OUT_JSON gets the summary, latency percentiles (µs), answers by status and answers per
-- wall-clock second.

local EXTRA_PATH = "/healthz"
local EXTRA_BODY = '{"status":"ok"}'

local threads = {}

-- Wall-clock seconds with a fraction: Lua's own clock has whole seconds only. Called twice a
-- run (first request, last counted response), so the fork costs nothing that matters.
local function now()
  local pipe = io.popen("date +%s.%N")
  local text = pipe:read("*l")
  pipe:close()
  return tonumber(text)
end

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  out_path = args[2]
  limit = tonumber(args[3] or "0") or 0
  -- wrk calls request() once before the run to inspect the request (on the first thread),
  -- and sends nothing then: start one back so that the first path sent is the file's first.
  sent = (id or 0) - 1
  received = 0
  first_sent = 0
  last_counted = 0
  statuses = {}
  seconds = {}
end

function request()
  if first_sent == 0 then
    first_sent = now()
  end
  local index = (sent % #paths) + 1
  sent = sent + 1
  if limit > 0 and sent > limit then
    return wrk.format("GET", EXTRA_PATH)
  end
  return wrk.format("GET", paths[index])
end

function response(status, headers, body)
  if limit > 0 and body == EXTRA_BODY then
    return
  end
  received = received + 1
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  local second = tostring(os.time())
  seconds[second] = (seconds[second] or 0) + 1
  if limit > 0 and received >= limit then
    last_counted = now()
    -- wrk itself sleeps out its -d; the harness sees this file and interrupts it (SIGINT).
    local marker = io.open(out_path .. ".done", "w")
    marker:close()
    wrk.thread:stop()
  end
end

local function object(map)
  local parts = {}
  for k, v in pairs(map) do
    parts[#parts + 1] = string.format('"%s": %d', k, v)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local merged_status, merged_seconds, received_all = {}, {}, 0
  local started, finished = nil, 0
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses") or {}) do
      merged_status[k] = (merged_status[k] or 0) + v
    end
    for k, v in pairs(thread:get("seconds") or {}) do
      merged_seconds[k] = (merged_seconds[k] or 0) + v
    end
    received_all = received_all + (thread:get("received") or 0)
    local first, last = thread:get("first_sent") or 0, thread:get("last_counted") or 0
    if first > 0 and (started == nil or first < started) then
      started = first
    end
    if last > finished then
      finished = last
    end
  end
  local points = {}
  local ps = {0.1, 1, 5, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 97.5, 98,
              99, 99.5, 99.9, 99.99}
  for _, p in ipairs(ps) do
    points[#points + 1] = string.format('"%g": %d', p, latency:percentile(p))
  end
  local e = summary.errors
  local out = io.open(threads[1]:get("out_path"), "w")
  out:write("{")
  out:write(string.format('"duration_us": %d, "requests": %d, "bytes": %d, "received": %d, ',
    summary.duration, summary.requests, summary.bytes, received_all))
  out:write(string.format('"first_sent": %.6f, "last_counted": %.6f, ', started or 0, finished))
  out:write(string.format(
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ',
    e.connect, e.read, e.write, e.status, e.timeout))
  out:write(string.format('"latency_us": {"min": %d, "max": %d, "mean": %f, "stdev": %f, ',
    latency.min, latency.max, latency.mean, latency.stdev))
  out:write('"percentiles": {' .. table.concat(points, ", ") .. "}}, ")
  out:write('"statuses": ' .. object(merged_status) .. ", ")
  out:write('"per_second": ' .. object(merged_seconds))
  out:write("}\n")
  out:close()
end
