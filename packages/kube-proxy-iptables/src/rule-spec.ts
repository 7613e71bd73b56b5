import { Addr, ipProtocolNumber, Prefix } from "@knet/netstack";

/** A port range `lo..hi` (inclusive). */
export interface PortRange {
  /** First port. */
  readonly lo: number;
  /** Last port. */
  readonly hi: number;
}

/** An address match (`-s`, `-d`). */
export interface AddrMatch {
  /** `!` given. */
  readonly neg: boolean;
  /** The prefix (a host address is a /32 or /128). */
  readonly prefix: Prefix;
}

/** An interface match (`-i`, `-o`); a trailing `+` matches any name with that prefix. */
export interface IfaceMatch {
  /** `!` given. */
  readonly neg: boolean;
  /** Interface name without the `+`. */
  readonly name: string;
  /** Name ended in `+`. */
  readonly wildcard: boolean;
}

/** Conntrack state bits (`--ctstate`). */
export const CT = {
  INVALID: 1,
  NEW: 2,
  ESTABLISHED: 4,
  RELATED: 8,
  UNTRACKED: 16,
  SNAT: 32,
  DNAT: 64,
} as const;

/** One `-m` match of a rule, parsed. */
export type MatchSpec =
  | { readonly module: "comment"; readonly comment: string }
  | {
      readonly module: "tcp" | "udp" | "sctp";
      readonly dport?: PortRange;
      readonly dportNeg?: boolean;
      readonly sport?: PortRange;
      readonly sportNeg?: boolean;
      /** `--syn`/`--tcp-flags` given: matched only by the first packet of a TCP connection (our packets are). */
      readonly syn?: boolean;
    }
  | { readonly module: "statistic"; readonly mode: "random"; readonly probability: number; readonly neg: boolean }
  | {
      readonly module: "statistic";
      readonly mode: "nth";
      readonly every: number;
      readonly packet: number;
      readonly neg: boolean;
    }
  | {
      readonly module: "recent";
      readonly name: string;
      readonly command: "set" | "rcheck" | "update" | "remove";
      readonly seconds: number;
      readonly hitcount: number;
      readonly reap: boolean;
      readonly side: "src" | "dst";
      readonly neg: boolean;
    }
  | { readonly module: "mark"; readonly value: number; readonly mask: number; readonly neg: boolean }
  | { readonly module: "connmark"; readonly value: number; readonly mask: number; readonly neg: boolean }
  | {
      readonly module: "owner";
      /** `[!] --uid-owner LO[-HI]` (numeric ids). */
      readonly uid?: { readonly lo: number; readonly hi: number; readonly neg: boolean };
      /** `[!] --gid-owner LO[-HI]` (numeric ids). */
      readonly gid?: { readonly lo: number; readonly hi: number; readonly neg: boolean };
      /** `[!] --socket-exists`. */
      readonly socketExists?: { readonly neg: boolean };
    }
  | {
      readonly module: "addrtype";
      readonly srcType?: { readonly neg: boolean; readonly types: readonly string[] };
      readonly dstType?: { readonly neg: boolean; readonly types: readonly string[] };
    }
  | { readonly module: "conntrack"; readonly ctstate?: { readonly neg: boolean; readonly bits: number } }
  | {
      readonly module: "multiport";
      readonly which: "dports" | "sports" | "ports";
      readonly ranges: readonly PortRange[];
      readonly neg: boolean;
    }
  | { readonly module: "set"; readonly name: string; readonly flags: readonly ("src" | "dst")[]; readonly neg: boolean }
  | { readonly module: "icmp" | "icmp6"; readonly type: string; readonly neg: boolean }
  | { readonly module: "physdev"; readonly isIn?: boolean; readonly isBridged?: boolean; readonly neg: boolean }
  | { readonly module: "always"; readonly name: string };

