# Two entry points, each sets up what it needs first:
#   make run   - make .venv, install the package, fit ARMA(1,1) on the bundled series
#   make test  - make .venv, install the package with its test extra, lint, run every test
#   make test-quick - the same without the tests marked slow (an edit loop, not CI)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= results/arma11

.PHONY: run test test-quick lint clean

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.core
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.core
	$(PY) scripts/fit.py arma --forecast 24 --compilation-cache .cache/xla --out $(OUT) --force

lint: $(VENV)/.test
	$(PY) -m ruff check .

# Two workers (pytest-xdist), each file's tests kept together so shared fits run once; the
# 30 slowest tests are listed at the end (the suite is over its 15-minute budget: where to cut).
PYTEST := $(PY) -m pytest -q -n 2 --dist loadfile --durations=30

test: lint
	$(PYTEST)

test-quick: lint
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(VENV) results
