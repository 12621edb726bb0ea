# Ferry: the two commands are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PROTOS := $(wildcard protos/ferry/v1/*.proto)

.PHONY: install run test lint typecheck proto proto-check bench bench-longlink clean \
	stubs-deps stubs stubs-node stubs-check buf-lint buf-breaking api-baseline clients-deps \
	test-deps

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

run: install
	$(BIN)/ferry serve

# PgBouncer for tests/functional/test_pgbouncer.py (Debian's package; apt-get needs root). The
# suite starts it itself on a loopback port; without it that test skips, or fails when CI is set.
PGBOUNCER_DEB = pgbouncer=1.18.0-1+deb12u1
test-deps:
	@have=$$(dpkg-query -W -f='$${Version}' pgbouncer 2>/dev/null || true); \
	if [ "pgbouncer=$$have" != "$(PGBOUNCER_DEB)" ]; then \
		echo "apt-get install (needs root): $(PGBOUNCER_DEB)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $(PGBOUNCER_DEB); \
	fi

# The Node and Go example clients run in the suite when their toolchains are here
# (`make stubs-deps`); without them those tests skip, or fail when CI is set.
test: install clients-deps
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

# --- Other languages: generators pinned here; `make stubs-deps` needs root (apt-get) -----------
# Debian 12 packages, exact versions: the generated files name their generator's version, so a
# different one would make `make stubs-check` fail. After a Debian point release, update these
# and run `make stubs` in the same commit.
DEB_TOOLS := protobuf-compiler=3.21.12-3+deb12u1 \
	protobuf-compiler-grpc=1.51.1-3+b1 \
	protobuf-compiler-grpc-java-plugin=1.41.3+ds-1 \
	protoc-gen-go=1.28.1-3+b2 \
	protoc-gen-go-grpc=1.33.3-2+b4 \
	golang-go=2:1.19~1 \
	golang-google-grpc-dev=1.33.3-2 \
	golang-google-protobuf-dev=1.28.1-3 \
	golang-github-golang-protobuf-1-5-dev=1.5.2-3
TOOLS      := stubs/tools
TOOLS_BIN  := $(TOOLS)/node_modules/.bin
TOOLS_STAMP := $(TOOLS)/node_modules/.package-lock.json
BUF        := $(TOOLS_BIN)/buf
STUB_LANGS := go node java cpp csharp ruby php objc

stubs-deps: $(TOOLS_STAMP)
	@missing=""; for p in $(DEB_TOOLS); do \
		name=$${p%%=*}; want=$${p#*=}; \
		have=$$(dpkg-query -W -f='$${Version}' $$name 2>/dev/null || true); \
		[ "$$have" = "$$want" ] || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install (needs root):$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(TOOLS_STAMP): $(TOOLS)/package.json $(TOOLS)/package-lock.json
	npm ci --prefix $(TOOLS) --no-audit --no-fund

STUB_TOOLS := protoc protoc-gen-go protoc-gen-go-grpc grpc_java_plugin grpc_cpp_plugin \
	grpc_ruby_plugin grpc_php_plugin
PROTOC_VERSION := libprotoc 3.21.12

stubs: $(TOOLS_STAMP)
	@for tool in $(STUB_TOOLS); do command -v $$tool >/dev/null || \
		{ echo "$$tool not found: run make stubs-deps (apt-get: needs root)"; exit 1; }; done
	@[ "$$(protoc --version)" = "$(PROTOC_VERSION)" ] || \
		{ echo "protoc is $$(protoc --version), not $(PROTOC_VERSION): run make stubs-deps"; exit 1; }
	for lang in $(STUB_LANGS); do mkdir -p stubs/$$lang && find stubs/$$lang -path '*/node_modules' \
		-prune -o -type f ! -name README.md ! -name go.mod ! -name package.json -exec rm {} +; done
	protoc -Iprotos --go_out=stubs/go --go_opt=paths=source_relative \
		--go-grpc_out=stubs/go --go-grpc_opt=paths=source_relative $(PROTOS)
	protoc -Iprotos --java_out=stubs/java \
		--plugin=protoc-gen-grpc-java=$$(command -v grpc_java_plugin) --grpc-java_out=stubs/java $(PROTOS)
	protoc -Iprotos --cpp_out=stubs/cpp \
		--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) --grpc_out=stubs/cpp $(PROTOS)
	protoc -Iprotos --csharp_out=stubs/csharp $(PROTOS)
	protoc -Iprotos --ruby_out=stubs/ruby \
		--plugin=protoc-gen-grpc=$$(command -v grpc_ruby_plugin) --grpc_out=stubs/ruby $(PROTOS)
	protoc -Iprotos --php_out=stubs/php \
		--plugin=protoc-gen-grpc=$$(command -v grpc_php_plugin) --grpc_out=stubs/php $(PROTOS)
	protoc -Iprotos --objc_out=stubs/objc $(PROTOS)
	$(MAKE) --no-print-directory stubs-node

