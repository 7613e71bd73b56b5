/**
 * `health [ADDR] { lameduck DURATION }`: `GET /health` answers 200 OK while the server
 * runs. Binds only ADDR (default 127.0.0.1:8080). With `lameduck`, stopping the server
 * first waits DURATION, still answering DNS and /health, as CoreDNS does on shutdown.
 */
import { durationMs } from "../../config.js";
import { ConfigError, type Plugin } from "../../plugin.js";
import { HttpEndpoint, parseListen } from "../http-listener.js";

/** The `health` plugin. */
export const healthPlugin: Plugin = {
  name: "health",
  setup(d, env) {
    if (d.args.length > 1) throw new ConfigError("health takes at most one address", d.line);
    let lameduck = 0;
    for (const s of d.block) {
      if (s.name !== "lameduck") throw new ConfigError(`health: unknown property '${s.name}'`, s.line);
      const ms = s.args.length === 1 ? durationMs(s.args[0] as string) : undefined;
      if (ms === undefined)
        throw new ConfigError(`health: lameduck takes one duration such as 5s, got '${s.args.join(" ")}'`, s.line);
      lameduck = ms;
    }
    const ep = new HttpEndpoint(parseListen(d.args[0] ?? "127.0.0.1:8080", 8080, d.line), "/health", () => ({
      status: 200,
      body: "OK",
    }));
    return {
      start: () => ep.start(),
      stop: () => ep.stop(),
      endpoint: ep,
      async shutdown() {
        if (lameduck <= 0) return;
        env.logSink(`[INFO] plugin/health: Going into lameduck mode for ${s(lameduck)}`);
        await new Promise((r) => setTimeout(r, lameduck));
      },
    };
  },
};

/** A duration as Go prints it for whole seconds or milliseconds (5s, 500ms). */
function s(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
