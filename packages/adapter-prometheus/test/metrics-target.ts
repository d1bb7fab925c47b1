import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface ServiceTraffic {
  okPerS: number;
  errorPerS: number;
  ok: number;
  errors: number;
  hadErrors: boolean;
  updatedAt: number;
}

/**
 * A scrape target exposing `http_requests_total{service,status}` counters that grow at rates the
 * test sets. The 500 series of a service appears only once it has had errors, as in a real app.
 */
export async function startMetricsTarget(): Promise<{
  readonly address: string;
  setTraffic(service: string, okPerS: number, errorPerS: number): void;
  close(): Promise<void>;
}> {
  const services = new Map<string, ServiceTraffic>();
  const advance = (traffic: ServiceTraffic) => {
    const now = Date.now();
    const seconds = (now - traffic.updatedAt) / 1000;
    traffic.ok += traffic.okPerS * seconds;
    traffic.errors += traffic.errorPerS * seconds;
    traffic.updatedAt = now;
  };
  const server = createServer((request, response) => {
    if (request.url !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    const lines = ["# TYPE http_requests_total counter"];
    for (const [service, traffic] of services) {
      advance(traffic);
      lines.push(`http_requests_total{service="${service}",status="200"} ${traffic.ok}`);
      if (traffic.hadErrors)
        lines.push(`http_requests_total{service="${service}",status="500"} ${traffic.errors}`);
    }
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(`${lines.join("\n")}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    setTraffic(service, okPerS, errorPerS) {
      const traffic = services.get(service) ?? {
        okPerS,
        errorPerS,
        ok: 0,
        errors: 0,
        hadErrors: false,
        updatedAt: Date.now(),
      };
      advance(traffic);
      traffic.okPerS = okPerS;
      traffic.errorPerS = errorPerS;
      traffic.hadErrors ||= errorPerS > 0;
      services.set(service, traffic);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
