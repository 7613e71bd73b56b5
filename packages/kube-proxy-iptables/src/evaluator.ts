import { ProxyEngineError, type Random, seededRandom } from "@knet/kube-proxy";
import { Addr, type Family, ipProtocolNumber, Prefix, type SocketOwner } from "@knet/netstack";
import { CT, type MatchSpec, type RuleSpec, type TargetSpec } from "./rule-spec.js";
import type { Rule, Ruleset, Table } from "./ruleset.js";

/** Packet fields an ipset lookup sees. */
export interface SetPacket {
  /** Source address. */
  readonly src: Addr;
  /** Destination address. */
  readonly dst: Addr;
  /** Protocol number. */
  readonly proto: number;
  /** Source port. */
  readonly sport: number;
  /** Destination port. */
  readonly dport: number;
}

/**
 * Looks up `-m set --match-set NAME FLAGS` (injected: the IPVS engine plugs its
 * ipsets in). `flags` are the `src`/`dst` words, one per set dimension.
 */
export interface IpsetLookup {
  /** Whether the packet's fields selected by `flags` are in set `name`; undefined when the set does not exist. */
  test(name: string, flags: readonly ("src" | "dst")[], packet: SetPacket): boolean | undefined;
}

/**
 * A packet to evaluate (the first packet of a connection unless `ctstate` says otherwise);
 * `uid`/`gid` are the sending socket's owner for locally generated packets (`-m owner`).
 */
export interface IptablesPacket extends SocketOwner {
  /** Source address. */
  readonly src: Addr | string;
  /** Destination address. */
  readonly dst: Addr | string;
  /** Protocol name or number (default tcp). */
  readonly protocol?: string | number;
  /** Source port (default 40000). */
  readonly sport?: number;
  /** Destination port (default 0). */
  readonly dport?: number;
  /** `remote` (PREROUTING) or `local` (OUTPUT); default from whether `src` is local. */
  readonly origin?: "remote" | "local";
  /** Input interface for remote packets (default `eth0`). */
  readonly inInterface?: string;
  /** Output interface for forwarded/outgoing packets (default `eth0`; `lo` when the destination is local). */
  readonly outInterface?: string;
  /** Initial packet mark (default 0). */
  readonly mark?: number;
  /** Conntrack state bits (default NEW); nat tables are only consulted for NEW. */
  readonly ctstate?: number;
  /** The connection's mark (`-m connmark`, `CONNMARK`), 0 when absent. */
  readonly ctmark?: number;
}

/** One rule visited. */
export interface IptablesTraceStep {
  /** Table. */
  readonly table: string;
  /** Chain. */
  readonly chain: string;
  /** 1-based rule number; 0 for the chain's policy or an implicit return. */
  readonly rule: number;
  /** `-A CHAIN ...` text, or `policy ACCEPT` / `return`. */
  readonly text: string;
  /** Whether the rule matched. */
  readonly matched: boolean;
  /** Set when this step ended its walk with a NAT, a drop or a reject (see `settleDecisive`). */
  readonly decisive?: boolean;
}

/** Result of {@link IptablesEvaluator.runChain}: one table's verdict at one hook. */
export interface ChainVerdict {
  /** The table's verdict (NAT targets accept). */
  readonly verdict: "accept" | "drop" | "reject";
  /** Terminal rule's comment or text for drop/reject. */
  readonly reason?: string;
  /** DNAT/REDIRECT target, if one fired. */
  readonly dnat?: { readonly addr: Addr; readonly port: number };
  /** SNAT/MASQUERADE, if one fired. */
  readonly snat?: { readonly kind: "masquerade" | "snat"; readonly addr?: Addr };
  /** Packet mark after the walk. */
  readonly mark: number;
  /** Connection mark after the walk (`CONNMARK`), when the ruleset touched it or the packet carried one. */
  readonly ctmark?: number;
  /** Where `TPROXY` delivered the packet (a local listener on `port`, `addr` if `--on-ip`). */
  readonly tproxy?: { readonly port: number; readonly addr?: Addr };
  /** Rules visited (when traced). */
  readonly trace: readonly IptablesTraceStep[];
  /** Number of rules visited. */
  readonly rulesVisited: number;
}

/** Result of {@link IptablesEvaluator.evaluate}: the packet's fate over every hook it crossed. */
export interface IptablesVerdict extends ChainVerdict {
  /** Hooks traversed (`nat/PREROUTING`, `filter/FORWARD`, ...). */
  readonly hooks: readonly string[];
}

/** Options of {@link IptablesEvaluator}. */
export interface EvaluatorOptions {
  /** Node-local addresses (`addrtype LOCAL`, routing to INPUT); loopback is always local. */
  readonly localAddresses?: readonly (Addr | string)[];
  /** Random source for `statistic --mode random` (default seeded 1). */
  readonly random?: Random;
  /** Clock in ms for `recent` (default `Date.now`). */
  readonly now?: () => number;
  /** ipset membership for `-m set`. */
  readonly ipsets?: IpsetLookup;
}

/** Options of one evaluation. */
export interface EvaluateCallOptions {
  /** Record every rule visited (default true). */
  readonly trace?: boolean;
  /** Random source for this packet. */
  readonly random?: Random;
  /** Time in ms for this packet. */
  readonly now?: number;
}

