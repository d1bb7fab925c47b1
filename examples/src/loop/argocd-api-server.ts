import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describeError } from "@selfheal/core";
import { z } from "zod";
import { runtimeErrorBody } from "./argocd-application-view.js";

/** The body of `POST /api/v1/applications/{name}/sync`, as far as the agent reads it. */
export const SyncRequest = z.object({
  revision: z.string().optional(),
  prune: z.boolean().optional(),
  dryRun: z.boolean().optional(),
});
export type SyncRequest = z.infer<typeof SyncRequest>;

/** An answer: HTTP status and JSON body. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** What the API server serves, for one application. */
export interface ArgocdApiHandlers {
  /** The application name; any other answers 404. */
  readonly app: string;
  /** Bearer token every request must carry; none when undefined. */
  readonly token: string | undefined;
  /** `GET /api/v1/applications/{app}`, with `refresh` when the query asked for one. */
  get(refresh: boolean): Promise<unknown>;
  /** `POST /api/v1/applications/{app}/sync`. */
  sync(request: SyncRequest): Promise<ApiAnswer>;
}

/** A running API server. */
export interface ArgocdApiServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve the two Argo CD Application endpoints the selfheal client calls, with Argo CD's error
 * shapes: 401 without the token, 404 (gRPC code 5) for another application or path, 400
 * (code 3) for a malformed sync body.
 */
export async function serveArgocdApi(handlers: ArgocdApiHandlers, port = 0): Promise<ArgocdApiServer> {
  const handle = async (request: IncomingMessage, text: string): Promise<ApiAnswer> => {
    const url = new URL(request.url ?? "/", "http://agent");
    if (handlers.token !== undefined && request.headers.authorization !== `Bearer ${handlers.token}`) {
      return { status: 401, body: runtimeErrorBody(16, "invalid session: token is missing or wrong") };
    }
    const match = /^\/api\/v1\/applications\/([^/]+)(\/sync)?$/.exec(url.pathname);
    const method = request.method ?? "GET";
    if (match === null || method !== (match[2] === undefined ? "GET" : "POST")) {
      return { status: 404, body: runtimeErrorBody(5, "Not Found") };
    }
    const app = decodeURIComponent(match[1] ?? "");
    if (app !== handlers.app) {
      return { status: 404, body: runtimeErrorBody(5, `applications.argoproj.io "${app}" not found`) };
    }
    if (match[2] === undefined)
      return { status: 200, body: await handlers.get(url.searchParams.has("refresh")) };
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch {
      return { status: 400, body: runtimeErrorBody(3, "the sync request is not JSON") };
    }
    const body = SyncRequest.safeParse(parsed);
    if (!body.success) {
      const issue = body.error.issues[0];
      return {
        status: 400,
        body: runtimeErrorBody(3, `invalid sync request: ${issue?.path.join(".")} ${issue?.message}`),
      };
    }
    return handlers.sync(body.data);
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const reply = (answer: ApiAnswer) => {
        const json = JSON.stringify(answer.body);
        response.writeHead(answer.status, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(json),
        });
        response.end(json);
      };
      handle(request, Buffer.concat(chunks).toString("utf8")).then(reply, (error: unknown) =>
        reply({ status: 500, body: runtimeErrorBody(13, describeError(error)) }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
    },
  };
}
