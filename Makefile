# The two commands of the README: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export DATABASE_URL ?= sqlite:///opsdiag.db

.PHONY: install run test lint bench kb-lint clean

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

test: install lint
	$(VENV)/bin/pytest -q

clean:
	rm -rf $(VENV) opsdiag.db .pytest_cache .ruff_cache
