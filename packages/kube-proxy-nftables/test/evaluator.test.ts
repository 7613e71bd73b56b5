import { NftEvaluator, NftRuleset, parseNftScript, seededRandom } from "@knet/kube-proxy-nftables";
import { Addr } from "@knet/netstack";
import { describe, expect, it } from "vitest";

function rs(script: string): NftRuleset {
  const r = new NftRuleset();
  r.apply(parseNftScript(script));
  return r;
}
const pkt = (src: string, dst: string, dport = 80, proto = "tcp") => ({
  src: Addr.parse(src),
  dst: Addr.parse(dst),
  proto,
  sport: 1234,
  dport,
});

describe("NftEvaluator", () => {
  it("jump returns to the caller; goto returns to the caller's caller", () => {
    const r = rs(`add table ip t
add chain ip t pre { type filter hook prerouting priority 0 ; }
add chain ip t a
add chain ip t b
add chain ip t c
add rule ip t pre jump a
add rule ip t pre mark set mark or 0x1
add rule ip t a goto b
add rule ip t a mark set mark or 0x2
add rule ip t b jump c
add rule ip t b mark set mark or 0x4
add rule ip t c return
add rule ip t c mark set mark or 0x8
`);
    const out = new NftEvaluator(r).evaluate(pkt("10.0.0.1", "10.0.0.2"), { trace: true });
    // pre -> a -goto-> b -> c (return) -> b marks 4 -> end of b returns to pre -> marks 1; a's 0x2 never runs.
    expect(out.mark).toBe(0x5);
    expect(out.trace?.map((s) => `${s.chain}#${s.rule}:${s.result}`)).toEqual([
      "pre#0:jump",
      "a#0:goto",
      "b#0:jump",
      "c#0:return",
      "b#1:match",
      "pre#1:match",
      "pre#-1:accept",
    ]);
  });

  it("numgen random picks each index with the injected source, uniformly", () => {
    const r = rs(`add table ip t
add chain ip t pre { type nat hook prerouting priority -100 ; }
add chain ip t e0
add chain ip t e1
add chain ip t e2
add rule ip t e0 dnat to 10.1.0.0:80
add rule ip t e1 dnat to 10.1.0.1:80
add rule ip t e2 dnat to 10.1.0.2:80
add rule ip t pre numgen random mod 3 vmap { 0 : goto e0 , 1 : goto e1 , 2 : goto e2 }
`);
    const ev = new NftEvaluator(r, { random: seededRandom(42) });
    const counts = [0, 0, 0];
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const out = ev.evaluate(pkt("10.0.0.1", "10.0.0.2"));
      counts[out.dst.w3 & 3] = (counts[out.dst.w3 & 3] ?? 0) + 1;
    }
    const chi2 = counts.reduce((s, c) => s + (c - n / 3) ** 2 / (n / 3), 0);
    expect(chi2).toBeLessThan(13.8); // p = 0.001, 2 degrees of freedom
    // A fixed source always picks the same index.
    const fixed = new NftEvaluator(r, { random: () => 2 });
    expect(fixed.evaluate(pkt("10.0.0.1", "10.0.0.2")).dst.toString()).toBe("10.1.0.2");
  });

  it("dynamic sets remember a source until the timeout", () => {
    let now = 1000;
    const r = rs(`add table ip t
add chain ip t pre { type nat hook prerouting priority -100 ; }
add set ip t aff { type ipv4_addr ; flags dynamic,timeout ; timeout 10s ; }
add chain ip t e0
add chain ip t e1
add rule ip t e0 update @aff { ip saddr }
add rule ip t e0 dnat to 10.1.0.0:80
add rule ip t e1 dnat to 10.1.0.1:80
add rule ip t pre ip saddr @aff goto e0
add rule ip t pre numgen random mod 2 vmap { 0 : goto e0 , 1 : goto e1 }
`);
    let pick = 0;
    const ev = new NftEvaluator(r, { random: () => pick, now: () => now });
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).dst.toString()).toBe("10.1.0.0");
    pick = 1;
    now += 9;
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).dst.toString()).toBe("10.1.0.0"); // refreshed
    expect(ev.evaluate(pkt("10.0.0.9", "10.0.0.2")).dst.toString()).toBe("10.1.0.1"); // other client
    now += 11;
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).dst.toString()).toBe("10.1.0.1"); // expired
  });

  it("follows the hooks: policy drop, NAT chains only for new connections, ip6 tables for IPv6", () => {
    const r = rs(`add table ip t
add chain ip t fwd { type filter hook forward priority 0 ; policy drop ; }
add chain ip t nat { type nat hook prerouting priority -100 ; }
add rule ip t nat tcp dport 80 dnat to 10.1.0.9:8080
add rule ip t fwd ct state established accept
add table ip6 t
add chain ip6 t in { type filter hook input priority 0 ; }
add rule ip6 t in ip6 saddr fd00::/64 udp dport 53 reject
`);
    const ev = new NftEvaluator(r, { isLocal: (a) => a.family === 6 });
    const n = ev.evaluate(pkt("10.0.0.1", "10.0.0.2"));
    expect([n.verdict, n.dnat, n.dst.toString(), n.dport]).toEqual(["drop", true, "10.1.0.9", 8080]);
    const est = ev.evaluate({ ...pkt("10.0.0.1", "10.0.0.2"), ct: "established" });
    expect([est.verdict, est.dnat]).toEqual(["accept", false]);
    expect(ev.evaluate(pkt("fd00::5", "fd00:1::1", 53, "udp")).verdict).toBe("reject");
    expect(ev.evaluate(pkt("fd00:2::5", "fd00:1::1", 53, "udp")).verdict).toBe("accept");
    expect(ev.evaluate(pkt("fd00::5", "fd00:1::1", 53, "tcp")).verdict).toBe("accept");
  });

  it("sees changes applied after it was created (recompiles only what changed)", () => {
    const r = rs(`add table ip t
add chain ip t in { type filter hook input priority 0 ; }
add map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }
add rule ip t in ip daddr . meta l4proto . th dport vmap @m
`);
    const ev = new NftEvaluator(r, { isLocal: () => true });
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).verdict).toBe("accept");
    r.apply(parseNftScript("add element ip t m { 10.0.0.2 . tcp . 80 : drop }\n"));
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).verdict).toBe("drop");
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2", 80, "udp")).verdict).toBe("accept");
    r.apply(parseNftScript("flush chain ip t in\nadd rule ip t in ip saddr 10.0.0.1 reject\n"));
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).verdict).toBe("reject");
  });
});
