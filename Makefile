# Ferry: the two commands are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PROTOS := $(wildcard protos/ferry/v1/*.proto)

.PHONY: install run test lint typecheck proto proto-check bench clean \
	buf-lint buf-breaking api-baseline

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

# --- Pinned API tools from npm (stubs/tools): buf -----------------------------------------------
TOOLS      := stubs/tools
TOOLS_BIN  := $(TOOLS)/node_modules/.bin
TOOLS_STAMP := $(TOOLS)/node_modules/.package-lock.json
BUF        := $(TOOLS_BIN)/buf

$(TOOLS_STAMP): $(TOOLS)/package.json $(TOOLS)/package-lock.json
	npm ci --prefix $(TOOLS) --no-audit --no-fund

# --- The API's contract: buf lint, and buf breaking against the committed baseline image -------
API_BASELINE := protos/baseline.json

buf-lint: $(TOOLS_STAMP)
	$(BUF) lint protos

buf-breaking: $(TOOLS_STAMP)
	$(BUF) breaking protos --against $(API_BASELINE)

# Deliberately accept the current API as the new baseline: commit the result on its own.
# The image is JSON, indented, so that a change to it reads as a diff in review.
api-baseline: $(TOOLS_STAMP)
	$(BUF) build protos --exclude-source-info -o -#format=json \
		| $(PYTHON) -m json.tool --indent 1 > $(API_BASELINE).tmp
	mv $(API_BASELINE).tmp $(API_BASELINE)

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) ferry-data bench/.work .pytest_cache .mypy_cache .ruff_cache \
		$(TOOLS)/node_modules
