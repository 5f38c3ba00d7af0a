-- GET /oauth2/userinfo with a bearer access token (OIDC Core 5.3).
-- Data rows: host, access token.
local common = dofile("common.lua")
local rows, i

setup = common.setup
done = common.done

function init(args)
  rows = common.read_rows(args[1])
  i = (thread_id or 0) % #rows
end

function request()
  i = i % #rows + 1
  local row = rows[i]
  return wrk.format("GET", "/oauth2/userinfo", {
    ["Host"] = row[1],
    ["Authorization"] = "Bearer " .. row[2],
  })
end
