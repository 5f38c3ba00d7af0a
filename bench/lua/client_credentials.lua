-- POST /oauth2/token grant_type=client_credentials with HTTP Basic client auth.
-- Arguments: data file, scope (may be empty), token endpoint path (default /oauth2/token).
-- Data rows: host, Authorization header value. Requests rotate over the rows, so a
-- file with 1,000 tenants' clients touches 1,000 tenants' clients and signing keys.
local common = dofile("common.lua")
local rows, i, body, path

setup = common.setup
done = common.done

function init(args)
  rows = common.read_rows(args[1])
  i = (thread_id or 0) % #rows
  local scope = args[2] or ""
  body = "grant_type=client_credentials" .. (#scope > 0 and ("&scope=" .. scope) or "")
  path = args[3] or "/oauth2/token"
end

function request()
  i = i % #rows + 1
  local row = rows[i]
  return wrk.format("POST", path, {
    ["Host"] = row[1],
    ["Authorization"] = row[2],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
