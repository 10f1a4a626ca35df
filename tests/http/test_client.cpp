// TestClient on one libcurl easy handle: curl_easy_reset() between requests clears the options
// but keeps the live connection, which is what keeps a client's requests on one connection.
#include "test_client.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace mcpmem {
namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Exchange {
  TestResponse response;
  const TestReceiver* receiver = nullptr;
  bool stopped = false;  // the receiver asked to stop
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const size_t n = size * count;
  if (x->receiver != nullptr && *x->receiver) {
    if (!(*x->receiver)(data, n)) {
      x->stopped = true;
      return 0;  // CURLE_WRITE_ERROR
    }
    return n;
  }
  x->response.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const size_t n = size * count;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    x->response.headers.clear();  // a new reply (after a 100 Continue)
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string value = line.substr(colon + 1);
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  value.erase(value.begin(), std::find_if(value.begin(), value.end(), not_space));
  value.erase(std::find_if(value.rbegin(), value.rend(), not_space).base(), value.end());
  x->response.headers.emplace_back(line.substr(0, colon), std::move(value));
  return n;
}

bool is_ip_address(const std::string& host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
}

}  // namespace

std::string TestResponse::get_header_value(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return "";
}

bool TestResponse::has_header(const std::string& name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& kv) {
    return strcasecmp(kv.first.c_str(), name.c_str()) == 0;
  });
}

struct TestClient::Curl {
  CURL* handle = nullptr;
  ~Curl() {
    if (handle != nullptr) curl_easy_cleanup(handle);
  }
};

TestClient::TestClient(int port, bool tls, std::string ca_file)
    : curl_(std::make_unique<Curl>()), port_(port), tls_(tls), ca_file_(std::move(ca_file)) {
  init_curl_once();
  curl_->handle = curl_easy_init();
}

TestClient::~TestClient() = default;
TestClient::TestClient(TestClient&&) noexcept = default;
TestClient& TestClient::operator=(TestClient&&) noexcept = default;

TestResult TestClient::Get(const std::string& path, const TestHeaders& headers) {
  return send("GET", path, headers, "");
}

TestResult TestClient::Get(const std::string& path, const TestHeaders& headers,
                           const TestReceiver& receiver) {
  return send("GET", path, headers, "", receiver);
}

TestResult TestClient::Get(const std::string& path, const TestReceiver& receiver) {
  return send("GET", path, {}, "", receiver);
}

TestResult TestClient::Post(const std::string& path, const TestHeaders& headers,
                            const std::string& body, const std::string& content_type) {
  TestHeaders h = headers;
  h.emplace("Content-Type", content_type);
  return send("POST", path, h, body);
}

TestResult TestClient::Put(const std::string& path, const TestHeaders& headers,
                           const std::string& body, const std::string& content_type) {
  TestHeaders h = headers;
  h.emplace("Content-Type", content_type);
  return send("PUT", path, h, body);
}

TestResult TestClient::Delete(const std::string& path, const TestHeaders& headers) {
  return send("DELETE", path, headers, "");
}

TestResult TestClient::send(const std::string& method, const std::string& path,
                            const TestHeaders& headers, const std::string& body,
                            const TestReceiver& receiver) {
  CURL* c = curl_->handle;
  if (c == nullptr) return TestResult::failed("curl_easy_init failed");
  curl_easy_reset(c);
  const std::string port = std::to_string(port_);
  const std::string url = (tls_ ? "https://" : "http://") + host_ + ":" + port + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  // A reply that stalls (less than a byte a second) for the read timeout fails.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(read_timeout_s_));
  curl_slist* resolve = nullptr;
  if (!is_ip_address(host_)) {
    resolve = curl_slist_append(nullptr, (host_ + ":" + port + ":127.0.0.1").c_str());
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  }
  if (tls_) {
    if (!ca_file_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify_ ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify_ ? 2L : 0L);
  }

  curl_slist* header_list = curl_slist_append(nullptr, "Expect:");
  for (const auto& [name, value] : headers) {
    // "Name;" is libcurl's way to send a header with an empty value.
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    header_list = curl_slist_append(header_list, line.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list);

  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (method != "GET") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  Exchange x;
  x.receiver = &receiver;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);

  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(header_list);
  curl_slist_free_all(resolve);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (x.stopped) return TestResult::failed("stopped by the receiver");
  if (rc != CURLE_OK) {
    return TestResult::failed(std::string(curl_easy_strerror(rc)) + (*error ? ": " : "") + error);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  x.response.status = static_cast<int>(status);
  return TestResult(std::move(x.response));
}

}  // namespace mcpmem