// verdict codes
const V_CONTINUE = 0;
const V_ACCEPT = 1;
const V_DROP = 2;
const V_RETURN = 3;
const V_REJECT = 4;
const V_JUMP = 5;
const V_GOTO = 6;
const V_NAT = 7;
const V_NONTERMINAL = 8;

/** Mutable packet state during a walk (numeric for speed). */
class Pkt {
  family: Family = 4;
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  proto = 6;
  sport = 0;
  dport = 0;
  mark = 0;
  ctstate: number = CT.NEW;
  /** Socket owner; -1: no local socket. */
  uid = -1;
  gid = -1;
  ctmark = 0;
  tproxy: { port: number; addr?: Addr } | undefined;
  iif = "";
  oif = "";
  now = 0;
  random: Random = seededRandom(1);
  dnat: { addr: Addr; port: number } | undefined;
  snat: { kind: "masquerade" | "snat"; addr?: Addr } | undefined;
  reason: string | undefined;
  srcAddr(): Addr {
    return this.family === 4 ? Addr.v4(this.s3) : Addr.v6(this.s0, this.s1, this.s2, this.s3);
  }
  dstAddr(): Addr {
    return this.family === 4 ? Addr.v4(this.d3) : Addr.v6(this.d0, this.d1, this.d2, this.d3);
  }
}

type Check = (p: Pkt) => boolean;
type Action = (p: Pkt) => void;

/** A rule compiled to numbers and closures. */
class CRule {
  proto = -1;
  protoNeg = false;
  // IPv4 fast path (w3) plus IPv6 words
  hasSrc = false;
  srcNeg = false;
  sm0 = 0;
  sm1 = 0;
  sm2 = 0;
  sm3 = 0;
  sn0 = 0;
  sn1 = 0;
  sn2 = 0;
  sn3 = 0;
  hasDst = false;
  dstNeg = false;
  dm0 = 0;
  dm1 = 0;
  dm2 = 0;
  dm3 = 0;
  dn0 = 0;
  dn1 = 0;
  dn2 = 0;
  dn3 = 0;
  dportLo = -1;
  dportHi = 0;
  dportNeg = false;
  checks: Check[] | null = null;
  verdict = V_CONTINUE;
  jump = -1;
  action: Action | null = null;
  readonly text: string;
  readonly chain: string;
  readonly index: number;
  readonly reason: string;
  constructor(chain: string, index: number, text: string, reason: string) {
    this.chain = chain;
    this.index = index;
    this.text = text;
    this.reason = reason;
  }
}

interface CChain {
  readonly name: string;
  readonly policy: number; // V_ACCEPT/V_DROP, or -1 for user chains
  readonly rules: CRule[];
  /** IPv4 header matches of every rule in contiguous typed arrays (the scan touches only these). */
  readonly pf: Prefilter;
}

// Prefilter flag bits
const F_PROTO = 1;
const F_PROTO_NEG = 2;
const F_DST = 4;
const F_DST_NEG = 8;
const F_SRC = 16;
const F_SRC_NEG = 32;
const F_DPORT = 64;
const F_DPORT_NEG = 128;

/** Struct-of-arrays view of a chain's IPv4 header matches, for a cache-friendly linear scan. */
class Prefilter {
  readonly flags: Uint8Array;
  readonly proto: Uint8Array;
  readonly dnet: Uint32Array;
  readonly dmask: Uint32Array;
  readonly snet: Uint32Array;
  readonly smask: Uint32Array;
  readonly dlo: Uint16Array;
  readonly dhi: Uint16Array;
  constructor(rules: readonly CRule[]) {
    const n = rules.length;
    this.flags = new Uint8Array(n);
    this.proto = new Uint8Array(n);
    this.dnet = new Uint32Array(n);
    this.dmask = new Uint32Array(n);
    this.snet = new Uint32Array(n);
    this.smask = new Uint32Array(n);
    this.dlo = new Uint16Array(n);
    this.dhi = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const r = rules[i] as CRule;
      let f = 0;
      if (r.proto >= 0) {
        f |= F_PROTO | (r.protoNeg ? F_PROTO_NEG : 0);
        this.proto[i] = r.proto;
      }
      if (r.hasDst) {
        f |= F_DST | (r.dstNeg ? F_DST_NEG : 0);
        this.dnet[i] = r.dn3;
        this.dmask[i] = r.dm3;
      }
      if (r.hasSrc) {
        f |= F_SRC | (r.srcNeg ? F_SRC_NEG : 0);
        this.snet[i] = r.sn3;
        this.smask[i] = r.sm3;
      }
      if (r.dportLo >= 0) {
        f |= F_DPORT | (r.dportNeg ? F_DPORT_NEG : 0);
        this.dlo[i] = r.dportLo;
        this.dhi[i] = r.dportHi;
      }
      this.flags[i] = f;
    }
  }
}

interface CTable {
  readonly name: string;
  readonly chains: CChain[];
  readonly byName: Map<string, number>;
}

interface RecentEntry {
  times: number[];
}

function ifaceMatches(name: string, m: { name: string; wildcard: boolean }): boolean {
  return m.wildcard ? name.startsWith(m.name) : name === m.name;
}

function portIn(port: number, r: { lo: number; hi: number }): boolean {
  return port >= r.lo && port <= r.hi;
}

