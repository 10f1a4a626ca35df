// The self-signed certificate: made once with the right names and modes, reused, remade when
// its key no longer matches, and accepted by a verifying TLS client that pins it.
#include "http/tls_certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>

#include "../temp_dir.h"
#include "http_fixture.h"

namespace mcpmem {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string san_of(const std::string& cert_path) {
  FILE* f = std::fopen(cert_path.c_str(), "r");
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  BIO* out = BIO_new(BIO_s_mem());
  int at = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
  X509V3_EXT_print(out, X509_get_ext(cert, at), 0, 0);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<size_t>(n));
  BIO_free(out);
  X509_free(cert);
  return text;
}

TEST_F(HttpTest, SelfSignedCertificateIsMadeOnceKeptPrivateAndTrustedWhenPinned) {
  const std::string dir = dir_ / "tls";
  auto names = certificate_names("box", "memory.lan, hub.local", "10.0.0.5");
  auto made = ensure_self_signed_certificate(dir, names);
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  EXPECT_TRUE(made->created);
  EXPECT_EQ(made->sha256_fingerprint.size(), 32u * 3 - 1);
  struct stat st {};
  ASSERT_EQ(stat(made->key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(san_of(made->cert_file),
            "DNS:localhost, DNS:box, DNS:memory.lan, DNS:hub.local, IP Address:127.0.0.1, "
            "IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.5");

  const std::string pem = slurp(made->cert_file);
  auto again = ensure_self_signed_certificate(dir, names);
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(slurp(again->cert_file), pem);
  EXPECT_EQ(again->sha256_fingerprint, made->sha256_fingerprint);

  HttpOptions o;
  o.cert_file = made->cert_file;
  o.key_file = made->key_file;
  start(o);
  TestClient tls(server_->port(), /*tls=*/true, made->cert_file);
  tls.set_host_name("localhost");
  auto r = tls.Get("/api/health/detailed", with_key());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 200);
  // A client that trusts another certificate refuses the connection.
  stop();
  auto other = ensure_self_signed_certificate(dir_ / "other", names);
  start(o);
  TestClient wrong(server_->port(), /*tls=*/true, other->cert_file);
  wrong.set_host_name("localhost");
  EXPECT_FALSE(wrong.Get("/api/health"));
}

TEST(SelfSignedCertificate, AKeyThatNoLongerMatchesIsRepaired) {
  const TempDir dir("tls");
  auto names = certificate_names("box", "", "");
  auto first = ensure_self_signed_certificate(dir / "a", names);
  auto second = ensure_self_signed_certificate(dir / "b", names);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  // As after a crash between the two renames: a new key beside the old certificate.
  std::filesystem::copy_file(second->key_file, first->key_file,
                             std::filesystem::copy_options::overwrite_existing);
  auto repaired = ensure_self_signed_certificate(dir / "a", names);
  ASSERT_TRUE(repaired.is_ok());
  EXPECT_TRUE(repaired->created);
  EXPECT_NE(repaired->sha256_fingerprint, first->sha256_fingerprint);
  std::ofstream(first->cert_file) << "not a certificate";
  EXPECT_TRUE(ensure_self_signed_certificate(dir / "a", names)->created);
}

}  // namespace
}  // namespace mcpmem
