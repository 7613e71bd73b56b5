import {
  type NftEvaluator as Evaluator,
  NftEvaluator,
  NftOutcome,
  type NftPacket,
  NftRuleset,
  parseNftScript,
  seededRandomInt,
} from "@knet/kube-proxy-nftables";
import { Addr } from "@knet/netstack";
import fc from "fast-check";
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

/** A table with a prerouting base chain and three regular chains a, b, c. */
const PRE_ABC = `add table ip t
add chain ip t pre { type filter hook prerouting priority 0 ; }
add chain ip t a
add chain ip t b
add chain ip t c
`;

describe("NftEvaluator", () => {
  it("jump returns to the caller; goto returns to the caller's caller", () => {
    const r = rs(`${PRE_ABC}add rule ip t pre jump a
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
    const ev = new NftEvaluator(r, { random: seededRandomInt(42) });
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

  it("fast path: a change to a chain inlined into its callers reaches them", () => {
    const r = rs(`add table ip t
add chain ip t pre { type filter hook prerouting priority 0 ; }
add chain ip t small
add rule ip t pre jump small
add rule ip t pre mark set mark or 0x1
add rule ip t small mark set mark or 0x2
`);
    const ev = new NftEvaluator(r);
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).mark).toBe(0x3);
    r.apply(parseNftScript("flush chain ip t small\nadd rule ip t small drop\n"));
    const out = ev.evaluate(pkt("10.0.0.1", "10.0.0.2"));
    expect([out.verdict, out.decidedBy]).toEqual(["drop", "small"]);
    r.apply(parseNftScript("flush chain ip t small\nadd rule ip t small return\nadd rule ip t small drop\n"));
    expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2")).mark).toBe(0x1);
  });

  it("evaluateInto fills one reused outcome with what evaluate returns", () => {
    const r = rs(`add table ip t
add chain ip t pre { type nat hook prerouting priority -100 ; }
add rule ip t pre ip daddr 10.96.0.1 tcp dport 80 dnat to 10.1.0.7:8080
`);
    const ev = new NftEvaluator(r);
    const out = new NftOutcome();
    for (const dst of ["10.96.0.1", "10.96.0.2"]) {
      const p = pkt("10.0.0.1", dst);
      const got = ev.evaluateInto(p, out);
      expect(got).toBe(out);
      expect({ ...out }).toEqual({ ...ev.evaluate(p) });
    }
    expect(out.dst.toString()).toBe("10.96.0.2");
  });

  it("fast path equals the tracing interpreter on random chain graphs (property)", () => {
    // Chains c0..c4 jump/goto only to higher-numbered chains (nft rejects loops); base
    // chains in three hooks reach them; verdict maps and numgen reach them too.
    const chains = ["c0", "c1", "c2", "c3", "c4"];
    const target = (from: number) => fc.integer({ min: from + 1, max: chains.length - 1 }).map((i) => chains[i]);
    const verdict = (from: number) =>
      fc.oneof(
        fc.constantFrom("accept", "drop", "return", ""),
        ...(from < chains.length - 1
          ? [
              fc.tuple(fc.constantFrom("jump", "goto"), target(from)).map(([k, c]) => `${k} ${c}`),
              fc
                .tuple(fc.constantFrom("jump", "goto"), target(from), fc.constantFrom("jump", "goto"), target(from))
                .map(([k1, a, k2, b]) => `numgen random mod 2 vmap { 0 : ${k1} ${a}, 1 : ${k2} ${b} }`),
              fc.constant("ip daddr . meta l4proto . th dport vmap @m"),
              // An anonymous verdict map keyed by address words (the fast path once compared
              // its keys as plain numbers and never matched).
              target(from).map(
                (c) => `ip daddr . tcp dport vmap { 10.0.0.2 . 80 : goto ${c}, 192.168.1.1 . 443 : drop }`,
              ),
            ]
          : []),
      );
    const match = fc.oneof(
      fc.constant(""),
      fc
        .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))
        .map(([m, v]) => `meta mark & 0x${m.toString(16)} == 0x${(v & m).toString(16)} `),
      fc.constantFrom(
        "ip saddr 10.0.0.1 ",
        "ip daddr != 10.0.0.2 ",
        "tcp dport 80 ",
        "ip daddr @s ",
        // Words above 2^31 (addresses, marks): the generated code compares them as int32.
        "ip daddr 192.168.0.0/16 ",
        "ip daddr . tcp dport { 192.168.1.1 . 80, 10.0.0.2 . 443 } ",
        "meta mark & 0x80000000 == 0x80000000 ",
        "meta mark 0x80000003 ",
      ),
    );
    const action = fc.oneof(
      fc.constant(""),
      fc.integer({ min: 1, max: 15 }).map((m) => `mark set mark xor 0x${m.toString(16)} `),
      fc.constantFrom("mark set mark xor 0x80000000 ", "meta mark set 0x80000003 "),
      fc.constantFrom("meta l4proto tcp dnat to 10.1.0.9:8080", "masquerade", "reject"),
    );
    const rule = (from: number) =>
      fc.tuple(match, fc.oneof(action, verdict(from))).map(([m, v]) => `${m}${v}`.trim() || "counter");
    const chainRules = (from: number) => fc.array(rule(from), { minLength: 0, maxLength: 5 });
    const baseRules = fc.array(rule(-1), { minLength: 1, maxLength: 4 });
    const ruleset = fc
      .record({
        pre: baseRules,
        nat: baseRules,
        fwd: baseRules,
        post: baseRules,
        dropPolicy: fc.boolean(),
        regular: fc.tuple(...chains.map((_, i) => chainRules(i))),
        mapTarget: fc.constantFrom("c1", "c2", "c3", "c4"),
      })
      .map((g) => {
        const lines = [
          "add table ip t",
          "add set ip t s { type ipv4_addr ; }",
          "add element ip t s { 10.0.0.2 }",
          "add map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }",
          "add chain ip t pre { type filter hook prerouting priority -110 ; }",
          "add chain ip t nat { type nat hook prerouting priority -100 ; }",
          `add chain ip t fwd { type filter hook forward priority 0 ; policy ${g.dropPolicy ? "drop" : "accept"} ; }`,
          "add chain ip t post { type nat hook postrouting priority 100 ; }",
          ...chains.map((c) => `add chain ip t ${c}`),
          `add element ip t m { 10.0.0.2 . tcp . 80 : goto ${g.mapTarget}, 10.0.0.3 . tcp . 80 : drop }`,
        ];
        const add = (chain: string, rules: readonly string[]) => {
          for (const x of rules) lines.push(`add rule ip t ${chain} ${x}`);
        };
        add("pre", g.pre);
        add(
          "nat",
          g.nat.filter((x) => !x.includes("masquerade")),
        );
        add(
          "fwd",
          g.fwd.filter((x) => !x.includes("dnat") && !x.includes("masquerade")),
        );
        add(
          "post",
          g.post.filter((x) => !x.includes("dnat")),
        );
        // The map's goto target must not reach a chain that consults the map (a loop nft rejects).
        const targetIndex = chains.indexOf(g.mapTarget);
        for (const [i, c] of chains.entries()) {
          add(
            c,
            (g.regular[i] as string[]).filter((x) => i < targetIndex || !x.includes("@m")),
          );
        }
        return `${lines.join("\n")}\n`;
      });
    const packet = fc.record({
      src: fc.constantFrom("10.0.0.1", "10.0.0.5"),
      dst: fc.constantFrom("10.0.0.2", "10.0.0.3", "10.0.0.4", "192.168.1.1"),
      dport: fc.constantFrom(80, 443),
      mark: fc.oneof(fc.integer({ min: 0, max: 15 }), fc.constantFrom(0x80000000, 0x80000003)),
      seed: fc.integer({ min: 1, max: 1000 }),
    });
    const view = (ev: Evaluator, p: NftPacket, seed: number, trace: boolean) => {
      const o = ev.evaluate(p, { trace, random: seededRandomInt(seed) });
      return [o.verdict, o.dst.toString(), o.dport, o.dnat, o.masquerade, o.mark, o.hooks.join(","), o.decidedBy];
    };
    fc.assert(
      fc.property(ruleset, fc.array(packet, { minLength: 1, maxLength: 6 }), (script, packets) => {
        const ev = new NftEvaluator(rs(script));
        for (const q of packets) {
          const p = { ...pkt(q.src, q.dst, q.dport), mark: q.mark };
          expect(view(ev, p, q.seed, false)).toEqual(view(ev, p, q.seed, true));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("stops a packet caught in a jump or goto loop with an error naming the chain", () => {
    // nft accepts loops among chains no base chain reaches; here one is reached later.
    const r = rs(`${PRE_ABC}add rule ip t a goto b
add rule ip t b goto a
add rule ip t c jump c
add rule ip t pre tcp dport 80 jump a
add rule ip t pre tcp dport 81 jump c
`);
    const ev = new NftEvaluator(r);
    for (const trace of [false, true]) {
      expect(() => ev.evaluate(pkt("10.0.0.1", "10.0.0.2", 80), { trace })).toThrow(
        /loop.*chain [ab]|chain [ab].*loop/,
      );
      expect(() => ev.evaluate(pkt("10.0.0.1", "10.0.0.2", 81), { trace })).toThrow(/chain c/);
      // The evaluator is still usable afterwards.
      expect(ev.evaluate(pkt("10.0.0.1", "10.0.0.2", 82), { trace }).verdict).toBe("accept");
    }
  });
});

describe("NftEvaluator: what istio-nftables writes (socket owner, interfaces, redirect, tproxy, ct mark)", () => {
  const INET = `add table inet t
add chain inet t out { type nat hook output priority -100 ; }
add chain inet t pre { type filter hook prerouting priority -150 ; }
`;
  const local = (over: Partial<NftPacket> = {}): NftPacket => ({ ...pkt("10.0.0.2", "10.0.0.9", 80), ...over });
  /** Rule text, packet, origin, then what each result field must be. */
  const cases: [string, string, NftPacket, "local" | "inbound", Record<string, unknown>][] = [
    ["skuid matches the socket's owner", "out skuid 1337 mark set 1", local({ uid: 1337 }), "local", { mark: 1 }],
    ["skuid != matches another owner", "out meta skuid != 1337 mark set 1", local({ uid: 7 }), "local", { mark: 1 }],
    // nft's meta expression breaks the rule when there is no socket, whatever the operator (iptables' owner match differs)
    ["skuid != without a socket does not match", "out skuid != 1337 mark set 1", local(), "local", { mark: 0 }],
    ["skgid", "out skgid 5 mark set 1", local({ uid: 1, gid: 5 }), "local", { mark: 1 }],
    ["inbound packets have no socket", "pre skuid 0 mark set 1", { ...local({ uid: 0 }) }, "inbound", { mark: 0 }],
    [
      "oifname lo for a local destination",
      "out oifname lo mark set 1",
      local({ dst: Addr.parse("10.0.0.2") }),
      "local",
      { mark: 1 },
    ],
    ["oifname is eth0 otherwise", "out oifname lo mark set 1", local(), "local", { mark: 0 }],
    ["oifname wildcard", 'out oifname "et*" mark set 1', local(), "local", { mark: 1 }],
    ["iifname set", "pre iifname { net1, eth0 } mark set 1", local(), "inbound", { mark: 1 }],
    ["iifname has no device on output", "out iifname != eth0 mark set 1", local(), "local", { mark: 0 }],
    [
      "ip daddr in inet does not match IPv6",
      "out ip daddr != 1.2.3.4 mark set 1",
      pkt("fd00::2", "fd00::9"),
      "local",
      { mark: 0 },
    ],
    [
      "ip6 daddr in inet matches IPv6",
      "out ip6 daddr != ::1 mark set 1",
      pkt("fd00::2", "fd00::9"),
      "local",
      { mark: 1 },
    ],
    ["tcp dport != needs TCP", "out tcp dport != 53 mark set 1", { ...local(), proto: "udp" }, "local", { mark: 0 }],
    ["udp sport", "out udp sport 1234 mark set 1", { ...local(), proto: "udp" }, "local", { mark: 1 }],
    [
      "redirect of a local packet goes to loopback",
      "out meta l4proto tcp redirect to :15001",
      local(),
      "local",
      { dnat: true, dst: Addr.parse("127.0.0.1"), dport: 15001 },
    ],
    [
      "redirect of an IPv6 local packet goes to ::1",
      "out redirect",
      pkt("fd00::2", "fd00::9", 80),
      "local",
      { dnat: true, dst: Addr.parse("::1"), dport: 80 },
    ],
    [
      "tproxy hands the packet over and the rule goes on",
      "pre tproxy ip to :15006 meta mark set 1337 accept",
      local(),
      "inbound",
      { tproxy: { port: 15006 }, mark: 1337, dnat: false },
    ],
    [
      "tproxy of another family does not match",
      "pre tproxy ip6 to :15006 meta mark set 1",
      local(),
      "inbound",
      { mark: 0 },
    ],
    [
      "tproxy without a port keeps the destination port",
      "pre tproxy to 10.0.0.2",
      local(),
      "inbound",
      { tproxy: { port: 80, addr: Addr.parse("10.0.0.2") } },
    ],
    ["ct mark set mark", "pre mark set 9 ct mark set mark", local(), "inbound", { ctmark: 9, mark: 9 }],
    ["meta mark set ct mark", "pre meta mark set ct mark", local({ ctmark: 1337 }), "inbound", { mark: 1337 }],
    ["ct mark match", "pre ct mark 1337 mark set 1", local({ ctmark: 1337 }), "inbound", { mark: 1 }],
    ["ct zone set", "pre udp dport 80 ct zone set 2", { ...local(), proto: "udp" }, "inbound", { ctZone: 2 }],
  ];
  it.each(cases)("%s", (_name, rule, p, origin, want) => {
    const [chain, ...rest] = rule.split(" ");
    const ev = new NftEvaluator(rs(`${INET}add rule inet t ${chain} ${rest.join(" ")}\n`), {
      isLocal: (a) => a.toString() === "10.0.0.2",
    });
    const fast = ev.evaluate(p, { origin });
    const traced = ev.evaluate(p, { origin, trace: true });
    expect({ ...fast, trace: undefined }).toEqual({ ...traced, trace: undefined });
    expect(fast).toMatchObject(want);
  });

  it("redirect of an inbound packet goes to the input interface's address; none: dropped, saying why", () => {
    const r = rs(`${INET}add rule inet t pre meta l4proto tcp redirect to :15006\n`);
    const p = { ...pkt("10.0.0.9", "10.0.0.2"), inInterface: "eth1" };
    const withAddr = new NftEvaluator(r, {
      interfaceAddress: (ifname, family) => (ifname === "eth1" && family === 4 ? Addr.parse("10.0.0.2") : undefined),
    });
    expect(withAddr.evaluate(p)).toMatchObject({ verdict: "accept", dnat: true, dport: 15006 });
    expect(withAddr.evaluate(p).dst.toString()).toBe("10.0.0.2");
    for (const trace of [false, true]) {
      const out = new NftEvaluator(r).evaluate(p, { trace });
      expect(out.verdict).toBe("drop");
      expect(out.decidedBy).toBe("pre: redirect: no IPv4 address on eth1");
    }
  });

  it("a local packet redirected to loopback leaves on lo (postrouting sees oifname lo)", () => {
    const r = rs(`${INET}add chain inet t post { type filter hook postrouting priority 0 ; }
add rule inet t out redirect to :15001
add rule inet t post oifname lo mark set 7
`);
    expect(new NftEvaluator(r).evaluate(pkt("10.0.0.2", "10.0.0.9"), { origin: "local" }).mark).toBe(7);
  });

  it("names a user or group name it cannot resolve", () => {
    const ev = new NftEvaluator(rs(`${INET}add rule inet t out skgid ftp return\n`));
    expect(() => ev.evaluate(pkt("10.0.0.2", "10.0.0.9"), { origin: "local" })).toThrow(
      /gid "ftp" is a name.*numeric id/,
    );
  });
});
