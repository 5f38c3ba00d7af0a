-- GET /healthz: no tenant, no database; the floor of the stack (WSGI, Flask, hooks, logs).
local common = dofile("common.lua")

setup = common.setup
done = common.done

function request()
  return wrk.format("GET", "/healthz")
end
