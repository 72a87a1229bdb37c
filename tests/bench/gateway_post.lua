-- wrk script for bench_gateway.py: the same 1 KB JSON POST every time, with the headers given
-- after "--" ("Name: value" each: the API key); done() prints one JSON line.
-- Usage: wrk -t1 -cC -dDs -s gateway_post.lua URL -- ["Name: value" ...]
wrk.method = "POST"
wrk.body = '{"text": "' .. string.rep("a", 900) .. '"}'
wrk.headers["Content-Type"] = "application/json"

function init(args)
  for i = 1, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    if name then wrk.headers[name] = value end
  end
end

function done(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %.3f, "non_2xx": %d, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    latency:percentile(99) / 1000))
end
