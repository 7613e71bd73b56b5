import { ProxyEngineError } from "@knet/kube-proxy";
import { Addr, ipProtocolNumber, seededRandom as mulberry32, Prefix, type SocketOwner } from "@knet/netstack";
import {
  type ChainFn,
  type CompiledChain,
  compileChain,
  compiledCurrent,
  compilePath,
  type GenHelpers,
  type HookEntry,
} from "./codegen.js";
import { fieldType, formatRule, impliedProto } from "./format.js";
import {
  type ChainState,
  type ElementState,
  encodeKey,
  literalWord,
  type NftRuleset,
  type RuleState,
  type SetState,
} from "./ruleset.js";
import type { NftElement, NftFamily, NftField, NftStatement, NftVerdict } from "./types.js";

/**
 * A packet as the evaluator sees it (a subset of `@knet/netstack`'s `Packet`);
 * `uid`/`gid` are the sending socket's owner for locally generated packets
 * (`meta skuid`/`meta skgid`; ignored for inbound ones, which have no local socket).
 */
export interface NftPacket extends SocketOwner {
  /** Source address. */
  readonly src: Addr;
  /** Destination address. */
  readonly dst: Addr;
  /** Transport protocol name (`tcp`, `udp`, `sctp`) or number. */
  readonly proto: string | number;
  /** Source port. */
  readonly sport: number;
  /** Destination port. */
  readonly dport: number;
  /** Firewall mark on entry (default 0). */
  readonly mark?: number;
  /** Conntrack state (default `new`). */
  readonly ct?: "new" | "established" | "related" | "invalid" | "untracked";
  /** The connection's mark (`ct mark`, default 0). */
  readonly ctmark?: number;
  /** Input interface of an inbound packet (`iifname`, default `eth0`). */
  readonly inInterface?: string;
  /**
   * Output interface (`oifname`): default `lo` for a local packet to a loopback or local
   * address (also after a DNAT or redirect there), else `eth0`.
   */
  readonly outInterface?: string;
}

/** Where a packet enters the node's netfilter hooks. */
export type NftOrigin =
  /** Arrives on an interface: prerouting, then input or forward, then (forwarded) postrouting. */
  | "inbound"
  /** Sent by a local process: output, then postrouting. */
  | "local";

/** One step of a trace: a rule that was evaluated (matched or not). */
export interface NftTraceStep {
  /** Hook (`prerouting`, …). */
  readonly hook: string;
  /** Chain name. */
  readonly chain: string;
  /** 0-based rule index in the chain; -1 for the chain policy. */
  readonly rule: number;
  /** Rule text (`nft list` spelling). */
  readonly text: string;
  /** `match` when the rule matched and fell through, `no-match`, or the verdict it gave. */
  readonly result: string;
  /** Set when this rule translated the destination, masqueraded, dropped or rejected (see `settleDecisive`). */
  readonly decisive?: boolean;
}

/** What happened to a packet. */
export interface NftResult {
  /** Final verdict. `reject` is a drop that answers the sender. */
  readonly verdict: "accept" | "drop" | "reject";
  /** Destination after DNAT (unchanged when no DNAT). */
  readonly dst: Addr;
  /** Destination port after DNAT. */
  readonly dport: number;
  /** True when a DNAT happened. */
  readonly dnat: boolean;
  /** True when the packet is masqueraded on the way out. */
  readonly masquerade: boolean;
  /** Mark at the end. */
  readonly mark: number;
  /** The connection's mark at the end (`ct mark set`). */
  readonly ctmark: number;
  /** Conntrack zone the rules put the connection in (`ct zone set`), 0 when none. */
  readonly ctZone: number;
  /** Where `tproxy` handed the packet: the local listener's port, and address when one was given. */
  readonly tproxy?: { readonly port: number; readonly addr?: Addr } | undefined;
  /** Hooks traversed, in order. */
  readonly hooks: readonly string[];
  /**
   * For a drop or reject: the chain (and rule comment, or the comment of the
   * verdict-map element that led there) that decided it.
   */
  readonly decidedBy?: string | undefined;
  /** Rules visited, when tracing was asked for. */
  readonly trace?: readonly NftTraceStep[] | undefined;
}

/** What one base chain did with a packet ({@link NftEvaluator.runBaseChain}). */
export interface NftChainVerdict {
  /** The chain's verdict (a NAT accepts). */
  readonly verdict: "accept" | "drop" | "reject";
  /** Mark after the chain. */
  readonly mark: number;
  /** Connection mark after the chain. */
  readonly ctmark: number;
  /** Masquerade asked for. */
  readonly masquerade: boolean;
  /** Destination NAT (`dnat`, `redirect`) asked for. */
  readonly dnat?: { readonly addr: Addr; readonly port: number };
  /** Where `tproxy` handed the packet. */
  readonly tproxy?: { readonly port: number; readonly addr?: Addr };
  /** For a drop or reject: the chain and rule comment that decided. */
  readonly decidedBy?: string | undefined;
}

/** Injected randomness: an integer in `[0, n)`. */
export type RandomInt = (n: number) => number;

/** A seeded random source (netstack's mulberry32), for reproducible endpoint choice. */
export function seededRandomInt(seed = 1): RandomInt {
  const { next } = mulberry32(seed);
  return (n: number): number => Math.floor(next() * n);
}

