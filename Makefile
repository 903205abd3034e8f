# Commerce Hub. Every target creates .venv and installs what it needs on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d" " -f1)

.PHONY: install deploy-tools browser run typecheck test unit lint lock audit build bench events clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Commerce Hub needs Python 3.11 or newer; set PYTHON=python3.12")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The SAM CLI, for lint and build only (the tests do not need it): the deploy extra, on top of dev.
DEPLOY_STAMP := $(VENV)/.deploy-$(shell cat pyproject.toml | cksum | cut -d" " -f1)
$(DEPLOY_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,deploy]'
	rm -f $(VENV)/.deploy-* && touch $@

deploy-tools: $(DEPLOY_STAMP)

run: install
	$(BIN)/commerce-hub local

# The type checker over the layer, the functions and the local stack ([tool.mypy] in pyproject.toml).
typecheck: install
	$(BIN)/mypy

# The console's browser tests (tests/e2e/test_console.py) drive Debian's chromium through Playwright.
# As root (CI runs .ci/run as root) it is installed when missing; otherwise the tests fail saying how.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && [ -z "$$HUB_CHROMIUM" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium for the console's browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "no chromium: the console's browser tests will fail; install it with sudo apt-get install -y chromium"; \
		fi; \
	fi

# The type checker first, then the whole suite, in two processes side by side: the end-to-end tests through the local stack
# (mostly waiting on its workers), and the rest (mostly CPU); they take about as long as each other.
# The first process's output is printed after.
test: install typecheck browser
	@$(BIN)/python -m pytest tests/e2e > .e2e-test.log 2>&1 & e2e=$$!; \
	$(BIN)/python -m pytest --ignore=tests/e2e; rest=$$?; \
	wait $$e2e; e2e_rc=$$?; \
	echo "---- end-to-end tests (tests/e2e) ----"; cat .e2e-test.log; rm -f .e2e-test.log; \
	test $$rest -eq 0 && test $$e2e_rc -eq 0

unit: install
	$(BIN)/python -m pytest tests/unit

lint: deploy-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

# The deployed layer's lock: every package pinned with its hashes, resolved for the Lambda runtime
# (Python 3.12 on arm64). Run after editing layers/shared/requirements.in; needs the package index.
LOCK_COMMAND := $(BIN)/uv pip compile layers/shared/requirements.in --generate-hashes --quiet \
	--python-version 3.12 --python-platform aarch64-manylinux2014 \
	--custom-compile-command "make lock" -o layers/shared/requirements.txt

lock: install
	$(LOCK_COMMAND)

# Known vulnerabilities in the installed set and in the layer's lock (also run by `make test`).
audit: install
	$(BIN)/pip-audit --progress-spinner off
	$(BIN)/pip-audit --progress-spinner off --disable-pip --no-deps -r layers/shared/requirements.txt

# sam build installs the layer from layers/shared/requirements.txt, the lock, checking every hash.
# sam build needs the runtime's Python (python3.12) on PATH; pyenv often has it when python3 is older.
build: deploy-tools
	@PY312=""; \
	for c in $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null) $$(command -v python3.12); do \
		if "$$c" -c 'import sys' >/dev/null 2>&1; then PY312="$$c"; break; fi; \
	done; \
	if [ -z "$$PY312" ]; then echo "sam build needs a working python3.12 (the Lambda runtime) on PATH"; exit 1; fi; \
	echo "sam build with $$PY312"; \
	PATH="$$(dirname $$PY312):$$PATH" $(BIN)/sam build

bench: install browser
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache
