/**
 * The evaluator's fast path: each chain compiled once into one JavaScript
 * function (straight-line `if`s over numeric packet registers, hash lookups for
 * named sets and maps, a jump table for `numgen`), so a packet costs a few
 * nanoseconds per rule. Only numbers and indices into a constants array are
 * written into the generated source; names, sets and chains are passed as
 * values, never as text.
 */
import { Prefix } from "@knet/netstack";
import type { ChainState, ElementState, SetState } from "./ruleset.js";
import type { NftElement, NftField, NftStatement, NftVerdict } from "./types.js";
import { verdictNumber } from "./verdict-code.js";

/** The registers generated code reads and writes (a subset of the evaluator's). */
export interface GenRegs {
  s0: number;
  s1: number;
  s2: number;
  s3: number;
  d0: number;
  d1: number;
  d2: number;
  d3: number;
  l4: number;
  dport: number;
  mark: number;
  ct: number;
  key: number[];
  target: ChainState | null;
  lastComment: string | undefined;
  decided: string | undefined;
  masq: boolean;
  dnatPort: number;
  dnatAddr: unknown;
}

/** Helpers the generated functions call. */
export interface GenHelpers {
  /** Run a chain (jump target); returns CONT when it returned. */
  readonly run: (ch: ChainState, r: GenRegs) => number;
  /** `numgen random mod n`. */
  readonly pick: (r: GenRegs, n: number) => number;
  /** Set membership with timeouts and intervals. */
  readonly member: (s: SetState, r: GenRegs) => boolean;
  /** Map lookup honouring timeouts. */
  readonly get: (s: SetState, r: GenRegs) => ElementState | undefined;
  /** `update @set { key }`. */
  readonly update: (s: SetState, r: GenRegs) => void;
  /** `fib saddr|daddr type local`. */
  readonly local: (r: GenRegs, src: boolean) => boolean;
  /** Address prefix test for IPv6 and multi-prefix literals. */
  readonly inPrefixes: (ps: readonly Prefix[], r: GenRegs, src: boolean) => boolean;
}

/** A compiled chain function. */
export type ChainFn = (r: GenRegs) => number;

const PROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, "ipv6-icmp": 58 };

function num(t: string): number {
  const p = PROTO[t];
  if (p !== undefined) return p;
  return /^0x/.test(t) ? Number.parseInt(t, 16) : Number(t);
}

function keyWrites(fields: readonly NftField[]): string {
  const parts: string[] = [];
  for (const f of fields) {
    switch (f) {
      case "ip saddr":
        parts.push("r.s3");
        break;
      case "ip daddr":
        parts.push("r.d3");
        break;
      case "ip6 saddr":
        parts.push("r.s0", "r.s1", "r.s2", "r.s3");
        break;
      case "ip6 daddr":
        parts.push("r.d0", "r.d1", "r.d2", "r.d3");
        break;
      case "meta l4proto":
        parts.push("r.l4");
        break;
      case "meta mark":
        parts.push("r.mark");
        break;
      default:
        parts.push("r.dport");
    }
  }
  return parts.map((p, i) => `K[${i}]=${p};`).join("");
}

type Factory = (e: unknown[], n: Float64Array, h: GenHelpers) => ChainFn;
const FACTORIES = new Map<string, Factory>();

function implied(f: NftField): number {
  return f === "tcp dport" ? 6 : f === "udp dport" ? 17 : f === "sctp dport" ? 132 : -1;
}

/**
 * Compile a chain into one function. `E` collects the constants the code
 * refers to by index.
 */