/** Options of {@link NftEvaluator}. */
export interface NftEvaluatorOptions {
  /** Random source for `numgen random` (default: seeded, seed 1). */
  readonly random?: RandomInt;
  /** Clock in seconds, for dynamic set timeouts (default: `Date.now()/1000`). */
  readonly now?: () => number;
  /** Is this address local to the node (`fib … type local`, input vs forward)? Default: never. */
  readonly isLocal?: (addr: Addr) => boolean;
  /**
   * The primary address of family `family` on interface `ifname`: where `redirect` sends an
   * inbound packet (local packets go to loopback). Without one the kernel drops the packet,
   * and so does the evaluator.
   */
  readonly interfaceAddress?: (ifname: string, family: 4 | 6) => Addr | undefined;
}

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** Where the packet enters (default `inbound`). */
  readonly origin?: NftOrigin;
  /** Record every rule visited. */
  readonly trace?: boolean;
  /** Random source for this evaluation (default: the evaluator's). */
  readonly random?: RandomInt;
  /** Clock value in seconds for this evaluation (default: the evaluator's clock). */
  readonly now?: number;
}

// Statement results.
const NEXT = 0;
const NOMATCH = 1;
const ACCEPT = 2;
const DROP = 3;
const REJECT = 4;
const RETURN = 5;
const JUMP = 6;
const GOTO = 7;
const CONT = 8; // chain fell off its end / returned

const CT_BITS: Readonly<Record<string, number>> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };

/** Mutable per-packet registers. */
class Regs {
  family: 4 | 6 = 4;
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  l4 = 0;
  sport = 0;
  dport = 0;
  mark = 0;
  ct = 8;
  /** Sending socket's owner; -1: no local socket. */
  uid = -1;
  gid = -1;
  ctmark = 0;
  ctZone = 0;
  iif = "";
  oif = "";
  /** The output interface follows the destination (a local packet without an explicit one). */
  oifAuto = false;
  /** `tproxy` port, -1 when none. */
  tproxyPort = -1;
  tproxyAddr: Addr | null = null;
  srcLocal = -1;
  dstLocal = -1;
  src: Addr = Addr.v4(0);
  dst: Addr = Addr.v4(0);
  target: ChainState | null = null;
  dnatAddr: Addr | null = null;
  dnatPort = -1;
  masq = false;
  now = 0;
  /** The ruleset generation being evaluated. */
  gen = 0;
  /** Jumps (and the gotos under them) currently open: see {@link MAX_DEPTH}. */
  depth = 0;
  /** Where the path program stopped. */
  path = 0;
  key: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  trace: NftTraceStep[] | null = null;
  hook = "";
  lastComment: string | undefined = undefined;
  decided: string | undefined = undefined;
  clock: () => number = () => 0;
  ev: NftEvaluator | null = null;
}

/** The clock value of this evaluation, read once and only when a timeout needs it. */
function nowOf(r: Regs): number {
  if (Number.isNaN(r.now)) r.now = r.clock();
  return r.now;
}

type Op = (r: Regs) => number;
interface CompiledRule {
  readonly ops: readonly Op[];
  readonly state: RuleState;
}
interface Compiled {
  readonly owner: NftEvaluator;
  readonly version: number;
  readonly rules: readonly CompiledRule[];
}

type KeyWriter = (r: Regs, out: number[]) => void;

function writer(fields: readonly NftField[]): KeyWriter {
  const parts = fields.map((f): KeyWriter | null => {
    switch (f) {
      case "ip saddr":
        return (r, o) => o.push(r.s3);
      case "ip daddr":
        return (r, o) => o.push(r.d3);
      case "ip6 saddr":
        return (r, o) => o.push(r.s0, r.s1, r.s2, r.s3);
      case "ip6 daddr":
        return (r, o) => o.push(r.d0, r.d1, r.d2, r.d3);
      default: {
        const read = fieldReader(f);
        return (r, o) => o.push(read(r));
      }
    }
  });
  // Specialised writers for the shapes kube-proxy uses (no push, no loop).
  const key = fields.join(" . ");
  if (key === "ip daddr . meta l4proto . th dport") {
    return (r, o) => {
      o[0] = r.d3;
      o[1] = r.l4;
      o[2] = r.dport;
    };
  }
  if (key === "meta l4proto . th dport") {
    return (r, o) => {
      o[0] = r.l4;
      o[1] = r.dport;
    };
  }
  if (key === "ip saddr") {
    return (r, o) => {
      o[0] = r.s3;
    };
  }
  if (key === "ip daddr") {
    return (r, o) => {
      o[0] = r.d3;
    };
  }
  return (r, o) => {
    o.length = 0;
    for (const p of parts) (p as KeyWriter)(r, o);
  };
}

/** `el` unless its timeout has passed (dynamic sets). */
function live(el: ElementState | undefined, r: Regs): ElementState | undefined {
  return el === undefined || el.expires === Number.POSITIVE_INFINITY || el.expires >= nowOf(r) ? el : undefined;
}

/** Set membership of the key in `k`: exact elements (alive), then interval elements. */
function lookup(s: SetState, r: Regs, k: number[]): boolean {
  const el = s.table.get(k);
  if (el !== undefined) return live(el, r) !== undefined;
  if (s.intervals.length > 0) {
    const a =
      s.width === 1 ? Addr.v4(k[0] as number) : Addr.v6(k[0] as number, k[1] as number, k[2] as number, k[3] as number);
    for (const i of s.intervals) if (i.prefix.contains(a)) return true;
  }
  return false;
}

/** `update @set { key }` with the key already in `r.key`: add or refresh with the set's timeout. */
function updateSet(set: SetState, r: Regs): void {
  const k = r.key;
  const expires = set.spec.timeout !== undefined ? nowOf(r) + set.spec.timeout : Number.POSITIVE_INFINITY;
  const cur = set.table.get(k);
  if (cur !== undefined) {
    cur.expires = expires;
    return;
  }
  const key = k.slice(0, set.width);
  const text =
    set.spec.type[0] === "ipv4_addr"
      ? [Addr.v4(key[0] as number).toString()]
      : [Addr.v6(key[0] as number, key[1] as number, key[2] as number, key[3] as number).toString()];
  set.table.set(key, { element: { key: text }, target: undefined, expires, code: 0, comment: undefined });
}

