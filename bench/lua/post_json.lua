-- POST of a fixed JSON body with a fresh Idempotency-Key per request (a phone's retry key).
-- Filled in by bench/harness: TOKEN, PATH, BODY, RUN (unique per wrk run).
local counter = 0
local headers = {
  ["Authorization"] = "Bearer {{TOKEN}}",
  ["Accept"] = "application/json",
  ["Content-Type"] = "application/json",
}
local body = [==[{{BODY}}]==]

request = function()
  counter = counter + 1
  headers["Idempotency-Key"] = "bench-{{RUN}}-" .. counter
  return wrk.format("POST", "{{PATH}}", headers, body)
end
