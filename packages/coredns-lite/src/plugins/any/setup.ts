/** `any`: ANY queries get the minimal RFC 8482 answer (HINFO "RFC8482"), as CoreDNS's any plugin. */
import { ConfigError, type Handler, type Plugin } from "../../plugin.js";
import { anyAnswer } from "../../resolve.js";
import { RRType } from "../../wire/constants.js";

/** The any handler. */
export const anyHandler: Handler = {
  name: "any",
  pure: true,
  serveDNS(req, next) {
    return req.type === RRType.ANY ? anyAnswer(req.originalName) : next(req);
  },
};

/** The `any` plugin (on only when the Corefile names it, as in CoreDNS). */
export const anyPlugin: Plugin = {
  name: "any",
  setup(d) {
    if (d.args.length > 0 || d.block.length > 0) throw new ConfigError("any takes no arguments", d.line);
    return { handler: anyHandler };
  },
};
