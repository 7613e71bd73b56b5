/** `log`: one line per query, in the shape of CoreDNS's common log format. */
import { ConfigError, type DnsRequest, type Plugin } from "../../plugin.js";
import { rcodeName, typeName } from "../../wire/constants.js";
import type { DnsResponse } from "../../wire/message.js";

/** The line logged for one answered query. */
export function logLine(req: DnsRequest, res: DnsResponse, ms: number): string {
  const flags = ["qr", res.authoritative ? "aa" : "", res.truncated ? "tc" : "", res.recursionAvailable ? "ra" : ""]
    .filter((f) => f !== "")
    .join(",");
  return `[INFO] ${req.remote ?? "-"} - "${typeName(req.type)} IN ${req.originalName} ${req.transport}" ${rcodeName(res.rcode)} ${flags} ${ms.toFixed(3)}ms`;
}

/** The `log` plugin. */
export const logPlugin: Plugin = {
  name: "log",
  setup(d, env) {
    if (d.args.length > 0 || d.block.length > 0) throw new ConfigError("log takes no arguments here", d.line);
    return {
      handler: {
        name: "log",
        serveDNS(req, next) {
          const t0 = env.clock.now();
          const r = next(req);
          if (r instanceof Promise) {
            return r.then((res) => {
              env.logSink(logLine(req, res, env.clock.now() - t0));
              return res;
            });
          }
          env.logSink(logLine(req, r, env.clock.now() - t0));
          return r;
        },
      },
    };
  },
};