function verdictCode(v: NftVerdict, r: Regs, target: ChainState | undefined): number {
  switch (v.kind) {
    case "accept":
      return ACCEPT;
    case "drop":
      return DROP;
    case "return":
      return RETURN;
    case "continue":
      return NEXT;
    case "jump":
      r.target = target as ChainState;
      return JUMP;
    case "goto":
      r.target = target as ChainState;
      return GOTO;
  }
}

/** The register holding a one-word field (protocol, port, mark, socket owner). */
function fieldReader(f: NftField): (r: Regs) => number {
  switch (f) {
    case "meta l4proto":
      return (r) => r.l4;
    case "meta mark":
      return (r) => r.mark >>> 0;
    case "ct mark":
      return (r) => r.ctmark >>> 0;
    case "meta skuid":
      return (r) => r.uid;
    case "meta skgid":
      return (r) => r.gid;
    case "th sport":
    case "tcp sport":
    case "udp sport":
    case "sctp sport":
      return (r) => r.sport;
    default:
      return (r) => r.dport;
  }
}

/**
 * What a field needs before its value is compared at all (nft adds it as a
 * dependency the rule must meet, whatever the operator): `tcp dport` a TCP
 * packet, `ip daddr` in an `inet` table an IPv4 one, `meta skuid` a local
 * socket. Undefined when nothing is needed.
 */
function fieldGuard(f: NftField, inet: boolean): ((r: Regs) => boolean) | undefined {
  if (f === "meta skuid") return (r) => r.uid >= 0;
  if (f === "meta skgid") return (r) => r.gid >= 0;
  if (inet && f.startsWith("ip6 ")) return (r) => r.family === 6;
  if (inet && f.startsWith("ip ")) return (r) => r.family === 4;
  const p = impliedProto(f);
  return p >= 0 ? (r) => r.l4 === p : undefined;
}

/** The guards of a key's fields as one test, or undefined when none applies. */
function keyGuard(key: readonly NftField[], inet: boolean): ((r: Regs) => boolean) | undefined {
  const gs = key.map((f) => fieldGuard(f, inet)).filter((g) => g !== undefined);
  if (gs.length === 0) return undefined;
  if (gs.length === 1) return gs[0];
  return (r) => gs.every((g) => g(r));
}

/** Loopback addresses are local on every host, whatever `isLocal` says. */
function isLoopback(a: Addr): boolean {
  return a.family === 4 ? a.w3 >>> 24 === 127 : a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && a.w3 === 1;
}

const LOOPBACK4 = Addr.parse("127.0.0.1");
const LOOPBACK6 = Addr.parse("::1");

/**
 * `redirect [to :port]`: a DNAT to the host itself (`nf_nat_redirect`): loopback for a
 * locally generated packet, the input interface's primary address for an inbound one.
 * False (the kernel drops the packet) when that interface has no address of the family.
 */
function redirect(r: Regs, port: number): boolean {
  let a: Addr | undefined;
  if (r.iif === "" || r.iif === "lo") a = r.family === 4 ? LOOPBACK4 : LOOPBACK6;
  else a = (r.ev as NftEvaluator).interfaceAddress(r.iif, r.family);
  if (a === undefined) {
    r.lastComment = `redirect: no IPv${r.family} address on ${r.iif}`;
    return false;
  }
  r.dnatAddr = a;
  r.dnatPort = port;
  return true;
}

/**
 * `tproxy [ip|ip6] to [addr][:port]`: hands the packet to the local transparent listener
 * (port 0/absent: the packet's own destination port). A family other than the packet's
 * does not match. It does not end the rule.
 */
function tproxy(r: Regs, family: number, addr: Addr | null, port: number): boolean {
  if (family !== 0 && family !== r.family) return false;
  r.tproxyPort = port > 0 ? port : r.dport;
  r.tproxyAddr = addr;
  return true;
}

/** Values matcher for a one-field literal or anonymous set (the field's guard is checked apart). */
function valuesMatcher(field: NftField, values: readonly (readonly string[])[]): (r: Regs) => boolean {
  const v6 = field.startsWith("ip6");
  const src = field.endsWith("saddr");
  if (field.startsWith("ip")) {
    const prefixes = values.map((v) =>
      Prefix.parse((v[0] as string).includes("/") ? (v[0] as string) : `${v[0]}/${v6 ? 128 : 32}`, { mask: true }),
    );
    if (!v6 && prefixes.length === 1) {
      const p = prefixes[0] as Prefix;
      const mask = p.length === 0 ? 0 : (0xffffffff << (32 - p.length)) >>> 0;
      const net = p.addr.w3;
      return src ? (r) => (r.s3 & mask) >>> 0 === net : (r) => (r.d3 & mask) >>> 0 === net;
    }
    if (!v6)
      return src ? (r) => prefixes.some((p) => p.containsV4(r.s3)) : (r) => prefixes.some((p) => p.containsV4(r.d3));
    return src ? (r) => prefixes.some((p) => p.contains(r.src)) : (r) => prefixes.some((p) => p.contains(r.dst));
  }
  const nums = values.map((v) => literalWord(field, v[0] as string));
  const read = fieldReader(field);
  if (nums.length === 1) {
    const n = nums[0] as number;
    return (r) => read(r) === n;
  }
  return (r) => nums.includes(read(r));
}

