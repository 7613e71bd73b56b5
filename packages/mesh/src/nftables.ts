import {
  AGENT_DNS_PORT,
  type CaptureConfig,
  effectiveRedirectDns,
  isTproxy,
  OUTBOUND_MARK,
  parseInterceptFilter,
  resolveCaptureConfig,
  separateV4V6,
  splitList,
} from "./config.js";
import { MeshError } from "./errors.js";

/** What istio-nftables writes: one `nft -f` transaction over the `inet` tables. */
export interface NftablesCapture {
  /** The transaction text (`add table`, `flush table`, `add chain`, `add/insert rule` lines). */
  readonly script: string;
  /** The tables it creates, in order. */
  readonly tables: readonly string[];
}

/** The three `inet` tables istio-nftables owns. */
export const NFT_TABLES = {
  nat: "istio-proxy-nat",
  mangle: "istio-proxy-mangle",
  raw: "istio-proxy-raw",
} as const;

type TableKey = keyof typeof NFT_TABLES;

interface NftRule {
  readonly chain: string;
  readonly rule: string;
  /** Insert position (0-based), absent for an append. */
  readonly index?: number;
}

interface ChainDef {
  readonly name: string;
  /** `type X hook Y priority P` for base chains. */
  readonly base?: string;
}

/** Every chain each table may hold, in the order they are declared. */
const CHAINS: Record<TableKey, readonly ChainDef[]> = {
  nat: [
    { name: "prerouting", base: "type nat hook prerouting priority -100" },
    { name: "output", base: "type nat hook output priority -100" },
    { name: "istio-inbound" },
    { name: "istio-redirect" },
    { name: "istio-in-redirect" },
    { name: "istio-output" },
    { name: "istio-output-dns" },
  ],
  mangle: [
    { name: "prerouting", base: "type filter hook prerouting priority -150" },
    { name: "output", base: "type route hook output priority -150" },
    { name: "istio-divert" },
    { name: "istio-tproxy" },
    { name: "istio-inbound" },
    { name: "istio-drop" },
  ],
  raw: [
    { name: "prerouting", base: "type filter hook prerouting priority -300" },
    { name: "output", base: "type filter hook output priority -300" },
    { name: "istio-inbound" },
    { name: "istio-output-dns" },
  ],
};

class NftRuleSet {
  readonly rules: Record<TableKey, NftRule[]> = {
    nat: [],
    mangle: [],
    raw: [],
  };
  constructor(private readonly ipv6: boolean) {}
  add(table: TableKey, chain: string, rule: string): void {
    this.rules[table].push({ chain, rule });
  }
  /** Added only when IPv6 is on (upstream `AppendV6RuleIfSupported`). */
  add6(table: TableKey, chain: string, rule: string): void {
    if (this.ipv6) this.add(table, chain, rule);
  }
  insert(table: TableKey, chain: string, index: number, rule: string): void {
    this.rules[table].push({ chain, rule, index });
  }
  /** Inserted only when IPv6 is on (upstream `InsertV6RuleIfSupported`). */
  insert6(table: TableKey, chain: string, index: number, rule: string): void {
    if (this.ipv6) this.insert(table, chain, index, rule);
  }
}

function inboundRules(cfg: CaptureConfig, rs: NftRuleSet): void {
  if (cfg.inboundPortsInclude === "") return;
  const wildcard = cfg.inboundPortsInclude === "*";
  if (isTproxy(cfg)) {
    const mark = cfg.inboundTProxyMark;
    rs.add("mangle", "istio-divert", `counter meta mark set ${mark}`);
    rs.add("mangle", "istio-divert", "counter accept");
    rs.add(
      "mangle",
      "istio-tproxy",
      `meta l4proto tcp ip daddr != ${cfg.hostIpv4LoopbackCidr} tproxy ip to :${cfg.inboundCapturePort} meta mark set ${mark} counter accept`,
    );
    rs.add6(
      "mangle",
      "istio-tproxy",
      `meta l4proto tcp ip6 daddr != ::1/128 tproxy ip6 to :${cfg.inboundCapturePort} meta mark set ${mark} counter accept`,
    );
    rs.add("mangle", "prerouting", "meta l4proto tcp counter jump istio-inbound");
    if (wildcard) {
      for (const port of splitList(cfg.inboundPortsExclude)) {
        rs.add("mangle", "istio-inbound", `meta l4proto tcp tcp dport ${port} counter return`);
      }
      rs.add("mangle", "istio-inbound", "meta l4proto tcp ct state related,established counter jump istio-divert");
      rs.add("mangle", "istio-inbound", "meta l4proto tcp counter jump istio-tproxy");
    } else {
      for (const port of splitList(cfg.inboundPortsInclude)) {
        rs.add(
          "mangle",
          "istio-inbound",
          `meta l4proto tcp ct state related,established tcp dport ${port} counter jump istio-divert`,
        );
        rs.add("mangle", "istio-inbound", `meta l4proto tcp tcp dport ${port} counter jump istio-tproxy`);
      }
    }
    return;
  }
  rs.add("nat", "prerouting", "meta l4proto tcp counter jump istio-inbound");
  if (wildcard) {
    for (const port of splitList(cfg.inboundPortsExclude)) {
      rs.add("nat", "istio-inbound", `meta l4proto tcp tcp dport ${port} counter return`);
    }
    rs.add("nat", "istio-inbound", "meta l4proto tcp counter jump istio-in-redirect");
  } else {
    for (const port of splitList(cfg.inboundPortsInclude)) {
      rs.add("nat", "istio-inbound", `meta l4proto tcp tcp dport ${port} counter jump istio-in-redirect`);
    }
  }
}

