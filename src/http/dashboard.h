// The web dashboard at / (index.html) and /static/<file>: served from the compiled-in files
// without a key (the page itself asks for the key and sends it with every API call), with a
// Content-Security-Policy that allows only this origin's scripts, styles and connections.
// Only the listed files exist: there is no path to traverse.
#pragma once

#include "http/http_server.h"

namespace mcpmem {

void mount_dashboard(HttpServer& server);

}  // namespace mcpmem
