-- Appended to every script: one machine-readable line with the run's figures (microseconds) and
-- its latency histogram as [microseconds, answers] pairs, so percentiles can be pooled over runs.
done = function(summary, latency, requests)
  local e = summary.errors
  local histogram = {}
  for i = 1, #latency do
    local value, count = latency(i)
    histogram[i] = string.format("[%d,%d]", value, count)
  end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
      .. '"histogram": [%s]}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, table.concat(histogram, ",")))
end