const LOOP6 = Addr.parse("::1");
const MCAST4 = Prefix.parse("224.0.0.0/4");
const MCAST6 = Prefix.parse("ff00::/8");

/** Mark the last step of `trace` as the one that ended its walk. */
function flagLast(trace: IptablesTraceStep[]): void {
  const last = trace[trace.length - 1];
  if (last !== undefined) trace[trace.length - 1] = { ...last, decisive: true };
}

/**
 * Walks an iptables {@link Ruleset} for a packet exactly as the kernel's
 * netfilter hooks would: tables in priority order per hook (raw, mangle, nat,
 * filter), chains scanned linearly, jump/goto/return, policies, nat only for
 * NEW connections, DNAT before routing, SNAT/MASQUERADE in POSTROUTING.
 * Rules are compiled to numeric checks; the ruleset is recompiled when it changes.
 */
/**
 * The IP protocol number of a packet's `protocol` (default tcp), by netstack's
 * one protocol table, so every entry point (evaluate, runChain, walkChain) agrees.
 * @throws RangeError for a name that is no protocol (rather than guessing tcp).
 */
function packetProtocol(protocol: string | number | undefined): number {
  if (protocol === undefined) return 6;
  const n = typeof protocol === "number" ? protocol : ipProtocolNumber(protocol);
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 255)
    throw new RangeError(`unknown protocol ${JSON.stringify(protocol)}: use tcp, udp, sctp, icmp or a number 0-255`);
  return n;
}

export class IptablesEvaluator {
  private readonly ruleset: Ruleset;
  private compiledGen = -1;
  private tables = new Map<string, CTable>();
  private readonly local4 = new Set<number>();
  private readonly local6 = new Set<string>();
  private readonly random: Random;
  private readonly clock: () => number;
  private readonly ipsets: IpsetLookup | undefined;
  private readonly recent = new Map<string, Map<string, RecentEntry>>();
  /** Rules visited over this evaluator's lifetime (for throughput figures). */
  rulesVisited = 0;

  constructor(ruleset: Ruleset, options: EvaluatorOptions = {}) {
    this.ruleset = ruleset;
    for (const a of options.localAddresses ?? []) this.addLocal(typeof a === "string" ? Addr.parse(a) : a);
    this.random = options.random ?? seededRandom(1);
    this.clock = options.now ?? Date.now;
    this.ipsets = options.ipsets;
  }

  /** Mark an address as local to the node. */
  addLocal(a: Addr): void {
    if (a.family === 4) this.local4.add(a.v4Value);
    else this.local6.add(a.toString());
  }

  private localFn: ((a: Addr) => boolean) | undefined;

  private isLocal(family: Family, w0: number, w1: number, w2: number, w3: number): boolean {
    if (this.localFn !== undefined) return this.localFn(family === 4 ? Addr.v4(w3) : Addr.v6(w0, w1, w2, w3));
    if (family === 4) return w3 >>> 24 === 127 || this.local4.has(w3);
    const a = Addr.v6(w0, w1, w2, w3);
    return a.equals(LOOP6) || this.local6.has(a.toString());
  }

  private addrType(p: Pkt, which: "src" | "dst", type: string): boolean {
    const [w0, w1, w2, w3] = which === "src" ? [p.s0, p.s1, p.s2, p.s3] : [p.d0, p.d1, p.d2, p.d3];
    const local = this.isLocal(p.family, w0, w1, w2, w3);
    const a = p.family === 4 ? Addr.v4(w3) : Addr.v6(w0, w1, w2, w3);
    const mcast = p.family === 4 ? MCAST4.contains(a) : MCAST6.contains(a);
    const bcast = p.family === 4 && w3 === 0xffffffff;
    switch (type.toUpperCase()) {
      case "LOCAL":
        return local;
      case "UNICAST":
        return !mcast && !bcast;
      case "MULTICAST":
        return mcast;
      case "BROADCAST":
        return bcast;
      case "UNSPEC":
        return p.family === 4 ? w3 === 0 : w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0;
      default:
        return false;
    }
  }

  /** Compile (or recompile after a change) the ruleset. */
  private ensureCompiled(): void {
    if (this.compiledGen === this.ruleset.generation) return;
    this.tables = new Map();
    for (const [name, t] of this.ruleset.tables) this.tables.set(name, this.compileTable(t));
    this.compiledGen = this.ruleset.generation;
  }

  private compileTable(t: Table): CTable {
    const byName = new Map<string, number>();
    let i = 0;
    for (const name of t.chains.keys()) byName.set(name, i++);
    const chains: CChain[] = [];
    for (const c of t.chains.values()) {
      const compiled = c.rules.map((r, k) => this.compileRule(c.name, k + 1, r, byName, t.name));
      chains.push({
        name: c.name,
        policy: c.policy === undefined ? -1 : c.policy === "ACCEPT" ? V_ACCEPT : V_DROP,
        rules: compiled,
        pf: new Prefilter(compiled),
      });
    }
    return { name: t.name, chains, byName };
  }

