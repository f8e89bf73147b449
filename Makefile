# The two commands of the README: `make run` (install + start the bot), `make test` (install + lint + tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test check bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tossup needs Python 3.11 or newer: run make PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/tossup run

check: $(VENV)/.installed-run
	$(BIN)/tossup check

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/pytest

# The benchmarks need the test extras (the fake Slack, the drivers); each prints ratios against a baseline
# measured in the same run. Smaller runs: `.venv/bin/python -m bench.load --requests 40`, `-m bench.reads --sizes 1000`.
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.reads

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
