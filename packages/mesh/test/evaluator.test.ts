import { parseIstioIptablesArgs } from "@knet/mesh";
import { describe, expect, it } from "vitest";
import { CaptureEvaluators, type PodPacket } from "./both-evaluators.js";
import { DEFAULT_POD_INIT_ARGS } from "./default-pod-args.js";

const POD = "10.77.0.2";
const POD6 = "fd00:77::2";
const PEER = "10.77.0.1";
const APP = { uid: 1000, gid: 1000, origin: "local" } as const;
const PROXY = { uid: 1337, gid: 1337, origin: "local" } as const;
const FORMATS = ["iptables", "nftables"] as const;

describe.each(FORMATS)("istio capture rules in the %s evaluator (same cases as the kernel check)", (format) => {
  const { config } = parseIstioIptablesArgs([...DEFAULT_POD_INIT_ARGS]);
  const ev = new CaptureEvaluators(config, { v4: POD, v6: POD6 });
  const run = (p: PodPacket) => (format === "iptables" ? ev.iptables(p) : ev.nftables(p));
  it.each<[string, PodPacket, string]>([
    ["app -> remote", { src: POD, dst: PEER, dport: 8080, ...APP }, "127.0.0.1:15001"],
    [
      "app (other gid) -> remote",
      { src: POD, dst: PEER, dport: 8080, uid: 1000, gid: 1337, origin: "local" },
      "direct",
    ],
    ["proxy -> remote", { src: POD, dst: PEER, dport: 8080, ...PROXY }, "direct"],
    ["remote -> app port", { src: PEER, dst: POD, dport: 9080, origin: "remote" }, `${POD}:15006`],
    ["remote -> excluded port", { src: PEER, dst: POD, dport: 15021, origin: "remote" }, "direct"],
    ["remote -> tunnel port", { src: PEER, dst: POD, dport: 15008, origin: "remote" }, "direct"],
    ["app -> localhost", { src: "127.0.0.1", dst: "127.0.0.1", dport: 9080, ...APP }, "direct"],
    ["app -> own pod IP", { src: POD, dst: POD, dport: 9080, ...APP }, "direct"],
    ["proxy -> own pod IP", { src: POD, dst: POD, dport: 9080, ...PROXY }, "127.0.0.1:15006"],
    ["proxy -> own pod IP from 127.0.0.6", { src: "127.0.0.6", dst: POD, dport: 9080, ...PROXY }, "direct"],
    ["app -> remote over UDP", { src: POD, dst: PEER, dport: 53, proto: "udp", ...APP }, "direct"],
  ])("%s", (_n, pkt, want) => {
    const out = run(pkt);
    expect(out.verdict).toBe("accept");
    expect(out.to).toBe(want);
  });

  it("TPROXY: remote -> app port is handed to the listener on 15006 with the mark", () => {
    const e = new CaptureEvaluators(
      { inboundInterceptionMode: "TPROXY", inboundPortsInclude: "*", inboundPortsExclude: "15021" },
      { v4: POD, v6: POD6 },
    );
    const tp = (p: PodPacket) => (format === "iptables" ? e.iptables(p) : e.nftables(p));
    const r = tp({ src: PEER, dst: POD, dport: 9080, origin: "remote" });
    expect(r.tproxy).toBe(15006);
    expect(r.mark).toBe(1337);
    // TPROXY accepts: the table ends there, so the ct-mark save after the jump is not reached
    expect(r.ctmark).toBe(0);
    expect(tp({ src: PEER, dst: POD, dport: 15021, origin: "remote" }).tproxy).toBeUndefined();
    // A packet the proxy marked (original_src) returns early and has its mark saved on the connection...
    const marked = tp({ src: PEER, dst: POD, dport: 9080, origin: "remote", mark: 1337 });
    expect(marked.tproxy).toBeUndefined();
    expect(marked.ctmark).toBe(1337);
    // ...which the app's reply gets back as its packet mark (policy routing then sends it to the proxy).
    expect(tp({ src: POD, dst: PEER, sport: 9080, dport: 40000, ...APP, ctmark: 1337 }).mark).toBe(1337);
    // The proxy's own connection to the app over lo is marked 1338, so inbound does not capture it again.
    expect(tp({ src: POD, dst: POD, dport: 9080, ...PROXY }).mark).toBe(1338);
    // An established inbound connection is diverted to the proxy's socket by its mark, not TPROXY'd again.
    const est = tp({ src: PEER, dst: POD, dport: 9080, origin: "remote", established: true });
    expect(est.tproxy).toBeUndefined();
    expect(est.mark).toBe(1337);
  });
});
