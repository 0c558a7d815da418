# Hearth: two commands on a fresh machine, `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TZ ?= UTC
# Four test processes on two cores: most of a test's time is spent waiting on a live server,
# git or hg, so two processes per core finish the suite in about half the time of one.
PYTEST_ARGS ?= -n 4

.PHONY: run test lint format bench clean kallithea

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The real Kallithea 0.7, for tests/test_kallithea_reference.py (issue 17): its own pins do not
# install on Python 3.11, so it is installed without them and tests/kallithea/requirements.txt
# pins what serves the fixture.
KALLITHEA := .kallithea
$(KALLITHEA)/.installed: tests/kallithea/requirements.txt
	@test -x $(KALLITHEA)/bin/python || $(PY) -m venv $(KALLITHEA)
	$(KALLITHEA)/bin/python -m pip install --quiet --no-deps kallithea==0.7.0
	$(KALLITHEA)/bin/python -m pip install --quiet -r tests/kallithea/requirements.txt
	@touch $@

kallithea: $(KALLITHEA)/.installed

run: $(STAMP)
	$(BIN)/hearth init
	HEARTH_SSH_PORT=$${HEARTH_SSH_PORT-2222} $(BIN)/hearth serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/api.py
	$(BIN)/python bench/repos.py
	$(BIN)/python bench/views.py
	$(BIN)/python bench/clone.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) data .pytest_cache
