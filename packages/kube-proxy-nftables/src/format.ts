import { formatMark } from "@knet/kube-proxy";
import { Addr, ipProtocolName, Prefix } from "@knet/netstack";
import type {
  NftCommand,
  NftElement,
  NftField,
  NftHookSpec,
  NftLiteral,
  NftRule,
  NftSetSpec,
  NftStatement,
  NftVerdict,
} from "./types.js";

/** Format a verdict (`goto service-…`, `drop`). */
export function formatVerdict(v: NftVerdict): string {
  return v.kind === "jump" || v.kind === "goto" ? `${v.kind} ${v.chain}` : v.kind;
}

/** Datatype a field's values have (`ipv4_addr`, `inet_proto`, `inet_service`, `mark`). */
export function fieldType(f: NftField): string {
  switch (f) {
    case "ip saddr":
    case "ip daddr":
      return "ipv4_addr";
    case "ip6 saddr":
    case "ip6 daddr":
      return "ipv6_addr";
    case "meta l4proto":
      return "inet_proto";
    case "meta mark":
    case "ct mark":
      return "mark";
    case "meta skuid":
      return "uid";
    case "meta skgid":
      return "gid";
    default:
      return "inet_service";
  }
}

/** The protocol a `tcp dport`-style field implies (it matches only that protocol), or -1. */
export function impliedProto(f: NftField): number {
  switch (f) {
    case "tcp dport":
    case "tcp sport":
      return 6;
    case "udp dport":
    case "udp sport":
      return 17;
    case "sctp dport":
    case "sctp sport":
      return 132;
    default:
      return -1;
  }
}

/** Canonical text of a literal of a datatype (the spelling `nft list` prints). */
export function canonicalLiteral(type: string, v: NftLiteral): string {
  switch (type) {
    case "ipv4_addr":
    case "ipv6_addr": {
      if (v.includes("/")) {
        // nft clears host bits (`1.1.0.0/8` is listed as `1.0.0.0/8`)
        const p = Prefix.parse(v, { mask: true });
        return p.length === p.addr.bits ? p.addr.toString() : p.toString();
      }
      return Addr.parse(v).toString();
    }
    case "inet_proto":
      return (/^\d+$/.test(v) ? ipProtocolName(Number(v)) : undefined) ?? v;
    case "mark":
      return formatMark(Number(v));
    case "uid":
    case "gid":
      return /^0x/.test(v) ? String(Number.parseInt(v, 16)) : v;
    default:
      return /^0x/.test(v) ? String(Number.parseInt(v, 16)) : v;
  }
}

/** Canonical text of a key (`172.30.0.41 . tcp . 80`) given its datatypes. */
export function canonicalKey(types: readonly string[], key: readonly NftLiteral[]): string {
  return key.map((k, i) => canonicalLiteral(types[i] ?? "", k)).join(" . ");
}

/** Format one element of a set or map. */
export function formatElement(e: NftElement, types?: readonly string[]): string {
  let s = types ? canonicalKey(types, e.key) : e.key.join(" . ");
  if (e.comment !== undefined) s += ` comment ${JSON.stringify(e.comment)}`;
  if (e.verdict !== undefined) s += ` : ${formatVerdict(e.verdict)}`;
  return s;
}

function formatStatement(s: NftStatement): string {
  switch (s.kind) {
    case "match": {
      const types = s.key.map(fieldType);
      const left = s.key.join(" . ");
      const op = s.op === "!=" ? "!= " : "";
      if (s.right.kind === "set") return `${left} ${op}@${s.right.name}`;
      const vals = s.right.values.map((v) => canonicalKey(types, v));
      if (vals.length === 1) return `${left} ${op}${vals[0]}`;
      return `${left} ${op}{ ${[...vals].sort(compareLiteral).join(", ")} }`;
    }
    case "ct-state":
      return `ct state ${s.states.join(",")}`;
    case "fib":
      return `fib ${s.dir} type ${s.op === "!=" ? "!= " : ""}${s.type}`;
    case "mark-match":
      if (s.mask === 0xffffffff) return `meta mark ${s.op === "!=" ? "!= " : ""}${formatMark(s.value)}`;
      return `meta mark & ${formatMark(s.mask)} ${s.op} ${formatMark(s.value)}`;
    case "vmap": {
      const left = Array.isArray(s.key)
        ? s.key.join(" . ")
        : `numgen random mod ${(s.key as { numgen: number }).numgen}`;
      if (typeof s.map === "string") return `${left} vmap @${s.map}`;
      return `${left} vmap { ${(s.map as readonly NftElement[]).map((e) => formatElement(e)).join(", ")} }`;
    }
    case "mark-set":
      if (s.op === "set") return `meta mark set ${formatMark(s.value)}`;
      return `meta mark set meta mark ${s.op === "or" ? "|" : s.op === "xor" ? "^" : "&"} ${formatMark(s.value)}`;
    case "update":
      return `update @${s.set} { ${s.key.join(" . ")} }`;
    case "dnat": {
      const a = Addr.parse(s.addr).toString();
      const host = a.includes(":") ? (s.port !== undefined ? `[${a}]` : a) : a;
      return `dnat to ${host}${s.port !== undefined ? `:${s.port}` : ""}`;
    }
    case "masquerade":
      return s.fullyRandom ? "masquerade fully-random" : "masquerade";
    case "reject":
      return "reject";
    case "counter":
      return "counter";
    case "mark-set-ctmark":
      return "meta mark set ct mark";
    case "ctmark-set":
      return `ct mark set ${s.value === "mark" ? "meta mark" : formatMark(s.value)}`;
    case "ct-zone-set":
      return `ct zone set ${s.zone}`;
    case "ifname": {
      const names = s.names.map((n) => JSON.stringify(n));
      const right = names.length === 1 ? names[0] : `{ ${names.join(", ")} }`;
      return `${s.dir}name ${s.op === "!=" ? "!= " : ""}${right}`;
    }
    case "redirect":
      return s.port !== undefined ? `redirect to :${s.port}` : "redirect";
    case "tproxy": {
      const a = s.addr !== undefined ? Addr.parse(s.addr).toString() : "";
      const host = a.includes(":") && s.port !== undefined ? `[${a}]` : a;
      return `tproxy${s.family !== undefined ? ` ${s.family}` : ""} to ${host}${s.port !== undefined ? `:${s.port}` : ""}`;
    }
    case "verdict":
      return formatVerdict(s.verdict);
  }
}

