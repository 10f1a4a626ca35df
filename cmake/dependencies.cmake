# The Linux build's dependencies: Debian's packages (scripts/install-deps), found with
# find_package and pkg-config. cmake/windows_dependencies.cmake gives the same targets for the
# Windows cross-build.
find_package(PkgConfig REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(Boost 1.81 REQUIRED)  # Beast and Asio, header-only: the HTTP server
# Under TSan spdlog is compiled into our code (header-only) so it is instrumented: Debian's
# libspdlog.so is not, and TSan then misses the guard of its registry's function-local static
# and reports the first log call on a worker thread as a race. MCP_SPDLOG is what targets link.
if(MCP_TSAN)
  set(MCP_SPDLOG spdlog::spdlog_header_only)
else()
  set(MCP_SPDLOG spdlog::spdlog)
endif()
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_package(yaml-cpp REQUIRED)
