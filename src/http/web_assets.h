// The dashboard's files (web/), compiled into the binary at build time by
// cmake/embed_web.cmake: nothing is read from disk or fetched when it is served.
#pragma once

#include <cstddef>
#include <span>

namespace mcpmem {

struct WebAsset {
  const char* name;          // file name in web/, e.g. "app.js"
  const char* content_type;  // with charset
  const unsigned char* data;
  size_t size;
};

std::span<const WebAsset> web_assets();

}  // namespace mcpmem
