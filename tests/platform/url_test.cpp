// The URL rules every client relies on: a query value survives any bytes, a base URL joins a
// path whatever slashes it ends in, and loopback is decided on the parsed host for https too.
// (The plain-http rule's table of spellings is HubUrl's test in tests/sync.)
#include "platform/url.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

TEST(UrlEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_encode("a b/c?d=e&f#g+h%"), "a%20b%2Fc%3Fd%3De%26f%23g%2Bh%25");
  EXPECT_EQ(url_encode("bert:/models/x"), "bert%3A%2Fmodels%2Fx");
  EXPECT_EQ(url_encode("caf\xc3\xa9"), "caf%C3%A9");  // UTF-8 bytes, upper-case hex
  EXPECT_EQ(url_encode(std::string_view("a\0b", 3)), "a%00b");
  EXPECT_EQ(url_encode(""), "");
}

TEST(TrimTrailingSlashes, RemovesEverySlashAtTheEndOnly) {
  EXPECT_EQ(trim_trailing_slashes("https://hub:8443/"), "https://hub:8443");
  EXPECT_EQ(trim_trailing_slashes("https://hub:8443//"), "https://hub:8443");
  EXPECT_EQ(trim_trailing_slashes("http://127.0.0.1/base/"), "http://127.0.0.1/base");
  EXPECT_EQ(trim_trailing_slashes("https://hub"), "https://hub");
  EXPECT_EQ(trim_trailing_slashes("///"), "");
}

TEST(IsLoopbackUrl, EitherSchemeOnTheParsedHost) {
  for (const char* url :
       {"https://127.0.0.1:8443", "HTTPS://localhost/x", "https://[::1]", "http://127.0.0.1:1"}) {
    EXPECT_TRUE(is_loopback_url(url)) << url;
  }
  for (const char* url : {"https://127.0.0.1.evil.example", "https://127.0.0.1@evil.example",
                          "https://hub.local:8443", "ftp://127.0.0.1", "https//127.0.0.1"}) {
    EXPECT_FALSE(is_loopback_url(url)) << url;
  }
  EXPECT_FALSE(is_loopback_http_url("https://127.0.0.1"));  // not plain http
}

}  // namespace
}  // namespace mcpmem
