-- Shared helpers of the bench wrk scripts: data files, thread ids, a JSON summary.
-- Each script starts with: local common = dofile("common.lua") (wrk runs in bench/lua).
local M = {}

-- Tab-separated rows of a data file written by bench/harness.py.
function M.read_rows(path)
  local rows = {}
  for line in io.lines(path) do
    if #line > 0 then
      local row = {}
      for cell in string.gmatch(line, "[^\t]+") do row[#row + 1] = cell end
      rows[#rows + 1] = row
    end
  end
  return rows
end

-- setup() runs once per thread in the main state: number the threads.
local counter = 0
function M.setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

-- done() prints one line the harness parses: counts, duration, latency percentiles (us).
function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

return M
