// Self-signed certificates with OpenSSL 3. Files are replaced atomically (written beside, then
// renamed; the key through create_secret_file, so it is 0600 from its first byte), key first:
// a crash between the two renames leaves a key that does not match the old certificate, which
// the next start detects (X509_check_private_key) and repairs by making a new pair.
#include "http/tls_certificate.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>

#include "platform/file_modes.h"
#include "platform/secret_file.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;

std::vector<std::string> split(const std::string& csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string::npos) comma = csv.size();
    std::string item = csv.substr(start, comma - start);
    std::erase(item, ' ');
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

template <typename T, typename Reader>
T read_pem(const std::string& path, Reader reader) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return T();
  return T(reader(bio.get(), nullptr, nullptr, nullptr));
}

std::string pem_of(bool key, EVP_PKEY* pkey, X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (key) {
    PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_X509(bio.get(), cert);
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Status::invalid_argument("cannot add the certificate extension " + value);
  }
  return Status::ok();
}

Status replace_file(const std::string& path, const std::string& content, bool secret) {
  const std::string tmp = path + ".new";
  fs::remove(tmp);
  if (secret) {
    MCP_RETURN_IF_ERROR(create_secret_file(tmp, content));
  } else {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return Status::io_error("writing " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::io_error("replacing " + path + ": " + ec.message());
  return Status::ok();
}

Result<X509Ptr> make_certificate(EVP_PKEY* key, const CertificateNames& names) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Status::internal("no random serial");
  serial[0] &= 0x7F;  // positive
  std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate slightly slow clocks
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * kCertificateDays);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto* cn = reinterpret_cast<const unsigned char*>(names.dns.empty() ? "localhost"
                                                                            : names.dns[0].c_str());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mcp-memory (self-signed)"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, cn, -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  std::string san;
  for (const auto& d : names.dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : names.ips) san += (san.empty() ? "IP:" : ",IP:") + ip;
  MCP_RETURN_IF_ERROR(add_extension(cert.get(), NID_subject_alt_name, san));
  MCP_RETURN_IF_ERROR(add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  MCP_RETURN_IF_ERROR(
      add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement"));
  MCP_RETURN_IF_ERROR(add_extension(cert.get(), NID_ext_key_usage, "serverAuth"));
  MCP_RETURN_IF_ERROR(add_extension(cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) {
    return Status::internal("signing the certificate failed");
  }
  return cert;
}

}  // namespace

CertificateNames certificate_names(const std::string& host_name, const std::string& extra_hosts,
                                   const std::string& extra_ips) {
  CertificateNames n;
  n.dns = {"localhost"};
  if (!host_name.empty() && host_name != "localhost") n.dns.push_back(host_name);
  for (auto& h : split(extra_hosts)) n.dns.push_back(h);
  n.ips = {"127.0.0.1", "::1"};
  for (auto& ip : split(extra_ips)) n.ips.push_back(ip);
  return n;
}

Result<TlsFiles> ensure_self_signed_certificate(const std::string& dir,
                                                const CertificateNames& names) {
  TlsFiles files;
  files.cert_file = dir + "/cert.pem";
  files.key_file = dir + "/key.pem";
  for (const std::string& path : {dir, files.key_file}) {
    if (auto note = tighten_to_owner(path)) spdlog::warn("{}", *note);
  }
  if (fs::exists(files.cert_file) && fs::exists(files.key_file)) {
    auto cert = read_pem<X509Ptr>(files.cert_file, PEM_read_bio_X509);
    auto key = read_pem<KeyPtr>(files.key_file, PEM_read_bio_PrivateKey);
    const time_t renew_at = std::time(nullptr) + 86400L * kRenewDays;
    if (cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
        X509_cmp_time(X509_get0_notAfter(cert.get()), const_cast<time_t*>(&renew_at)) > 0) {
      files.sha256_fingerprint = fingerprint(cert.get());
      return files;
    }
  }
  MCP_RETURN_IF_ERROR(create_private_directories(dir));
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Status::internal("generating an EC P-256 key failed");
  MCP_ASSIGN_OR_RETURN(auto cert, make_certificate(key.get(), names));
  MCP_RETURN_IF_ERROR(replace_file(files.key_file, pem_of(true, key.get(), nullptr), true));
  MCP_RETURN_IF_ERROR(replace_file(files.cert_file, pem_of(false, nullptr, cert.get()), false));
  files.created = true;
  files.sha256_fingerprint = fingerprint(cert.get());
  return files;
}

}  // namespace mcpmem
