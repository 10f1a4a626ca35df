// The HTTP figures of `make bench` (issue 5): /api/search over HTTPS keep-alive.
#pragma once

#include <string>

namespace mcpmem::bench {

// Starts `binary serve --https --port 0` on `db` (a 10k-memory database), runs `clients`
// keep-alive HTTPS clients posting /api/search for `seconds`, then getting
// /api/health/detailed for half as long, and prints BENCH http_search_rps_10k,
// http_search_p99_ms_10k and http_health_rps. Returns false on any failure.
bool bench_http_search(const std::string& binary, const std::string& db,
                       const std::string& work_dir, int clients, int seconds);

}  // namespace mcpmem::bench
