-- wrk script for the benchmark's single-POST phases: each request POSTs the next line of a
-- file of JSON events (one per line, each with its own event_id), so no event is sent twice.
-- Usage: wrk -t1 -cC -dDs -s single_posts.lua URL -- EVENTS_FILE PATH ["Name: value" ...]
-- (each argument after PATH is a header every request carries: an API key, say)
-- done() prints one JSON line: the requests answered, those not answered 2xx, latency.
local bodies, count, next_body, exhausted = {}, 0, 0, false
local path = "/v1/events"
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    bodies[count] = line
  end
  path = args[2] or path
  for i = 3, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
end

function request()
  next_body = next_body + 1
  if next_body > count then
    -- Out of events: stop rather than send one twice.
    exhausted = true
    wrk.thread:stop()
    next_body = count
  end
  return wrk.format("POST", path, headers, bodies[next_body])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
