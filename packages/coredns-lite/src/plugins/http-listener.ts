/** The HTTP listener `metrics`, `health` and `ready` share: bound exactly where configured. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ConfigError } from "../plugin.js";

/** A host and port to listen on. */
export interface ListenAddress {
  /** Host or IP; `127.0.0.1` when the configuration gives only `:port`. */
  readonly host: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
}

/** Parse `host:port`, `:port`, `[v6]:port` or `host` (with `defaultPort`). A missing host means 127.0.0.1. */
export function parseListen(text: string, defaultPort: number, line = 0): ListenAddress {
  let host = text;
  let port = defaultPort;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (m !== null) {
    host = m[1] as string;
    if (m[2] !== undefined) port = Number(m[2]);
  } else {
    const i = text.lastIndexOf(":");
    if (i >= 0 && text.indexOf(":") === i) {
      host = text.slice(0, i);
      port = Number(text.slice(i + 1));
    }
  }
  if (host === "" || host === "localhost") host = "127.0.0.1";
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`bad port in "${text}"`, line);
  return { host, port };
}

/** One HTTP listener answering a single path. */
export class HttpEndpoint {
  private server: Server | undefined;
  private readonly listen: ListenAddress;
  private readonly path: string;
  private readonly respond: () => { status: number; body: string; type?: string };

  constructor(listen: ListenAddress, path: string, respond: () => { status: number; body: string; type?: string }) {
    this.listen = listen;
    this.path = path;
    this.respond = respond;
  }

  /** The bound address (after {@link HttpEndpoint.start}). */
  address(): ListenAddress {
    const a = this.server?.address();
    if (a === null || a === undefined || typeof a === "string") return this.listen;
    return { host: a.address, port: a.port };
  }

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" || url !== this.path) {
        res.writeHead(404, { "content-type": "text/plain" }).end("404 page not found\n");
        return;
      }
      const r = this.respond();
      res.writeHead(r.status, { "content-type": r.type ?? "text/plain; charset=utf-8" }).end(r.body);
    });
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(this.listen.port, this.listen.host, () => {
        server.off("error", fail);
        ok();
      });
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((ok) => s.close(() => ok()));
  }
}