  private compileRule(chain: string, index: number, rule: Rule, byName: Map<string, number>, table: string): CRule {
    const s: RuleSpec = rule.spec;
    const cr = new CRule(chain, index, `-A ${chain} ${rule.text}`, s.comment ?? `-A ${chain} ${rule.text}`);
    if (s.proto && s.proto.num !== 0) {
      cr.proto = s.proto.num;
      cr.protoNeg = s.proto.neg;
    }
    if (s.src) {
      cr.hasSrc = true;
      cr.srcNeg = s.src.neg;
      [cr.sm0, cr.sm1, cr.sm2, cr.sm3, cr.sn0, cr.sn1, cr.sn2, cr.sn3] = prefixWords(s.src.prefix);
    }
    if (s.dst) {
      cr.hasDst = true;
      cr.dstNeg = s.dst.neg;
      [cr.dm0, cr.dm1, cr.dm2, cr.dm3, cr.dn0, cr.dn1, cr.dn2, cr.dn3] = prefixWords(s.dst.prefix);
    }
    const checks: Check[] = [];
    if (s.inIface) {
      const m = s.inIface;
      checks.push((p) => ifaceMatches(p.iif, m) !== m.neg);
    }
    if (s.outIface) {
      const m = s.outIface;
      checks.push((p) => ifaceMatches(p.oif, m) !== m.neg);
    }
    let sideEffectSeen = false;
    for (const m of s.matches) {
      if (m.module === "comment" || m.module === "always") continue;
      if ((m.module === "tcp" || m.module === "udp" || m.module === "sctp") && !sideEffectSeen && cr.dportLo < 0) {
        // a protocol match's ports: folded into the numeric fast path (pure, order-independent)
        if (m.dport) {
          cr.dportLo = m.dport.lo;
          cr.dportHi = m.dport.hi;
          cr.dportNeg = m.dportNeg === true;
        }
        if (m.sport) {
          const r = m.sport;
          const neg = m.sportNeg === true;
          checks.push((p) => portIn(p.sport, r) !== neg);
        }
        continue;
      }
      if (m.module === "statistic" || m.module === "recent") sideEffectSeen = true;
      checks.push(this.compileMatch(m));
    }
    if (checks.length > 0) cr.checks = checks;
    this.compileTarget(cr, s.target, s.goto, byName, table);
    return cr;
  }

  private compileMatch(m: MatchSpec): Check {
    switch (m.module) {
      case "tcp":
      case "udp":
      case "sctp": {
        const { dport, sport } = m;
        const dn = m.dportNeg === true;
        const sn = m.sportNeg === true;
        return (p) =>
          (dport === undefined || portIn(p.dport, dport) !== dn) &&
          (sport === undefined || portIn(p.sport, sport) !== sn);
      }
      case "statistic": {
        const neg = m.neg;
        if (m.mode === "random") {
          const prob = m.probability;
          return (p) => Math.floor(p.random.next() * 0x80000000) < prob !== neg;
        }
        const every = m.every - 1;
        const state = { count: m.packet };
        return () => {
          const n = state.count === every ? 0 : state.count + 1;
          state.count = n;
          return (n === 0) !== neg;
        };
      }
      case "recent": {
        const { name, command, seconds, hitcount, side, neg } = m;
        return (p) => {
          let table = this.recent.get(name);
          if (!table) {
            table = new Map();
            this.recent.set(name, table);
          }
          const key = (side === "src" ? p.srcAddr() : p.dstAddr()).toString();
          const now = p.now;
          let entry = table.get(key);
          if (command === "set") {
            if (!entry) {
              entry = { times: [] };
              table.set(key, entry);
            }
            entry.times.push(now);
            if (entry.times.length > 20) entry.times.shift();
            return !neg;
          }
          if (!entry) return neg;
          let hit: boolean;
          if (seconds > 0 || hitcount > 0) {
            const since = now - seconds * 1000;
            let count = 0;
            for (const t of entry.times) if (seconds === 0 || t >= since) count++;
            hit = count >= Math.max(1, hitcount);
            if (m.reap && seconds > 0) entry.times = entry.times.filter((t) => t >= since);
          } else hit = true;
          if (hit && command === "update") {
            entry.times.push(now);
            if (entry.times.length > 20) entry.times.shift();
          }
          if (hit && command === "remove") table.delete(key);
          return hit !== neg;
        };
      }
      case "mark": {
        const { value, mask, neg } = m;
        return (p) => ((p.mark & mask) >>> 0 === value) !== neg;
      }
      case "connmark": {
        const { value, mask, neg } = m;
        return (p) => ((p.ctmark & mask) >>> 0 === value) !== neg;
      }
      case "owner": {
        // xt_owner: without a local socket the match succeeds only when every given option is negated
        const { uid, gid, socketExists } = m;
        const allNegated = [uid, gid, socketExists].every((o) => o === undefined || o.neg);
        return (p) => {
          if (p.uid < 0) return allNegated;
          if (uid !== undefined && (p.uid >= uid.lo && p.uid <= uid.hi) === uid.neg) return false;
          if (gid !== undefined && (p.gid >= gid.lo && p.gid <= gid.hi) === gid.neg) return false;
          return socketExists === undefined || !socketExists.neg;
        };
      }
      case "addrtype": {
        const st = m.srcType;
        const dt = m.dstType;
        return (p) =>
          (st === undefined || st.types.some((t) => this.addrType(p, "src", t)) !== st.neg) &&
          (dt === undefined || dt.types.some((t) => this.addrType(p, "dst", t)) !== dt.neg);
      }
      case "conntrack": {
        const cs = m.ctstate;
        if (!cs) return () => true;
        return (p) => ((p.ctstate & cs.bits) !== 0) !== cs.neg;
      }
      case "multiport": {
        const { ranges, which, neg } = m;
        return (p) => {
          let hit = false;
          for (const r of ranges) {
            if ((which !== "sports" && portIn(p.dport, r)) || (which !== "dports" && portIn(p.sport, r))) {
              hit = true;
              break;
            }
          }
          return hit !== neg;
        };
      }
      case "set": {
        const { name, flags, neg } = m;
        const sets = this.ipsets;
        if (!sets)
          throw new ProxyEngineError(
            "iptables",
            `rule uses -m set --match-set ${name} but the evaluator has no ipset lookup`,
          );
        return (p) => {
          const r = sets.test(name, flags, {
            src: p.srcAddr(),
            dst: p.dstAddr(),
            proto: p.proto,
            sport: p.sport,
            dport: p.dport,
          });
          if (r === undefined) throw new ProxyEngineError("iptables", `ipset ${name} does not exist`);
          return r !== neg;
        };
      }
      case "icmp":
      case "icmp6": {
        const neg = m.neg;
        return (p) => (p.proto === 1 || p.proto === 58) !== neg;
      }
      case "physdev": {
        // packets in the simulated node do not cross a bridge port
        const neg = m.neg;
        return () => !(m.isIn === true || m.isBridged === true) !== neg;
      }
      default:
        return () => true;
    }
  }

