# The two commands of coshop: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two stamps: `make run` installs what the server needs to run; `make test` adds the test,
# lint and benchmark tools (the dev and bench extras).
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest bench browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP) $(RUN_STAMP)

## make run: serve the demo (SQLite, in-process broker, sandbox payments, demo catalogue)
run: $(RUN_STAMP)
	$(BIN)/coshop demo

## make test: every quality gate — lint, format, types, tests with coverage
## Tests run on $(TEST_WORKERS) pytest-xdist workers (docs/testing.md): most of the suite waits on
## Chromium, subprocesses and sockets, so three workers pay on two cores. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/coverage erase
	$(BIN)/pytest --cov --cov-report=term -p no:cacheprovider --durations=30 -n $(TEST_WORKERS) --dist loadgroup
	$(BIN)/coverage report --include='rooms/*' --fail-under=100 --skip-covered

## Chromium for the browser tests comes from Debian's packages (Playwright cannot download it here),
## and so does ffmpeg, which makes the HLS stream the live-player test plays.
browser:
	@test -x /usr/bin/chromium || ./scripts/install-chromium.sh
	@command -v ffmpeg >/dev/null 2>&1 || ./scripts/install-media.sh

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage* htmlcov
