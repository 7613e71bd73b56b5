/**
 * The evaluator's fast path: each chain compiled once into one JavaScript
 * function (straight-line `if`s over numeric packet registers, hash lookups for
 * named sets and maps, a jump table for `numgen`), so a packet costs a few
 * nanoseconds per rule. Only numbers and indices into a constants array are
 * written into the generated source; names, sets and chains are passed as
 * values, never as text.
 */
import { Prefix } from "@knet/netstack";
import { fieldType, impliedProto } from "./format.js";
import {
  type ChainState,
  type ElementState,
  encodeKey,
  literalNumber,
  literalWord,
  type RuleState,
  type SetState,
} from "./ruleset.js";
import type { NftElement, NftField, NftStatement, NftVerdict } from "./types.js";
import { verdictNumber } from "./verdict-code.js";

/** The registers generated code reads and writes (a subset of the evaluator's). */
export interface GenRegs {
  family: 4 | 6;
  s0: number;
  s1: number;
  s2: number;
  s3: number;
  d0: number;
  d1: number;
  d2: number;
  d3: number;
  l4: number;
  sport: number;
  dport: number;
  mark: number;
  ct: number;
  uid: number;
  gid: number;
  ctmark: number;
  ctZone: number;
  iif: string;
  oif: string;
  key: number[];
  target: ChainState | null;
  lastComment: string | undefined;
  decided: string | undefined;
  masq: boolean;
  dnatPort: number;
  dnatAddr: unknown;
  /** Where a path program stopped ({@link PATH}). */
  path: number;
}

/** Helpers the generated functions call. */
export interface GenHelpers {
  /** Run a chain (jump target); returns CONT when it returned. */
  readonly run: (ch: ChainState, r: GenRegs) => number;
  /** `numgen random mod n`. */
  readonly pick: (r: GenRegs, n: number) => number;
  /** Set membership with timeouts and intervals. */
  readonly member: (s: SetState, r: GenRegs) => boolean;
  /** {@link GenHelpers.member} for a key of at most three words passed directly. */
  readonly memberWords: (s: SetState, a: number, b: number, c: number, r: GenRegs) => boolean;
  /** {@link GenHelpers.get} for a key of at most three words passed directly. */
  readonly getWords: (s: SetState, a: number, b: number, c: number, r: GenRegs) => ElementState | undefined;
  /** Map lookup honouring timeouts. */
  readonly get: (s: SetState, r: GenRegs) => ElementState | undefined;
  /** `update @set { key }`. */
  readonly update: (s: SetState, r: GenRegs) => void;
  /** `fib saddr|daddr type local`. */
  readonly local: (r: GenRegs, src: boolean) => boolean;
  /** Apply a pending DNAT to the destination registers (when the chain that did it ends). */
  readonly dnat: (r: GenRegs) => void;
  /** `redirect [to :port]` (port -1: keep it): false when the packet must be dropped. */
  readonly redirect: (r: GenRegs, port: number) => boolean;
  /** `tproxy [ip|ip6] to [addr][:port]` (family 0: any; port 0: keep it): false when the rule does not match. */
  readonly tproxy: (r: GenRegs, family: number, addr: unknown, port: number) => boolean;
  /** Address prefix test for IPv6 and multi-prefix literals. */
  readonly inPrefixes: (ps: readonly Prefix[], r: GenRegs, src: boolean) => boolean;
}

/** A compiled chain function. */
export type ChainFn = (r: GenRegs) => number;

/** The register expression holding a one-word field. */
function fieldReg(f: NftField): string {
  switch (f) {
    case "meta l4proto":
      return "r.l4";
    case "meta mark":
      return "r.mark";
    case "ct mark":
      return "r.ctmark";
    case "meta skuid":
      return "r.uid";
    case "meta skgid":
      return "r.gid";
    case "th sport":
    case "tcp sport":
    case "udp sport":
    case "sctp sport":
      return "r.sport";
    default:
      return "r.dport";
  }
}

/**
 * What a field needs before its value is compared at all, whatever the operator
 * (the evaluator's `fieldGuard`): a local socket for `meta skuid`, the packet's
 * family for `ip`/`ip6` fields in an `inet` table, the protocol of `tcp dport`.
 */
function fieldGuard(f: NftField, inet: boolean): string | undefined {
  if (f === "meta skuid") return "r.uid>=0";
  if (f === "meta skgid") return "r.gid>=0";
  if (inet && f.startsWith("ip6 ")) return "r.family===6";
  if (inet && f.startsWith("ip ")) return "r.family===4";
  const p = impliedProto(f);
  return p >= 0 ? `r.l4===${p}` : undefined;
}