  private compileTarget(
    cr: CRule,
    t: TargetSpec | undefined,
    goto: boolean,
    byName: Map<string, number>,
    table: string,
  ): void {
    if (!t) return;
    switch (t.kind) {
      case "ACCEPT":
        cr.verdict = V_ACCEPT;
        return;
      case "DROP":
        cr.verdict = V_DROP;
        return;
      case "RETURN":
        cr.verdict = V_RETURN;
        return;
      case "REJECT":
        cr.verdict = V_REJECT;
        return;
      case "chain": {
        const idx = byName.get(t.chain);
        if (idx === undefined)
          throw new ProxyEngineError(
            "iptables",
            `${table} ${cr.chain} rule ${cr.index}: jump to missing chain ${t.chain}`,
          );
        cr.verdict = goto ? V_GOTO : V_JUMP;
        cr.jump = idx;
        return;
      }
      case "MARK": {
        const { value, mask } = t;
        cr.verdict = V_NONTERMINAL;
        cr.action = (p) => {
          p.mark = (((p.mark & ~mask) >>> 0) ^ value) >>> 0;
        };
        return;
      }
      case "DNAT": {
        cr.verdict = V_NAT;
        const { addr, ports } = t;
        cr.action = (p) => {
          const a = addr ?? p.dstAddr();
          p.dnat = { addr: a, port: ports ? ports.lo : p.dport };
          setDst(p, a);
          if (ports) p.dport = ports.lo;
          p.ctstate |= CT.DNAT;
        };
        return;
      }
      case "REDIRECT": {
        cr.verdict = V_NAT;
        const { ports } = t;
        cr.action = (p) => {
          const a =
            p.iif === "" || p.iif === "lo"
              ? p.family === 4
                ? Addr.parse("127.0.0.1")
                : LOOP6
              : this.primaryLocal(p.family);
          p.dnat = { addr: a, port: ports ? ports.lo : p.dport };
          setDst(p, a);
          if (ports) p.dport = ports.lo;
          p.ctstate |= CT.DNAT;
        };
        return;
      }
      case "TPROXY": {
        // Assigns the packet to the local listener and accepts it (NF_ACCEPT: the next table still runs);
        // V_NAT is the evaluator's "act, then stop this table" verdict.
        cr.verdict = V_NAT;
        const { port, addr, value, mask } = t;
        cr.action = (p) => {
          p.mark = (((p.mark & ~mask) >>> 0) ^ value) >>> 0;
          p.tproxy = { port: port === 0 ? p.dport : port, ...(addr !== undefined ? { addr } : {}) };
        };
        return;
      }
      case "CONNMARK": {
        cr.verdict = V_NONTERMINAL;
        const { op, value, mask } = t;
        cr.action =
          op === "save"
            ? (p) => {
                p.ctmark = p.mark;
              }
            : op === "restore"
              ? (p) => {
                  p.mark = p.ctmark;
                }
              : (p) => {
                  p.ctmark = (((p.ctmark & ~mask) >>> 0) ^ value) >>> 0;
                };
        return;
      }
      case "SNAT": {
        cr.verdict = V_NAT;
        const { addr } = t;
        cr.action = (p) => {
          p.snat = addr ? { kind: "snat", addr } : { kind: "snat" };
          p.ctstate |= CT.SNAT;
        };
        return;
      }
      case "MASQUERADE":
        cr.verdict = V_NAT;
        cr.action = (p) => {
          p.snat = { kind: "masquerade" };
          p.ctstate |= CT.SNAT;
        };
        return;
      default:
        cr.verdict = V_NONTERMINAL;
    }
  }

  private primaryLocal(family: Family): Addr {
    if (family === 4) {
      for (const v of this.local4) return Addr.v4(v);
      return Addr.parse("127.0.0.1");
    }
    for (const v of this.local6) return Addr.parse(v);
    return LOOP6;
  }

