import type { LocalDetector, ProxyConfig } from "@knet/kube-proxy";
import { markText, quoteWord } from "@knet/kube-proxy-iptables";
import { IPSETS, type IpsetState } from "./ipsets.js";

/** An LB VIP the node itself must not reach (its IP is in none of the source ranges): one `-m ipvs` DROP rule. */
export interface NoNodeAccess {
  /** LB address text. */
  readonly ip: string;
  /** Lower-case protocol. */
  readonly protocol: string;
  /** Port. */
  readonly port: number;
}

/** Settings of {@link renderIpvsIptables}. */
export interface IpvsIptablesOptions {
  /** Node and proxy configuration. */
  readonly config: ProxyConfig;
  /** `--random-fully` on the MASQUERADE rule (iptables supports it; default true). */
  readonly randomFully?: boolean;
  /** Mark spelling: `binary` (`0x00004000`, what the binary writes; default) or `test` (`0x4000`). */
  readonly markFormat?: "binary" | "test";
}

/** The chains IPVS mode owns, in kube-proxy's `iptablesChains` order. */
export const IPVS_IPTABLES_CHAINS: readonly { readonly table: "nat" | "filter"; readonly chain: string }[] = [
  { table: "nat", chain: "KUBE-SERVICES" },
  { table: "nat", chain: "KUBE-POSTROUTING" },
  { table: "nat", chain: "KUBE-NODE-PORT" },
  { table: "nat", chain: "KUBE-LOAD-BALANCER" },
  { table: "nat", chain: "KUBE-MARK-MASQ" },
  { table: "filter", chain: "KUBE-FORWARD" },
  { table: "filter", chain: "KUBE-NODE-PORT" },
  { table: "filter", chain: "KUBE-PROXY-FIREWALL" },
  { table: "filter", chain: "KUBE-SOURCE-RANGES-FIREWALL" },
  { table: "filter", chain: "KUBE-IPVS-FILTER" },
  { table: "filter", chain: "KUBE-IPVS-OUT-FILTER" },
];

/** The jumps from built-in chains kube-proxy ensures every sync (`iptablesJumpChain`), in order; each is prepended. */
export const IPVS_JUMPS: readonly {
  readonly table: "nat" | "filter";
  readonly from: string;
  readonly to: string;
  readonly comment: string;
}[] = [
  { table: "nat", from: "OUTPUT", to: "KUBE-SERVICES", comment: "kubernetes service portals" },
  { table: "nat", from: "PREROUTING", to: "KUBE-SERVICES", comment: "kubernetes service portals" },
  { table: "nat", from: "POSTROUTING", to: "KUBE-POSTROUTING", comment: "kubernetes postrouting rules" },
  { table: "filter", from: "FORWARD", to: "KUBE-FORWARD", comment: "kubernetes forwarding rules" },
  { table: "filter", from: "INPUT", to: "KUBE-NODE-PORT", comment: "kubernetes health check rules" },
  { table: "filter", from: "INPUT", to: "KUBE-PROXY-FIREWALL", comment: "kube-proxy firewall rules" },
  { table: "filter", from: "FORWARD", to: "KUBE-PROXY-FIREWALL", comment: "kube-proxy firewall rules" },
  { table: "filter", from: "INPUT", to: "KUBE-IPVS-FILTER", comment: "kubernetes ipvs access filter" },
  { table: "filter", from: "OUTPUT", to: "KUBE-IPVS-OUT-FILTER", comment: "kubernetes ipvs access filter" },
];