function compareLiteral(a: string, b: string): number {
  // Sort addresses/prefixes numerically when both parse, text order otherwise.
  try {
    const pa = Prefix.parse(a.includes("/") ? a : `${a}/${a.includes(":") ? 128 : 32}`);
    const pb = Prefix.parse(b.includes("/") ? b : `${b}/${b.includes(":") ? 128 : 32}`);
    return pa.compare(pb);
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

/**
 * Format a rule in the canonical spelling `nft list` prints (`meta mark set meta
 * mark | 0x00004000`, single-element anonymous sets unwrapped, anonymous sets
 * sorted). Two rules that mean the same thing format the same.
 */
export function formatRule(rule: NftRule): string {
  const parts = rule.statements.map(formatStatement);
  if (rule.comment !== undefined) parts.push(`comment ${JSON.stringify(rule.comment)}`);
  return parts.join(" ");
}

function hookBlock(h: NftHookSpec, comment?: string): string {
  let s = `{ type ${h.type} hook ${h.hook} priority ${h.priority} ;`;
  if (h.policy !== undefined && h.policy !== "accept") s += ` policy ${h.policy} ;`;
  if (comment !== undefined) s += ` comment ${JSON.stringify(comment)} ;`;
  return `${s} }`;
}

/** Format a set or map declaration block (`{ type ipv4_addr ; comment "…" ; }`). */
export function formatSetSpec(spec: NftSetSpec): string {
  let s = `{ type ${spec.type.join(" . ")}${spec.dataType !== undefined ? ` : ${spec.dataType}` : ""} ;`;
  if (spec.flags !== undefined && spec.flags.length > 0) s += ` flags ${spec.flags.join(",")} ;`;
  if (spec.timeout !== undefined) s += ` timeout ${spec.timeout}s ;`;
  if (spec.size !== undefined) s += ` size ${spec.size} ;`;
  if (spec.comment !== undefined) s += ` comment ${JSON.stringify(spec.comment)} ;`;
  return `${s} }`;
}

/** Format one command as a line of an `nft -f` script, spelled as knftables writes it. */
export function formatCommand(c: NftCommand): string {
  const head = `${c.verb} ${c.object} ${c.family} ${c.table}`;
  switch (c.object) {
    case "table":
      return c.comment !== undefined ? `${head} { comment ${JSON.stringify(c.comment)} ; }` : head;
    case "chain":
      if (c.hook !== undefined) return `${head} ${c.name} ${hookBlock(c.hook, c.comment)}`;
      if (c.comment !== undefined) return `${head} ${c.name} { comment ${JSON.stringify(c.comment)} ; }`;
      return `${head} ${c.name}`;
    case "rule":
      if (c.verb === "delete") return `${head} ${c.chain} handle ${c.handle ?? 0}`;
      return `${head} ${c.chain}${c.handle !== undefined ? ` index ${c.handle}` : ""} ${c.rule}`;
    case "set":
    case "map":
      return c.spec !== undefined ? `${head} ${c.name} ${formatSetSpec(c.spec)}` : `${head} ${c.name}`;
    case "element":
      return `${head} ${c.name} { ${c.elements.map((e) => formatElement(e)).join(", ")} }`;
  }
}

/** Format a whole transaction, one command per line, with a final newline. */
export function formatNftScript(commands: readonly NftCommand[]): string {
  let s = "";
  for (const c of commands) s += `${formatCommand(c)}\n`;
  return s;
}