/** A match statement's test, its fields' guards apart. */
function matchOp(s: Extract<NftStatement, { kind: "match" }>, t: ChainState["table"]): Op {
  const neg = s.op === "!=";
  if (s.right.kind === "set") {
    const set = t.sets.get(s.right.name) as SetState;
    const w = writer(s.key);
    return (r) => {
      const k = r.key;
      w(r, k);
      return lookup(set, r, k) !== neg ? NEXT : NOMATCH;
    };
  }
  if (s.key.length === 1) {
    const m = valuesMatcher(s.key[0] as NftField, s.right.values);
    return neg ? (r) => (m(r) ? NOMATCH : NEXT) : (r) => (m(r) ? NEXT : NOMATCH);
  }
  // Concatenated literal(s): compare encoded keys.
  const types = s.key.map(fieldType);
  const wanted = s.right.values.map((v) => {
    const o: number[] = [];
    encodeKey(types, v, o);
    return o;
  });
  const w = writer(s.key);
  return (r) => {
    const k = r.key;
    w(r, k);
    const hit = wanted.some((o) => o.every((x, i) => x === k[i]));
    return hit !== neg ? NEXT : NOMATCH;
  };
}

function compileStatement(s: NftStatement, ch: ChainState, ev: NftEvaluator): Op {
  const t = ch.table;
  switch (s.kind) {
    case "match": {
      const op = matchOp(s, t);
      const guard = keyGuard(s.key, t.family === "inet");
      return guard === undefined ? op : (r) => (guard(r) ? op(r) : NOMATCH);
    }
    case "ifname": {
      const exact = s.names.filter((n) => !n.endsWith("*"));
      const prefixes = s.names.filter((n) => n.endsWith("*")).map((n) => n.slice(0, -1));
      const want = s.op === "==";
      const iif = s.dir === "iif";
      return (r) => {
        const name = iif ? r.iif : r.oif;
        // no device (an input interface on a local packet): nft's meta expression breaks the rule
        if (name === "") return NOMATCH;
        const hit = exact.includes(name) || prefixes.some((p) => name.startsWith(p));
        return hit === want ? NEXT : NOMATCH;
      };
    }
    case "redirect": {
      const port = s.port ?? -1;
      return (r) => (redirect(r, port) ? ACCEPT : DROP);
    }
    case "tproxy": {
      const fam = s.family === "ip" ? 4 : s.family === "ip6" ? 6 : 0;
      const addr = s.addr !== undefined ? Addr.parse(s.addr) : null;
      const port = s.port ?? 0;
      return (r) => (tproxy(r, fam, addr, port) ? NEXT : NOMATCH);
    }
    case "ctmark-set": {
      const v = s.value;
      return v === "mark"
        ? (r) => {
            r.ctmark = r.mark;
            return NEXT;
          }
        : (r) => {
            r.ctmark = v >>> 0;
            return NEXT;
          };
    }
    case "mark-set-ctmark":
      return (r) => {
        r.mark = r.ctmark;
        return NEXT;
      };
    case "ct-zone-set": {
      const z = s.zone;
      return (r) => {
        r.ctZone = z;
        return NEXT;
      };
    }
    case "ct-state": {
      let bits = 0;
      for (const st of s.states) bits |= CT_BITS[st] ?? 0;
      return (r) => ((r.ct & bits) !== 0 ? NEXT : NOMATCH);
    }
    case "fib": {
      if (s.type !== "local") return () => NOMATCH;
      const want = s.op === "==";
      if (s.dir === "saddr") {
        return (r) => {
          if (r.srcLocal < 0) r.srcLocal = ev.isLocal(r.src) ? 1 : 0;
          return (r.srcLocal === 1) === want ? NEXT : NOMATCH;
        };
      }
      return (r) => {
        if (r.dstLocal < 0) r.dstLocal = ev.isLocal(r.dst) ? 1 : 0;
        return (r.dstLocal === 1) === want ? NEXT : NOMATCH;
      };
    }
    case "mark-match": {
      const { mask, value } = s;
      const want = s.op === "==";
      return (r) => (((r.mark & mask) >>> 0 === value >>> 0) === want ? NEXT : NOMATCH);
    }
    case "mark-set": {
      const v = s.value;
      switch (s.op) {
        case "or":
          return (r) => {
            r.mark = (r.mark | v) >>> 0;
            return NEXT;
          };
        case "xor":
          return (r) => {
            r.mark = (r.mark ^ v) >>> 0;
            return NEXT;
          };
        case "and":
          return (r) => {
            r.mark = (r.mark & v) >>> 0;
            return NEXT;
          };
        default:
          return (r) => {
            r.mark = v >>> 0;
            return NEXT;
          };
      }
    }
    case "vmap": {
      if (typeof s.map === "string") {
        const set = t.sets.get(s.map) as SetState;
        const w = writer(s.key as readonly NftField[]);
        return (r) => {
          const k = r.key;
          w(r, k);
          const el = live(set.table.get(k), r);
          if (el === undefined) return NOMATCH;
          if (el.element.comment !== undefined) r.lastComment = el.element.comment;
          return verdictCode(el.element.verdict as NftVerdict, r, el.target);
        };
      }
      const els = s.map as readonly NftElement[];
      if ("numgen" in s.key) {
        const mod = s.key.numgen;
        const table: ({ v: NftVerdict; c: ChainState | undefined } | undefined)[] = [];
        for (const e of els) {
          const v = e.verdict as NftVerdict;
          table[Number(e.key[0])] = { v, c: "chain" in v ? t.chains.get(v.chain) : undefined };
        }
        return (r) => {
          const e = table[ev.pick(mod)];
          return e === undefined ? NOMATCH : verdictCode(e.v, r, e.c);
        };
      }
      // anonymous vmap on packet fields
      const types = (s.key as readonly NftField[]).map(fieldType);
      const entries = els.map((e) => {
        const o: number[] = [];
        encodeKey(types, e.key, o);
        const v = e.verdict as NftVerdict;
        return { o, v, c: "chain" in v ? t.chains.get(v.chain) : undefined };
      });
      const w = writer(s.key as readonly NftField[]);
      return (r) => {
        const k = r.key;
        w(r, k);
        const e = entries.find((x) => x.o.every((y, i) => y === k[i]));
        return e === undefined ? NOMATCH : verdictCode(e.v, r, e.c);
      };
    }
    case "update": {
      const set = t.sets.get(s.set) as SetState;
      const w = writer(s.key);
      return (r) => {
        w(r, r.key);
        updateSet(set, r);
        return NEXT;
      };
    }
    case "dnat": {
      const a = Addr.parse(s.addr);
      const port = s.port ?? -1;
      return (r) => {
        r.dnatAddr = a;
        r.dnatPort = port;
        return ACCEPT;
      };
    }
    case "masquerade":
      return (r) => {
        r.masq = true;
        return ACCEPT;
      };
    case "reject":
      return () => REJECT;
    case "counter":
      return () => NEXT;
    case "verdict": {
      const v = s.verdict;
      const c = "chain" in v ? t.chains.get(v.chain) : undefined;
      return (r) => verdictCode(v, r, c);
    }
  }
}

