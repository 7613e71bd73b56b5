import {
  formatNftScript,
  formatRule,
  type NftCommand,
  type NftElement,
  NftParseError,
  type NftRule,
  type NftStatement,
  type NftVerdict,
  parseNftScript,
  parseRule,
} from "@knet/kube-proxy-nftables";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
const prefix4 = fc.tuple(ipv4, fc.integer({ min: 1, max: 31 })).map(([a, l]) => {
  const n = a.split(".").reduce((x, o) => x * 256 + Number(o), 0);
  const masked = (n & ((0xffffffff << (32 - l)) >>> 0)) >>> 0;
  return `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${l}`;
});
const port = fc.integer({ min: 1, max: 65535 }).map(String);
const proto = fc.constantFrom("tcp", "udp", "sctp");
const name = fc
  .tuple(
    fc.constantFrom("service-", "endpoint-", "external-", ""),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,8}(\/[a-z0-9]{1,5}){0,3}$/),
  )
  .map(([p, s]) => `${p}${s}`)
  .filter((s) => !["accept", "drop", "return", "continue", "jump", "goto", "comment", "handle", "index"].includes(s));
const comment = fc.stringMatching(/^[a-zA-Z0-9 /:._-]{1,20}$/);
const verdict: fc.Arbitrary<NftVerdict> = fc.oneof(
  fc.constantFrom<NftVerdict>({ kind: "accept" }, { kind: "drop" }, { kind: "return" }),
  fc.tuple(fc.constantFrom("jump" as const, "goto" as const), name).map(([kind, chain]) => ({ kind, chain })),
);
const hex = fc.integer({ min: 0, max: 0x7fffffff });