  /**
   * Run one chain walk in `table` starting at built-in `chain`; returns the
   * verdict code (ACCEPT, DROP, REJECT or NAT).
   */
  private walk(table: CTable, start: number, p: Pkt, trace: IptablesTraceStep[] | null): number {
    const chains = table.chains;
    let ci = start;
    let chain = chains[start] as CChain;
    let rules = chain.rules;
    let i = 0;
    // call stack of (chain index, next rule)
    const stackChain: number[] = [];
    const stackRule: number[] = [];
    let visited = 0;
    const p4 = p.family === 4;
    for (;;) {
      if (i >= rules.length) {
        // end of chain: implicit return, or the policy of a built-in chain
        if (stackChain.length === 0) {
          this.rulesVisited += visited;
          if (trace)
            trace.push({
              table: table.name,
              chain: chain.name,
              rule: 0,
              text: `policy ${chain.policy === V_DROP ? "DROP" : "ACCEPT"}`,
              matched: true,
              ...(chain.policy === V_DROP ? { decisive: true } : {}),
            });
          if (chain.policy === V_DROP) p.reason = `${table.name} ${chain.name} policy DROP`;
          return chain.policy === V_DROP ? V_DROP : V_ACCEPT;
        }
        if (trace)
          trace.push({ table: table.name, chain: chain.name, rule: 0, text: "return (end of chain)", matched: true });
        ci = stackChain.pop() as number;
        chain = chains[ci] as CChain;
        rules = chain.rules;
        i = stackRule.pop() as number;
        continue;
      }
      if (p4 && trace === null) {
        // IPv4 fast scan over the prefilter arrays: skip rules whose header matches fail
        const pf = chain.pf;
        const { flags, proto, dnet, dmask, snet, smask, dlo, dhi } = pf;
        const n = rules.length;
        const pp = p.proto;
        const pd = p.d3;
        const ps = p.s3;
        const pport = p.dport;
        let k = i;
        for (; k < n; k++) {
          const f = flags[k] as number;
          if ((f & F_PROTO) !== 0 && (pp === proto[k]) === ((f & F_PROTO_NEG) !== 0)) continue;
          if ((f & F_DST) !== 0 && ((pd & (dmask[k] as number)) >>> 0 === dnet[k]) === ((f & F_DST_NEG) !== 0))
            continue;
          if ((f & F_SRC) !== 0 && ((ps & (smask[k] as number)) >>> 0 === snet[k]) === ((f & F_SRC_NEG) !== 0))
            continue;
          if (
            (f & F_DPORT) !== 0 &&
            (pport >= (dlo[k] as number) && pport <= (dhi[k] as number)) === ((f & F_DPORT_NEG) !== 0)
          )
            continue;
          break;
        }
        visited += k - i;
        i = k;
        if (i >= n) continue;
      }
      const r = rules[i++] as CRule;
      visited++;
      // IP header matches first, as ip_packet_match does
      let ok = true;
      if (r.proto >= 0 && (p.proto === r.proto) === r.protoNeg) ok = false;
      else if (r.hasDst) {
        if (p4) {
          if (((p.d3 & r.dm3) >>> 0 === r.dn3) === r.dstNeg) ok = false;
        } else if (
          ((p.d0 & r.dm0) >>> 0 === r.dn0 &&
            (p.d1 & r.dm1) >>> 0 === r.dn1 &&
            (p.d2 & r.dm2) >>> 0 === r.dn2 &&
            (p.d3 & r.dm3) >>> 0 === r.dn3) === r.dstNeg
        )
          ok = false;
      }
      if (ok && r.hasSrc) {
        if (p4) {
          if (((p.s3 & r.sm3) >>> 0 === r.sn3) === r.srcNeg) ok = false;
        } else if (
          ((p.s0 & r.sm0) >>> 0 === r.sn0 &&
            (p.s1 & r.sm1) >>> 0 === r.sn1 &&
            (p.s2 & r.sm2) >>> 0 === r.sn2 &&
            (p.s3 & r.sm3) >>> 0 === r.sn3) === r.srcNeg
        )
          ok = false;
      }
      if (ok && r.dportLo >= 0 && (p.dport >= r.dportLo && p.dport <= r.dportHi) === r.dportNeg) ok = false;
      if (ok && r.checks !== null) {
        const cs = r.checks;
        for (let k = 0; k < cs.length; k++) {
          if (!(cs[k] as Check)(p)) {
            ok = false;
            break;
          }
        }
      }
      if (trace) trace.push({ table: table.name, chain: chain.name, rule: r.index, text: r.text, matched: ok });
      if (!ok) continue;
      switch (r.verdict) {
        case V_CONTINUE:
          continue;
        case V_NONTERMINAL:
          (r.action as Action | null)?.(p);
          continue;
        case V_JUMP:
          stackChain.push(ci);
          stackRule.push(i);
          ci = r.jump;
          chain = chains[ci] as CChain;
          rules = chain.rules;
          i = 0;
          continue;
        case V_GOTO:
          ci = r.jump;
          chain = chains[ci] as CChain;
          rules = chain.rules;
          i = 0;
          continue;
        case V_RETURN:
          if (stackChain.length === 0) {
            i = rules.length; // RETURN in a built-in chain: policy
            stackChain.length = 0;
            this.rulesVisited += visited;
            if (chain.policy === V_DROP) p.reason = `${table.name} ${chain.name} policy DROP`;
            return chain.policy === V_DROP ? V_DROP : V_ACCEPT;
          }
          ci = stackChain.pop() as number;
          chain = chains[ci] as CChain;
          rules = chain.rules;
          i = stackRule.pop() as number;
          continue;
        case V_NAT:
          (r.action as Action)(p);
          this.rulesVisited += visited;
          if (trace) flagLast(trace);
          return V_NAT;
        default:
          this.rulesVisited += visited;
          if (r.verdict === V_DROP || r.verdict === V_REJECT) {
            p.reason = r.reason;
            if (trace) flagLast(trace);
          }
          return r.verdict;
      }
    }
  }

