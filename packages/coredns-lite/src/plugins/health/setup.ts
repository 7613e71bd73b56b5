/** `health [ADDR]`: `GET /health` answers 200 OK while the server runs. Binds only ADDR (default 127.0.0.1:8080). */
import { ConfigError, type Plugin } from "../../plugin.js";
import { HttpEndpoint, parseListen } from "../http-listener.js";

/** The `health` plugin. */
export const healthPlugin: Plugin = {
  name: "health",
  setup(d) {
    if (d.args.length > 1) throw new ConfigError("health takes at most one address", d.line);
    const ep = new HttpEndpoint(parseListen(d.args[0] ?? "127.0.0.1:8080", 8080, d.line), "/health", () => ({
      status: 200,
      body: "OK",
    }));
    return { start: () => ep.start(), stop: () => ep.stop(), endpoint: ep };
  },
};