const statement: fc.Arbitrary<NftStatement> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("ip saddr" as const, "ip daddr" as const),
      fc.constantFrom("==" as const, "!=" as const),
      fc.oneof(ipv4, prefix4),
    )
    .map(
      ([f, op, v]): NftStatement => ({
        kind: "match",
        key: [f],
        op,
        right: { kind: "values", values: [[v]], anonymous: false },
      }),
    ),
  fc
    .tuple(fc.constantFrom("ip saddr" as const, "ip daddr" as const), name)
    .map(([f, s]): NftStatement => ({ kind: "match", key: [f], op: "==", right: { kind: "set", name: s } })),
  fc.tuple(proto, port).map(
    ([p, v]): NftStatement => ({
      kind: "match",
      key: [`${p} dport` as "tcp dport"],
      op: "==",
      right: { kind: "values", values: [[v]], anonymous: false },
    }),
  ),
  proto.map(
    (p): NftStatement => ({
      kind: "match",
      key: ["meta l4proto"],
      op: "==",
      right: { kind: "values", values: [[p]], anonymous: false },
    }),
  ),
  fc.constant<NftStatement>({ kind: "ct-state", states: ["new"] }),
  fc
    .constantFrom("saddr" as const, "daddr" as const)
    .map((dir): NftStatement => ({ kind: "fib", dir, op: "==", type: "local" })),
  fc.tuple(hex, hex).map(([mask, value]): NftStatement => ({ kind: "mark-match", mask, op: "==", value })),
  fc
    .tuple(fc.constantFrom("or" as const, "xor" as const, "and" as const), hex)
    .map(([op, value]): NftStatement => ({ kind: "mark-set", op, value })),
  name.map((m): NftStatement => ({ kind: "vmap", key: ["ip daddr", "meta l4proto", "th dport"], map: m })),
  fc.array(name, { minLength: 1, maxLength: 4 }).map(
    (cs): NftStatement => ({
      kind: "vmap",
      key: { numgen: cs.length },
      map: cs.map((c, i): NftElement => ({ key: [String(i)], verdict: { kind: "goto", chain: c } })),
    }),
  ),
  name.map((s): NftStatement => ({ kind: "update", set: s, key: ["ip saddr"] })),
  fc
    .tuple(ipv4, fc.integer({ min: 1, max: 65535 }))
    .map(([addr, p]): NftStatement => ({ kind: "dnat", addr, port: p })),
  fc.boolean().map((fullyRandom): NftStatement => ({ kind: "masquerade", fullyRandom })),
  fc.constant<NftStatement>({ kind: "reject" }),
  verdict.map((v): NftStatement => ({ kind: "verdict", verdict: v })),
  // what istio-nftables writes: socket owner, ct mark, interfaces, redirect, tproxy
  fc
    .tuple(
      fc.constantFrom("meta skuid" as const, "meta skgid" as const, "ct mark" as const, "udp sport" as const),
      fc.constantFrom("==" as const, "!=" as const),
      fc.integer({ min: 1, max: 65535 }),
    )
    .map(
      ([f, op, v]): NftStatement => ({
        kind: "match",
        key: [f],
        op,
        right: {
          kind: "values",
          values: [[f === "ct mark" ? `0x${v.toString(16).padStart(8, "0")}` : String(v)]],
          anonymous: false,
        },
      }),
    ),
  fc
    .tuple(
      fc.constantFrom("iif" as const, "oif" as const),
      fc.constantFrom("==" as const, "!=" as const),
      fc.array(fc.constantFrom("lo", "eth0", "veth*", "net1"), { minLength: 1, maxLength: 3 }),
    )
    .map(([dir, op, names]): NftStatement => ({ kind: "ifname", dir, op, names })),
  fc
    .option(port, { nil: undefined })
    .map((p): NftStatement => (p === undefined ? { kind: "redirect" } : { kind: "redirect", port: Number(p) })),
  fc.tuple(fc.constantFrom("ip" as const, undefined), fc.option(ipv4, { nil: undefined }), port).map(
    ([family, addr, p]): NftStatement => ({
      kind: "tproxy",
      ...(family !== undefined ? { family } : {}),
      ...(addr !== undefined ? { addr } : {}),
      port: Number(p),
    }),
  ),
  hex.map((value): NftStatement => ({ kind: "ctmark-set", value })),
  fc.constant<NftStatement>({ kind: "ctmark-set", value: "mark" }),
  fc.constant<NftStatement>({ kind: "mark-set-ctmark" }),
  fc.integer({ min: 1, max: 65535 }).map((zone): NftStatement => ({ kind: "ct-zone-set", zone })),
);
const rule: fc.Arbitrary<NftRule> = fc
  .tuple(fc.array(statement, { minLength: 1, maxLength: 5 }), fc.option(comment, { nil: undefined }))
  .map(([statements, c]) => (c !== undefined ? { statements, comment: c } : { statements }));