  private hook(
    name: string,
    tables: readonly string[],
    p: Pkt,
    hooks: string[],
    trace: IptablesTraceStep[] | null,
  ): number {
    for (const tname of tables) {
      if (tname === "nat" && (p.ctstate & CT.NEW) === 0) continue;
      const t = this.tables.get(tname);
      if (!t) continue;
      const start = t.byName.get(name);
      if (start === undefined) continue;
      hooks.push(`${tname}/${name}`);
      const v = this.walk(t, start, p, trace);
      if (v === V_DROP || v === V_REJECT) return v;
    }
    return V_ACCEPT;
  }

  /**
   * Send one packet through the node: PREROUTING, routing (local → INPUT, else
   * FORWARD → POSTROUTING) for `remote` packets; OUTPUT → POSTROUTING (→ INPUT
   * when local) for `local` ones.
   */
  evaluate(input: IptablesPacket, options: EvaluateCallOptions = {}): IptablesVerdict {
    this.ensureCompiled();
    const p = new Pkt();
    const src = typeof input.src === "string" ? Addr.parse(input.src) : input.src;
    const dst = typeof input.dst === "string" ? Addr.parse(input.dst) : input.dst;
    if (src.family !== dst.family)
      throw new ProxyEngineError("iptables", `source ${src} and destination ${dst} are of different families`);
    p.family = src.family;
    setSrc(p, src);
    setDst(p, dst);
    p.proto = packetProtocol(input.protocol);
    p.sport = input.sport ?? 40000;
    p.dport = input.dport ?? 0;
    p.mark = input.mark ?? 0;
    p.ctstate = input.ctstate ?? CT.NEW;
    p.uid = input.uid ?? -1;
    p.gid = input.gid ?? -1;
    p.ctmark = input.ctmark ?? 0;
    p.tproxy = undefined;
    p.random = options.random ?? this.random;
    p.now = options.now ?? this.clock();
    const trace: IptablesTraceStep[] | null = options.trace === false ? null : [];
    const hooks: string[] = [];
    const before = this.rulesVisited;
    const origin = input.origin ?? (this.isLocal(p.family, p.s0, p.s1, p.s2, p.s3) ? "local" : "remote");
    let v: number;
    const dstLocal = (): boolean => this.isLocal(p.family, p.d0, p.d1, p.d2, p.d3);
    if (origin === "remote") {
      // a packet from outside has no local socket
      p.uid = -1;
      p.gid = -1;
      p.iif = input.inInterface ?? "eth0";
      v = this.hook("PREROUTING", ["raw", "mangle", "nat"], p, hooks, trace);
      if (v === V_ACCEPT) {
        if (dstLocal()) {
          v = this.hook("INPUT", ["mangle", "filter", "security", "nat"], p, hooks, trace);
        } else {
          p.oif = input.outInterface ?? "eth0";
          v = this.hook("FORWARD", ["mangle", "filter", "security"], p, hooks, trace);
          if (v === V_ACCEPT) v = this.hook("POSTROUTING", ["mangle", "nat"], p, hooks, trace);
        }
      }
    } else {
      p.oif = input.outInterface ?? (dstLocal() ? "lo" : "eth0");
      v = this.hook("OUTPUT", ["raw", "mangle", "nat", "filter", "security"], p, hooks, trace);
      if (v === V_ACCEPT) {
        if (dstLocal()) p.oif = input.outInterface ?? "lo";
        v = this.hook("POSTROUTING", ["mangle", "nat"], p, hooks, trace);
        if (v === V_ACCEPT && dstLocal()) {
          p.iif = "lo";
          p.oif = "";
          v = this.hook("INPUT", ["mangle", "filter", "security", "nat"], p, hooks, trace);
        }
      }
    }
    const out: {
      verdict: IptablesVerdict["verdict"];
      reason?: string;
      dnat?: { readonly addr: Addr; readonly port: number };
      snat?: { readonly kind: "masquerade" | "snat"; readonly addr?: Addr };
      tproxy?: { readonly port: number; readonly addr?: Addr };
      mark: number;
      ctmark: number;
      hooks: string[];
      trace: IptablesTraceStep[];
      rulesVisited: number;
    } = {
      verdict: v === V_DROP ? "drop" : v === V_REJECT ? "reject" : "accept",
      mark: p.mark,
      ctmark: p.ctmark,
      hooks,
      trace: trace ?? [],
      rulesVisited: this.rulesVisited - before,
    };
    if (p.reason !== undefined && v !== V_ACCEPT) out.reason = p.reason;
    if (p.dnat) out.dnat = p.dnat;
    if (p.snat) out.snat = p.snat;
    if (p.tproxy) out.tproxy = p.tproxy;
    return out;
  }

