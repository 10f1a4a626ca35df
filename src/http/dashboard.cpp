// Dashboard routes: one exact route per compiled-in file.
#include "http/dashboard.h"

#include <string>

#include "http/web_assets.h"

namespace mcpmem {

void mount_dashboard(HttpServer& server) {
  for (const WebAsset& asset : web_assets()) {
    const std::string name = asset.name;
    const std::string path = name == "index.html" ? "/" : "/static/" + name;
    server.open_path(path);
    server.get(path, [asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                     "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, asset.content_type);
    });
  }
}

}  // namespace mcpmem
