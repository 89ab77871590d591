-- wrk script: every request carries the JWT of another tenant (tokens.txt, one per line), so the
-- server's tenant lookup and HMAC run across all installed tenants, not one hot entry.
local tokens = {}
local idx = 0
local path = os.getenv("BENCH_PAGE") or "/pages/admin/connections"

init = function(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
  end
  -- Each wrk thread starts at a different offset.
  idx = math.random(#tokens)
end

request = function()
  idx = idx % #tokens + 1
  return wrk.format("GET", path, { ["Authorization"] = "JWT " .. tokens[idx] })
end
