// Dashboard routes: one exact route per compiled-in file. index.html holds one placeholder,
// {{key_source}}, filled once at mount with where the key is; every other file is served as
// compiled in.
#include "http/dashboard.h"

#include <memory>
#include <string>
#include <string_view>

#include "core/markup_escape.h"
#include "http/web_assets.h"

namespace mcpmem {
namespace {

constexpr std::string_view kKeySourcePlaceholder = "{{key_source}}";

// The key prompt's words on where to find the key. The page is open to anyone who can reach
// the server, so it names the file and never holds the key.
std::string key_source_html(const DashboardOptions& options) {
  if (options.api_key_file.empty()) {
    return "Paste the key this server was started with (its <code>MCP_API_KEY</code>).";
  }
  return "Paste the key printed when the server first started; it is kept in <code>" +
         markup_escape(options.api_key_file) + "</code> on the server's machine.";
}

std::string page_text(const WebAsset& asset, const DashboardOptions& options) {
  std::string text(reinterpret_cast<const char*>(asset.data), asset.size);
  if (std::string_view(asset.name) != "index.html") return text;
  const size_t at = text.find(kKeySourcePlaceholder);
  if (at != std::string::npos) {
    text.replace(at, kKeySourcePlaceholder.size(), key_source_html(options));
  }
  return text;
}

// One compiled-in file with the headers that keep the page to itself: only this origin's
// scripts, styles and connections, never framed, no referrer, revalidated on each load.
Response serve_file(const std::string& body, const std::string& content_type) {
  Response res;
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(body, content_type);
  return res;
}

}  // namespace

void mount_dashboard(HttpServer& server, const DashboardOptions& options) {
  for (const WebAsset& asset : web_assets()) {
    const std::string name = asset.name;
    const std::string path = name == "index.html" ? "/" : "/static/" + name;
    auto body = std::make_shared<const std::string>(page_text(asset, options));
    const std::string content_type = asset.content_type;
    server.open_path(path);
    server.get(path,
               [body, content_type](const Request&) { return serve_file(*body, content_type); });
  }
}

}  // namespace mcpmem
