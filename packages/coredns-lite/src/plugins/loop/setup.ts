/**
 * `loop`: once the server listens it asks itself `HINFO <random>.<random>.<zone>`.
 * Seeing that question more than twice means something (a `forward` to an upstream
 * that forwards back, e.g. a resolv.conf naming this server) sends it round in a
 * loop, which is fatal, as in CoreDNS's loop plugin. Probing retries every second
 * for up to 30 s and stops 2 s after the first reply.
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { ConfigError, type Plugin } from "../../plugin.js";
import { RRType } from "../../wire/constants.js";
import { encodeQuery } from "../../wire/decode.js";
import { isSubdomain } from "../../wire/name.js";

/** A random 62-bit decimal label, as CoreDNS draws it. */
function randomLabel(): string {
  return (randomBytes(8).readBigUInt64BE() >> 2n).toString();
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms).unref();
  });

/** Ask `qname` HINFO at host:port over UDP; true when any reply came within 2 s. */
function probe(host: string, port: number, qname: string, id: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createSocket(host.includes(":") ? "udp6" : "udp4");
    const t = setTimeout(() => finish(false), 2000);
    const finish = (ok: boolean): void => {
      clearTimeout(t);
      s.close();
      done(ok);
    };
    s.on("error", () => finish(false));
    s.on("message", () => finish(true));
    s.send(encodeQuery(id, qname, RRType.HINFO), port, host);
  });
}

/** The `loop` plugin. */
export const loopPlugin: Plugin = {
  name: "loop",
  setup(d, env) {
    if (d.args.length > 0 || d.block.length > 0) throw new ConfigError("loop takes no arguments", d.line);
    const zone = env.zones[0] ?? ".";
    const qname = `${randomLabel()}.${randomLabel()}.${zone === "." ? "" : zone}`;
    let seen = 0;
    let off = false;
    let stopped = false;
    let self = "";
    return {
      async start(server) {
        const { host, port } = server.address();
        self = `${host.includes(":") ? `[${host}]` : host}:${port}`;
        // In the background, as CoreDNS does: the probe needs the server answering.
        void (async () => {
          const deadline = Date.now() + 30_000;
          while (!stopped && Date.now() < deadline) {
            if (await probe(host, port, qname, Math.floor(env.random() * 65536))) {
              await sleep(2000);
              break;
            }
            seen = 0;
            await sleep(1000);
          }
          off = true;
        })();
      },
      async stop() {
        stopped = true;
        off = true;
      },
      handler: {
        name: "loop",
        serveDNS(req, next) {
          if (req.type !== RRType.HINFO || off || !isSubdomain(req.name, zone)) return next(req);
          if (req.name === qname) seen++;
          if (seen > 2) {
            off = true;
            env.fatal(
              `plugin/loop: Loop (${req.remote ?? "-"} -> ${self}) detected for zone "${zone}", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${qname}"`,
            );
          }
          return next(req);
        },
      },
    };
  },
};
