// `mcp-memory serve --http` as a child process for the MCP client tests: started on a free
// loopback port (or a given one, to restart it where clients expect it), stopped with SIGTERM.
import { spawn } from "node:child_process";

// Resolves with {child, url, port, stop()} once the server listens.
export function startHttpServer(binary, env, { port = 0, args = [] } = {}) {
  const child = spawn(binary, ["serve", "--http", "--port", String(port), ...args], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let seen = "";
    const onExit = (code) => reject(new Error(`server exited with ${code}: ${seen}`));
    child.on("exit", onExit);
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      const m = /serving (http:\/\/127\.0\.0\.1:(\d+))/.exec(seen);
      if (!m) return;
      child.off("exit", onExit);
      const stop = () =>
        new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.on("exit", done);
          child.kill("SIGTERM");
        });
      resolve({ child, url: m[1], port: Number(m[2]), stop });
    });
  });
}
