-- POST /oauth2/token grant_type=refresh_token with rotation: every request presents the
-- refresh token returned by the previous response of its chain (a used token would be
-- reuse and revoke the family). Data rows: host, Authorization header, refresh token.
-- Run with one connection per thread (-tN -cN): a thread's requests are then strictly
-- sequential, and it walks its chains round-robin (rows i, i+N, i+2N, ... are its own).
local common = dofile("common.lua")
local chains, k, nthreads = {}, 0, 1

setup = common.setup
done = common.done

function init(args)
  local rows = common.read_rows(args[1])
  nthreads = tonumber(args[2] or "1")
  for n, row in ipairs(rows) do
    if (n - 1) % nthreads == (thread_id or 0) then
      chains[#chains + 1] = { host = row[1], auth = row[2], token = row[3], live = true }
    end
  end
end

local function next_live()
  for _ = 1, #chains do
    k = k % #chains + 1
    if chains[k].live then return chains[k] end
  end
  return nil
end

function request()
  local chain = next_live()
  if chain == nil then  -- every chain broke: keep sending, each counts as an error
    chain = chains[1]
  end
  return wrk.format("POST", "/oauth2/token", {
    ["Host"] = chain.host,
    ["Authorization"] = chain.auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "grant_type=refresh_token&refresh_token=" .. chain.token)
end

function response(status, headers, body)
  local chain = chains[k]
  if chain == nil then return end
  local token = status == 200 and string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    chain.token = token
  else
    chain.live = false
  end
end
