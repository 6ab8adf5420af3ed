-- wrk script for bench/run.sh: GET /api/v1/children/{id} with a random id per request.
--
--   wrk -t2 -c64 -d20s --latency -s bench/child.lua http://127.0.0.1:PORT -- IDS_FILE TOKEN
--
-- IDS_FILE holds one child id per line (first tab-separated field); TOKEN is sent as a bearer token.

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
end

local ids = {}
local headers = {}

function init(args)
  local path, token = args[1], args[2]
  if not path or not token then
    error("usage: wrk ... -s child.lua URL -- IDS_FILE TOKEN")
  end
  for line in io.lines(path) do
    local id = line:match("^([^\t]+)")
    if id and #id > 0 then
      ids[#ids + 1] = id
    end
  end
  if #ids == 0 then
    error("no ids in " .. path)
  end
  headers["Authorization"] = "Bearer " .. token
  headers["Accept"] = "application/json"
  math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/v1/children/" .. id, headers)
end
