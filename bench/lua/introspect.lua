-- POST /oauth2/introspect (RFC 7662) by the token's client, HTTP Basic auth.
-- Data rows: host, Authorization header value, access token.
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
  return wrk.format("POST", "/oauth2/introspect", {
    ["Host"] = row[1],
    ["Authorization"] = row[2],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "token=" .. row[3] .. "&token_type_hint=access_token")
end