/** A rule's target, parsed. */
export type TargetSpec =
  | { readonly kind: "ACCEPT" | "DROP" | "RETURN" }
  | { readonly kind: "REJECT"; readonly with: string }
  | { readonly kind: "DNAT"; readonly addr?: Addr; readonly ports?: PortRange; readonly text: string }
  | { readonly kind: "SNAT"; readonly addr?: Addr; readonly ports?: PortRange; readonly text: string }
  | { readonly kind: "MASQUERADE"; readonly randomFully: boolean; readonly ports?: PortRange }
  | { readonly kind: "REDIRECT"; readonly ports?: PortRange }
  | {
      readonly kind: "TPROXY";
      /** `--on-port` (0: the packet's own destination port). */
      readonly port: number;
      /** `--on-ip`, if given. */
      readonly addr?: Addr;
      /** `--tproxy-mark value[/mask]`. */
      readonly value: number;
      readonly mask: number;
    }
  | { readonly kind: "MARK"; readonly value: number; readonly mask: number }
  | {
      readonly kind: "CONNMARK";
      readonly value: number;
      readonly mask: number;
      readonly op: "set" | "save" | "restore";
    }
  | { readonly kind: "LOG" | "NOTRACK" | "CT" | "NFLOG" | "TRACE" | "AUDIT" }
  | { readonly kind: "chain"; readonly chain: string };

/** A parsed rule: the IP-header matches, the `-m` matches in order, and the target. */
export interface RuleSpec {
  /** `-p` (protocol number; `neg` for `! -p`). */
  readonly proto?: { readonly neg: boolean; readonly num: number; readonly name: string };
  /** `-s`. */
  readonly src?: AddrMatch;
  /** `-d`. */
  readonly dst?: AddrMatch;
  /** `-i`. */
  readonly inIface?: IfaceMatch;
  /** `-o`. */
  readonly outIface?: IfaceMatch;
  /** `-m` matches (and implicit protocol matches) in the order given. */
  readonly matches: readonly MatchSpec[];
  /** `-j`/`-g` target; undefined for a rule with no target (counts only). */
  readonly target?: TargetSpec;
  /** `-g` (goto) rather than `-j`. */
  readonly goto: boolean;
  /** The first `--comment`, if any. */
  readonly comment?: string;
}

/** Protocol number of a `-p` value: a name or number (`tcp` -> 6), or `all` (0). */
export function protocolNumber(name: string): number | undefined {
  return name.toLowerCase() === "all" ? 0 : ipProtocolNumber(name);
}

class SpecError extends Error {}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new SpecError(`bad port "${text}"`);
  return Number(text);
}

function parseRange(text: string, sep = ":"): PortRange {
  const i = text.indexOf(sep);
  if (i < 0) {
    const p = parsePort(text);
    return { lo: p, hi: p };
  }
  const lo = i === 0 ? 0 : parsePort(text.slice(0, i));
  const hi = i === text.length - 1 ? 65535 : parsePort(text.slice(i + 1));
  if (lo > hi) throw new SpecError(`bad port range "${text}"`);
  return { lo, hi };
}

function parseNumber(text: string): number {
  const v = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(v) || v > 0xffffffff) throw new SpecError(`bad number "${text}"`);
  return v >>> 0;
}

function parseValueMask(text: string): { value: number; mask: number | undefined } {
  const i = text.indexOf("/");
  if (i < 0) return { value: parseNumber(text), mask: undefined };
  return { value: parseNumber(text.slice(0, i)), mask: parseNumber(text.slice(i + 1)) };
}

