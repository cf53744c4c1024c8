-- Appended to runs that stop after a number of answers (wrk itself only stops after a duration):
-- after ANSWERS answers the thread stops sending and asks bench/harness to end the run, which
-- sends wrk SIGINT (wrk then prints its figures as at the end of its duration). Filled in by
-- bench/harness: ANSWERS.
local answered = 0

response = function(status, headers, body)
  answered = answered + 1
  if answered == {{ANSWERS}} then
    io.write("BENCH_STOP\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end
