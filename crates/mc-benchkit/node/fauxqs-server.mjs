// Starts fauxqs (npm) through its buildApp, bound to 127.0.0.1 only (its CLI binds 0.0.0.0).
// Env: FAUXQS_MODULE = absolute path of node_modules/fauxqs; FAUXQS_PORT (default 0 = any).
// Prints "listening on http://127.0.0.1:PORT" once ready; exits on SIGTERM/SIGINT or when
// stdin closes (so it never outlives its parent).
import { pathToFileURL } from "node:url";
import path from "node:path";

const modDir = process.env.FAUXQS_MODULE;
if (!modDir) {
  console.error("FAUXQS_MODULE is not set");
  process.exit(2);
}
const { buildApp } = await import(pathToFileURL(path.join(modDir, "dist", "app.js")).href);
const port = parseInt(process.env.FAUXQS_PORT ?? "0", 10);
const app = buildApp({ logger: false, host: "127.0.0.1" });
const address = await app.listen({ port, host: "127.0.0.1" });
const url = new URL(address);
console.log(`listening on http://127.0.0.1:${url.port}`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  try {
    await app.close();
  } finally {
    process.exit(0);
  }
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
process.stdin.on("end", shutdown);
process.stdin.on("error", shutdown);
process.stdin.resume();
