/**
 * `reload [INTERVAL [JITTER]]`: every INTERVAL (default 30s, at least 2s, moved by up to
 * half of JITTER either way; default 15s, 0 or at least 1s, at most INTERVAL/2) the server
 * re-reads the Corefile it was started from and, when its SHA-512 changed, applies it, as
 * CoreDNS's reload plugin does. A Corefile that fails to load is logged; the running one stays.
 */
import { durationMs } from "../../config.js";
import { ConfigError, type Plugin } from "../../plugin.js";

/** The `reload` plugin. */
export const reloadPlugin: Plugin = {
  name: "reload",
  setup(d, env) {
    if (d.args.length > 2 || d.block.length > 0)
      throw new ConfigError("reload takes at most INTERVAL and JITTER", d.line);
    const arg = (i: number, fallback: number): number => {
      const text = d.args[i];
      if (text === undefined) return fallback;
      const ms = durationMs(text);
      if (ms === undefined) throw new ConfigError(`reload: "${text}" is not a duration (e.g. 30s)`, d.line);
      return ms;
    };
    const interval = arg(0, 30_000);
    if (interval < 2000) throw new ConfigError("reload: interval value must be greater or equal to 2s", d.line);
    let jitter = arg(1, 15_000);
    if (jitter !== 0 && jitter < 1000)
      throw new ConfigError("reload: jitter value must be 0 or greater or equal to 1s", d.line);
    jitter = Math.min(jitter, interval / 2);
    const every = interval + (jitter > 0 ? Math.floor(env.random() * jitter - jitter / 2) : 0);
    let timer: NodeJS.Timeout | undefined;
    return {
      async start(server) {
        timer = setInterval(() => void server.reloadIfChanged(), every);
        timer.unref();
      },
      async stop() {
        clearInterval(timer);
        timer = undefined;
      },
    };
  },
};