function dnsRules(cfg: CaptureConfig, rs: NftRuleSet): void {
  const all = cfg.captureAllDns;
  const v4 = cfg.dnsServersV4;
  const v6 = cfg.dnsServersV6;
  const to = `:${AGENT_DNS_PORT}`;
  rs.add("raw", "output", "counter jump istio-output-dns");
  if (all || v4.length > 0 || v6.length > 0) rs.add("nat", "istio-output", "counter jump istio-output-dns");
  if (all) {
    rs.add("nat", "istio-output-dns", `meta l4proto tcp tcp dport 53 counter redirect to ${to}`);
  } else {
    for (const s of v4) rs.add("nat", "istio-output-dns", `ip daddr ${s}/32 tcp dport 53 counter redirect to ${to}`);
    for (const s of v6) rs.add6("nat", "istio-output-dns", `ip6 daddr ${s}/128 tcp dport 53 counter redirect to ${to}`);
  }
  if (all) {
    rs.add("nat", "istio-output-dns", `udp dport 53 counter redirect to ${to}`);
  } else {
    for (const s of v4) rs.add("nat", "istio-output-dns", `ip daddr ${s}/32 udp dport 53 counter redirect to ${to}`);
    for (const s of v6) rs.add6("nat", "istio-output-dns", `ip6 daddr ${s}/128 udp dport 53 counter redirect to ${to}`);
  }
  for (const [key, ids] of [
    ["skuid", cfg.proxyUid],
    ["skgid", cfg.proxyGid],
  ] as const) {
    for (const id of splitList(ids)) {
      rs.add("raw", "istio-output-dns", `udp dport 53 meta ${key} ${id} counter ct zone set 1`);
      rs.add("raw", "istio-output-dns", `udp sport ${AGENT_DNS_PORT} meta ${key} ${id} counter ct zone set 2`);
    }
  }
  if (all) {
    rs.add("raw", "prerouting", "counter jump istio-inbound");
    rs.add("raw", "istio-output-dns", "udp dport 53 counter ct zone set 2");
    rs.add("raw", "istio-inbound", "udp sport 53 counter ct zone set 1");
    return;
  }
  if (v4.length > 0 || v6.length > 0) rs.add("raw", "prerouting", "counter jump istio-inbound");
  for (const s of v4) {
    rs.add("raw", "istio-output-dns", `udp dport 53 ip daddr ${s}/32 counter ct zone set 2`);
    rs.add("raw", "istio-inbound", `udp sport 53 ip saddr ${s}/32 counter ct zone set 1`);
  }
  for (const s of v6) {
    rs.add6("raw", "istio-output-dns", `udp dport 53 ip6 daddr ${s}/128 counter ct zone set 2`);
    rs.add6("raw", "istio-inbound", `udp sport 53 ip6 saddr ${s}/128 counter ct zone set 1`);
  }
}

