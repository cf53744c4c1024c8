-- GET with the caller's token. Filled in by bench/harness: TOKEN.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer {{TOKEN}}"
wrk.headers["Accept"] = "application/json"
