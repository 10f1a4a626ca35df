// The self-signed certificate `serve --https` uses when no MCP_SSL_CERT_FILE/MCP_SSL_KEY_FILE
// is given: EC P-256, valid 365 days, SAN localhost, 127.0.0.1, ::1, this host's name and the
// names in MCP_SSL_ADDITIONAL_HOSTNAMES / MCP_SSL_ADDITIONAL_IPS (comma separated). Made with
// OpenSSL's API on first start into <base_dir>/tls/{cert.pem,key.pem} (key mode 0600), reused
// while more than kRenewDays remain, then made anew. Clients trust it by pinning cert.pem
// (curl --cacert, `sync --hub-cert`), or with -k as the sync guide shows.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace mcpmem {

inline constexpr int kCertificateDays = 365;
inline constexpr int kRenewDays = 30;

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  bool created = false;            // made (or renewed) by this call
  std::string sha256_fingerprint;  // of the certificate, "AB:CD:..." as browsers show it
};

struct CertificateNames {
  std::vector<std::string> dns;  // localhost, host name, extras
  std::vector<std::string> ips;  // 127.0.0.1, ::1, extras
};

// The names a new certificate gets (extras from the environment variables above).
CertificateNames certificate_names(const std::string& host_name, const std::string& extra_hosts,
                                   const std::string& extra_ips);

// Returns usable PEM files in `dir`, creating or renewing them as described above.
Result<TlsFiles> ensure_self_signed_certificate(const std::string& dir,
                                                const CertificateNames& names);

}  // namespace mcpmem
