/** `ready [ADDR]`: `GET /ready` answers 200 once every plugin that reports readiness is ready, 503 before. Default 127.0.0.1:8181. */
import { ConfigError, type Plugin } from "../../plugin.js";
import { HttpEndpoint, parseListen } from "../http-listener.js";

/** The `ready` plugin; the server tells it which plugins to ask. */
export const readyPlugin: Plugin = {
  name: "ready",
  setup(d, env) {
    if (d.args.length > 1) throw new ConfigError("ready takes at most one address", d.line);
    const ep = new HttpEndpoint(parseListen(d.args[0] ?? "127.0.0.1:8181", 8181, d.line), "/ready", () =>
      env.index.synced ? { status: 200, body: "OK" } : { status: 503, body: "kubernetes\n" },
    );
    return { start: () => ep.start(), stop: () => ep.stop(), endpoint: ep };
  },
};
