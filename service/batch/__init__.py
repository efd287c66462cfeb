"""Batch diagnosis of exported error logs: `opsdiag batch` and what it is made of.

- `readers`: encodings, input formats (CSV, JSONL, HAR) and chunks of records;
- `payloads`: a CSV row or a HAR entry becomes a /diagnose payload;
- `kb`: the knowledge-base version a run uses, shipped to every worker;
- `worker`: validation, the per-worker memo and the engine, one chunk at a time;
- `run`: the streaming driver (in process, a process pool, or a Dask cluster);
- `summary` and `report`: counts and shares, as text and as one HTML file;
- `generate`: realistic CSV error logs for tests and the benchmark;
- `cli`: the `opsdiag batch` command.
"""
