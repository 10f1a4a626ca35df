// Base64 against RFC 4648's test vectors, and what a strict decoder must refuse.
#include "core/base64.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

TEST(Base64, Rfc4648VectorsRoundTrip) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain)) << encoded;
  }
  const std::string binary("\0\xff\xfe\x80", 4);
  EXPECT_EQ(base64_decode(base64_encode(binary)), std::optional<std::string>(binary));
}

TEST(Base64, RefusesWhatIsNotPaddedStandardBase64) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zg=a", "Zm9v!A==", " Zm9v", "Zm9v ", "Zm=v"}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}

TEST(Base64, UrlSafeWithoutPadding) {
  EXPECT_EQ(base64url(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
}

}  // namespace
}  // namespace mcpmem
