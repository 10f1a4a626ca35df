// The HTTP figures of `make bench` (issue 5): /api/search over HTTPS keep-alive.
#pragma once

#include <string>

namespace mcpmem::bench {

// Starts `binary serve --https --port 0` on `db` (a 10k-memory database), runs `clients`
// keep-alive HTTPS clients posting /api/search for `seconds`, and prints
// BENCH http_search_rps_10k and BENCH http_search_p99_ms_10k. Returns false on any failure.
bool bench_http_search(const std::string& binary, const std::string& db,
                       const std::string& work_dir, int clients, int seconds);

}  // namespace mcpmem::bench
