-- GET a public document (discovery, JWKS), rotating over tenants via the Host header.
-- Data rows: host. Script argument: the path.
local common = dofile("common.lua")

setup = common.setup
done = common.done

local rows, path, n = nil, nil, 0

function init(args)
  rows = common.read_rows(args[1])
  path = args[2]
end

function request()
  n = n + 1
  local row = rows[(n % #rows) + 1]
  return wrk.format("GET", path, { Host = row[1] })
end
