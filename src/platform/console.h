// The standard streams as the CLI and MCP's stdio transport need them: bytes in, bytes out.
// On Windows the C runtime opens them in text mode, which turns "\n" into "\r\n" (an MCP client
// reading newline-delimited JSON would get a stray "\r"; an export would differ from Linux's)
// and stops reading at a Ctrl+Z byte; the console shows UTF-8 only once asked to.
#pragma once

namespace mcpmem {

// Call first thing in main, before anything is read or written. POSIX: nothing to do.
void use_binary_standard_streams();

}  // namespace mcpmem
