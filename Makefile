# Commerce Hub. Every target creates .venv and installs what it needs on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml layers/shared/requirements.txt | cksum | cut -d' ' -f1)

.PHONY: install run test unit lint build bench events clean

$(STAMP): pyproject.toml layers/shared/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Commerce Hub needs Python 3.11 or newer; set PYTHON=python3.12")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/commerce-hub local

test: install
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

# sam build needs the runtime's Python (python3.12) on PATH; pyenv often has it when python3 is older.
build: install
	@PY312=""; \
	for c in $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null) $$(command -v python3.12); do \
		if "$$c" -c 'import sys' >/dev/null 2>&1; then PY312="$$c"; break; fi; \
	done; \
	if [ -z "$$PY312" ]; then echo "sam build needs a working python3.12 (the Lambda runtime) on PATH"; exit 1; fi; \
	echo "sam build with $$PY312"; \
	PATH="$$(dirname $$PY312):$$PATH" $(BIN)/sam build

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache
