import { Addr, Dataplane, formatMac, HookPriority, ManualClock, makePacket, type NatTarget } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

type SnatMode = { kind: "none" } | { kind: "snat"; port: number | undefined } | { kind: "masquerade" };

/** client (10.1.0.2) -- router r (DNAT VIP -> backend, optional SNAT) -- backend (10.2.0.2). */
function natWorld(vip: Addr, vport: number, bport: number, mode: SnatMode): Dataplane {
  const dp = new Dataplane();
  for (const n of ["c", "r", "b"]) dp.addNamespace(n);
  dp.addVeth("c", "eth0", "r", "c0");
  dp.addVeth("b", "eth0", "r", "b0");
  const c = dp.ns("c");
  const r = dp.ns("r");
  const b = dp.ns("b");
  c.addAddress("eth0", "10.1.0.2/24");
  r.addAddress("c0", "10.1.0.1/24");
  r.addAddress("b0", "10.2.0.1/24");
  b.addAddress("eth0", "10.2.0.2/24");
  c.addRoute({ dst: "default", via: "10.1.0.1" });
  b.addRoute({ dst: "default", via: "10.2.0.1" });
  r.setSysctl("net.ipv4.ip_forward", 1);
  b.listen({ proto: "tcp", port: bport });
  b.listen({ proto: "udp", port: bport });
  const backend: NatTarget = { addr: Addr.parse("10.2.0.2"), port: bport };
  r.registerHook({
    hook: "prerouting",
    priority: HookPriority.dstnat,
    owner: "svc",
    type: "nat",
    fn: (p) => (p.dst.equals(vip) && p.dport === vport ? { verdict: "accept", dnat: backend } : "continue"),
  });
  if (mode.kind !== "none") {
    r.registerHook({
      hook: "postrouting",
      priority: HookPriority.srcnat,
      owner: "masq",
      type: "nat",
      fn: () =>
        mode.kind === "masquerade"
          ? { verdict: "accept", masquerade: true }
          : {
              verdict: "accept",
              snat:
                mode.port === undefined
                  ? { addr: Addr.parse("10.2.0.1") }
                  : { addr: Addr.parse("10.2.0.1"), port: mode.port },
            },
    });
  }
  return dp;
}

const vipArb = fc.integer({ min: 0, max: (1 << 20) - 1 }).map((n) => Addr.v4(((10 << 24) | (96 << 16)) + n));
const portArb = fc.integer({ min: 1, max: 65535 });
const modeArb: fc.Arbitrary<SnatMode> = fc.oneof(
  fc.constant<SnatMode>({ kind: "none" }),
  fc.constant<SnatMode>({ kind: "masquerade" }),
  fc
    .option(fc.integer({ min: 1024, max: 65535 }), { nil: undefined })
    .map<SnatMode>((port) => ({ kind: "snat", port })),
);

