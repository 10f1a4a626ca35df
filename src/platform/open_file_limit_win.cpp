// raise_open_file_limit on Windows: sockets and handles have no per-process limit worth
// raising; the C runtime's stdio streams do (512 by default, 8192 at most).
#include <algorithm>
#include <cstdio>

#include "platform/open_file_limit.h"

namespace mcpmem {

size_t raise_open_file_limit(size_t wanted) {
  const int streams = _setmaxstdio(static_cast<int>(std::min<size_t>(wanted, 8192)));
  return streams > 0 ? wanted : 0;
}

}  // namespace mcpmem