# ts-proto writes TypeScript; tsc turns it into the CommonJS + .d.ts that Node users import.
TS_OUT := $(TOOLS)/.ts-out
stubs-node: $(TOOLS_STAMP)
	rm -rf $(TS_OUT) && mkdir -p $(TS_OUT)
	protoc -Iprotos --plugin=protoc-gen-ts_proto=$(TOOLS_BIN)/protoc-gen-ts_proto \
		--ts_proto_out=$(TS_OUT) \
		--ts_proto_opt=outputServices=grpc-js,forceLong=bigint,env=node,esModuleInterop=true \
		$(PROTOS)
	$(TOOLS_BIN)/tsc -p $(TOOLS)/tsconfig.json
	rm -rf $(TS_OUT)

stubs-check: stubs
	git diff --exit-code -- stubs ':!$(PY_STUBS)'
	test -z "$$(git status --porcelain -- stubs ':!$(PY_STUBS)')"

# --- The API's contract: buf lint, and buf breaking against the committed baseline image -------
API_BASELINE := protos/baseline.json

buf-lint: $(TOOLS_STAMP)
	$(BUF) lint protos

buf-breaking: $(TOOLS_STAMP)
	$(BUF) breaking protos --against $(API_BASELINE)

# Deliberately accept the current API as the new baseline: commit the result on its own.
# The image is JSON, indented, so that a change to it reads as a diff in review.
api-baseline: $(TOOLS_STAMP)
	$(BUF) build protos --exclude-source-info -o '$(API_BASELINE).tmp#format=json'
	$(PYTHON) -m json.tool --indent 1 $(API_BASELINE).tmp $(API_BASELINE)
	rm $(API_BASELINE).tmp

# --- The Node example client's packages (skipped, with a note, where npm is missing) -----------
NODE_CLIENT := clients/node
clients-deps:
	@if command -v npm >/dev/null; then \
		$(MAKE) --no-print-directory $(NODE_CLIENT)/node_modules/.package-lock.json; \
	else echo "npm not found: install Node.js 20 with npm; until then the Node client's test skips"; fi

$(NODE_CLIENT)/node_modules/.package-lock.json: $(NODE_CLIENT)/package.json \
		$(NODE_CLIENT)/package-lock.json $(wildcard stubs/node/package.json stubs/node/ferry/v1/*)
	npm ci --prefix $(NODE_CLIENT) --no-audit --no-fund

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.missing_blocks
	$(BIN)/python -m bench.s3_upload
	$(BIN)/python -m bench.capacity --write
	$(MAKE) --no-print-directory bench-longlink

# Uploads over an emulated long link (bench/link: a C link emulator between two network
# namespaces, built here with gcc): needs root on Linux; elsewhere it says why and skips.
bench-longlink: install
	$(BIN)/python -m bench.longlink $(LONGLINK_ARGS)

clean:
	rm -rf $(VENV) ferry-data bench/.work .pytest_cache .mypy_cache .ruff_cache \
		$(TOOLS)/node_modules $(NODE_CLIENT)/node_modules