/** Where `tproxy` handed the packet (when it did). */
function tproxyOf(r: Regs): { readonly port: number; readonly addr?: Addr } {
  return r.tproxyAddr === null ? { port: r.tproxyPort } : { port: r.tproxyPort, addr: r.tproxyAddr };
}

const RESULT_NAMES = ["match", "no-match", "accept", "drop", "reject", "return", "jump", "goto"];

// Hook sequences of the result, shared (never mutated).
const H_PRE: readonly string[] = Object.freeze(["prerouting"]);
const H_IN: readonly string[] = Object.freeze(["prerouting", "input"]);
const H_FWD1: readonly string[] = Object.freeze(["prerouting", "forward"]);
const H_FWD: readonly string[] = Object.freeze(["prerouting", "forward", "postrouting"]);
const H_OUT1: readonly string[] = Object.freeze(["output"]);
const H_OUT: readonly string[] = Object.freeze(["output", "postrouting"]);
/** The hooks behind each {@link PATH} value a path program leaves in `r.path`. */
const PATHS: readonly (readonly string[])[] = [H_PRE, H_IN, H_FWD1, H_FWD, H_OUT1, H_OUT];

/** Make a pending DNAT the packet's destination (when the base chain that did it ends). */
function applyDnat(r: Regs): void {
  const a = r.dnatAddr as Addr;
  r.dst = a;
  r.d0 = a.w0;
  r.d1 = a.w1;
  r.d2 = a.w2;
  r.d3 = a.w3;
  if (r.dnatPort >= 0) r.dport = r.dnatPort;
  r.dstLocal = -1;
  // a local packet is rerouted after output NAT: to lo when it now goes to this host
  if (r.oifAuto) r.oif = isLoopback(a) || (r.ev as NftEvaluator).isLocal(a) ? "lo" : "eth0";
  r.dnatAddr = null;
  r.dnatPort = -2; // remembers that a DNAT happened
}

/** The generated function of a jump/goto target, compiled for the packet's evaluator on first use. */
function fastFn(ch: ChainState, r: Regs): ChainFn {
  const cc = ch.fast as CompiledChain | undefined;
  if (cc !== undefined && cc.owner === r.ev && compiledCurrent(cc, r.gen)) return cc.fn;
  const fresh = compileChain(ch, HELPERS, r.ev);
  ch.fast = fresh;
  return fresh.fn;
}

/**
 * Deepest nesting of jumps and gotos a packet may take. The kernel refuses a
 * ruleset deeper than 16 (or with a loop) when a base chain reaches it
 * (EMLINK, "Too many links"); this parser does not, so the evaluator stops
 * such a packet instead of recursing or looping for ever.
 */
const MAX_DEPTH = 64;

function tooDeep(ch: ChainState): never {
  throw new ProxyEngineError(
    "nftables",
    `nft evaluation: more than ${MAX_DEPTH} nested jumps/gotos reaching chain ${ch.name}: the ruleset has a loop (the kernel refuses it with "Too many links"); remove the jump or goto that leads back`,
  );
}

/** Fast path of a `jump`: run the chain's generated function; gotos loop here. */
function runFast(start: ChainState, r: Regs): number {
  let ch = start;
  let depth = ++r.depth;
  for (;;) {
    if (depth > MAX_DEPTH) tooDeep(ch);
    const v = fastFn(ch, r)(r);
    if (v === GOTO) {
      ch = r.target as ChainState;
      depth++;
      continue;
    }
    r.depth--;
    return v === RETURN ? CONT : v;
  }
}

/** Hooks in the order of {@link NftEvaluator}'s program table. */
const HOOKS = ["prerouting", "input", "forward", "output", "postrouting"] as const;
const PRE = 0;
const INPUT = 1;
const FORWARD = 2;
const OUTPUT = 3;
const POST = 4;

/**
 * The helpers generated code calls: one object for every evaluator (they find
 * theirs through the registers), so the shared generated functions stay
 * monomorphic when several evaluators run in one process.
 */
const HELPERS: GenHelpers = {
  run: (ch, r) => runFast(ch, r as Regs),
  pick: (r, n) => ((r as Regs).ev as NftEvaluator).pick(n),
  member: (s, r) => lookup(s, r as Regs, r.key),
  memberWords: (s, a, b, c, r) => {
    const el = s.table.getWords(a, b, c);
    if (el !== undefined) return live(el, r as Regs) !== undefined;
    if (s.intervals.length === 0) return false;
    const k = r.key;
    k[0] = a;
    k[1] = b;
    k[2] = c;
    return lookup(s, r as Regs, k);
  },
  getWords: (s, a, b, c, r) => live(s.table.getWords(a, b, c), r as Regs),
  get: (s, r) => live(s.table.get(r.key), r as Regs),
  update: (s, r) => updateSet(s, r as Regs),
  dnat: (r) => applyDnat(r as Regs),
  redirect: (r, port) => redirect(r as Regs, port),
  tproxy: (r, family, addr, port) => tproxy(r as Regs, family, addr as Addr | null, port),
  local: (r0, src) => {
    const r = r0 as Regs;
    const ev = r.ev as NftEvaluator;
    if (src) {
      if (r.srcLocal < 0) r.srcLocal = ev.isLocal(r.src) ? 1 : 0;
      return r.srcLocal === 1;
    }
    if (r.dstLocal < 0) r.dstLocal = ev.isLocal(r.dst) ? 1 : 0;
    return r.dstLocal === 1;
  },
  inPrefixes: (ps, r0, src) => {
    const r = r0 as Regs;
    const a = src ? r.src : r.dst;
    for (const p of ps) if (p.contains(a)) return true;
    return false;
  },
};

