/** `errors`: a handler that throws (or rejects) becomes SERVFAIL, and the error is logged. */
import { ConfigError, type Plugin } from "../../plugin.js";
import { Rcode, typeName } from "../../wire/constants.js";
import { type DnsResponse, emptyResponse } from "../../wire/message.js";

/** The `errors` plugin. */
export const errorsPlugin: Plugin = {
  name: "errors",
  setup(d, env) {
    if (d.args.length > 0) throw new ConfigError("errors takes no arguments", d.line);
    const fail = (req: { name: string; type: number }, e: unknown): DnsResponse => {
      const msg = e instanceof Error ? e.message : String(e);
      env.logSink(`[ERROR] plugin/errors: 2 ${req.name} ${typeName(req.type)}: ${msg}`);
      return emptyResponse(Rcode.SERVFAIL);
    };
    return {
      handler: {
        name: "errors",
        // Logs only for a handler that threw, whose SERVFAIL is a fresh object, never replayed.
        pure: true,
        serveDNS(req, next) {
          try {
            const r = next(req);
            return r instanceof Promise ? r.catch((e: unknown) => fail(req, e)) : r;
          } catch (e) {
            return fail(req, e);
          }
        },
      },
    };
  },
};
