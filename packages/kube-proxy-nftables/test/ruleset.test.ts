import { NftError, NftEvaluator, NftRuleset, parseNftScript } from "@knet/kube-proxy-nftables";
import { Addr } from "@knet/netstack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const base = `add table ip t
add chain ip t a
add chain ip t b
add map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }
add set ip t s { type ipv4_addr ; }
`;

function loaded(extra = ""): NftRuleset {
  const rs = new NftRuleset();
  rs.apply(parseNftScript(base + extra));
  return rs;
}

function code(rs: NftRuleset, script: string): string {
  try {
    rs.apply(parseNftScript(script));
    return "ok";
  } catch (e) {
    if (e instanceof NftError) return e.code;
    throw e;
  }
}

describe("NftRuleset transactions", () => {
  it("a failing transaction changes nothing (all or nothing)", () => {
    const rs = loaded("add rule ip t a jump b\nadd element ip t s { 10.0.0.1 }\n");
    const before = rs.dump();
    const gen = rs.generation;
    expect(
      code(
        rs,
        "add chain ip t c\nadd rule ip t c accept\nflush chain ip t a\nadd element ip t s { 10.0.0.2 }\ndelete element ip t s { 10.0.0.1 }\nadd rule ip t a jump missing\n",
      ),
    ).toBe("ENOENT");
    expect(rs.dump()).toBe(before);
    expect(rs.generation).toBe(gen);
  });

  it("refuses what the kernel refuses", () => {
    const rs = loaded("add rule ip t a jump b\nadd element ip t m { 10.0.0.1 . tcp . 80 : goto a }\n");
    expect(code(rs, "delete chain ip t b\n")).toBe("EBUSY"); // referenced by a rule
    expect(code(rs, "delete chain ip t a\n")).toBe("EBUSY"); // referenced by a map element
    expect(code(rs, "add element ip t m { 10.0.0.1 . tcp . 80 : goto b }\n")).toBe("EEXIST");
    expect(code(rs, "add element ip t m { 10.0.0.1 . tcp . 80 : goto a }\n")).toBe("ok"); // same value: no-op
    expect(code(rs, "delete element ip t s { 10.9.9.9 }\n")).toBe("ENOENT");
    expect(code(rs, "add chain ip t h { type filter hook input priority 0 ; }\n")).toBe("ok");
    expect(code(rs, "add chain ip t h { type filter hook input priority 10 ; }\n")).toBe("EOPNOTSUPP");
    expect(code(rs, "add chain ip t a { type filter hook input priority 10 ; }\n")).toBe("EEXIST");
    expect(code(rs, "add rule ip t a jump h\n")).toBe("EOPNOTSUPP");
    // Deleting a chain with its own rules is fine (they go with it); the map element first.
    expect(code(rs, "delete element ip t m { 10.0.0.1 . tcp . 80 }\ndelete chain ip t a\ndelete chain ip t b\n")).toBe(
      "ok",
    );
  });

  it("check mode (nft -c) validates without changing anything", () => {
    const rs = loaded();
    const before = rs.dump();
    rs.apply(parseNftScript("add chain ip t z\nadd rule ip t z drop\n"), { check: true });
    expect(rs.dump()).toBe(before);
  });

  it("set contents follow any sequence of add/delete transactions", () => {
    const addr = fc.integer({ min: 0, max: 15 }).map((i) => `10.0.0.${i}`);
    const op = fc.tuple(fc.constantFrom("add", "delete"), addr);
    fc.assert(
      fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { maxLength: 30 }), (txs) => {
        const rs = loaded();
        const model = new Set<string>();
        for (const tx of txs) {
          const next = new Set(model);
          let ok = true;
          for (const [verb, a] of tx) {
            if (verb === "add") next.add(a);
            else if (next.has(a)) next.delete(a);
            else ok = false;
          }
          const r = code(rs, tx.map(([v, a]) => `${v} element ip t s { ${a} }`).join("\n"));
          expect(r).toBe(ok ? "ok" : "ENOENT");
          if (ok) for (const a of [...model, ...next]) if (!next.has(a)) model.delete(a);
          if (ok) for (const a of next) model.add(a);
        }
        const set = rs.table("ip", "t")?.sets.get("s");
        const got = (set?.elements() ?? []).map((e) => e.element.key[0]).sort();
        expect(got).toEqual([...model].sort());
        // and the evaluator sees exactly those members
        rs.apply(
          parseNftScript(
            "add chain ip t in { type filter hook input priority 0 ; }\nadd rule ip t in ip saddr @s drop\n",
          ),
        );
        const ev = new NftEvaluator(rs, { isLocal: () => true });
        for (let i = 0; i < 16; i++) {
          const r = ev.evaluate({
            src: Addr.parse(`10.0.0.${i}`),
            dst: Addr.parse("10.9.0.1"),
            proto: "tcp",
            sport: 1,
            dport: 2,
          });
          expect(r.verdict === "drop").toBe(model.has(`10.0.0.${i}`));
        }
      }),
      { numRuns: 60 },
    );
  });
});
