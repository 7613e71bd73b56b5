import type { CaptureConfig } from "@knet/mesh";
import { iptablesCapture, nftablesCapture, parseIstioIptablesArgs, tproxyRouteCommands } from "@knet/mesh";
import { describeKernel, Netns, vethPair } from "@knet/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureEvaluators } from "./both-evaluators.js";
import { DEFAULT_POD_INIT_ARGS } from "./default-pod-args.js";
import { BASE, CASES } from "./golden-cases.js";

const PROXY = { uid: 1337, gid: 1337 };
const APP = { uid: 1000, gid: 1000 };
const POD_IP = "10.77.0.2";
const PEER_IP = "10.77.0.1";

/** Group names of istio's test cases that do not exist on this host: iptables and nft resolve them at load. */
const GROUP_STANDINS: Record<string, string> = { java: "2001", ftp: "2002" };
const loadable = (c: Partial<CaptureConfig>): Partial<CaptureConfig> => {
  const sub = (v: string): string => v.replace(/[a-z]+/g, (g) => GROUP_STANDINS[g] ?? g);
  return {
    ...c,
    ...(c.ownerGroupsInclude === undefined ? {} : { ownerGroupsInclude: sub(c.ownerGroupsInclude) }),
    ...(c.ownerGroupsExclude === undefined ? {} : { ownerGroupsExclude: sub(c.ownerGroupsExclude) }),
  };
};

/** A pod network namespace with a peer namespace on a veth, listeners that say who answered. */
class PodLab {
  readonly pod: Netns;
  readonly peer: Netns;
  constructor() {
    this.pod = Netns.create("mesh");
    this.peer = Netns.create("meshpeer");
    const [a, b] = vethPair(this.pod, this.peer);
    this.pod.must("ip", ["addr", "add", `${POD_IP}/24`, "dev", a]);
    this.peer.must("ip", ["addr", "add", `${PEER_IP}/24`, "dev", b]);
  }
  /** A TCP listener in `ns` as `who` answering every connection with `label`. */
  listen(ns: Netns, port: number, label: string, who: { uid: number; gid: number }, transparent = false): void {
    ns.spawn("setpriv", [
      `--reuid=${who.uid}`,
      `--regid=${who.gid}`,
      "--clear-groups",
      ...(transparent ? ["--inh-caps=+net_admin", "--ambient-caps=+net_admin"] : []),
      "socat",
      `TCP-LISTEN:${port},fork,reuseaddr${transparent ? ",ip-transparent" : ""}`,
      `SYSTEM:echo ${label}`,
    ]);
  }
  /** Connect from `ns` as `who` and return what answered (or the failure). */
  connect(ns: Netns, host: string, port: number, who: { uid: number; gid: number }): string {
    const r = ns.run(
      "setpriv",
      [
        `--reuid=${who.uid}`,
        `--regid=${who.gid}`,
        "--clear-groups",
        "socat",
        "-T2",
        "-",
        `TCP:${host}:${port},connect-timeout=2`,
      ],
      "",
      10_000,
    );
    return r.code === 0 ? r.stdout.trim() : `failed: ${r.stderr.trim()}`;
  }
  waitListening(ns: Netns, ports: number[]): void {
    for (let i = 0; i < 50; i++) {
      const ss = ns.run("ss", ["-Htln"]).stdout;
      if (ports.every((p) => ss.includes(`:${p} `))) return;
      ns.run("sleep", ["0.1"]);
    }
    throw new Error(`listeners on ${ports.join(",")} did not come up`);
  }
  destroy(): void {
    this.pod.delete();
    this.peer.delete();
  }
}