/**
 * Runs packets through an {@link NftRuleset}'s base chains as the kernel would:
 * hooks in order, base chains by priority, jumps/gotos/returns, named sets and
 * maps by hash lookup (cost independent of the number of elements), `numgen
 * random` from the injected source, dynamic sets with timeouts, mark, DNAT,
 * masquerade, reject/drop. Each chain is compiled on first use into one
 * generated function (the fast path) and recompiled only when it changes, so
 * applying a transaction keeps the evaluator current; traced evaluations run
 * an interpreter over the same rules that records every rule visited.
 */
export class NftEvaluator {
  /** The ruleset being evaluated. */
  readonly ruleset: NftRuleset;
  /** Random source for `numgen`. */
  readonly random: RandomInt;
  /** Clock (seconds). */
  readonly now: () => number;
  /** Locality test for `fib` and routing. */
  readonly isLocal: (addr: Addr) => boolean;
  /** An interface's primary address, where `redirect` sends inbound packets. */
  readonly interfaceAddress: (ifname: string, family: 4 | 6) => Addr | undefined;
  private readonly regs = new Regs();
  private rnd: RandomInt;
  private gen = -1;
  /** Base chains by hook (index into {@link HOOKS}), in priority order. */
  private hooks: ChainState[][] = HOOKS.map(() => []);
  /** Generated path programs, per origin (inbound, local) and family (IPv4, IPv6), compiled on first use. */
  private programs: (CompiledChain | undefined)[] = [];
  /** Hooks the last packet went through. */
  private path: readonly string[] = H_PRE;
  /** The last packet's trace, when asked for. */
  private traced: NftTraceStep[] | null = null;

  constructor(ruleset: NftRuleset, options: NftEvaluatorOptions = {}) {
    this.ruleset = ruleset;
    this.random = options.random ?? seededRandomInt(1);
    this.rnd = this.random;
    this.now = options.now ?? (() => Date.now() / 1000);
    this.isLocal = options.isLocal ?? (() => false);
    this.interfaceAddress = options.interfaceAddress ?? (() => undefined);
  }

  /** The random choice for `numgen random mod n` (the per-call source when one was given). */
  pick(n: number): number {
    return this.rnd(n);
  }

  private refreshHooks(): void {
    const gen = this.ruleset.generation;
    if (this.gen === gen) return;
    const m = new Map<string, ChainState[]>();
    for (const t of this.ruleset.tables.values()) {
      for (const ch of t.baseChains) {
        if (ch.hook === undefined) continue;
        const l = m.get(ch.hook.hook) ?? [];
        l.push(ch);
        m.set(ch.hook.hook, l);
      }
    }
    for (const l of m.values()) l.sort((a, b) => (a.hook?.priority ?? 0) - (b.hook?.priority ?? 0));
    this.hooks = HOOKS.map((h) => m.get(h) ?? []);
    this.programs = [];
    this.gen = gen;
  }

  /** Hook `i`'s base chains that see packets of `family`, as a path program takes them. */
  private entries(i: number, family: 4 | 6): HookEntry[] {
    const out: HookEntry[] = [];
    for (const ch of this.hooks[i] as ChainState[]) {
      const fam = ch.table.family;
      if (fam === "ip" ? family !== 4 : fam === "ip6" ? family !== 6 : false) continue;
      const h = ch.hook as NonNullable<ChainState["hook"]>;
      out.push({ chain: ch, nat: h.type === "nat", policyDrop: h.policy === "drop" });
    }
    return out;
  }

  /** The generated program of a packet's whole path (dropped whenever the generation changes). */
  private program(origin: NftOrigin, family: 4 | 6): ChainFn {
    const slot = (origin === "inbound" ? 0 : 2) + (family === 6 ? 1 : 0);
    let cc = this.programs[slot];
    if (cc === undefined) {
      const hooks = {
        prerouting: this.entries(PRE, family),
        input: this.entries(INPUT, family),
        forward: this.entries(FORWARD, family),
        output: this.entries(OUTPUT, family),
        postrouting: this.entries(POST, family),
      };
      cc = compilePath(origin, hooks, HELPERS, this);
      this.programs[slot] = cc;
    }
    return cc.fn;
  }

  /** The traced path of hook `i`: the interpreter over its base chains. */
  private pass(i: number, r: Regs): number {
    return this.runHook(HOOKS[i] as string, this.hooks[i] as ChainState[], r);
  }

  private compiled(ch: ChainState): Compiled {
    const c = ch.compiled as Compiled | undefined;
    if (c !== undefined && c.version === ch.version && c.owner === this) return c;
    const rules = ch.rules.map((state) => ({
      state,
      ops: state.rule.statements.map((s) => compileStatement(s, ch, this)),
    }));
    const out: Compiled = { owner: this, version: ch.version, rules };
    ch.compiled = out;
    return out;
  }

  /** Traced path: the interpreter, recording every rule. */
  private runChain(start: ChainState, r: Regs): number {
    r.depth++;
    const v = this.runChainFrom(start, r);
    r.depth--;
    return v;
  }