  /**
   * Run one built-in chain of one table for a packet, as one netfilter hook
   * function does (the entry point of the netstack pipeline adapter).
   * `isLocal` replaces the evaluator's local-address set for this call.
   */
  runChain(
    table: string,
    chain: string,
    input: IptablesPacket & { readonly family?: Family },
    env: {
      readonly isLocal?: (a: Addr) => boolean;
      readonly random?: Random;
      readonly now?: number;
      readonly trace?: boolean;
    } = {},
  ): ChainVerdict {
    this.ensureCompiled();
    const t = this.tables.get(table);
    const start = t?.byName.get(chain);
    const p = new Pkt();
    const src = typeof input.src === "string" ? Addr.parse(input.src) : input.src;
    const dst = typeof input.dst === "string" ? Addr.parse(input.dst) : input.dst;
    p.family = src.family;
    setSrc(p, src);
    setDst(p, dst);
    p.proto = packetProtocol(input.protocol);
    p.sport = input.sport ?? 0;
    p.dport = input.dport ?? 0;
    p.mark = input.mark ?? 0;
    p.ctstate = input.ctstate ?? CT.NEW;
    p.uid = input.uid ?? -1;
    p.gid = input.gid ?? -1;
    p.ctmark = input.ctmark ?? 0;
    p.tproxy = undefined;
    p.iif = input.inInterface ?? "";
    p.oif = input.outInterface ?? "";
    p.random = env.random ?? this.random;
    p.now = env.now ?? this.clock();
    const trace: IptablesTraceStep[] | null = env.trace === true ? [] : null;
    if (!t || start === undefined) return { verdict: "accept", mark: p.mark, trace: [], rulesVisited: 0 };
    this.localFn = env.isLocal;
    const before = this.rulesVisited;
    let v: number;
    try {
      v = this.walk(t, start, p, trace);
    } finally {
      this.localFn = undefined;
    }
    const out: {
      verdict: "accept" | "drop" | "reject";
      reason?: string;
      dnat?: { readonly addr: Addr; readonly port: number };
      snat?: { readonly kind: "masquerade" | "snat"; readonly addr?: Addr };
      tproxy?: { readonly port: number; readonly addr?: Addr };
      mark: number;
      ctmark: number;
      trace: IptablesTraceStep[];
      rulesVisited: number;
    } = {
      verdict: v === V_DROP ? "drop" : v === V_REJECT ? "reject" : "accept",
      mark: p.mark,
      ctmark: p.ctmark,
      trace: trace ?? [],
      rulesVisited: this.rulesVisited - before,
    };
    if (p.reason !== undefined && v !== V_ACCEPT && v !== V_NAT) out.reason = p.reason;
    if (p.dnat) out.dnat = p.dnat;
    if (p.snat) out.snat = p.snat;
    if (p.tproxy) out.tproxy = p.tproxy;
    return out;
  }

  /**
   * Walk one chain of one table for a packet, without the hook path (for
   * benchmarks and focused tests). Returns the number of rules visited.
   */
  walkChain(table: string, chain: string, input: IptablesPacket, options: EvaluateCallOptions = {}): number {
    this.ensureCompiled();
    const t = this.tables.get(table);
    const start = t?.byName.get(chain);
    if (!t || start === undefined) throw new ProxyEngineError("iptables", `no chain ${table}/${chain}`);
    const p = this.scratch;
    const src = typeof input.src === "string" ? Addr.parse(input.src) : input.src;
    const dst = typeof input.dst === "string" ? Addr.parse(input.dst) : input.dst;
    p.family = src.family;
    setSrc(p, src);
    setDst(p, dst);
    p.proto = packetProtocol(input.protocol);
    p.sport = input.sport ?? 40000;
    p.dport = input.dport ?? 0;
    p.mark = input.mark ?? 0;
    p.ctstate = input.ctstate ?? CT.NEW;
    p.uid = input.uid ?? -1;
    p.gid = input.gid ?? -1;
    p.ctmark = input.ctmark ?? 0;
    p.tproxy = undefined;
    p.dnat = undefined;
    p.snat = undefined;
    p.random = options.random ?? this.random;
    p.now = options.now ?? 0;
    const before = this.rulesVisited;
    this.walk(t, start, p, null);
    return this.rulesVisited - before;
  }

  private readonly scratch = new Pkt();
}

function prefixWords(p: Prefix): [number, number, number, number, number, number, number, number] {
  const a = p.addr;
  const len = p.length;
  const mask = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);
  if (a.family === 4) return [0, 0, 0, mask(len), 0, 0, 0, a.w3];
  return [mask(len), mask(len - 32), mask(len - 64), mask(len - 96), a.w0, a.w1, a.w2, a.w3];
}

function setSrc(p: Pkt, a: Addr): void {
  p.s0 = a.w0;
  p.s1 = a.w1;
  p.s2 = a.w2;
  p.s3 = a.w3;
}

function setDst(p: Pkt, a: Addr): void {
  p.d0 = a.w0;
  p.d1 = a.w1;
  p.d2 = a.w2;
  p.d3 = a.w3;
}
