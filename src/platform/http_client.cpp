// HTTP client on libcurl: see http_client.h. One easy handle per HttpClient; before each
// request curl_easy_reset() clears every option of the previous one but keeps what a handle
// caches across transfers (open connections, TLS sessions, DNS), which is what makes
// consecutive requests reuse a connection. Options are then set afresh from the request, so
// nothing of one request (a header, a CA file) leaks into the next.
#include "platform/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <thread>

#include "platform/url.h"

namespace mcpmem {
namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Headers whose value is a secret: they go in clear only to this machine.
bool carries_credential(const HttpRequest& r) {
  return std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    const std::string name = lower(h.first);
    return name == "authorization" || name == "x-api-key" || name == "proxy-authorization" ||
           name == "cookie";
  });
}

bool starts_with_https(const std::string& url) { return lower(url.substr(0, 8)) == "https://"; }

struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  const HttpSink* sink = nullptr;
  const HttpProgress* progress = nullptr;
  HttpResponse response;
  int64_t received = 0;
  bool too_large = false;
  bool sink_refused = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->received + static_cast<int64_t>(n) > t->request->max_response_bytes) {
    t->too_large = true;
    return 0;  // stops the transfer (CURLE_WRITE_ERROR)
  }
  t->received += static_cast<int64_t>(n);
  if (t->sink != nullptr && *t->sink) {
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (!(*t->sink)(status, data, n)) {
      t->sink_refused = true;
      return 0;
    }
  } else {
    t->response.body.append(data, n);
  }
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new reply (after a redirect or a 100 Continue)
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = lower(line.substr(0, colon)), value = line.substr(colon + 1);
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  value.erase(value.begin(), std::find_if(value.begin(), value.end(), not_space));
  value.erase(std::find_if(value.rbegin(), value.rend(), not_space).base(), value.end());
  t->response.headers.emplace_back(std::move(name), std::move(value));
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->progress != nullptr && *t->progress) (*t->progress)(now, total);
  return 0;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// What a failed transfer means; `connected`: the TCP (and TLS) connection was made.
HttpFailure classify(CURLcode rc, bool connected) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return HttpFailure::kCannotConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return connected ? HttpFailure::kTimeout : HttpFailure::kConnectTimeout;
    case CURLE_SEND_ERROR:
      return HttpFailure::kSendFailed;
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return HttpFailure::kConnectionBroken;
    case CURLE_SSL_CONNECT_ERROR:
      return HttpFailure::kTlsHandshake;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return HttpFailure::kUntrustedCertificate;
    case CURLE_SSL_CACERT_BADFILE:
      return HttpFailure::kBadCaFile;
    default:
      return HttpFailure::kOther;
  }
}

}  // namespace

class HttpClient::Impl {
 public:
  Impl() {
    init_curl_once();
    curl_ = curl_easy_init();
    const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
    http2_ = v != nullptr && (v->features & CURL_VERSION_HTTP2) != 0;
  }
  ~Impl() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  // One attempt. Sets `failure` (kNone on a reply) and adds to `connects`.
  Result<HttpResponse> perform(const HttpRequest& r, const HttpSink* sink,
                               const HttpProgress* progress, HttpFailure& failure,
                               int64_t& connects);

 private:
  void set_options(const HttpRequest& r, Transfer& t, curl_slist* headers, char* error);

  CURL* curl_ = nullptr;
  bool http2_ = false;
};

void HttpClient::Impl::set_options(const HttpRequest& r, Transfer& t, curl_slist* headers,
                                   char* error) {
  CURL* c = curl_;
  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                   http2_ ? static_cast<long>(CURL_HTTP_VERSION_2TLS)
                          : static_cast<long>(CURL_HTTP_VERSION_1_1));
  if (r.follow_redirects) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // the Hugging Face hub redirects to its CDN
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  }
  if (is_loopback_url(r.url)) curl_easy_setopt(c, CURLOPT_PROXY, "");  // "": no proxy at all
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout_ms));
  if (r.low_speed_seconds > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(r.low_speed_bytes));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(r.low_speed_seconds));
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!r.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, r.ca_file.c_str());
    // Only that file: a CA directory compiled into libcurl would widen the trust again.
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  } else {
#ifdef _WIN32
    // Windows keeps no CA bundle file: the system's CAs are its certificate store.
    curl_easy_setopt(c, CURLOPT_SSL_OPTIONS, static_cast<long>(CURLSSLOPT_NATIVE_CA));
#endif
  }
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mcp-memory");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // what libcurl can decode
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  if (t.progress != nullptr && *t.progress) {
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  }
  if (r.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (r.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
  }
}