  private runChainFrom(start: ChainState, r: Regs): number {
    let ch = start;
    for (let gotos = 0; ; gotos++) {
      if (r.depth + gotos > MAX_DEPTH) tooDeep(ch);
      const rules = this.compiled(ch).rules;
      let jumped = false;
      for (let i = 0; i < rules.length; i++) {
        const ops = (rules[i] as CompiledRule).ops;
        const dnat0 = r.dnatAddr;
        const masq0 = r.masq;
        let v = NEXT;
        for (let j = 0; j < ops.length; j++) {
          v = (ops[j] as Op)(r);
          if (v !== NEXT) break;
        }
        if (r.trace !== null) {
          const st = (rules[i] as CompiledRule).state;
          const decisive = v === DROP || v === REJECT || r.dnatAddr !== dnat0 || r.masq !== masq0;
          r.trace.push({
            hook: r.hook,
            chain: ch.name,
            rule: i,
            text: formatRule(st.rule),
            result: RESULT_NAMES[v] ?? "?",
            ...(decisive ? { decisive: true } : {}),
          });
        }
        if (v === NEXT || v === NOMATCH) continue;
        if (v === JUMP) {
          const res = this.runChain(r.target as ChainState, r);
          if (res === CONT) continue;
          return res;
        }
        if (v === GOTO) {
          ch = r.target as ChainState;
          jumped = true;
          break;
        }
        if (v === RETURN) return CONT;
        if (v !== ACCEPT) {
          const c = (rules[i] as CompiledRule).state.rule.comment ?? r.lastComment;
          r.decided = c !== undefined ? `${ch.name}: ${c}` : ch.name;
        }
        return v;
      }
      if (!jumped) return CONT;
    }
  }

  /** The traced path of one hook: the interpreter over its base chains. */
  private runHook(hook: string, chains: readonly ChainState[], r: Regs): number {
    for (let i = 0; i < chains.length; i++) {
      const ch = chains[i] as ChainState;
      const h = ch.hook as NonNullable<ChainState["hook"]>;
      if (h.type === "nat" && r.ct !== 8) continue; // NAT chains see only the first packet
      const fam = ch.table.family;
      if (fam === "ip" ? r.family !== 4 : fam === "ip6" ? r.family !== 6 : false) continue;
      r.hook = hook;
      let v = this.runChain(ch, r);
      if (v === CONT) {
        v = h.policy === "drop" ? DROP : ACCEPT;
        if (v === DROP) r.decided = `${ch.name}: policy drop`;
        if (r.trace !== null)
          r.trace.push({
            hook,
            chain: ch.name,
            rule: -1,
            text: `policy ${h.policy ?? "accept"}`,
            result: RESULT_NAMES[v] ?? "?",
            ...(v === DROP ? { decisive: true } : {}),
          });
      }
      if (r.dnatAddr !== null) applyDnat(r);
      if (v === DROP || v === REJECT) return v;
    }
    return ACCEPT;
  }

  /**
   * Evaluate one packet through the hooks of its path and return the verdict,
   * the (DNATed) destination, masquerading and the mark; with `trace`, every
   * rule visited.
   */
  evaluate(p: NftPacket, options?: EvaluateOptions): NftResult {
    const v = this.run(p, options);
    const r = this.regs;
    return {
      verdict: v === DROP ? "drop" : v === REJECT ? "reject" : "accept",
      dst: r.dst,
      dport: r.dport,
      dnat: r.dnatPort === -2,
      masquerade: r.masq,
      mark: r.mark,
      ctmark: r.ctmark,
      ctZone: r.ctZone,
      tproxy: r.tproxyPort < 0 ? undefined : tproxyOf(r),
      hooks: this.path,
      decidedBy: v === ACCEPT ? undefined : r.decided,
      trace: this.traced ?? undefined,
    };
  }

  /**
   * {@link NftEvaluator.evaluate} writing into `out` instead of a new object:
   * the allocation-free form for hot loops (benchmarks, simulations of many
   * packets). Returns `out`.
   */
  evaluateInto(p: NftPacket, out: NftOutcome, options?: EvaluateOptions): NftOutcome {
    const v = this.run(p, options);
    const r = this.regs;
    out.verdict = v === DROP ? "drop" : v === REJECT ? "reject" : "accept";
    out.dst = r.dst;
    out.dport = r.dport;
    out.dnat = r.dnatPort === -2;
    out.masquerade = r.masq;
    out.mark = r.mark;
    out.ctmark = r.ctmark;
    out.ctZone = r.ctZone;
    out.tproxy = r.tproxyPort < 0 ? undefined : tproxyOf(r);
    out.hooks = this.path;
    out.decidedBy = v === ACCEPT ? undefined : r.decided;
    out.trace = this.traced ?? undefined;
    return out;
  }

  /** Load the packet into the registers and run its hooks; the verdict code, with {@link path} set. */
  private run(p: NftPacket, options: EvaluateOptions | undefined): number {
    const r = this.load(p);
    let trace: NftTraceStep[] | null = null;
    let origin: NftOrigin = "inbound";
    if (options !== undefined) {
      r.now = options.now ?? Number.NaN;
      this.rnd = options.random ?? this.random;
      if (options.trace === true) trace = [];
      if (options.origin !== undefined) origin = options.origin;
    } else {
      r.now = Number.NaN;
      this.rnd = this.random;
    }
    return this.runLoaded(r, p, origin, trace);
  }

