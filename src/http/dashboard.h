// The web dashboard at / (index.html) and /static/<file>: served from the compiled-in files
// without a key (the page itself asks for the key and sends it with every API call), with a
// Content-Security-Policy that allows only this origin's scripts, styles and connections.
// Only the listed files exist: there is no path to traverse. The key prompt says where this
// server's key is kept (a file path, or MCP_API_KEY), never the key.
#pragma once

#include <string>

#include "http/http_server.h"

namespace mcpmem {

struct DashboardOptions {
  // The file the server's API key is kept in (http/api_key.h api_key_file()), named by the
  // page's key prompt; empty when the key came from MCP_API_KEY.
  std::string api_key_file;
};

void mount_dashboard(HttpServer& server, const DashboardOptions& options = {});

}  // namespace mcpmem
