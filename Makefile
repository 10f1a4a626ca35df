# The two set-up commands of the README: `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all build run test bench install-deps clean format

all: build

install-deps:
	@scripts/install-deps

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: install-deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Starts the service on the default database ($$MCP_MEMORY_BASE_DIR/sqlite_vec.db, created on
# first use): HTTP on 127.0.0.1:8000 (dashboard at /, REST under /api, MCP at /mcp) until Ctrl+C.
# SERVE_FLAGS=--https for HTTPS on 8443.
SERVE_FLAGS ?= --http
run: build
	$(BUILD_DIR)/mcp-memory serve $(SERVE_FLAGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

bench: build
	$(BUILD_DIR)/bench/run-bench

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