describeKernel(
  "istio capture rules in a real kernel",
  { commands: ["ip", "iptables-restore", "nft", "socat", "setpriv"] },
  () => {
    it("every golden configuration loads: iptables-restore and ip6tables-restore, and nft -f (real loads)", () => {
      for (const c of CASES) {
        const ns = Netns.create("meshload");
        try {
          const cfg = loadable({ ...BASE, ...c.config });
          if (c.nftOnly !== true) {
            const r = iptablesCapture(cfg);
            const v4 = ns.run("iptables-restore", ["--noflush"], r.v4);
            expect(v4.stderr, `${c.name} v4`).toBe("");
            expect(v4.code, `${c.name} v4`).toBe(0);
            if (r.v6 !== undefined) {
              const v6 = ns.run("ip6tables-restore", ["--noflush"], r.v6);
              expect(v6.stderr, `${c.name} v6`).toBe("");
              expect(v6.code, `${c.name} v6`).toBe(0);
            }
            expect(ns.must("iptables-save", [])).toContain(":ISTIO_OUTPUT");
          }
          const n = ns.run("nft", ["-f", "-"], nftablesCapture(cfg).script);
          expect(n.stderr, `${c.name} nft`).toBe("");
          expect(n.code, `${c.name} nft`).toBe(0);
          expect(ns.must("nft", ["list", "tables"])).toContain("istio-proxy-nat");
        } finally {
          ns.delete();
        }
      }
    });

    it("the kernel refuses TPROXY in the nat table, which iptables-restore --test accepts", () => {
      const ns = Netns.create("meshload");
      try {
        const bad =
          "*nat\n:ISTIO_TPROXY - [0:0]\n-A ISTIO_TPROXY -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006\nCOMMIT\n";
        expect(ns.run("iptables-restore", ["--noflush", "--test"], bad).code).toBe(0);
        expect(ns.run("iptables-restore", ["--noflush"], bad).code).not.toBe(0);
        const good = iptablesCapture({ inboundInterceptionMode: "TPROXY", inboundPortsInclude: "*" }).v4;
        expect(good).toContain("* mangle");
        expect(ns.run("iptables-restore", ["--noflush"], good).code).toBe(0);
      } finally {
        ns.delete();
      }
    });

    describe.each([
      [
        "iptables",
        (lab: PodLab, cfg: Partial<CaptureConfig>) =>
          lab.pod.must("iptables-restore", ["--noflush"], iptablesCapture(cfg).v4),
      ],
      [
        "nftables",
        (lab: PodLab, cfg: Partial<CaptureConfig>) => lab.pod.must("nft", ["-f", "-"], nftablesCapture(cfg).script),
      ],
    ] as const)("%s, REDIRECT mode, the injector's default flags, as the evaluator predicts", (format, load) => {
      let lab: PodLab;
      // The istio-init arguments istiod writes for a pod with the default mesh config.
      const { config } = parseIstioIptablesArgs([...DEFAULT_POD_INIT_ARGS]);
      const evaluators = new CaptureEvaluators(config, { v4: POD_IP, v6: "fd00:77::2" });
      beforeAll(() => {
        lab = new PodLab();
        load(lab, config);
        lab.listen(lab.pod, 15001, "sidecar-outbound", PROXY);
        lab.listen(lab.pod, 15006, "sidecar-inbound", PROXY);
        lab.listen(lab.pod, 9080, "app-9080", APP);
        lab.listen(lab.pod, 15021, "agent-15021", PROXY);
        lab.listen(lab.peer, 8080, "peer-8080", APP);
        lab.waitListening(lab.pod, [15001, 15006, 9080, 15021]);
        lab.waitListening(lab.peer, [8080]);
      });
      afterAll(() => lab?.destroy());

      /** Which listener answers, by the evaluator's outcome: a sidecar port, or the one the client dialled. */
      const answers = (to: string, dialled: string): string =>
        to === "direct"
          ? dialled
          : to.endsWith(":15001")
            ? "sidecar-outbound"
            : to.endsWith(":15006")
              ? "sidecar-inbound"
              : `unexpected ${to}`;
      it.each<[string, "pod" | "peer", string, number, { uid: number; gid: number }, string, string]>([
        // [case, client namespace, host, port, socket owner, the listener it dials, the kernel's answer]
        [
          "app -> remote service goes to the sidecar's outbound listener",
          "pod",
          PEER_IP,
          8080,
          APP,
          "peer-8080",
          "sidecar-outbound",
        ],
        [
          "the sidecar's own connection (UID 1337) reaches the remote service",
          "pod",
          PEER_IP,
          8080,
          PROXY,
          "peer-8080",
          "peer-8080",
        ],
        [
          "remote client -> app port goes to the sidecar's inbound listener",
          "peer",
          POD_IP,
          9080,
          APP,
          "app-9080",
          "sidecar-inbound",
        ],
        [
          "an excluded inbound port (-d) reaches its listener directly",
          "peer",
          POD_IP,
          15021,
          APP,
          "agent-15021",
          "agent-15021",
        ],
        ["app -> localhost is not captured", "pod", "127.0.0.1", 9080, APP, "app-9080", "app-9080"],
        ["app -> its own pod IP over lo is not captured", "pod", POD_IP, 9080, APP, "app-9080", "app-9080"],
        ["the sidecar -> its pod IP goes through inbound", "pod", POD_IP, 9080, PROXY, "app-9080", "sidecar-inbound"],
      ])("%s", (_name, from, host, port, who, dialled, kernel) => {
        const p = {
          src: from === "peer" ? PEER_IP : host === "127.0.0.1" ? "127.0.0.1" : POD_IP,
          dst: host,
          dport: port,
          origin: from === "peer" ? ("remote" as const) : ("local" as const),
          ...(from === "pod" ? who : {}),
        };
        const predicted = answers(
          format === "iptables" ? evaluators.iptables(p).to : evaluators.nftables(p).to,
          dialled,
        );
        expect(predicted).toBe(kernel);
        expect(lab.connect(from === "pod" ? lab.pod : lab.peer, host, port, who)).toBe(predicted);
      });
    });

    describe("iptables, outbound CIDR include/exclude and excluded ports", () => {
      let lab: PodLab;
      beforeAll(() => {
        lab = new PodLab();
        lab.peer.must("ip", ["addr", "add", "10.77.0.4/32", "dev", "lo"]);
        const cfg = {
          outboundIpRangesInclude: "10.77.0.0/24",
          outboundIpRangesExclude: "10.77.0.4/32",
          outboundPortsExclude: "8081",
        };
        lab.pod.must("iptables-restore", ["--noflush"], iptablesCapture(cfg).v4);
        lab.listen(lab.pod, 15001, "sidecar-outbound", PROXY);
        lab.listen(lab.peer, 8080, "peer-8080", APP);
        lab.listen(lab.peer, 8081, "peer-8081", APP);
        lab.waitListening(lab.pod, [15001]);
        lab.waitListening(lab.peer, [8080, 8081]);
      });
      afterAll(() => lab?.destroy());
      it("included CIDR captured, excluded address and excluded port pass", () => {
        expect(lab.connect(lab.pod, PEER_IP, 8080, APP)).toBe("sidecar-outbound");
        expect(lab.connect(lab.pod, "10.77.0.4", 8080, APP)).toBe("peer-8080");
        expect(lab.connect(lab.pod, PEER_IP, 8081, APP)).toBe("peer-8081");
      });
    });

    describe.each(["iptables", "nftables"] as const)("%s, TPROXY inbound", (kind) => {
      let lab: PodLab;
      beforeAll(() => {
        lab = new PodLab();
        const cfg: Partial<CaptureConfig> = {
          inboundInterceptionMode: "TPROXY",
          inboundPortsInclude: "*",
          inboundPortsExclude: "15021",
        };
        if (kind === "iptables") lab.pod.must("iptables-restore", ["--noflush"], iptablesCapture(cfg).v4);
        else lab.pod.must("nft", ["-f", "-"], nftablesCapture(cfg).script);
        for (const args of tproxyRouteCommands(cfg)) lab.pod.must("ip", args);
        lab.listen(lab.pod, 15006, "sidecar-inbound-tproxy", PROXY, true);
        lab.listen(lab.pod, 15021, "agent-15021", PROXY);
        lab.listen(lab.pod, 9080, "app-9080", APP);
        lab.waitListening(lab.pod, [15006, 15021, 9080]);
      });
      afterAll(() => lab?.destroy());
      it("remote client -> app port is delivered to the transparent inbound listener", () => {
        expect(lab.connect(lab.peer, POD_IP, 9080, APP)).toBe("sidecar-inbound-tproxy");
      });
      it("an excluded port is not", () => {
        expect(lab.connect(lab.peer, POD_IP, 15021, APP)).toBe("agent-15021");
      });
    });
  },
);
