/**
 * `metrics [ADDR]` (also spelled `prometheus`, as in CoreDNS): counts requests
 * and responses and times them, and serves the registry as Prometheus text on
 * `GET /metrics` at ADDR (default 127.0.0.1:9153) and nowhere else.
 */
import { ConfigError, type Plugin } from "../../plugin.js";
import { rcodeName, typeName } from "../../wire/constants.js";
import type { DnsResponse } from "../../wire/message.js";
import { HttpEndpoint, parseListen } from "../http-listener.js";
import { labels } from "./registry.js";

const BUCKETS = [
  0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
];

/** The `metrics` plugin. */
export const metricsPlugin: Plugin = {
  name: "metrics",
  aliases: ["prometheus"],
  setup(d, env) {
    if (d.args.length > 1) throw new ConfigError("metrics takes at most one address", d.line);
    const m = env.metrics;
    const requests = m.counter(
      "coredns_dns_requests_total",
      "Counter of DNS requests made per zone, protocol and family.",
    );
    const responses = m.counter("coredns_dns_responses_total", "Counter of response status codes.");
    const duration = m.histogram(
      "coredns_dns_request_duration_seconds",
      "Histogram of the time (in seconds) each request took.",
      BUCKETS,
    );
    const reqLabels = new Map<string, string>();
    const rcLabels = new Map<number, string>();
    const ep = new HttpEndpoint(parseListen(d.args[0] ?? "127.0.0.1:9153", 9153, d.line), "/metrics", () => ({
      status: 200,
      body: m.render(),
      type: "text/plain; version=0.0.4; charset=utf-8",
    }));
    const done = (t0: number, res: DnsResponse): DnsResponse => {
      let rl = rcLabels.get(res.rcode);
      if (rl === undefined) {
        rl = labels({ rcode: rcodeName(res.rcode) });
        rcLabels.set(res.rcode, rl);
      }
      responses.inc(rl);
      duration.observe("", (env.clock.now() - t0) / 1000);
      return res;
    };
    return {
      start: () => ep.start(),
      stop: () => ep.stop(),
      endpoint: ep,
      handler: {
        name: "metrics",
        serveDNS(req, next) {
          const k = `${req.transport}|${req.type}`;
          let l = reqLabels.get(k);
          if (l === undefined) {
            l = labels({ proto: req.transport, type: typeName(req.type) });
            reqLabels.set(k, l);
          }
          requests.inc(l);
          const t0 = env.clock.now();
          const r = next(req);
          return r instanceof Promise ? r.then((res) => done(t0, res)) : done(t0, r);
        },
      },
    };
  },
};
