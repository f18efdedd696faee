# The two commands of the README's quick start, plus helpers. Needs only Python 3.11,
# pip and make: the environment is built in .venv from requirements.lock.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bench-pipeline lock clean browser screenshots

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --quiet --no-deps -e .
	touch $(STAMP)

## Run the whole pipeline on the bundled sample delivery (output in ./regmig-out/).
demo: $(STAMP)
	$(BIN)/regmig demo

## Lint, then run the whole test suite (the report tests need a headless browser) on two
## workers, a test file per worker at a time (files share module fixtures); the 15 slowest
## tests are listed at the end.
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

## Debian's chromium for the report tests (tests/browser.py), installed when absent.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (headless browser for the report tests)"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -qq chromium >/dev/null 2>&1 || { \
	    $$sudo apt-get update -qq >/dev/null && $$sudo apt-get install -y -qq chromium >/dev/null; }; }

## Screenshots of the demo's two reports for the README (run `make demo` first).
screenshots: $(STAMP) browser
	$(BIN)/python tests/browser.py regmig-out docs

lint: $(STAMP)
	$(BIN)/ruff check .

## Benchmarks at their default scales (long; results written to bench/results/), the
## whole pipeline at 100k, 300k and 1M persons among them. Heavy: on a shared machine
## run `flock /tmp/regmig-bench.lock make bench`.
bench: $(STAMP)
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

## The whole pipeline alone at 100k, 300k and 1M persons (bench/results/pipeline.md).
bench-pipeline: $(STAMP)
	$(BIN)/python bench/bench_pipeline.py

lock:
	rm -rf /tmp/regmig-lock && $(PYTHON) -m venv /tmp/regmig-lock
	/tmp/regmig-lock/bin/pip install --quiet -e ".[dev]"
	{ echo "# Resolved dependency set for regmig on Python 3.11 (pip freeze of a clean install of"; \
	  echo "# pyproject.toml with the dev extra). Regenerate with: make lock"; \
	  /tmp/regmig-lock/bin/pip freeze --exclude-editable | grep -v -i '^regmig'; } > requirements.lock

clean:
	rm -rf $(VENV) regmig-out .pytest_cache .ruff_cache
