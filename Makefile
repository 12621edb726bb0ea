# Ferry: the two commands are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PROTOS := $(wildcard protos/ferry/v1/*.proto)

.PHONY: install run test lint typecheck proto proto-check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

run: install
	$(BIN)/ferry serve

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check server client tests bench
	$(BIN)/ruff format --check server client tests bench

typecheck: install
	$(BIN)/mypy server/ferry_server $(wildcard client/ferry_client)

# --- Python stubs: stubs/python/ferry/v1 (import ferry.v1), shared by server and client --------
PY_STUBS := stubs/python

proto: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -Iprotos \
		--python_out=$(PY_STUBS) --grpc_python_out=$(PY_STUBS) \
		--mypy_out=$(PY_STUBS) --mypy_grpc_out=$(PY_STUBS) \
		$(PROTOS)

proto-check: proto
	git diff --exit-code -- $(PY_STUBS)
	test -z "$$(git status --porcelain -- $(PY_STUBS))"

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) ferry-data bench/.work .pytest_cache .mypy_cache .ruff_cache