/** The register expressions holding a key's uint32 words, field by field. */
function keyWords(fields: readonly NftField[]): string[] {
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
      default:
        parts.push(fieldReg(f));
    }
  }
  return parts;
}

function keyWrites(fields: readonly NftField[]): string {
  return keyWords(fields)
    .map((p, i) => `K[${i}]=${p};`)
    .join("");
}

/**
 * Arguments `a,b,c` of the helpers that take a short key directly (up to three
 * words, padded with 0), or undefined for longer keys (IPv6), which go through `K`.
 */
function shortKey(fields: readonly NftField[]): string | undefined {
  const w = keyWords(fields);
  if (w.length > 3) return undefined;
  while (w.length < 3) w.push("0");
  return w.join(",");
}

type Factory = (e: unknown[], h: GenHelpers) => ChainFn;
const FACTORIES = new Map<string, Factory>();

/**
 * Generated code over some chains' rules. Small regular chains they jump to are
 * inlined, so the function stays valid only while every chain in
 * {@link CompiledChain.deps} keeps the version recorded for it.
 */
export interface CompiledChain {
  /** The generated function. */
  readonly fn: ChainFn;
  /** Who compiled it (an evaluator). */
  readonly owner: unknown;
  /** Chains whose rules are in {@link CompiledChain.fn}. */
  readonly deps: readonly ChainState[];
  /** Their versions when compiled, index for index. */
  readonly depVersions: readonly number[];
  /** The ruleset generation at which the versions were last found current (rules change only in transactions). */
  checked: number;
}

/**
 * True while no chain compiled into `cc` has changed since it was compiled.
 * Chains change only in transactions, each of which bumps the ruleset's
 * `generation`: once checked for a generation, the answer holds for it.
 */
export function compiledCurrent(cc: CompiledChain, generation: number): boolean {
  if (cc.checked === generation) return true;
  const xs = cc.deps;
  for (let i = 0; i < xs.length; i++) if ((xs[i] as ChainState).version !== cc.depVersions[i]) return false;
  cc.checked = generation;
  return true;
}

/** A base chain's place in a hook program. */
export interface HookEntry {
  /** The base chain. */
  readonly chain: ChainState;
  /** `nat` chains see only a connection's first packet. */
  readonly nat: boolean;
  /** Chain policy is drop. */
  readonly policyDrop: boolean;
}

/** Jump targets with at most this many rules are inlined into their caller… */
const INLINE_MAX_RULES = 8;
/** …down to this many nested jumps. */
const INLINE_MAX_DEPTH = 3;

/** How a chain's exits are spelled: returns at the top level, leaving a labelled block when inlined. */
interface Exits {
  /** A terminal verdict held by the expression (accept, drop, reject, or a called chain's result). */
  readonly term: (code: string) => string;
  /** `return` verdict. */
  readonly ret: string;
  /** Falling off the end. */
  readonly end: string;
  /** `goto` to the chain held by the expression. */
  readonly goto: (target: string) => string;
}

/** Calls a chain and passes on its verdict unless it returned. */
const callThen = (target: string, term: Exits["term"]): string =>
  `{const w=H.run(${target},r);if(w!==8){${term("w")}}}`;

/**
 * Compile a regular chain (a `jump`/`goto` target) into one function returning
 * its verdict code (8 when it returned or fell off its end, 7 for a goto with
 * the target in `r.target`).
 */
export function compileChain(root: ChainState, h: GenHelpers, owner: unknown): CompiledChain {
  const g = new Generator();
  const body = g.emit(root, "r", {
    term: (x) => `return ${x};`,
    ret: "return 5;",
    end: "return 8;",
    goto: (x) => `r.target=${x};return 7;`,
  });
  return g.finish(`const K=r.key;\n${body}`, [root], h, owner);
}

/** The base chains of each hook a path crosses, for one address family. */
export interface PathHooks {
  readonly prerouting: readonly HookEntry[];
  readonly input: readonly HookEntry[];
  readonly forward: readonly HookEntry[];
  readonly output: readonly HookEntry[];
  readonly postrouting: readonly HookEntry[];
}

/** `r.path` values a path program leaves: the hooks the packet went through. */
export const PATH = { PRE: 0, IN: 1, FWD1: 2, FWD: 3, OUT1: 4, OUT: 5 } as const;

