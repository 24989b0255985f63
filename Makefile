# Two commands: `make dev` runs the platform, `make test` runs the suite. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install dev test lint cluster bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[embedded,dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/cowork dev

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check cowork tests bench
	$(BIN)/ruff format --check cowork tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

cluster: $(STAMP)
	$(BIN)/cowork cluster --nodes $${NODES:-3}

bench: $(STAMP)
	$(BIN)/python -m bench.booking

clean:
	rm -rf $(VENV) .cowork