/** The rules of istio-nftables' `Run()`, in its order. */
function buildRules(cfg: CaptureConfig): NftRuleSet {
  const rs = new NftRuleSet(cfg.enableIpv6);
  const lo4 = cfg.hostIpv4LoopbackCidr;
  const exclude = separateV4V6("outboundIpRangesExclude", cfg.outboundIpRangesExclude);
  const include = separateV4V6("outboundIpRangesInclude", cfg.outboundIpRangesInclude);
  const redirectDns = effectiveRedirectDns(cfg);
  const virt = splitList(cfg.kubeVirtInterfaces);

  for (const nic of splitList(cfg.excludeInterfaces)) {
    rs.add("nat", "prerouting", `iifname ${nic} counter return`);
    rs.add("nat", "output", `oifname ${nic} counter return`);
  }
  if (isTproxy(cfg)) {
    for (const nic of splitList(cfg.excludeInterfaces)) {
      rs.add("mangle", "prerouting", `iifname ${nic} counter return`);
      rs.add("mangle", "output", `oifname ${nic} counter return`);
    }
  }
  for (const nic of virt) rs.insert("nat", "prerouting", 0, `iifname ${nic} counter return`);
  if (cfg.dropInvalid) {
    rs.add("mangle", "prerouting", "meta l4proto tcp ct state invalid counter jump istio-drop");
    rs.add("mangle", "istio-drop", "counter drop");
  }
  rs.add("nat", "istio-inbound", `meta l4proto tcp tcp dport ${cfg.inboundTunnelPort} counter return`);
  rs.add("nat", "istio-redirect", `meta l4proto tcp counter redirect to :${cfg.proxyPort}`);
  rs.add("nat", "istio-in-redirect", `meta l4proto tcp counter redirect to :${cfg.inboundCapturePort}`);
  inboundRules(cfg, rs);

  rs.add("nat", "output", "counter jump istio-output");
  for (const port of splitList(cfg.outboundPortsExclude)) {
    rs.add("nat", "istio-output", `tcp dport ${port} counter return`);
    rs.add("nat", "istio-output", `udp dport ${port} counter return`);
  }
  rs.add("nat", "istio-output", "oifname lo ip saddr 127.0.0.6/32 counter return");
  rs.add6("nat", "istio-output", "oifname lo ip6 saddr ::6/128 counter return");

  const loopbackIncluded = include.v4.hasLoopback || include.v6.hasLoopback;
  for (const [key, ids] of [
    ["skuid", cfg.proxyUid],
    ["skgid", cfg.proxyGid],
  ] as const) {
    for (const id of splitList(ids)) {
      const ports = redirectDns && key === "skuid" ? `{ 53, ${cfg.inboundTunnelPort} }` : cfg.inboundTunnelPort;
      rs.add(
        "nat",
        "istio-output",
        `oifname lo meta l4proto tcp ip daddr != ${lo4} tcp dport != ${ports} ${key} ${id} counter jump istio-in-redirect`,
      );
      rs.add6(
        "nat",
        "istio-output",
        `oifname lo meta l4proto tcp ip6 daddr != ::1/128 tcp dport != ${ports} ${key} ${id} counter jump istio-in-redirect`,
      );
      if (!loopbackIncluded) {
        if (redirectDns) {
          rs.add("nat", "istio-output", `oifname lo meta l4proto tcp tcp dport != 53 ${key} != ${id} counter return`);
        } else {
          rs.add("nat", "istio-output", `oifname lo ${key} != ${id} counter return`);
        }
      }
      rs.add("nat", "istio-output", `${key} ${id} counter return`);
    }
  }

  const filter = parseInterceptFilter(cfg.ownerGroupsInclude, cfg.ownerGroupsExclude);
  if (filter.except) {
    for (const g of filter.values) rs.add("nat", "istio-output", `skgid ${g} counter return`);
  } else {
    rs.add("nat", "istio-output", `${filter.values.map((g) => `skgid != ${g} `).join("")}counter return`);
  }
  if (redirectDns) dnsRules(cfg, rs);

  rs.add("nat", "istio-output", `ip daddr ${lo4} counter return`);
  rs.add6("nat", "istio-output", "ip6 daddr ::1/128 counter return");
  for (const cidr of exclude.v4.cidrs) rs.add("nat", "istio-output", `ip daddr ${cidr} counter return`);
  for (const cidr of exclude.v6.cidrs) rs.add6("nat", "istio-output", `ip6 daddr ${cidr} counter return`);
  for (const port of splitList(cfg.outboundPortsInclude)) {
    rs.add("nat", "istio-output", `tcp dport ${port} counter jump istio-redirect`);
  }
  if (include.v4.isWildcard || include.v6.isWildcard) {
    rs.add("nat", "istio-output", "counter jump istio-redirect");
    for (const nic of virt) rs.insert("nat", "prerouting", 0, `iifname ${nic} counter jump istio-redirect`);
  } else {
    for (const cidr of include.v4.cidrs) {
      for (const nic of virt) {
        rs.insert("nat", "prerouting", 0, `iifname ${nic} ip daddr ${cidr} counter jump istio-redirect`);
      }
      rs.add("nat", "istio-output", `ip daddr ${cidr} counter jump istio-redirect`);
    }
    for (const cidr of include.v6.cidrs) {
      for (const nic of virt) {
        rs.insert6("nat", "prerouting", 0, `iifname ${nic} ip6 daddr ${cidr} counter jump istio-redirect`);
      }
      rs.add6("nat", "istio-output", `ip6 daddr ${cidr} counter jump istio-redirect`);
    }
  }

  if (isTproxy(cfg)) {
    const mark = cfg.inboundTProxyMark;
    rs.add("mangle", "prerouting", `meta l4proto tcp mark ${mark} counter ct mark set mark`);
    rs.add("mangle", "output", `oifname lo meta l4proto tcp mark ${mark} counter return`);
    for (const [key, ids] of [
      ["skuid", cfg.proxyUid],
      ["skgid", cfg.proxyGid],
    ] as const) {
      for (const id of splitList(ids)) {
        rs.add(
          "mangle",
          "output",
          `oifname lo meta l4proto tcp ip daddr != ${lo4} ${key} ${id} counter meta mark set ${OUTBOUND_MARK}`,
        );
        rs.add6(
          "mangle",
          "output",
          `oifname lo meta l4proto tcp ip6 daddr != ::1/128 ${key} ${id} counter meta mark set ${OUTBOUND_MARK}`,
        );
      }
    }
    rs.add("mangle", "output", `meta l4proto tcp ct mark ${mark} counter meta mark set ct mark`);
    rs.insert("mangle", "istio-inbound", 0, `meta l4proto tcp mark ${mark} counter return`);
    rs.insert("mangle", "istio-inbound", 1, "iifname lo meta l4proto tcp ip saddr 127.0.0.6/32 counter return");
    rs.insert6("mangle", "istio-inbound", 1, "iifname lo meta l4proto tcp ip6 saddr ::6/128 counter return");
    rs.insert("mangle", "istio-inbound", 2, `iifname lo meta l4proto tcp mark != ${OUTBOUND_MARK} counter return`);
  }
  return rs;
}