/**
 * Compile a packet's whole path for one origin and family into one function:
 * `inbound` is prerouting, then (by `fib daddr type local` on the possibly
 * DNATed destination) input, or forward then postrouting; `local` is output
 * then postrouting. Each hook's base chains are inlined in priority order with
 * their policies, `nat` chains only for new connections, a DNAT applied to the
 * registers when the chain that did it ends. Returns the verdict (accept 2,
 * drop 3, reject 4) with `r.path` set to a {@link PATH} value.
 */
export function compilePath(
  origin: "inbound" | "local",
  hooks: PathHooks,
  h: GenHelpers,
  owner: unknown,
): CompiledChain {
  const g = new Generator();
  const hook = (entries: readonly HookEntry[], path: number): string =>
    `r.path=${path};${entries.map((e) => g.baseChain(e)).join("\n")}`;
  const body =
    origin === "inbound"
      ? `${hook(hooks.prerouting, PATH.PRE)}if(H.local(r,false)){${hook(hooks.input, PATH.IN)}return 2;}${hook(hooks.forward, PATH.FWD1)}${hook(hooks.postrouting, PATH.FWD)}return 2;`
      : `${hook(hooks.output, PATH.OUT1)}${hook(hooks.postrouting, PATH.OUT)}return 2;`;
  const all =
    origin === "inbound"
      ? [hooks.prerouting, hooks.input, hooks.forward, hooks.postrouting]
      : [hooks.output, hooks.postrouting];
  return g.finish(
    `const K=r.key;let hv=8;\n${body}`,
    all.flat().map((e) => e.chain),
    h,
    owner,
  );
}

/** One compilation: the constants, the inlined chains, the labels used so far. */
class Generator {
  private readonly E: unknown[] = [];
  private readonly deps: ChainState[] = [];
  private readonly stack: ChainState[] = [];
  private blocks = 0;

  /** A constant, referred to by index. */
  c(v: unknown): string {
    this.E.push(v);
    return `E[${this.E.length - 1}]`;
  }

  /**
   * A number among the constants, as an int32 (a small integer V8 keeps inline in the
   * array, where a uint32 above 2^31 would be boxed): code compares it with `|0`-style
   * int32 values, and a value stored back into a uint32 register is written `>>>0`.
   */
  n(v: number): string {
    return this.c(v | 0);
  }

  /** The rules of `ch`, their labels prefixed with `prefix`. */
  emit(ch: ChainState, prefix: string, exits: Exits): string {
    this.stack.push(ch);
    const out: string[] = [];
    for (let ri = 0; ri < ch.rules.length; ri++)
      out.push(this.rule(ch, ch.rules[ri] as RuleState, `${prefix}${ri}`, exits));
    out.push(exits.end);
    this.stack.pop();
    return out.join("\n");
  }

  /** A base chain inlined with its policy; a drop or reject returns from the program. */
  baseChain(e: HookEntry): string {
    const bc = `bc${this.blocks++}`;
    const term = (x: string): string => `{hv=${x};break ${bc};}`;
    const body = this.emit(e.chain, `${bc}r`, {
      term,
      ret: `break ${bc};`,
      end: "",
      goto: (x) => `${callThen(x, term)}break ${bc};`,
    });
    const policy = e.policyDrop ? `{hv=3;r.decided=${this.c(`${e.chain.name}: policy drop`)};}` : "hv=2;";
    return `${e.nat ? "if(r.ct===8){" : "{"}${bc}:{${body}}if(hv===8)${policy}if(r.dnatAddr!==null)H.dnat(r);if(hv===3||hv===4)return hv;hv=8;}`;
  }

  /** A `jump`: the target's rules inline when it is small, regular and not on the stack; a call otherwise. */
  jumpTo(target: ChainState | undefined, exits: Exits): string {
    if (
      target === undefined ||
      target.hook !== undefined ||
      target.rules.length > INLINE_MAX_RULES ||
      this.stack.length > INLINE_MAX_DEPTH ||
      this.stack.includes(target)
    ) {
      return callThen(this.c(target), exits.term);
    }
    const exit = `x${this.blocks++}`;
    this.deps.push(target);
    const body = this.emit(target, `${exit}r`, {
      term: exits.term,
      ret: `break ${exit};`,
      end: "",
      goto: (x) => `${callThen(x, exits.term)}break ${exit};`,
    });
    return `${exit}:{${body}}`;
  }

