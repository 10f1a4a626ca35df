# The Windows cross-build's dependencies (cmake/mingw-w64.cmake): static libraries and headers
# from the prefix scripts/cross-deps-windows made (MCP_WINDOWS_PREFIX), under the target names
# the Linux build gets from find_package and pkg-config, so the layers' CMakeLists are the same.
if(NOT MCP_WINDOWS_PREFIX OR NOT EXISTS ${MCP_WINDOWS_PREFIX}/.complete)
  message(FATAL_ERROR "MCP_WINDOWS_PREFIX (${MCP_WINDOWS_PREFIX}) is not a finished prefix: "
                      "run scripts/cross-deps-windows (make windows does)")
endif()
set(prefix ${MCP_WINDOWS_PREFIX})

# One static, fully linked x86-64 .exe that imports only Windows' own DLLs. Windows 10 APIs;
# windows.h without min/max macros; -mbig-obj for the Beast translation units (PE/COFF objects
# allow 2^15 sections otherwise).
add_link_options(-static -static-libgcc -static-libstdc++ $<$<CONFIG:Release>:-s>)
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 WIN32_LEAN_AND_MEAN NOMINMAX
                        UNICODE _UNICODE)
add_compile_options(-Wa,-mbig-obj)
# Header-only libraries (Debian's, linked into the prefix) are system headers: their warnings
# are theirs.
include_directories(SYSTEM ${prefix}/include)
link_libraries(ws2_32 mswsock advapi32 crypt32 bcrypt shell32)

function(mcp_prefix_library target file)
  cmake_parse_arguments(L "" "" "DEFINES;LINKS" ${ARGN})
  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION ${prefix}/lib/${file}
    INTERFACE_INCLUDE_DIRECTORIES ${prefix}/include
    INTERFACE_COMPILE_DEFINITIONS "${L_DEFINES}"
    INTERFACE_LINK_LIBRARIES "${L_LINKS}")
endfunction()

function(mcp_header_library target)
  cmake_parse_arguments(L "" "" "DEFINES" ${ARGN})
  add_library(${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES ${prefix}/include
    INTERFACE_COMPILE_DEFINITIONS "${L_DEFINES}")
endfunction()

mcp_prefix_library(SQLite::SQLite3 libsqlite3.a)
mcp_prefix_library(OpenSSL::Crypto libcrypto.a LINKS ws2_32 crypt32 user32 advapi32)
mcp_prefix_library(OpenSSL::SSL libssl.a LINKS OpenSSL::Crypto)
mcp_prefix_library(PkgConfig::CURL libcurl.a DEFINES CURL_STATICLIB
                   LINKS OpenSSL::SSL z ws2_32 crypt32 bcrypt)
mcp_prefix_library(PkgConfig::UTF8PROC libutf8proc.a DEFINES UTF8PROC_STATIC)
mcp_prefix_library(PkgConfig::OPENBLAS libopenblas.a)
mcp_prefix_library(PkgConfig::XXHASH libxxhash.a)
mcp_prefix_library(yaml-cpp libyaml-cpp.a DEFINES YAML_CPP_STATIC_DEFINE)
mcp_header_library(nlohmann_json::nlohmann_json)
mcp_header_library(CLI11::CLI11)
mcp_header_library(Boost::headers DEFINES BOOST_ALL_NO_LIB)
mcp_header_library(spdlog::spdlog DEFINES SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
set(MCP_SPDLOG spdlog::spdlog)
# GoogleTest (built into the prefix) is found by find_package(GTest) as on Linux.
