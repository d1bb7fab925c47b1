import { createServer } from "node:net";

/** Ports this process handed out: two servers started at once must never be given the same one. */
const handedOut = new Set<number>();

/**
 * A loopback port nobody listens on now, for a server a test starts: the OS picks one for a
 * listener on port 0, which we then close. Never one this process handed out before (the OS may
 * pick a port again once it is closed, and two servers started at once would then share it).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unusedPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

async function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}