/**
 * One table's part of the transaction, as istio-nftables adds it: the table, a
 * flush, the chains that get rules (in declaration order), then the rules. An
 * insert into a chain with no rule at or after its index yet becomes an append,
 * as nft refuses such an insert.
 */
function tableText(key: TableKey, rules: readonly NftRule[]): string {
  if (rules.length === 0) return "";
  const name = NFT_TABLES[key];
  const used = new Set(rules.map((r) => r.chain));
  let out = `add table inet ${name}\nflush table inet ${name}\n`;
  for (const c of CHAINS[key]) {
    if (!used.has(c.name)) continue;
    out +=
      c.base === undefined
        ? `add chain inet ${name} ${c.name}\n`
        : `add chain inet ${name} ${c.name} { ${c.base} ; }\n`;
  }
  const count = new Map<string, number>();
  for (const r of rules) {
    const jump = /\bjump (\S+)$/.exec(r.rule)?.[1];
    if (jump !== undefined && !used.has(jump)) {
      // Upstream adds only chains that get rules, so this jump would make nft refuse the whole
      // transaction. It happens when DNS servers of one family are listed while that family is off.
      throw new MeshError(
        "dnsServersV6",
        `istio-nftables would jump from ${name} ${r.chain} to ${jump}, which gets no rules, and nft refuses that; ` +
          "set enableIpv6 (--enable-ipv6) or list no IPv6 DNS servers",
      );
    }
    const n = count.get(r.chain) ?? 0;
    if (r.index !== undefined && n > 0 && r.index < n) {
      out += `insert rule inet ${name} ${r.chain} index ${r.index} ${r.rule}\n`;
    } else {
      out += `add rule inet ${name} ${r.chain} ${r.rule}\n`;
    }
    count.set(r.chain, n + 1);
  }
  return out;
}

/**
 * The nftables transaction istio-nftables (`--native-nftables`) writes for
 * `config` (defaults filled and values checked by {@link resolveCaptureConfig}).
 * @throws {@link MeshError} for a configuration value that cannot be used.
 */
export function nftablesCapture(config: Partial<CaptureConfig> = {}): NftablesCapture {
  const cfg = resolveCaptureConfig(config);
  const rs = buildRules(cfg);
  const keys = (["nat", "mangle", "raw"] as const).filter((k) => rs.rules[k].length > 0);
  return {
    script: keys.map((k) => tableText(k, rs.rules[k])).join(""),
    tables: keys.map((k) => NFT_TABLES[k]),
  };
}
