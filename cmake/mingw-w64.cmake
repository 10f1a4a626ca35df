# Cross-compiling for Windows x86-64 with Debian's mingw-w64 (POSIX threads model, for
# std::thread and std::jthread). Libraries come from the prefix scripts/cross-deps-windows
# builds (MCP_WINDOWS_PREFIX) and the compiler's own sysroot, never from the build machine.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

if(NOT MCP_WINDOWS_PREFIX AND DEFINED ENV{MCP_WINDOWS_PREFIX})
  set(MCP_WINDOWS_PREFIX $ENV{MCP_WINDOWS_PREFIX})
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MCP_WINDOWS_PREFIX)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 ${MCP_WINDOWS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Programs that run here run under wine (tests, test discovery), headless and quiet, in a wine
# prefix of the build tree's own (no Mono or Gecko installer asked for).
find_program(MCP_WINE64 NAMES wine64 PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(MCP_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR env WINEPREFIX=${CMAKE_BINARY_DIR}/wine WINEDEBUG=-all
                                    WINEDLLOVERRIDES=mscoree,mshtml= DISPLAY= ${MCP_WINE64})
endif()