describe("rule parser and formatter", () => {
  it("format then parse gives the same rule (canonical spelling)", () => {
    fc.assert(
      fc.property(rule, (r) => {
        const text = formatRule(r);
        const back = parseRule(text);
        expect(formatRule(back)).toBe(text);
        expect(back).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });

  it("reads both kube-proxy's spelling and nft list's spelling of the same rule", () => {
    const pairs: [string, string][] = [
      ["mark set mark or 0x00004000", "meta mark set meta mark | 0x00004000"],
      ["mark and 0x4000 == 0 return", "meta mark & 0x00004000 == 0x00000000 return"],
      ["ip daddr { 172.30.0.0/16 } drop", "ip daddr 172.30.0.0/16 drop"],
      ["ip saddr != { 203.0.113.0/25, 10.1.0.0/16 } drop", "ip saddr != { 10.1.0.0/16, 203.0.113.0/25 } drop"],
      ["numgen random mod 2 vmap { 0 : goto a , 1 : goto b }", "numgen random mod 2 vmap { 0 : goto a, 1 : goto b }"],
      ["meta l4proto tcp dnat to [fd00:10:180::1]:80", "meta l4proto 6 dnat ip6 to [fd00:10:180:0::1]:80"],
      // istio-nftables' spelling and `nft list`'s
      ["oifname lo skuid != 1337 counter return", 'oifname "lo" meta skuid != 1337 counter return'],
      [
        "meta l4proto tcp mark 1337 counter ct mark set mark",
        "meta l4proto tcp meta mark 0x00000539 counter ct mark set meta mark",
      ],
      ["ip daddr 1.1.0.0/8 return", "ip daddr 1.0.0.0/8 return"],
      ["tproxy ip6 to [::1]:15006", "tproxy ip6 to [0::1]:15006"],
    ];
    for (const [a, b] of pairs) expect(formatRule(parseRule(a))).toBe(formatRule(parseRule(b)));
    expect(formatRule(parseRule("mark set mark or 0x00004000"))).toBe("meta mark set meta mark | 0x00004000");
  });
});

const command: fc.Arbitrary<NftCommand> = fc.oneof(
  comment.map((c): NftCommand => ({ verb: "add", object: "table", family: "ip", table: "kube-proxy", comment: c })),
  fc.tuple(name, fc.constantFrom("prerouting", "input", "output"), fc.integer({ min: -400, max: 400 })).map(
    ([n, hook, priority]): NftCommand => ({
      verb: "add",
      object: "chain",
      family: "ip",
      table: "kube-proxy",
      name: n,
      hook: { type: "filter", hook, priority },
    }),
  ),
  fc
    .tuple(fc.constantFrom("add" as const, "flush" as const, "delete" as const), name)
    .map(([verb, n]): NftCommand => ({ verb, object: "chain", family: "ip6", table: "kube-proxy", name: n })),
  fc.tuple(name, rule).map(
    ([c, r]): NftCommand => ({
      verb: "add",
      object: "rule",
      family: "ip",
      table: "kube-proxy",
      chain: c,
      rule: formatRule(r),
    }),
  ),
  fc.tuple(name, comment).map(
    ([n, c]): NftCommand => ({
      verb: "add",
      object: "map",
      family: "ip",
      table: "kube-proxy",
      name: n,
      spec: { type: ["ipv4_addr", "inet_proto", "inet_service"], dataType: "verdict", comment: c },
    }),
  ),
  fc.tuple(name, fc.integer({ min: 1, max: 100000 })).map(
    ([n, t]): NftCommand => ({
      verb: "add",
      object: "set",
      family: "ip",
      table: "kube-proxy",
      name: n,
      spec: { type: ["ipv4_addr"], flags: ["dynamic", "timeout"], timeout: t },
    }),
  ),
  fc.tuple(name, ipv4, proto, port, fc.option(comment, { nil: undefined }), verdict).map(
    ([n, a, p, po, c, v]): NftCommand => ({
      verb: "add",
      object: "element",
      family: "ip",
      table: "kube-proxy",
      name: n,
      elements: [{ key: [a, p, po], ...(c !== undefined ? { comment: c } : {}), verdict: v }],
    }),
  ),
  fc.tuple(name, ipv4).map(
    ([n, a]): NftCommand => ({
      verb: "delete",
      object: "element",
      family: "ip",
      table: "kube-proxy",
      name: n,
      elements: [{ key: [a] }],
    }),
  ),
);

describe("script parser and formatter", () => {
  it("format then parse gives the same commands", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 12 }), (cmds) => {
        // Rule text comes back re-tokenized (`a , b` for `a, b`): compare rules by meaning.
        const norm = (c: NftCommand): NftCommand =>
          c.object === "rule" ? { ...c, rule: formatRule(parseRule(c.rule)) } : c;
        expect(parseNftScript(formatNftScript(cmds)).map(norm)).toEqual(cmds.map(norm));
      }),
      { numRuns: 200 },
    );
  });

  it("reports the line of a bad command", () => {
    try {
      parseNftScript("add table ip t\n\nadd bogus ip t x\n");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NftParseError);
      expect((e as NftParseError).line).toBe(3);
    }
    expect(() => parseRule("ip daddr 10.0.0.1 frobnicate")).toThrow(/frobnicate/);
  });
});
