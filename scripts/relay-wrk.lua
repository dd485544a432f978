-- wrk script for scripts/bench-relay.sh: POSTs the envelopes listed in
-- $RELAY_BODIES/$RELAY_KIND.list (written by the relay_bodies example) to project 1, in turn,
-- each with its Content-Encoding, and counts the answers: 200, 429 (and of those, how many
-- carried Retry-After and X-Sentry-Rate-Limits), and any other status.
local dir = os.getenv("RELAY_BODIES")
local kind = os.getenv("RELAY_KIND") or "typical"
local auth = "Sentry sentry_version=7, sentry_client=sentry.python/2.19.0, sentry_key=loadkey"
local requests = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for name in io.open(dir .. "/" .. kind .. ".list"):read("*a"):gmatch("[^\n]+") do
    local file = io.open(dir .. "/" .. name, "rb")
    local body = file:read("*a")
    file:close()
    local encoding = name:match("%.br$") and "br" or "gzip"
    requests[#requests + 1] = wrk.format("POST", "/api/1/envelope/", {
      ["X-Sentry-Auth"] = auth,
      ["Content-Type"] = "application/x-sentry-envelope",
      ["Content-Encoding"] = encoding,
    }, body)
  end
  next_request = math.random(#requests)
  ok, shed, shed_complete, other = 0, 0, 0, 0
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 429 then
    shed = shed + 1
    if headers["retry-after"] and headers["x-sentry-rate-limits"] then
      shed_complete = shed_complete + 1
    end
  else
    other = other + 1
  end
end

function done(summary, latency, _)
  local o, s, c, x = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    o = o + thread:get("ok")
    s = s + thread:get("shed")
    c = c + thread:get("shed_complete")
    x = x + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT ok=%d shed=%d shed_with_headers=%d other=%d socket_errors=%d duration_s=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    o, s, c, x, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