  /** The packet's fields in the registers, everything a walk changes reset. */
  private load(p: NftPacket): Regs {
    this.refreshHooks();
    const r = this.regs;
    r.gen = this.gen;
    r.depth = 0;
    const src = p.src;
    const dst = p.dst;
    r.family = dst.family;
    r.s0 = src.w0;
    r.s1 = src.w1;
    r.s2 = src.w2;
    r.s3 = src.w3;
    r.d0 = dst.w0;
    r.d1 = dst.w1;
    r.d2 = dst.w2;
    r.d3 = dst.w3;
    r.src = src;
    r.dst = dst;
    const proto = p.proto;
    r.l4 = proto === "tcp" ? 6 : typeof proto === "number" ? proto : (ipProtocolNumber(proto) ?? 0);
    r.sport = p.sport;
    r.dport = p.dport;
    r.mark = p.mark === undefined ? 0 : p.mark >>> 0;
    r.ct = p.ct === undefined ? 8 : (CT_BITS[p.ct] ?? 8);
    r.ctmark = p.ctmark === undefined ? 0 : p.ctmark >>> 0;
    r.ctZone = 0;
    r.tproxyPort = -1;
    r.tproxyAddr = null;
    r.srcLocal = -1;
    r.dstLocal = -1;
    r.dnatAddr = null;
    r.dnatPort = -1;
    r.masq = false;
    r.lastComment = undefined;
    r.decided = undefined;
    r.clock = this.now;
    r.ev = this;
    return r;
  }

  /**
   * Run one base chain for a packet at its hook, as the kernel's nf_tables hook
   * function for that chain does (an adapter registers one per base chain at
   * the chain's priority; see `nftChainHooks`). `iif`/`oif` are the packet's
   * devices ("" for none); the sending socket's `uid`/`gid` are read at the
   * output and postrouting hooks only. A DNAT or `redirect` is reported, not
   * applied: the caller's conntrack does that.
   * @throws ProxyEngineError when the chain is not a base chain of the ruleset.
   */
  runBaseChain(
    family: NftFamily,
    table: string,
    chain: string,
    p: NftPacket,
    env: { readonly iif: string; readonly oif: string; readonly now?: number; readonly random?: RandomInt },
  ): NftChainVerdict {
    const ch = this.ruleset.tables.get(`${family} ${table}`)?.chains.get(chain);
    const h = ch?.hook;
    if (ch === undefined || h === undefined)
      throw new ProxyEngineError("nftables", `no base chain ${family} ${table} ${chain}`);
    const r = this.load(p);
    r.now = env.now ?? Number.NaN;
    this.rnd = env.random ?? this.random;
    const sending = h.hook === "output" || h.hook === "postrouting";
    r.uid = sending ? (p.uid ?? -1) : -1;
    r.gid = sending ? (p.gid ?? -1) : -1;
    r.iif = env.iif;
    r.oif = env.oif;
    r.oifAuto = false;
    r.trace = null;
    r.hook = h.hook;
    let v = this.runChain(ch, r);
    if (v === CONT) v = h.policy === "drop" ? DROP : ACCEPT;
    if (v === DROP && r.decided === undefined) r.decided = `${ch.name}: policy drop`;
    const dnat = r.dnatAddr === null ? undefined : { addr: r.dnatAddr, port: r.dnatPort >= 0 ? r.dnatPort : p.dport };
    return {
      verdict: v === DROP ? "drop" : v === REJECT ? "reject" : "accept",
      mark: r.mark,
      ctmark: r.ctmark,
      masquerade: r.masq,
      ...(dnat !== undefined ? { dnat } : {}),
      ...(r.tproxyPort >= 0 ? { tproxy: tproxyOf(r) } : {}),
      ...(v === DROP || v === REJECT ? { decidedBy: r.decided } : {}),
    };
  }

  /** Run the hooks of the packet loaded in `r` along its path. */
  private runLoaded(r: Regs, p: NftPacket, origin: NftOrigin, trace: NftTraceStep[] | null): number {
    r.trace = trace;
    const dst = p.dst;
    if (origin === "inbound") {
      // a received packet has no local socket
      r.uid = -1;
      r.gid = -1;
      r.iif = p.inInterface ?? "eth0";
      r.oif = p.outInterface ?? "eth0";
      r.oifAuto = false;
    } else {
      r.uid = p.uid ?? -1;
      r.gid = p.gid ?? -1;
      r.iif = "";
      r.oifAuto = p.outInterface === undefined;
      r.oif = p.outInterface ?? (isLoopback(dst) || this.isLocal(dst) ? "lo" : "eth0");
    }
    let v: number;
    if (trace === null) {
      v = this.program(origin, r.family)(r);
      this.path = PATHS[r.path] as readonly string[];
    } else if (origin === "inbound") {
      v = this.pass(PRE, r);
      this.path = H_PRE;
      if (v === ACCEPT) {
        if (r.dstLocal < 0) r.dstLocal = this.isLocal(r.dst) ? 1 : 0;
        if (r.dstLocal === 1) {
          this.path = H_IN;
          v = this.pass(INPUT, r);
        } else {
          this.path = H_FWD1;
          v = this.pass(FORWARD, r);
          if (v === ACCEPT) {
            this.path = H_FWD;
            v = this.pass(POST, r);
          }
        }
      }
    } else {
      this.path = H_OUT1;
      v = this.pass(OUTPUT, r);
      if (v === ACCEPT) {
        this.path = H_OUT;
        v = this.pass(POST, r);
      }
    }
    r.trace = null;
    this.traced = trace;
    return v;
  }
}

/**
 * A mutable {@link NftResult} for {@link NftEvaluator.evaluateInto}: one object
 * reused for every packet, so the per-packet path allocates nothing. Its fields
 * describe the last packet written into it.
 */
export class NftOutcome implements NftResult {
  verdict: NftResult["verdict"] = "accept";
  dst: Addr = Addr.v4(0);
  dport = 0;
  dnat = false;
  masquerade = false;
  mark = 0;
  ctmark = 0;
  ctZone = 0;
  tproxy: { readonly port: number; readonly addr?: Addr } | undefined = undefined;
  hooks: readonly string[] = [];
  decidedBy: string | undefined = undefined;
  trace: readonly NftTraceStep[] | undefined = undefined;
}
