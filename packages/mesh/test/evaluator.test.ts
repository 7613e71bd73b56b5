import { IptablesEvaluator, type IptablesPacket, parseIptablesSave } from "@knet/kube-proxy-iptables";
import { iptablesCapture, parseIstioIptablesArgs } from "@knet/mesh";
import { describe, expect, it } from "vitest";
import { DEFAULT_POD_INIT_ARGS } from "./default-pod-args.js";

const POD = "10.77.0.2";
const PEER = "10.77.0.1";
const APP = { uid: 1000, gid: 1000, origin: "local" } as const;
const PROXY = { uid: 1337, gid: 1337, origin: "local" } as const;

describe("istio capture rules in the evaluator (same cases as the kernel check)", () => {
  const { config } = parseIstioIptablesArgs([...DEFAULT_POD_INIT_ARGS]);
  const ev = new IptablesEvaluator(parseIptablesSave(iptablesCapture(config).v4), { localAddresses: [POD] });
  const to = (r: ReturnType<IptablesEvaluator["evaluate"]>) =>
    r.dnat === undefined ? "direct" : `${r.dnat.addr}:${r.dnat.port}`;
  it.each<[string, IptablesPacket, string]>([
    ["app -> remote", { src: POD, dst: PEER, dport: 8080, ...APP }, "127.0.0.1:15001"],
    ["proxy -> remote", { src: POD, dst: PEER, dport: 8080, ...PROXY }, "direct"],
    ["remote -> app port", { src: PEER, dst: POD, dport: 9080, origin: "remote" }, `${POD}:15006`],
    ["remote -> excluded port", { src: PEER, dst: POD, dport: 15021, origin: "remote" }, "direct"],
    ["app -> localhost", { src: "127.0.0.1", dst: "127.0.0.1", dport: 9080, ...APP }, "direct"],
    ["app -> own pod IP", { src: POD, dst: POD, dport: 9080, ...APP }, "direct"],
    ["proxy -> own pod IP", { src: POD, dst: POD, dport: 9080, ...PROXY }, "127.0.0.1:15006"],
  ])("%s", (_n, pkt, want) => {
    expect(to(ev.evaluate(pkt))).toBe(want);
  });

  it("TPROXY: remote -> app port is handed to the listener on 15006 with the mark", () => {
    const tp = iptablesCapture({
      inboundInterceptionMode: "TPROXY",
      inboundPortsInclude: "*",
      inboundPortsExclude: "15021",
    });
    const e = new IptablesEvaluator(parseIptablesSave(tp.v4), { localAddresses: [POD] });
    const r = e.evaluate({ src: PEER, dst: POD, dport: 9080, origin: "remote" });
    expect(r.tproxy).toEqual({ port: 15006 });
    expect(r.mark).toBe(1337);
    // TPROXY accepts: the table ends there, so the CONNMARK --save-mark rule after the jump is not reached
    expect(r.ctmark).toBe(0);
    expect(e.evaluate({ src: PEER, dst: POD, dport: 15021, origin: "remote" }).tproxy).toBeUndefined();
    // A packet the proxy marked (original_src) returns early and has its mark saved on the connection...
    const marked = e.evaluate({ src: PEER, dst: POD, dport: 9080, origin: "remote", mark: 1337 });
    expect(marked.tproxy).toBeUndefined();
    expect(marked.ctmark).toBe(1337);
    // ...which the app's reply gets back as its packet mark (policy routing then sends it to the proxy).
    expect(e.evaluate({ src: POD, dst: PEER, sport: 9080, dport: 40000, ...APP, ctmark: 1337 }).mark).toBe(1337);
    // The proxy's own connection to the app over lo is marked 1338, so inbound does not capture it again.
    expect(e.evaluate({ src: POD, dst: POD, dport: 9080, ...PROXY }).mark).toBe(1338);
  });
});
