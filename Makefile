# The two commands of the README: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export DATABASE_URL ?= sqlite:///opsdiag.db

.PHONY: install run test check lint bench kb-lint browser nginx tools clean eval mutate

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/opsdiag kb load
	$(VENV)/bin/opsdiag serve

lint: install
	$(VENV)/bin/ruff check .

kb-lint: install
	$(VENV)/bin/opsdiag kb lint

test: install lint browser nginx tools
	$(VENV)/bin/pytest -q

# The quick local loop: lint and every test but tests/system/ (processes, servers, browsers,
# installs); `make test` is the full run.
check: install lint
	$(VENV)/bin/pytest -q -m "not system"

# Debian's chromium for the browser tests (/docs, /console; playwright drives it, no browser
# download): apt-get installs it when it is missing and we are root, as CI is. Elsewhere
# without it those tests skip (under CI=true they fail instead).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make browser: chromium is missing (apt-get install chromium as root); browser tests will skip"; fi; }

# Debian's nginx for tests/system/test_slow_clients.py (the buffering proxy of deploy/nginx.conf);
# the package's own service, which Debian starts on install, is stopped again.
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    { apt-get install -y -qq nginx-light >/dev/null 2>&1 || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }; } && \
	    { service nginx stop >/dev/null 2>&1 || true; }; \
	  else echo "make nginx: nginx is missing (apt-get install nginx as root); the slow-client test will skip"; fi; }

# Debian's curl and JDK for the documented curl and Java examples (README.md, docs/client.md;
# tests/system/test_readme_examples.py),
# installed as `browser` installs chromium; under CI their absence fails those tests.
tools:
	@{ command -v curl >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    { apt-get install -y -qq curl default-jdk-headless >/dev/null 2>&1 || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl default-jdk-headless >/dev/null; }; }; \
	  else echo "make tools: curl or a JDK is missing (apt-get install curl default-jdk-headless as root); the documented example tests will skip"; fi; }

# Benchmarks (docs/performance.md): about ten minutes, writes bench/RESULTS.md.
# Not part of `make test`; chromium (`make browser`) is for the errors board's figures. They run in their own virtualenv on BENCH_PYTHON: by default
# the kind of interpreter production runs, a CPython built with PGO and LTO (the Docker
# image's python:3.11-slim in /usr/local/bin, or Debian's python3.11), else python3.
# RESULTS.md names the interpreter. wrk comes from Debian when we may install it
# (root); otherwise the HTTP figures come from bench/loadgen.py and RESULTS.md says so.
BENCH_VENV   := .venv-bench
BENCH_PYTHON ?= $(firstword $(wildcard /usr/local/bin/python3.11 /usr/bin/python3.11) python3)
BENCH_STAMP  := $(BENCH_VENV)/.installed-stamp

$(BENCH_STAMP): pyproject.toml
	$(BENCH_PYTHON) -m venv $(BENCH_VENV) || python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) browser
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq wrk >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }; }; } || \
	  echo "wrk could not be installed: the HTTP figures will come from bench/loadgen.py"
	$(BENCH_VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(BENCH_VENV) opsdiag.db .pytest_cache .ruff_cache build/mutate

# Mutation testing of the core modules, each against its own fast unit tests (tests/mutate.py):
# prints the score per module and the mutants that survived; fails below 85% on any.
# Not part of `make test`. The equivalent survivors and why mutmut: tests/MUTATION.md.
MUTATE_STAMP := $(VENV)/.mutate-stamp

$(MUTATE_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,mutate]'
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	$(PY) -m tests.mutate $(MODULES)

# Accuracy on the real-error corpus (eval/): writes eval/RESULTS.md; `make test` holds the
# held-back figures to it (tests/kb/test_eval.py).
eval: install
	$(VENV)/bin/opsdiag eval --write
