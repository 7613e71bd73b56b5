import { NftEvaluator, NftRuleset, nftChainHooks, parseNftScript } from "@knet/kube-proxy-nftables";
import { Addr, Dataplane, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";

const SCRIPT = `add table inet cap
add chain inet cap out { type nat hook output priority -100 ; }
add chain inet cap pre { type nat hook prerouting priority -100 ; }
add table ip f
add chain ip f guard { type filter hook output priority 0 ; policy drop ; }
add rule inet cap out meta l4proto tcp skuid != 1337 tcp dport 80 redirect to :15001
add rule inet cap pre meta l4proto tcp tcp dport 8080 redirect to :15006
add rule ip f guard tcp dport 9 counter drop
add rule ip f guard accept
`;

function evaluator(): NftEvaluator {
  const rs = new NftRuleset();
  rs.apply(parseNftScript(SCRIPT));
  const pod = Addr.parse("10.0.0.2");
  return new NftEvaluator(rs, { interfaceAddress: (_i, f) => (f === 4 ? pod : undefined) });
}

describe("nftables base chains at netfilter hooks", () => {
  it("one registration per base chain, at its hook, priority, type and family", () => {
    const regs = nftChainHooks(evaluator(), { owner: "t" });
    expect(regs.map((r) => [r.owner, r.hook, r.priority, r.type, r.family])).toEqual([
      ["t inet cap/out", "output", -100, "nat", undefined],
      ["t inet cap/pre", "prerouting", -100, "nat", undefined],
      ["t ip f/guard", "output", 0, "filter", 4],
    ]);
  });

  it("runBaseChain reports a redirect for the caller's conntrack; the socket owner counts only when sending", () => {
    const ev = evaluator();
    const p = { src: Addr.parse("10.0.0.2"), dst: Addr.parse("10.0.0.9"), proto: "tcp", sport: 40000, dport: 80 };
    expect(ev.runBaseChain("inet", "cap", "out", { ...p, uid: 1000 }, { iif: "", oif: "eth0" }).dnat).toEqual({
      addr: Addr.parse("127.0.0.1"),
      port: 15001,
    });
    expect(ev.runBaseChain("inet", "cap", "out", { ...p, uid: 1337 }, { iif: "", oif: "eth0" }).dnat).toBeUndefined();
    const inbound = { ...p, src: Addr.parse("10.0.0.9"), dst: Addr.parse("10.0.0.2"), dport: 8080, uid: 0 };
    expect(ev.runBaseChain("inet", "cap", "pre", inbound, { iif: "eth0", oif: "" }).dnat).toEqual({
      addr: Addr.parse("10.0.0.2"),
      port: 15006,
    });
    expect(ev.runBaseChain("ip", "f", "guard", { ...p, dport: 9 }, { iif: "", oif: "eth0" })).toMatchObject({
      verdict: "drop",
      decidedBy: "guard",
    });
    expect(() => ev.runBaseChain("inet", "cap", "nope", p, { iif: "", oif: "" })).toThrow(
      /no base chain inet cap nope/,
    );
  });

  it("in a namespace: a local connection is redirected to loopback, the proxy's is not, a drop drops", () => {
    const dp = new Dataplane();
    const a = dp.addNamespace("a");
    const b = dp.addNamespace("b");
    dp.addVeth("a", "eth0", "b", "eth0");
    a.addAddress("eth0", "10.0.0.2/24");
    b.addAddress("eth0", "10.0.0.9/24");
    for (const r of nftChainHooks(evaluator(), { owner: "cap" })) a.registerHook(r);
    a.listen({ proto: "tcp", port: 15001 });
    b.listen({ proto: "tcp", port: 80 });
    const app = dp.exchange("a", makePacket({ dst: "10.0.0.9", dport: 80, uid: 1000 }));
    expect(app.ok).toBe(true);
    expect(app.request.outcome).toMatchObject({ kind: "delivered", ns: "a", dev: "lo" });
    const proxy = dp.exchange("a", makePacket({ dst: "10.0.0.9", sport: 40001, dport: 80, uid: 1337 }));
    expect(proxy.request.outcome).toMatchObject({ kind: "delivered", ns: "b" });
    expect(dp.send("a", makePacket({ dst: "10.0.0.9", sport: 40002, dport: 9, uid: 1 })).outcome).toMatchObject({
      kind: "dropped",
      reason: "hook-drop",
    });
  });
});