export function compileChain(ch: ChainState, h: GenHelpers): ChainFn {
  const E: unknown[] = [];
  const c = (v: unknown): string => {
    E.push(v);
    return `E[${E.length - 1}]`;
  };
  // Numbers go into one Float64Array (unboxed, contiguous) rather than E.
  const nums: number[] = [];
  const n = (v: number): string => {
    nums.push(v);
    return `N[${nums.length - 1}]`;
  };
  const t = ch.table;
  const out: string[] = ["const K=r.key;"];
  ch.rules.forEach((rs, ri) => {
    const label = `r${ri}`;
    const body: string[] = [];
    const decide =
      rs.rule.comment !== undefined
        ? c(`${ch.name}: ${rs.rule.comment}`)
        : `(r.lastComment!==undefined?${c(`${ch.name}: `)}+r.lastComment:${c(ch.name)})`;
    const fail = `break ${label};`;
    const verdictCode = (v: NftVerdict): string => {
      switch (v.kind) {
        case "accept":
          return "return 2;";
        case "drop":
          return `r.decided=${decide};return 3;`;
        case "return":
          return "return 5;";
        case "continue":
          return "";
        case "jump": {
          const target = t.chains.get(v.chain);
          return `{const w=H.run(${c(target)},r);if(w!==8)return w;}`;
        }
        case "goto": {
          const target = t.chains.get(v.chain);
          return `r.target=${c(target)};return 7;`;
        }
      }
    };
    for (const s of rs.rule.statements) body.push(stmt(s));
    function stmt(s: NftStatement): string {
      switch (s.kind) {
        case "match": {
          const neg = s.op === "!=";
          if (s.right.kind === "set") {
            const set = t.sets.get(s.right.name) as SetState;
            return `${keyWrites(s.key)}if(${neg ? "" : "!"}H.member(${c(set)},r))${fail}`;
          }
          if (s.key.length === 1) {
            const f = s.key[0] as NftField;
            let cond: string;
            if (f.startsWith("ip")) {
              const v6 = f.startsWith("ip6");
              const src = f.endsWith("saddr");
              const ps = s.right.values.map((v) =>
                Prefix.parse((v[0] as string).includes("/") ? (v[0] as string) : `${v[0]}/${v6 ? 128 : 32}`),
              );
              if (!v6) {
                cond = ps
                  .map((p) => {
                    const mask = p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0;
                    return `((r.${src ? "s3" : "d3"}&${n(mask)})>>>0)===${n(p.addr.w3)}`;
                  })
                  .join("||");
              } else {
                cond = `H.inPrefixes(${c(ps)},r,${src})`;
              }
            } else {
              const nums = s.right.values.map((v) => num(v[0] as string));
              const reg = f === "meta l4proto" ? "r.l4" : f === "meta mark" ? "(r.mark>>>0)" : "r.dport";
              const eq = nums.map((x) => `${reg}===${n(x >>> 0)}`).join("||");
              const p = implied(f);
              cond = p >= 0 ? `r.l4===${n(p)}&&(${eq})` : eq;
            }
            return `if(${neg ? "" : "!"}(${cond}))${fail}`;
          }
          // Concatenated literal values: compare the key words.
          const types = s.key.map((f) =>
            f.startsWith("ip6")
              ? "ipv6_addr"
              : f.startsWith("ip ")
                ? "ipv4_addr"
                : f === "meta l4proto"
                  ? "inet_proto"
                  : "inet_service",
          );
          const alts = s.right.values.map((v) => {
            const words: number[] = [];
            for (let i = 0; i < types.length; i++) {
              if (types[i] === "ipv6_addr") {
                const a = Prefix.parse(`${v[i]}/128`).addr;
                words.push(a.w0, a.w1, a.w2, a.w3);
              } else if (types[i] === "ipv4_addr") {
                words.push(Prefix.parse(`${v[i]}/32`).addr.w3);
              } else {
                words.push(num(v[i] as string));
              }
            }
            return words.map((w, i) => `K[${i}]===${n(w >>> 0)}`).join("&&");
          });
          return `${keyWrites(s.key)}if(${neg ? "" : "!"}(${alts.map((a) => `(${a})`).join("||")}))${fail}`;
        }
        case "ct-state": {
          const bits: Record<string, number> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };
          let b = 0;
          for (const st of s.states) b |= bits[st] ?? 0;
          return `if((r.ct&${n(b)})===0)${fail}`;
        }
        case "fib":
          if (s.type !== "local") return fail;
          return `if(${s.op === "==" ? "!" : ""}H.local(r,${s.dir === "saddr"}))${fail}`;
        case "mark-match":
          return `if(((r.mark&${n(s.mask >>> 0)})>>>0)${s.op === "==" ? "!==" : "==="}${n(s.value >>> 0)})${fail}`;
        case "mark-set": {
          const op = s.op === "or" ? "|" : s.op === "xor" ? "^" : s.op === "and" ? "&" : "";
          return op === "" ? `r.mark=${n(s.value >>> 0)};` : `r.mark=(r.mark${op}${n(s.value >>> 0)})>>>0;`;
        }
        case "vmap": {
          if (typeof s.map === "string") {
            const set = t.sets.get(s.map) as SetState;
            return `${keyWrites(s.key as readonly NftField[])}{const el=H.get(${c(set)},r);if(el===undefined)${fail}if(el.comment!==undefined)r.lastComment=el.comment;const v=el.code;if(v===7){r.target=el.target;return 7;}if(v===6){const w=H.run(el.target,r);if(w!==8)return w;}else if(v===3){r.decided=${decide};return 3;}else if(v!==0)return v;}`;
          }
          const els = s.map as readonly NftElement[];
          const codes: number[] = [];
          const targets: (ChainState | undefined)[] = [];
          const keyOf = (e: NftElement): number => num(e.key[0] as string);
          if ("numgen" in s.key) {
            for (const e of els) {
              const v = e.verdict as NftVerdict;
              codes[keyOf(e)] = verdictNumber(v);
              targets[keyOf(e)] = "chain" in v ? t.chains.get(v.chain) : undefined;
            }
            const cv = c(codes);
            const tv = c(targets);
            return `{const i=H.pick(r,${n(s.key.numgen)});const v=${cv}[i];if(v===undefined)${fail}if(v===7){r.target=${tv}[i];return 7;}if(v===6){const w=H.run(${tv}[i],r);if(w!==8)return w;}else if(v!==0)return v;}`;
          }
          // Anonymous vmap on packet fields: a small linear table.
          const fields = s.key as readonly NftField[];
          const entries = els.map((e) => {
            const v = e.verdict as NftVerdict;
            return {
              key: e.key.map(num),
              code: verdictNumber(v),
              target: "chain" in v ? t.chains.get(v.chain) : undefined,
            };
          });
          return `${keyWrites(fields)}{const es=${c(entries)};let hit;for(const e of es){let ok=true;for(let j=0;j<e.key.length;j++)if(e.key[j]!==K[j]){ok=false;break;}if(ok){hit=e;break;}}if(hit===undefined)${fail}const v=hit.code;if(v===7){r.target=hit.target;return 7;}if(v===6){const w=H.run(hit.target,r);if(w!==8)return w;}else if(v!==0)return v;}`;
        }
        case "update": {
          const set = t.sets.get(s.set) as SetState;
          return `${keyWrites(s.key)}H.update(${c(set)},r);`;
        }
        case "dnat": {
          const a = Prefix.parse(`${s.addr}/${s.addr.includes(":") ? 128 : 32}`).addr;
          return `r.dnatAddr=${c(a)};r.dnatPort=${n(s.port ?? -1)};return 2;`;
        }
        case "masquerade":
          return "r.masq=true;return 2;";
        case "reject":
          return `r.decided=${decide};return 4;`;
        case "counter":
          return "";
        case "verdict":
          return verdictCode(s.verdict);
      }
    }
    out.push(`${label}:{${body.join("")}}`);
  });
  out.push("return 8;");
  // Chains of the same shape (every service chain, every endpoint chain) share one
  // generated function: constants live in E, so V8 compiles and optimizes the
  // shape once, not once per chain.
  const src = out.join("\n");
  let factory = FACTORIES.get(src);
  if (factory === undefined) {
    if (FACTORIES.size > 4096) FACTORIES.clear();
    factory = new Function("E", "N", "H", `"use strict";return function chain(r){${src}};`) as Factory;
    FACTORIES.set(src, factory);
  }
  return factory(E, Float64Array.from(nums), h);
}
