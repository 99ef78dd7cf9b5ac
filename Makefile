# Two commands for a fresh machine: `make run` and `make test`.
# Both create (once) and reuse the project virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# dependency groups need pip >= 25.1
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . --group dev
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m dashboard.launch

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict outcomes data
	$(BIN)/lint-imports

test: lint
	scripts/ensure-chromium.sh
	scripts/ensure-nginx.sh
	scripts/ensure-axe-core.sh >/dev/null
	$(BIN)/python -m pytest

screenshots: $(STAMP)
	scripts/ensure-chromium.sh
	SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_dashboard/test_browser.py tests/test_dashboard/test_browser_morning.py tests/test_dashboard/test_browser_phone.py

bench: $(STAMP)
	$(BIN)/python bench/scoring.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
