// The model-files fuzz target (model_files_fuzz.cpp), run by the fuzz driver's --target model.
#pragma once

#include <cstdint>

namespace mcpmem {

// Returns the process exit code: 0 when every damaged model failed cleanly or embedded sanely.
int run_model_files_fuzz(int seconds, uint32_t seed);

}  // namespace mcpmem