/** (set, table, from chain, target, match flags, protocol) rows of `ipsetWithIptablesChain`, in order. */
const SET_CHAINS: readonly [string, "nat" | "filter", string, string, string, string][] = [
  ["KUBE-LOOP-BACK", "nat", "KUBE-POSTROUTING", "MASQUERADE", "dst,dst,src", ""],
  ["KUBE-LOAD-BALANCER", "nat", "KUBE-SERVICES", "KUBE-LOAD-BALANCER", "dst,dst", ""],
  ["KUBE-LOAD-BALANCER-LOCAL", "nat", "KUBE-LOAD-BALANCER", "RETURN", "dst,dst", ""],
  ["KUBE-NODE-PORT-LOCAL-TCP", "nat", "KUBE-NODE-PORT", "RETURN", "dst", "tcp"],
  ["KUBE-NODE-PORT-TCP", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst", "tcp"],
  ["KUBE-NODE-PORT-LOCAL-UDP", "nat", "KUBE-NODE-PORT", "RETURN", "dst", "udp"],
  ["KUBE-NODE-PORT-UDP", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst", "udp"],
  ["KUBE-NODE-PORT-LOCAL-SCTP-HASH", "nat", "KUBE-NODE-PORT", "RETURN", "dst,dst", "sctp"],
  ["KUBE-NODE-PORT-SCTP-HASH", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst,dst", "sctp"],
  ["KUBE-LOAD-BALANCER-FW", "filter", "KUBE-PROXY-FIREWALL", "KUBE-SOURCE-RANGES-FIREWALL", "dst,dst", ""],
  ["KUBE-LOAD-BALANCER-SOURCE-CIDR", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "RETURN", "dst,dst,src", ""],
  ["KUBE-LOAD-BALANCER-SOURCE-IP", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "RETURN", "dst,dst,src", ""],
];

function comment(base: string): string {
  const info = IPSETS.find((i) => i.name === base);
  return `"${info?.comment ?? base}"`;
}

/** `IfNotLocal()` of the local-traffic detector, or undefined without one. */
function ifNotLocal(d: LocalDetector): string | undefined {
  switch (d.mode) {
    case "ClusterCIDR":
    case "NodeCIDR":
      return `! -s ${d.cidr.toString()}`;
    case "BridgeInterface":
      return `! -i ${d.interfaceName}`;
    case "InterfaceNamePrefix":
      return `! -i ${d.prefix}+`;
    default:
      return undefined;
  }
}

/**
 * The iptables-restore payload of one IPVS-mode sync, as kube-proxy's
 * `writeIptablesRules` builds it: nat (chains, rules) then filter, complete
 * every sync, rules only for non-empty sets except the fixed ones.
 */
export function renderIpvsIptables(
  options: IpvsIptablesOptions,
  sets: IpsetState,
  noNodeAccess: readonly NoNodeAccess[],
): string {
  const { config } = options;
  const mark = markText({ config, markFormat: options.markFormat ?? "binary" });
  const nat: string[] = [];
  const filter: string[] = [];
  const natChains = IPVS_IPTABLES_CHAINS.filter((c) => c.table === "nat").map((c) => `:${c.chain} - [0:0]`);
  const filterChains = IPVS_IPTABLES_CHAINS.filter((c) => c.table === "filter").map((c) => `:${c.chain} - [0:0]`);
  const n = (s: string): void => {
    nat.push(s);
  };
  const f = (s: string): void => {
    filter.push(s);
  };
  const S = (base: string): string => sets.name(base);
  n(`-A KUBE-SERVICES -s ${config.family === 6 ? "::1/128" : "127.0.0.0/8"} -j RETURN`);
  for (const [set, table, from, to, match, proto] of SET_CHAINS) {
    if (sets.isEmpty(set)) continue;
    const p = proto === "" ? "" : ` -p ${proto}`;
    const line = `-A ${from}${p} -m comment --comment ${comment(set)} -m set --match-set ${S(set)} ${match} -j ${to}`;
    if (table === "nat") n(line);
    else f(line);
  }
  if (!sets.isEmpty("KUBE-CLUSTER-IP")) {
    const args = `-A KUBE-SERVICES -m comment --comment ${comment("KUBE-CLUSTER-IP")} -m set --match-set ${S("KUBE-CLUSTER-IP")}`;
    const detector = ifNotLocal(config.localDetector);
    if (config.masqueradeAll) n(`${args} dst,dst -j KUBE-MARK-MASQ`);
    else if (detector !== undefined) n(`${args} dst,dst ${detector} -j KUBE-MARK-MASQ`);
    else n(`${args} src,dst -j KUBE-MARK-MASQ`);
  }
  const externalIPRules = (args: string): void => {
    n(`${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    n(`${args} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (!sets.isEmpty("KUBE-EXTERNAL-IP")) {
    const args = `-A KUBE-SERVICES -m comment --comment ${comment("KUBE-EXTERNAL-IP")} -m set --match-set ${S("KUBE-EXTERNAL-IP")} dst,dst`;
    n(`${args} -j KUBE-MARK-MASQ`);
    externalIPRules(args);
  }
  if (!sets.isEmpty("KUBE-EXTERNAL-IP-LOCAL")) {
    externalIPRules(
      `-A KUBE-SERVICES -m comment --comment ${comment("KUBE-EXTERNAL-IP-LOCAL")} -m set --match-set ${S("KUBE-EXTERNAL-IP-LOCAL")} dst,dst`,
    );
  }
  n("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT");
  n("-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ");
  f("-A KUBE-SOURCE-RANGES-FIREWALL -j DROP");
  for (const e of noNodeAccess)
    f(`-A KUBE-IPVS-OUT-FILTER -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.protocol} --vport ${e.port} -j DROP`);
  for (const set of ["KUBE-CLUSTER-IP", "KUBE-LOAD-BALANCER"])
    if (!sets.isEmpty(set)) n(`-A KUBE-SERVICES -m set --match-set ${S(set)} dst,dst -j ACCEPT`);
  f(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  f(
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  );
  f(
    `-A KUBE-NODE-PORT -m comment --comment ${comment("KUBE-HEALTH-CHECK-NODE-PORT")} -m set --match-set ${S("KUBE-HEALTH-CHECK-NODE-PORT")} dst -j ACCEPT`,
  );
  f(`-A KUBE-IPVS-FILTER -m set --match-set ${S("KUBE-LOAD-BALANCER")} dst,dst -j RETURN`);
  f(`-A KUBE-IPVS-FILTER -m set --match-set ${S("KUBE-CLUSTER-IP")} dst,dst -j RETURN`);
  f(`-A KUBE-IPVS-FILTER -m set --match-set ${S("KUBE-EXTERNAL-IP")} dst,dst -j RETURN`);
  f(`-A KUBE-IPVS-FILTER -m set --match-set ${S("KUBE-EXTERNAL-IP-LOCAL")} dst,dst -j RETURN`);
  f(`-A KUBE-IPVS-FILTER -m set --match-set ${S("KUBE-HEALTH-CHECK-NODE-PORT")} dst -j RETURN`);
  f(`-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${S("KUBE-IPVS-IPS")} dst -j REJECT`);
  n(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  n(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  n(
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${options.randomFully === false ? "" : " --random-fully"}`,
  );
  n(`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`);
  return `${["*nat", ...natChains, ...nat, "COMMIT", "*filter", ...filterChains, ...filter, "COMMIT"].join("\n")}\n`;
}

/**
 * An iptables-restore input (`--noflush`) that sets a fresh node up as the
 * IPVS proxier's `createAndLinkKubeChain` does: its chains and the jump rules,
 * each prepended in order (so later ones end up first).
 */
export function renderIpvsBootstrap(): string {
  const out: string[] = [];
  for (const table of ["nat", "filter"] as const) {
    out.push(`*${table}`);
    for (const c of IPVS_IPTABLES_CHAINS) if (c.table === table) out.push(`:${c.chain} - [0:0]`);
    for (const j of IPVS_JUMPS)
      if (j.table === table) out.push(`-I ${j.from} 1 -m comment --comment ${quoteWord(j.comment)} -j ${j.to}`);
    out.push("COMMIT");
  }
  return `${out.join("\n")}\n`;
}