function parsePrefix(text: string): Prefix {
  try {
    if (text.includes("/")) {
      const [a, l] = text.split("/") as [string, string];
      const addr = Addr.parse(a);
      if (/^\d+$/.test(l)) return Prefix.of(addr, Number(l), true);
      // dotted netmask
      const m = Addr.parse(l);
      const bits = m.toBigInt().toString(2).replace(/0+$/, "").length;
      return Prefix.of(addr, bits, true);
    }
    return Prefix.host(Addr.parse(text));
  } catch (e) {
    throw new SpecError(`bad address "${text}": ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseNatTo(text: string): { addr?: Addr; ports?: PortRange } {
  // forms: 1.2.3.4, 1.2.3.4:80, 1.2.3.4:80-90, [fd00::1]:80, fd00::1, :80
  let host = text;
  let port: string | undefined;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) throw new SpecError(`bad address "${text}"`);
    host = text.slice(1, end);
    if (text[end + 1] === ":") port = text.slice(end + 2);
  } else if (text.split(":").length === 2) {
    const i = text.indexOf(":");
    host = text.slice(0, i);
    port = text.slice(i + 1);
  }
  host = host.split("-")[0] ?? host;
  const out: { addr?: Addr; ports?: PortRange } = {};
  if (host !== "") {
    try {
      out.addr = Addr.parse(host);
    } catch {
      throw new SpecError(`bad address "${text}"`);
    }
  }
  if (port !== undefined && port !== "") out.ports = parseRange(port, "-");
  return out;
}

const CT_NAMES: Readonly<Record<string, number>> = CT;

function parseCtState(text: string): number {
  let bits = 0;
  for (const s of text.split(",")) {
    const b = CT_NAMES[s.toUpperCase()];
    if (b === undefined) throw new SpecError(`bad conntrack state "${s}"`);
    bits |= b;
  }
  return bits;
}

const BUILTIN_TARGETS = new Set([
  "ACCEPT",
  "DROP",
  "RETURN",
  "REJECT",
  "DNAT",
  "SNAT",
  "MASQUERADE",
  "REDIRECT",
  "MARK",
  "CONNMARK",
  "TPROXY",
  "LOG",
  "NOTRACK",
  "CT",
  "NFLOG",
  "TRACE",
  "AUDIT",
]);

const IGNORED_MATCHES = new Set(["nfacct", "limit", "pkttype", "length", "ttl", "hl", "socket"]);

/**
 * Parse the words of one rule (everything after `-A CHAIN`).
 * @throws Error with a reason for an option, module or value it cannot read.
 */
export function parseRuleWords(words: readonly string[]): RuleSpec {
  let proto: RuleSpec["proto"];
  let src: AddrMatch | undefined;
  let dst: AddrMatch | undefined;
  let inIface: IfaceMatch | undefined;
  let outIface: IfaceMatch | undefined;
  let target: TargetSpec | undefined;
  let goto = false;
  let comment: string | undefined;
  const matches: MatchSpec[] = [];
  // the match currently being built
  let mod: string | undefined;
  let cur: Record<string, unknown> | undefined;
  let targetName: string | undefined;
  const targetOpts: [string, string | undefined][] = [];
  const flush = (): void => {
    if (mod === undefined || cur === undefined) return;
    matches.push(finishMatch(mod, cur));
    mod = undefined;
    cur = undefined;
  };
  let i = 0;
  const next = (opt: string): string => {
    const v = words[++i];
    if (v === undefined) throw new SpecError(`option ${opt} needs a value`);
    return v;
  };
  while (i < words.length) {
    let w = words[i] as string;
    let neg = false;
    if (w === "!") {
      neg = true;
      w = words[++i] ?? "";
    }
    if (targetName !== undefined) {
      if (!w.startsWith("--")) throw new SpecError(`unexpected "${w}" after the target`);
      const takesValue = ![
        "--random-fully",
        "--random",
        "--persistent",
        "--save-mark",
        "--restore-mark",
        "--notrack",
      ].includes(w);
      targetOpts.push([w, takesValue ? next(w) : undefined]);
      i++;
      continue;
    }
    switch (w) {
      case "-p":
      case "--protocol": {
        const name = next(w);
        const num = protocolNumber(name);
        if (num === undefined) throw new SpecError(`unknown protocol "${name}"`);
        proto = { neg, num, name: name.toLowerCase() };
        break;
      }
      case "-s":
      case "--source":
      case "--src":
        src = { neg, prefix: parsePrefix(next(w)) };
        break;
      case "-d":
      case "--destination":
      case "--dst":
        dst = { neg, prefix: parsePrefix(next(w)) };
        break;
      case "-i":
      case "--in-interface":
      case "-o":
      case "--out-interface": {
        const v = next(w);
        const m: IfaceMatch = { neg, name: v.endsWith("+") ? v.slice(0, -1) : v, wildcard: v.endsWith("+") };
        if (w === "-i" || w === "--in-interface") inIface = m;
        else outIface = m;
        break;
      }
      case "-m":
      case "--match":
        flush();
        mod = next(w).toLowerCase();
        cur = {};
        break;
      case "-j":
      case "--jump":
      case "-g":
      case "--goto":
        flush();
        goto = w === "-g" || w === "--goto";
        targetName = next(w);
        break;
      case "-c":
      case "--set-counters":
        next(w);
        if (!(words[i] ?? "").includes(":")) next(w);
        break;
      case "-f":
      case "--fragment":
        throw new SpecError("fragment matches are not supported");
      default: {
        if (!w.startsWith("--")) throw new SpecError(`unexpected "${w}"`);
        // protocol options without -m (iptables loads the protocol match implicitly)
        if (mod === undefined && proto !== undefined && ["tcp", "udp", "sctp"].includes(proto.name)) {
          mod = proto.name;
          cur = {};
        }
        if (mod === undefined || cur === undefined) throw new SpecError(`option ${w} outside of a match`);
        matchOption(mod, cur, w, neg, next);
      }
    }
    i++;
  }
  flush();
  for (const m of matches) if (m.module === "comment" && comment === undefined) comment = m.comment;
  if (targetName !== undefined) target = parseTarget(targetName, targetOpts);
  const spec: {
    -readonly [K in keyof RuleSpec]: RuleSpec[K];
  } = { matches, goto };
  if (proto) spec.proto = proto;
  if (src) spec.src = src;
  if (dst) spec.dst = dst;
  if (inIface) spec.inIface = inIface;
  if (outIface) spec.outIface = outIface;
  if (target) spec.target = target;
  if (comment !== undefined) spec.comment = comment;
  return spec;
}

function matchOption(
  mod: string,
  cur: Record<string, unknown>,
  opt: string,
  neg: boolean,
  next: (opt: string) => string,
): void {
  const bad = (): never => {
    throw new SpecError(`unknown option ${opt} for match ${mod}`);
  };
  switch (mod) {
    case "comment":
      if (opt !== "--comment") bad();
      cur.comment = next(opt);
      return;
    case "tcp":
    case "udp":
    case "sctp":
      if (opt === "--dport" || opt === "--destination-port") {
        cur.dport = parseRange(next(opt));
        cur.dportNeg = neg;
      } else if (opt === "--sport" || opt === "--source-port") {
        cur.sport = parseRange(next(opt));
        cur.sportNeg = neg;
      } else if (opt === "--syn" && mod === "tcp") cur.syn = true;
      else if (opt === "--tcp-flags" && mod === "tcp") {
        next(opt);
        next(opt);
        cur.syn = true;
      } else bad();
      return;
    case "statistic":
      if (opt === "--mode") cur.mode = next(opt);
      else if (opt === "--probability") {
        const p = Number(next(opt));
        if (!(p >= 0 && p <= 1)) throw new SpecError(`bad probability`);
        cur.probability = Math.round(p * 0x80000000);
        cur.neg = neg;
      } else if (opt === "--every") {
        cur.every = parseNumber(next(opt));
        cur.neg = neg;
      } else if (opt === "--packet") cur.packet = parseNumber(next(opt));
      else bad();
      return;
    case "recent":
      if (opt === "--name") cur.name = next(opt);
      else if (opt === "--set" || opt === "--rcheck" || opt === "--update" || opt === "--remove") {
        cur.command = opt.slice(2);
        cur.neg = neg;
      } else if (opt === "--seconds") cur.seconds = parseNumber(next(opt));
      else if (opt === "--hitcount") cur.hitcount = parseNumber(next(opt));
      else if (opt === "--reap") cur.reap = true;
      else if (opt === "--rsource") cur.side = "src";
      else if (opt === "--rdest") cur.side = "dst";
      else if (opt === "--mask") next(opt);
      else if (opt === "--rttl") {
      } else bad();
      return;
    case "mark":
    case "connmark": {
      if (opt !== "--mark") bad();
      const vm = parseValueMask(next(opt));
      cur.value = vm.value;
      cur.mask = vm.mask ?? 0xffffffff;
      cur.neg = neg;
      return;
    }
    case "owner":
      if (opt === "--uid-owner" || opt === "--gid-owner") {
        const v = next(opt);
        const m = /^(\d+)(?:-(\d+))?$/.exec(v);
        if (m === null) {
          throw new SpecError(`${opt} ${v}: only numeric ids (iptables resolves names when it loads the rule)`);
        }
        const lo = Number(m[1]);
        cur[opt === "--uid-owner" ? "uid" : "gid"] = { lo, hi: m[2] === undefined ? lo : Number(m[2]), neg };
      } else if (opt === "--socket-exists") cur.socketExists = { neg };
      else if (opt === "--suppl-groups") {
      } else bad();
      return;
    case "addrtype":
      if (opt === "--src-type") cur.srcType = { neg, types: next(opt).split(",") };
      else if (opt === "--dst-type") cur.dstType = { neg, types: next(opt).split(",") };
      else if (opt === "--limit-iface-in" || opt === "--limit-iface-out") {
      } else bad();
      return;
    case "conntrack":
    case "state":
      if (opt === "--ctstate" || opt === "--state") cur.ctstate = { neg, bits: parseCtState(next(opt)) };
      else bad();
      return;
    case "multiport": {
      const which = opt.slice(2);
      const norm =
        which === "dports" || which === "destination-ports"
          ? "dports"
          : which === "sports" || which === "source-ports"
            ? "sports"
            : which === "ports"
              ? "ports"
              : bad();
      cur.which = norm;
      cur.ranges = next(opt)
        .split(",")
        .map((r) => parseRange(r));
      cur.neg = neg;
      return;
    }
    case "set":
      if (opt === "--match-set") {
        cur.name = next(opt);
        cur.flags = next(opt)
          .split(",")
          .map((f) => (f === "src" || f === "dst" ? f : bad()));
        cur.neg = neg;
      } else if (opt === "--return-nomatch" || opt === "--update-counters" || opt === "--update-subcounters") {
      } else bad();
      return;
    case "icmp":
    case "icmp6":
      if (opt === "--icmp-type" || opt === "--icmpv6-type") {
        cur.type = next(opt);
        cur.neg = neg;
      } else bad();
      return;
    case "physdev":
      if (opt === "--physdev-is-in") cur.isIn = true;
      else if (opt === "--physdev-is-bridged") cur.isBridged = true;
      else if (opt === "--physdev-in" || opt === "--physdev-out") next(opt);
      else if (opt === "--physdev-is-out") {
      } else bad();
      cur.neg = neg;
      return;
    default:
      if (IGNORED_MATCHES.has(mod)) {
        // matches that never decide a proxied packet's fate (counters, rate limits): read their value
        next(opt);
        return;
      }
      throw new SpecError(`unsupported match "${mod}"`);
  }
}

function finishMatch(mod: string, cur: Record<string, unknown>): MatchSpec {
  switch (mod) {
    case "comment":
      if (typeof cur.comment !== "string") throw new SpecError("comment match needs --comment");
      return { module: "comment", comment: cur.comment };
    case "tcp":
    case "udp":
    case "sctp":
      return { module: mod, ...(cur as object) } as MatchSpec;
    case "statistic":
      if (cur.mode === "random") {
        if (typeof cur.probability !== "number") throw new SpecError("statistic random needs --probability");
        return { module: "statistic", mode: "random", probability: cur.probability, neg: cur.neg === true };
      }
      if (cur.mode === "nth") {
        if (typeof cur.every !== "number" || cur.every < 1) throw new SpecError("statistic nth needs --every");
        return {
          module: "statistic",
          mode: "nth",
          every: cur.every,
          packet: (cur.packet as number | undefined) ?? 0,
          neg: cur.neg === true,
        };
      }
      throw new SpecError(`statistic needs --mode random or nth`);
    case "recent":
      return {
        module: "recent",
        name: (cur.name as string | undefined) ?? "DEFAULT",
        command: (cur.command as "set" | "rcheck" | "update" | "remove" | undefined) ?? "rcheck",
        seconds: (cur.seconds as number | undefined) ?? 0,
        hitcount: (cur.hitcount as number | undefined) ?? 0,
        reap: cur.reap === true,
        side: (cur.side as "src" | "dst" | undefined) ?? "src",
        neg: cur.neg === true,
      };
    case "mark":
    case "connmark":
      if (typeof cur.value !== "number") throw new SpecError(`${mod} needs --mark`);
      return { module: mod, value: cur.value, mask: cur.mask as number, neg: cur.neg === true };
    case "owner":
      if (cur.uid === undefined && cur.gid === undefined && cur.socketExists === undefined) {
        throw new SpecError("owner needs --uid-owner, --gid-owner or --socket-exists");
      }
      return { module: "owner", ...(cur as object) } as MatchSpec;
    case "addrtype":
      return { module: "addrtype", ...(cur as object) } as MatchSpec;
    case "conntrack":
    case "state":
      return { module: "conntrack", ...(cur as object) } as MatchSpec;
    case "multiport":
      if (cur.ranges === undefined) throw new SpecError("multiport needs --dports, --sports or --ports");
      return { module: "multiport", ...(cur as object) } as MatchSpec;
    case "set":
      if (typeof cur.name !== "string") throw new SpecError("set needs --match-set");
      return { module: "set", name: cur.name, flags: cur.flags as ("src" | "dst")[], neg: cur.neg === true };
    case "icmp":
    case "icmp6":
      return { module: mod, type: (cur.type as string | undefined) ?? "any", neg: cur.neg === true };
    case "physdev":
      return { module: "physdev", ...(cur as object) } as MatchSpec;
    default:
      return { module: "always", name: mod };
  }
}

function parseTarget(name: string, opts: readonly [string, string | undefined][]): TargetSpec {
  const get = (o: string): string | undefined => opts.find(([k]) => k === o)?.[1];
  const has = (o: string): boolean => opts.some(([k]) => k === o);
  const only = (...allowed: string[]): void => {
    for (const [k] of opts) if (!allowed.includes(k)) throw new SpecError(`unknown option ${k} for target ${name}`);
  };
  if (!BUILTIN_TARGETS.has(name)) {
    if (opts.length > 0) throw new SpecError(`unknown target "${name}" (options given to a chain jump)`);
    return { kind: "chain", chain: name };
  }
  switch (name) {
    case "ACCEPT":
    case "DROP":
    case "RETURN":
      only();
      return { kind: name };
    case "REJECT":
      only("--reject-with");
      return { kind: "REJECT", with: get("--reject-with") ?? "icmp-port-unreachable" };
    case "DNAT":
    case "SNAT": {
      only("--to-destination", "--to-source", "--random", "--persistent", "--random-fully");
      const to = get(name === "DNAT" ? "--to-destination" : "--to-source");
      if (to === undefined)
        throw new SpecError(`${name} needs ${name === "DNAT" ? "--to-destination" : "--to-source"}`);
      return { kind: name, ...parseNatTo(to), text: to };
    }
    case "MASQUERADE": {
      only("--random-fully", "--random", "--to-ports");
      const ports = get("--to-ports");
      return {
        kind: "MASQUERADE",
        randomFully: has("--random-fully"),
        ...(ports !== undefined ? { ports: parseRange(ports, "-") } : {}),
      };
    }
    case "REDIRECT": {
      // iptables accepts --to-port as an abbreviation (getopt_long), and istio writes it
      only("--to-ports", "--to-port", "--random");
      const ports = get("--to-ports") ?? get("--to-port");
      return { kind: "REDIRECT", ...(ports !== undefined ? { ports: parseRange(ports, "-") } : {}) };
    }
    case "MARK": {
      only("--set-xmark", "--set-mark", "--or-mark", "--xor-mark", "--and-mark");
      const [opt, val] = opts[0] ?? [];
      if (opt === undefined || val === undefined || opts.length !== 1)
        throw new SpecError("MARK needs exactly one of --set-xmark, --set-mark, --or-mark, --xor-mark, --and-mark");
      const vm = parseValueMask(val);
      switch (opt) {
        case "--set-xmark":
          return { kind: "MARK", value: vm.value, mask: vm.mask ?? 0xffffffff };
        case "--set-mark":
          return { kind: "MARK", value: vm.value, mask: ((vm.mask ?? 0xffffffff) | vm.value) >>> 0 };
        case "--or-mark":
          return { kind: "MARK", value: vm.value, mask: vm.value };
        case "--xor-mark":
          return { kind: "MARK", value: vm.value, mask: 0 };
        default:
          return { kind: "MARK", value: 0, mask: ~vm.value >>> 0 };
      }
    }
    case "TPROXY": {
      only("--on-port", "--on-ip", "--tproxy-mark");
      const port = get("--on-port");
      if (port === undefined || !/^\d+$/.test(port) || Number(port) > 65535) {
        throw new SpecError("TPROXY needs --on-port PORT");
      }
      const ip = get("--on-ip");
      const vm = parseValueMask(get("--tproxy-mark") ?? "0/0");
      return {
        kind: "TPROXY",
        port: Number(port),
        ...(ip !== undefined ? { addr: Addr.parse(ip) } : {}),
        value: vm.value,
        mask: vm.mask ?? 0xffffffff,
      };
    }
    case "CONNMARK": {
      if (has("--save-mark")) return { kind: "CONNMARK", value: 0, mask: 0, op: "save" };
      if (has("--restore-mark")) return { kind: "CONNMARK", value: 0, mask: 0, op: "restore" };
      const v = get("--set-xmark") ?? get("--set-mark") ?? "0";
      const vm = parseValueMask(v);
      return { kind: "CONNMARK", value: vm.value, mask: vm.mask ?? 0xffffffff, op: "set" };
    }
    default:
      return { kind: name as "LOG" };
  }
}

export { SpecError };
