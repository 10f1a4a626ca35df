# The two set-up commands of the README, `make run` and `make test`, and the checks CI adds
# (.ci/run): `make check` (format, layering, thread_local types), `make tsan`, `make asan`.
# `make test-quick` runs the unit tests only (under 2 minutes after a build).
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
CMAKE_FLAGS ?=
# ccache (scripts/install-deps installs it) finds its cache across clones of the repository.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: all build run test test-quick chaos bench bench-peers install-deps clean format check-format \
        check-layering check-thread-local check tsan asan windows test-windows \
        test-windows-if-cached

all: build

# The installer runs when its inputs changed or a build tree is new, not on every build:
# the stamp records the last run that succeeded. `make install-deps` always runs it.
DEPS_STAMP := $(BUILD_DIR)/.install-deps.stamp
$(DEPS_STAMP): scripts/install-deps package.json package-lock.json
	scripts/install-deps
	@mkdir -p $(@D) && touch $@

install-deps:
	@scripts/install-deps

$(BUILD_DIR)/CMakeCache.txt: | $(DEPS_STAMP)
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: $(DEPS_STAMP) $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Starts the service on the default database ($$MCP_MEMORY_BASE_DIR/sqlite_vec.db, created on
# first use): HTTP on 127.0.0.1:8000 (dashboard at /, REST under /api, MCP at /mcp) until Ctrl+C.
# SERVE_FLAGS=--https for HTTPS on 8443.
SERVE_FLAGS ?= --http
run: build
	$(BUILD_DIR)/mcp-memory serve $(SERVE_FLAGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# Labels (tests/CMakeLists.txt): unit (in-process, fast), e2e (real processes and clients),
# slow (over ~10 s), concurrency (threads or processes racing).
test-quick: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 120 -L unit

# The sync chaos test, long: CHAOS_DURATION seconds (300) of random workload with kill -9s;
# CHAOS_SEED=N replays the seed a run printed (`make test` runs it for 25 s).
CHAOS_DURATION ?= 300
CHAOS_SEED ?=
chaos: build
	tests/e2e/sync_chaos.py $(BUILD_DIR)/mcp-memory --duration $(CHAOS_DURATION) \
	  $(if $(CHAOS_SEED),--seed $(CHAOS_SEED))

bench: build
	$(BUILD_DIR)/bench/run-bench

# The benchmark's peer (torch on OpenBLAS, for bert_speedup_vs_torch), never needed to build or
# test: Debian's python3-torch, with OpenBLAS as the BLAS it loads.
BENCH_PEERS := python3-torch python3-numpy libopenblas0-pthread
bench-peers:
	@missing=$$(for p in $(BENCH_PEERS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	  | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

CXX_FILES = $$(git ls-files '*.cpp' '*.h')
format:
	clang-format -i $(CXX_FILES)

check-format:
	@clang-format --dry-run --Werror $(CXX_FILES) && echo "check-format: ok"

check-layering:
	@scripts/check-layering

check-thread-local:
	@scripts/check-thread-local

check: check-format check-layering check-thread-local

# Sanitizer trees (clang; no benchmarks). Each process a test starts writes its report to
# <tree>/sanitizer-logs/; scripts/run-sanitized fails when a test fails or any report exists.
# tsan: clang with -Werror=thread-safety, the unit and concurrency tests under ThreadSanitizer.
tsan: $(DEPS_STAMP)
	scripts/run-sanitized tsan build-tsan -j$(JOBS)

# asan: the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: $(DEPS_STAMP)
	scripts/run-sanitized asan build-asan -j$(JOBS)

# Windows (x86-64), cross-compiled with mingw-w64: $(WIN_BUILD_DIR)/mcp-memory.exe, static and
# stripped. scripts/cross-deps-windows builds the dependencies from Debian's sources into a
# cached prefix the first time (~40 min on 2 cores alone); later runs reuse it.
WIN_BUILD_DIR ?= build-win
windows: $(DEPS_STAMP)
	@prefix=$$(scripts/cross-deps-windows | tail -1) && \
	  cmake -S . -B $(WIN_BUILD_DIR) -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake \
	    -DMCP_WINDOWS_PREFIX="$$prefix" -DCMAKE_BUILD_TYPE=Release -DMCP_BUILD_BENCH=OFF >/dev/null
	cmake --build $(WIN_BUILD_DIR) -j$(JOBS)

# The Windows build's tests under wine64, headless: the unit tests that apply to Windows and the
# end-to-end checks of tests/windows (CLI, MCP over stdio with the SDK client, HTTP answered from
# Linux, a Windows spoke syncing with a Linux hub, two writers). Needs `make build` for the hub.
# One wine session for the run, started before the first test (tests/windows/ctest-under-wine
# says why).
test-windows: windows build
	tests/windows/ctest-under-wine $(WIN_BUILD_DIR) --output-on-failure -j$(JOBS) --timeout 600

# CI: the Windows tests when the dependency prefix is built already (it takes ~40 min once).
test-windows-if-cached:
	@prefix=$$(scripts/cross-deps-windows --print 2>/dev/null); \
	if [ -f "$$prefix/.complete" ]; then $(MAKE) --no-print-directory test-windows; \
	else echo "Windows tests skipped: no built dependency prefix here (make windows builds it once)"; fi

clean:
	rm -rf $(BUILD_DIR) build-tsan build-asan $(WIN_BUILD_DIR)
