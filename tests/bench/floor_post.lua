-- wrk script for bench_http_floor.py: the same 1 KB JSON POST every time; done() prints one
-- JSON line like single_posts.lua's.
wrk.method = "POST"
wrk.body = '{"text": "' .. string.rep("a", 900) .. '"}'
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %.3f, "non_2xx": %d, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    latency:percentile(99) / 1000))
end