describe("property: conntrack reply translation inverts the original NAT", () => {
  it("every reply reaches its own client socket with the service address as source", () => {
    fc.assert(
      fc.property(
        vipArb,
        portArb,
        portArb,
        modeArb,
        fc.constantFrom("tcp" as const, "udp" as const),
        fc.uniqueArray(fc.integer({ min: 1024, max: 65535 }), { minLength: 1, maxLength: 6 }),
        (vip, vport, bport, mode, proto, sports) => {
          const dp = natWorld(vip, vport, bport, mode);
          const seenByBackend = new Set<string>();
          for (const sport of sports) {
            const x = dp.exchange("c", makePacket({ dst: vip, dport: vport, sport, proto }));
            expect(x.ok).toBe(true);
            const atBackend = x.request.packet;
            // Forward direction: DNAT to the backend, source per the SNAT mode.
            expect(atBackend.dst.toString()).toBe("10.2.0.2");
            expect(atBackend.dport).toBe(bport);
            expect(atBackend.src.toString()).toBe(mode.kind === "none" ? "10.1.0.2" : "10.2.0.1");
            if (mode.kind === "none" || (mode.kind === "snat" && mode.port === undefined))
              expect(atBackend.sport).toBe(sport);
            // Each connection keeps its own tuple at the backend (SNAT port clashes are resolved).
            const key = `${atBackend.src}:${atBackend.sport}`;
            expect(seenByBackend.has(key)).toBe(false);
            seenByBackend.add(key);
            // Reply direction: exactly the inverse of what the client sent.
            const back = x.reply?.packet;
            expect(back?.src.equals(vip)).toBe(true);
            expect(back?.sport).toBe(vport);
            expect(back?.dst.toString()).toBe("10.1.0.2");
            expect(back?.dport).toBe(sport);
          }
          expect(dp.ns("r").conntrack.size).toBe(sports.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("property: bridge FDB learning delivers to the right port after one exchange", () => {
  it("the second packet is forwarded by the FDB to the destination's port, never flooded", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.nat(), fc.nat(), fc.boolean(), (hosts, ai, bi, viaBridgeNs) => {
        const a = ai % hosts;
        const b = (a + 1 + (bi % (hosts - 1))) % hosts;
        const dp = new Dataplane();
        dp.addNamespace("sw");
        dp.addBridge("sw", "br0");
        if (viaBridgeNs) dp.ns("sw").addAddress("br0", "10.9.0.254/24");
        for (let i = 0; i < hosts; i++) {
          dp.addNamespace(`h${i}`);
          dp.addVeth(`h${i}`, "eth0", "sw", `p${i}`);
          dp.ns("sw").setMaster(`p${i}`, "br0");
          dp.ns(`h${i}`).addAddress("eth0", `10.9.0.${i + 1}/24`);
        }
        const ping = makePacket({ dst: `10.9.0.${b + 1}`, proto: "icmp" });
        const first = dp.exchange(`h${a}`, ping);
        expect(first.ok).toBe(true);
        const br = dp.ns("sw").link("br0");
        const macA = dp.ns(`h${a}`).link("eth0").mac;
        const macB = dp.ns(`h${b}`).link("eth0").mac;
        expect(br.fdb.get(macA)?.port.name).toBe(`p${a}`);
        expect(br.fdb.get(macB)?.port.name).toBe(`p${b}`);
        const second = dp.send(`h${a}`, ping);
        expect(second.outcome).toMatchObject({ kind: "delivered", ns: `h${b}` });
        const bridgeSteps = second.steps.filter((s) => s.kind === "bridge");
        expect(bridgeSteps).toHaveLength(1);
        expect(bridgeSteps[0]?.note).toContain(`FDB ${formatMac(macB)} -> port p${b}`);
        expect(second.steps.some((s) => s.ns === "sw" && s.kind === "xmit" && s.dev !== `p${b}`)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("learned entries age out after 300 s and the bridge floods again", () => {
    const clock = new ManualClock();
    const dp = new Dataplane({ clock });
    dp.addNamespace("sw");
    dp.addBridge("sw", "br0");
    for (let i = 0; i < 3; i++) {
      dp.addNamespace(`h${i}`);
      dp.addVeth(`h${i}`, "eth0", "sw", `p${i}`);
      dp.ns("sw").setMaster(`p${i}`, "br0");
      dp.ns(`h${i}`).addAddress("eth0", `10.9.0.${i + 1}/24`);
    }
    const ping = makePacket({ dst: "10.9.0.3", proto: "icmp" });
    expect(dp.exchange("h0", ping).ok).toBe(true);
    clock.advance(299_000);
    expect(dp.send("h0", ping).steps.some((s) => s.note.includes("flood"))).toBe(false);
    clock.advance(301_000);
    const t = dp.send("h0", ping);
    expect(t.outcome.kind).toBe("delivered");
    expect(t.steps.some((s) => s.note.includes("flood"))).toBe(true);
  });
});
