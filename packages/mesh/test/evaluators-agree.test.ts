import { type CaptureConfig, MeshError, nftablesCapture } from "@knet/mesh";
import { Addr, Prefix } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CaptureEvaluators, type PodPacket } from "./both-evaluators.js";
import { configArb } from "./config-arb.js";
import { BASE, CASES } from "./golden-cases.js";

const POD = { v4: "10.77.0.2", v6: "fd00:77::2" };

/** Some address inside each listed CIDR (the prefix's first address and one further in). */
function addressesIn(list: string | undefined, v6: boolean): string[] {
  const out: string[] = [];
  for (const c of (list ?? "").split(",")) {
    if (c === "" || c === "*" || c.includes(":") !== v6) continue;
    const p = Prefix.parse(c, { mask: true });
    out.push(p.addr.toString(), p.addr.add(p.length < p.addr.bits ? 1 : 0).toString());
  }
  return out;
}

const nums = (list: string | undefined): number[] =>
  (list ?? "")
    .split(",")
    .filter((x) => /^[0-9]+$/.test(x))
    .map(Number);

/** Packets a pod with this configuration sends and receives, biased to the values its rules name. */
function packetArb(cfg: Partial<CaptureConfig>): fc.Arbitrary<PodPacket> {
  const v6s = cfg.enableIpv6 === true ? [false, true] : [false];
  const ports = [
    ...nums(cfg.inboundPortsInclude),
    ...nums(cfg.inboundPortsExclude),
    ...nums(cfg.outboundPortsInclude),
    ...nums(cfg.outboundPortsExclude),
    53,
    8080,
    15001,
    15006,
    15008,
    15053,
  ];
  const ids = [...nums(cfg.proxyUid), ...nums(cfg.proxyGid), ...nums(cfg.ownerGroupsExclude), 1337, 1000];
  const nics = [...(cfg.kubeVirtInterfaces ?? "").split(","), ...(cfg.excludeInterfaces ?? "").split(",")].filter(
    (x) => x !== "",
  );
  return fc.constantFrom(...v6s).chain((v6) => {
    const pod = v6 ? POD.v6 : POD.v4;
    const loop = v6 ? "::1" : "127.0.0.1";
    const remote = v6 ? "2001:db8::9" : "10.77.0.1";
    const dns = (v6 ? cfg.dnsServersV6 : cfg.dnsServersV4) ?? [];
    const addrs = [
      pod,
      loop,
      remote,
      ...(v6 ? ["::6"] : ["127.0.0.6", "127.0.0.53"]),
      ...dns,
      ...addressesIn(cfg.outboundIpRangesInclude, v6),
      ...addressesIn(cfg.outboundIpRangesExclude, v6),
    ].filter((a) => Addr.parse(a).family === (v6 ? 6 : 4));
    return fc.record(
      {
        origin: fc.constantFrom("local" as const, "remote" as const),
        src: fc.constantFrom(pod, loop, remote, ...(v6 ? ["::6"] : ["127.0.0.6"])),
        dst: fc.constantFrom(...addrs),
        dport: fc.oneof(fc.constantFrom(...ports), fc.integer({ min: 1, max: 65535 })),
        sport: fc.constantFrom(40000, 53, 15053, 15006),
        proto: fc.constantFrom("tcp" as const, "udp" as const),
        uid: fc.constantFrom(...ids),
        gid: fc.constantFrom(...ids),
        mark: fc.constantFrom(0, 1337, 1338),
        ctmark: fc.constantFrom(0, 1337),
        established: fc.boolean(),
        inInterface: fc.constantFrom("eth0", "lo", ...nics),
      },
      { requiredKeys: ["origin", "src", "dst", "dport", "uid", "gid"] },
    );
  });
}

describe("the iptables and the nftables capture rules give the same verdict", () => {
  it("for generated configurations and packets (property)", () => {
    let compared = 0;
    fc.assert(
      fc.property(
        configArb.chain((cfg) => fc.tuple(fc.constant(cfg), fc.array(packetArb(cfg), { minLength: 1, maxLength: 25 }))),
        ([cfg, packets]) => {
          try {
            nftablesCapture(cfg);
          } catch (e) {
            // configurations nft cannot load are refused with a MeshError (README); nothing to compare
            if (e instanceof MeshError) return;
            throw e;
          }
          const ev = new CaptureEvaluators(cfg, POD);
          for (const p of packets) {
            // a packet from outside carries a uid/gid here too: both evaluators must ignore it (no local socket)
            expect(ev.nftables(p), JSON.stringify(p)).toEqual(ev.iptables(p));
            expect(ev.nftables(p, { trace: true }), "traced interpreter").toEqual(ev.nftables(p));
            compared++;
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(compared).toBeGreaterThan(150);
  });

  // istio's own test configurations; some owner-group ones name groups (`java`, `ftp`), which only the host's database resolves
  const named = (list: string | undefined): boolean => /[a-z]/.test(list ?? "");
  const golden = CASES.filter(
    (c) => c.nftOnly !== true && !named(c.config.ownerGroupsExclude) && !named(c.config.ownerGroupsInclude),
  );
  it.each(golden)("for istio's $name configuration (200 sampled packets)", ({ config }) => {
    const cfg = { ...BASE, ...config };
    const ev = new CaptureEvaluators(cfg, POD);
    const packets = fc.sample(packetArb(cfg), { numRuns: 200, seed: 42 });
    const outcomes = new Set<string>();
    for (const p of packets) {
      const nft = ev.nftables(p);
      expect(nft, JSON.stringify(p)).toEqual(ev.iptables(p));
      outcomes.add(`${nft.verdict} ${nft.to} ${nft.tproxy ?? ""}`);
    }
    // the sample reaches more than one outcome (captured and not)
    expect(outcomes.size).toBeGreaterThan(1);
  });
});
