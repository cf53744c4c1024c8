-- POST /api/v1/sync/: a batch of RECORDS new records (half training sessions, half soreness
-- reports), each with a client id never sent before (RUN is unique per wrk run, then a counter).
-- Filled in by bench/harness: TOKEN, PATH, RECORDS, RUN, DAY, REPORTED_AT.
local counter = 0
local headers = {
  ["Authorization"] = "Bearer {{TOKEN}}",
  ["Accept"] = "application/json",
  ["Content-Type"] = "application/json",
}

local function uuid()
  counter = counter + 1
  return string.format("%08x-%04x-4%03x-8%03x-%012x", {{RUN}}, 0, 0, 0, counter)
end

request = function()
  local records = {}
  for i = 1, {{RECORDS}} do
    if i % 2 == 0 then
      records[i] = string.format(
        '{"kind":"training_session","data":{"id":"%s","date":"{{DAY}}",'
          .. '"session_type":"practice","duration_min":%d,"rpe":%d}}',
        uuid(), 20 + i % 60, 1 + i % 9)
    else
      records[i] = string.format(
        '{"kind":"soreness_report","data":{"id":"%s","reported_at":"{{REPORTED_AT}}",'
          .. '"date":"{{DAY}}","entries":[{"muscle_group":"hamstrings","side":"left",'
          .. '"severity":%d,"kind":"doms"}]}}',
        uuid(), i % 8)
    end
  end
  return wrk.format("POST", "{{PATH}}", headers, '{"records":[' .. table.concat(records, ",") .. "]}")
end
