"""The engine of `bench/run` (docs/performance.md): every figure is a ratio to the floor endpoint
measured in the same run, floor and endpoint runs interleaved (F E F E F E).

    python -m bench.harness [--quick] [--scale team|org] [--postgres URL] [--keep]

Steps, each bounded in time (`config.PROFILES`): PostgreSQL reachable (the local cluster is
started if it is not answering) and wrk present; a throwaway database; the dataset
(`manage.py load_bench_data`); gunicorn through scripts/entrypoint with production settings on
the loopback; tokens and exact query counts in-process (`bench/django_tasks.py`); a warm-up; per
endpoint interleaved latency runs at 1 connection, each until it holds enough answers for a p95
(or its time cap), and throughput runs at 8 connections; the workers' peak memory after the
measured runs (at least 10,000 requests of every endpoint) against fresh workers after 10,000
floor requests. Results go to bench/results/<date>-<scale>.md and .json. Only 127.0.0.1 is
ever sent HTTP.

Modules: `config` (profiles, paths, errors, the deadline), `postgres` (reachability, scratch
database), `server` (gunicorn, worker memory, setup requests), `wrk` (one run, pooled
histograms, the interleaved measurement), `plan` (the endpoints, their bodies and query counts),
`memory` (the memory phase), `report` (targets, markdown and JSON), `main` (the run).
"""
