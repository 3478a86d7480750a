-- Each request asks for a random customer's page with a random token.
-- The data (method, path template with {customer}, body, customers, tokens) comes from
-- the Lua file named by BENCH_DATA, written by bench/harness.py.
local data = dofile(os.getenv("BENCH_DATA"))
local requests = {}

function init(args)
  -- Seeded per thread so that threads do not ask in lockstep.
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  -- Every customer at least once, so that a cache in the server cannot cover for a few.
  for i = 1, math.max(1000, 2 * #data.customers) do
    local customer = data.customers[(i - 1) % #data.customers + 1]
    local token = data.tokens[math.random(#data.tokens)]
    local path = data.path:gsub("{customer}", customer)
    local headers = {["Authorization"] = "Bearer " .. token}
    if data.body ~= "" then headers["Content-Type"] = "application/json" end
    requests[i] = wrk.format(data.method, path, headers, data.body ~= "" and data.body or nil)
  end
end

function request()
  return requests[math.random(#requests)]
end