Result<HttpResponse> HttpClient::Impl::perform(const HttpRequest& r, const HttpSink* sink,
                                               const HttpProgress* progress, HttpFailure& failure,
                                               int64_t& connects) {
  failure = HttpFailure::kOther;
  if (curl_ == nullptr) return Status::internal("libcurl could not start a transfer");
  if (carries_credential(r) && !starts_with_https(r.url) && !is_loopback_http_url(r.url)) {
    failure = HttpFailure::kInsecure;
    return Status::invalid_argument(r.url +
                                    ": a key is never sent over plain http to another machine; "
                                    "use https:// (plain http only to this machine)");
  }
  curl_easy_reset(curl_);
  Transfer t;
  t.curl = curl_;
  t.request = &r;
  t.sink = sink;
  t.progress = progress;
  char error[CURL_ERROR_SIZE] = {0};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : r.headers) {
    headers.reset(curl_slist_append(headers.release(), (name + ": " + value).c_str()));
  }
  // No "Expect: 100-continue" on large bodies: it costs a round trip (or a second's wait on a
  // server that does not answer it), and our server judges a request by its headers anyway.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));
  set_options(r, t, headers.get(), error);
  const CURLcode rc = curl_easy_perform(curl_);
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &t.response.status);
  long new_connections = 0;
  curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &new_connections);
  connects += new_connections;
  if (t.too_large) {
    failure = HttpFailure::kTooLarge;
    return Status::io_error(r.url + ": the reply is larger than " +
                            std::to_string(r.max_response_bytes) + " bytes");
  }
  if (t.sink_refused) {
    failure = HttpFailure::kSinkRefused;
    return Status::io_error(r.url + ": the reply could not be written");
  }
  if (rc != CURLE_OK) {
    // The connect timers are set for a reused connection too.
    curl_off_t tcp_after = 0, tls_after = 0;
    curl_easy_getinfo(curl_, CURLINFO_CONNECT_TIME_T, &tcp_after);
    curl_easy_getinfo(curl_, CURLINFO_APPCONNECT_TIME_T, &tls_after);
    const bool connected = tcp_after > 0 && (tls_after > 0 || !starts_with_https(r.url));
    failure = classify(rc, connected);
    std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) why = "timed out (" + why + ")";
    return Status::io_error(r.url + ": " + why);
  }
  failure = HttpFailure::kNone;
  return std::move(t.response);
}

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {}
HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  return send_with_retries(request, nullptr, nullptr);
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request, const HttpSink& sink,
                                      const HttpProgress& progress) {
  return send_with_retries(request, &sink, &progress);
}

Result<HttpResponse> HttpClient::send_with_retries(const HttpRequest& request, const HttpSink* sink,
                                                   const HttpProgress* progress) {
  const int retries = std::clamp(request.retries, 0, kMaxRetries);
  const bool idempotent = request.method == "GET" || request.method == "HEAD";
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kRetryBackoffMs << (attempt - 1)));
    }
    auto reply = impl_->perform(request, sink, progress, last_failure_, connections_opened_);
    const bool again = reply.is_ok() ? idempotent && reply->status == 503
                                     : last_failure_ == HttpFailure::kCannotConnect;
    if (!again || attempt >= retries) return reply;
  }
}

std::string HttpResponse::header(const std::string& lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

Result<HttpResponse> http_request(const HttpRequest& request) { return HttpClient().send(request); }

Result<HttpResponse> http_request(const HttpRequest& request, const HttpSink& sink,
                                  const HttpProgress& progress) {
  return HttpClient().send(request, sink, progress);
}

}  // namespace mcpmem