  /** The generated function over `src`, shared with every chain of the same shape. */
  finish(src: string, roots: readonly ChainState[], h: GenHelpers, owner: unknown): CompiledChain {
    // Chains of the same shape (every service chain, every endpoint chain) share one
    // generated function: constants live in E, so V8 compiles and optimizes the
    // shape once, not once per chain.
    let factory = FACTORIES.get(src);
    if (factory === undefined) {
      if (FACTORIES.size > 4096) FACTORIES.clear();
      factory = new Function("E", "H", `"use strict";return function chain(r){${src}};`) as Factory;
      FACTORIES.set(src, factory);
    }
    const deps = [...roots, ...this.deps];
    return {
      fn: factory(this.E, h),
      owner,
      deps,
      depVersions: deps.map((x) => x.version),
      checked: -1,
    };
  }

  /** One rule in a labelled block; a statement that does not match leaves the block. */
  private rule(ch: ChainState, rs: RuleState, label: string, exits: Exits): string {
    const t = ch.table;
    const c = (v: unknown): string => this.c(v);
    const n = (v: number): string => this.n(v);
    const body: string[] = [];
    const decide =
      rs.rule.comment !== undefined
        ? c(`${ch.name}: ${rs.rule.comment}`)
        : `(r.lastComment!==undefined?${c(`${ch.name}: `)}+r.lastComment:${c(ch.name)})`;
    const fail = `break ${label};`;
    // A verdict code held in `v` at run time (verdict-map elements), with its chain in `target`.
    const dynamic = (target: string): string =>
      `if(v===7){${exits.goto(target)}}if(v===6)${callThen(target, exits.term)}else if(v===3){r.decided=${decide};${exits.term("3")}}else if(v===5){${exits.ret}}else if(v!==0){${exits.term("v")}}`;
    const verdictCode = (v: NftVerdict): string => {
      switch (v.kind) {
        case "accept":
          return exits.term("2");
        case "drop":
          return `r.decided=${decide};${exits.term("3")}`;
        case "return":
          return exits.ret;
        case "continue":
          return "";
        case "jump":
          return this.jumpTo(t.chains.get(v.chain), exits);
        case "goto":
          return exits.goto(c(t.chains.get(v.chain)));
      }
    };
    const inet = t.family === "inet";
    for (const s of rs.rule.statements) body.push(stmt(s));
    /** A match statement's test, its fields' guards apart. */
    function match(s: Extract<NftStatement, { kind: "match" }>): string {
      const neg = s.op === "!=";
      if (s.right.kind === "set") {
        const set = t.sets.get(s.right.name) as SetState;
        const short = shortKey(s.key);
        if (short !== undefined) return `if(${neg ? "" : "!"}H.memberWords(${c(set)},${short},r))${fail}`;
        return `${keyWrites(s.key)}if(${neg ? "" : "!"}H.member(${c(set)},r))${fail}`;
      }
      if (s.key.length === 1) {
        const f = s.key[0] as NftField;
        let cond: string;
        if (f.startsWith("ip")) {
          const v6 = f.startsWith("ip6");
          const src = f.endsWith("saddr");
          const ps = s.right.values.map((v) =>
            Prefix.parse((v[0] as string).includes("/") ? (v[0] as string) : `${v[0]}/${v6 ? 128 : 32}`, {
              mask: true,
            }),
          );
          if (!v6) {
            cond = ps
              .map((p) => {
                const mask = p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0;
                return `(r.${src ? "s3" : "d3"}&${n(mask)})===${n(p.addr.w3)}`;
              })
              .join("||");
          } else {
            cond = `H.inPrefixes(${c(ps)},r,${src})`;
          }
        } else {
          const nums = s.right.values.map((v) => literalWord(f, v[0] as string));
          const reg = `(${fieldReg(f)}|0)`;
          cond = nums.map((x) => `${reg}===${n(x)}`).join("||");
        }
        return `if(${neg ? "" : "!"}(${cond}))${fail}`;
      }
      // Concatenated literal values: compare the key words (encoded as the sets' keys are).
      const types = s.key.map(fieldType);
      const alts = s.right.values.map((v) => {
        const words: number[] = [];
        encodeKey(types, v, words);
        return words.map((w, i) => `(K[${i}]|0)===${n(w)}`).join("&&");
      });
      return `${keyWrites(s.key)}if(${neg ? "" : "!"}(${alts.map((a) => `(${a})`).join("||")}))${fail}`;
    }
    function stmt(s: NftStatement): string {
      switch (s.kind) {
        case "match": {
          const guards = s.key.map((f) => fieldGuard(f, inet)).filter((g) => g !== undefined);
          const m = match(s);
          return guards.length === 0 ? m : `if(!(${guards.join("&&")}))${fail}${m}`;
        }
        case "ifname": {
          const reg = s.dir === "iif" ? "r.iif" : "r.oif";
          const cond = s.names
            .map((x) => (x.endsWith("*") ? `${reg}.startsWith(${c(x.slice(0, -1))})` : `${reg}===${c(x)}`))
            .join("||");
          return `if(${reg}===""||${s.op === "==" ? "!" : ""}(${cond}))${fail}`;
        }
        case "redirect":
          return `if(!H.redirect(r,${n(s.port ?? -1)})){r.decided=${decide};${exits.term("3")}}${exits.term("2")}`;
        case "tproxy": {
          const fam = s.family === "ip" ? 4 : s.family === "ip6" ? 6 : 0;
          const addr = s.addr !== undefined ? Prefix.parse(`${s.addr}/${s.addr.includes(":") ? 128 : 32}`).addr : null;
          return `if(!H.tproxy(r,${fam},${c(addr)},${n(s.port ?? 0)}))${fail}`;
        }
        case "ctmark-set":
          return s.value === "mark" ? "r.ctmark=r.mark;" : `r.ctmark=${n(s.value)}>>>0;`;
        case "mark-set-ctmark":
          return "r.mark=r.ctmark;";
        case "ct-zone-set":
          return `r.ctZone=${n(s.zone)};`;
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
          return `if((r.mark&${n(s.mask)})${s.op === "==" ? "!==" : "==="}${n(s.value)})${fail}`;
        case "mark-set": {
          const op = s.op === "or" ? "|" : s.op === "xor" ? "^" : s.op === "and" ? "&" : "";
          return op === "" ? `r.mark=${n(s.value)}>>>0;` : `r.mark=(r.mark${op}${n(s.value)})>>>0;`;
        }
        case "vmap": {
          if (typeof s.map === "string") {
            const set = t.sets.get(s.map) as SetState;
            const fields = s.key as readonly NftField[];
            const short = shortKey(fields);
            const pre = short !== undefined ? "" : keyWrites(fields);
            const get = short !== undefined ? `H.getWords(${c(set)},${short},r)` : `H.get(${c(set)},r)`;
            return `${pre}{const el=${get};if(el===undefined)${fail}if(el.comment!==undefined)r.lastComment=el.comment;const v=el.code;${dynamic("el.target")}}`;
          }
          const els = s.map as readonly NftElement[];
          const codes: number[] = [];
          const targets: (ChainState | undefined)[] = [];
          const keyOf = (e: NftElement): number => literalNumber(e.key[0] as string);
          if ("numgen" in s.key) {
            for (const e of els) {
              const v = e.verdict as NftVerdict;
              codes[keyOf(e)] = verdictNumber(v);
              targets[keyOf(e)] = "chain" in v ? t.chains.get(v.chain) : undefined;
            }
            const cv = c(codes);
            const tv = c(targets);
            return `{const i=H.pick(r,${n(s.key.numgen)});const v=${cv}[i];if(v===undefined)${fail}${dynamic(`${tv}[i]`)}}`;
          }
          // Anonymous vmap on packet fields: a small linear table.
          const fields = s.key as readonly NftField[];
          const types = fields.map(fieldType);
          const entries = els.map((e) => {
            const v = e.verdict as NftVerdict;
            const key: number[] = [];
            encodeKey(types, e.key, key);
            return {
              key,
              code: verdictNumber(v),
              target: "chain" in v ? t.chains.get(v.chain) : undefined,
            };
          });
          return `${keyWrites(fields)}{const es=${c(entries)};let hit;for(const e of es){let ok=true;for(let j=0;j<e.key.length;j++)if(e.key[j]!==K[j]){ok=false;break;}if(ok){hit=e;break;}}if(hit===undefined)${fail}const v=hit.code;${dynamic("hit.target")}}`;
        }
        case "update": {
          const set = t.sets.get(s.set) as SetState;
          return `${keyWrites(s.key)}H.update(${c(set)},r);`;
        }
        case "dnat": {
          const a = Prefix.parse(`${s.addr}/${s.addr.includes(":") ? 128 : 32}`).addr;
          return `r.dnatAddr=${c(a)};r.dnatPort=${n(s.port ?? -1)};${exits.term("2")}`;
        }
        case "masquerade":
          return `r.masq=true;${exits.term("2")}`;
        case "reject":
          return `r.decided=${decide};${exits.term("4")}`;
        case "counter":
          return "";
        case "verdict":
          return verdictCode(s.verdict);
      }
    }
    return `${label}:{${body.join("")}}`;
  }
}
