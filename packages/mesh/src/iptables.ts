import {
  AGENT_DNS_PORT,
  type CaptureConfig,
  effectiveRedirectDns,
  type InterceptFilter,
  isTproxy,
  type NetworkRange,
  OUTBOUND_MARK,
  parseInterceptFilter,
  resolveCaptureConfig,
  separateV4V6,
  splitList,
} from "./config.js";

/** What istio-iptables hands to the kernel and what `--dry-run` records. */
export interface IptablesCapture {
  /** `iptables-restore --noflush` input for IPv4 (empty when there is nothing to write). */
  readonly v4: string;
  /** `ip6tables-restore --noflush` input, or undefined when IPv6 is off. */
  readonly v6: string | undefined;
  /**
   * What `istio-iptables --dry-run` records: the two `*-save` probes of the state
   * check, the restore inputs line by line, and the final `*-save` dumps.
   */
  readonly dryRun: string;
}

type Table = "filter" | "nat" | "mangle" | "raw";

interface Rule {
  readonly chain: string;
  readonly table: Table;
  /** `-A CHAIN ...` or `-I CHAIN POS ...`. */
  readonly params: readonly string[];
}

/** Chains and targets iptables has built in: never declared with `-N`. */
const BUILTIN = new Set(["INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING", "ACCEPT", "RETURN", "DROP"]);

/**
 * Rules for both families in the order istio-iptables adds them. A rule is given
 * as its iptables arguments in one string (no argument holds a space: values are
 * validated first).
 */
class RuleSet {
  readonly v4: Rule[] = [];
  readonly v6: Rule[] = [];
  constructor(private readonly ipv6: boolean) {}

  append4(chain: string, table: Table, spec: string): void {
    this.v4.push({ chain, table, params: ["-A", chain, ...spec.split(" ")] });
  }
  append6(chain: string, table: Table, spec: string): void {
    if (this.ipv6) this.v6.push({ chain, table, params: ["-A", chain, ...spec.split(" ")] });
  }
  append(chain: string, table: Table, spec: string): void {
    this.append4(chain, table, spec);
    this.append6(chain, table, spec);
  }
  insert4(chain: string, table: Table, pos: number, spec: string): void {
    this.v4.push({
      chain,
      table,
      params: ["-I", chain, String(pos), ...spec.split(" ")],
    });
  }
  insert6(chain: string, table: Table, pos: number, spec: string): void {
    if (this.ipv6)
      this.v6.push({
        chain,
        table,
        params: ["-I", chain, String(pos), ...spec.split(" ")],
      });
  }
  insert(chain: string, table: Table, pos: number, spec: string): void {
    this.insert4(chain, table, pos, spec);
    this.insert6(chain, table, pos, spec);
  }
  /** One rule per family, `spec` given that family's address (upstream `AppendVersionedRule`). */
  appendVersioned(a4: string, a6: string, chain: string, table: Table, spec: (addr: string) => string): void {
    this.append4(chain, table, spec(a4));
    this.append6(chain, table, spec(a6));
  }
}

/**
 * The restore input for one family, as upstream's `buildRestore` lays it out:
 * tables in name order (only those with rules), each declaring first the chains
 * that get rules and then the chains only jumped to, in first-use order, then the
 * rules in the order they were added.
 */
function restoreText(rules: readonly Rule[]): string {
  const byTable = new Map<Table, string[]>([
    ["filter", []],
    ["nat", []],
    ["mangle", []],
  ]);
  const lines = (t: Table): string[] => {
    let l = byTable.get(t);
    if (l === undefined) {
      l = [];
      byTable.set(t, l);
    }
    return l;
  };
  const seen = new Set<string>();
  for (const r of rules) {
    const key = `${r.chain}:${r.table}`;
    if (!seen.has(key)) {
      seen.add(key);
      if (!BUILTIN.has(r.chain)) lines(r.table).push(`-N ${r.chain}`);
    }
  }
  for (const r of rules) {
    if (r.params.length >= 2 && r.params[r.params.length - 2] === "-j") {
      const target = r.params[r.params.length - 1] as string;
      const key = `${target}:${r.table}`;
      if (!seen.has(key)) {
        seen.add(key);
        if (!BUILTIN.has(target)) lines(r.table).push(`-N ${target}`);
      }
    }
  }
  for (const r of rules) lines(r.table).push(r.params.join(" "));
  let out = "";
  for (const table of [...byTable.keys()].sort()) {
    const l = byTable.get(table) ?? [];
    if (l.length === 0) continue;
    out += `* ${table}\n${l.map((x) => `${x}\n`).join("")}COMMIT\n`;
  }
  return out;
}

function inboundRules(cfg: CaptureConfig, rs: RuleSet): void {
  if (cfg.inboundPortsInclude === "") return;
  const tproxy = isTproxy(cfg);
  const mark = cfg.inboundTProxyMark;
  const table: Table = tproxy ? "mangle" : "nat";
  if (tproxy) {
    rs.append("ISTIO_DIVERT", "mangle", `-j MARK --set-mark ${mark}`);
    rs.append("ISTIO_DIVERT", "mangle", "-j ACCEPT");
    rs.appendVersioned(
      cfg.hostIpv4LoopbackCidr,
      "::1/128",
      "ISTIO_TPROXY",
      "mangle",
      (a) => `! -d ${a} -p tcp -j TPROXY --tproxy-mark ${mark}/0xffffffff --on-port ${cfg.inboundCapturePort}`,
    );
  }
  rs.append("PREROUTING", table, "-p tcp -j ISTIO_INBOUND");
  if (cfg.inboundPortsInclude === "*") {
    for (const port of splitList(cfg.inboundPortsExclude)) {
      rs.append("ISTIO_INBOUND", table, `-p tcp --dport ${port} -j RETURN`);
    }
    if (tproxy) {
      rs.append("ISTIO_INBOUND", "mangle", "-p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT");
      rs.append("ISTIO_INBOUND", "mangle", "-p tcp -j ISTIO_TPROXY");
    } else {
      rs.append("ISTIO_INBOUND", "nat", "-p tcp -j ISTIO_IN_REDIRECT");
    }
    return;
  }
  for (const port of splitList(cfg.inboundPortsInclude)) {
    if (tproxy) {
      rs.append(
        "ISTIO_INBOUND",
        "mangle",
        `-p tcp --dport ${port} -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT`,
      );
      rs.append("ISTIO_INBOUND", "mangle", `-p tcp --dport ${port} -j ISTIO_TPROXY`);
    } else {
      rs.append("ISTIO_INBOUND", "nat", `-p tcp --dport ${port} -j ISTIO_IN_REDIRECT`);
    }
  }
}

function outboundIncludeRules(
  cfg: CaptureConfig,
  range: NetworkRange,
  append: (chain: string, table: Table, spec: string) => void,
  insert: (chain: string, table: Table, pos: number, spec: string) => void,
): void {
  const virt = splitList(cfg.kubeVirtInterfaces);
  if (range.isWildcard) {
    append("ISTIO_OUTPUT", "nat", "-j ISTIO_REDIRECT");
    for (const nic of virt) insert("PREROUTING", "nat", 1, `-i ${nic} -j ISTIO_REDIRECT`);
    return;
  }
  for (const cidr of range.cidrs) {
    for (const nic of virt) insert("PREROUTING", "nat", 1, `-i ${nic} -d ${cidr} -j ISTIO_REDIRECT`);
    append("ISTIO_OUTPUT", "nat", `-d ${cidr} -j ISTIO_REDIRECT`);
  }
}

function ownerGroupRules(rs: RuleSet, filter: InterceptFilter): void {
  if (filter.except) {
    for (const g of filter.values) rs.append("ISTIO_OUTPUT", "nat", `-m owner --gid-owner ${g} -j RETURN`);
    return;
  }
  const noneOf = filter.values.map((g) => `-m owner ! --gid-owner ${g} `).join("");
  rs.append("ISTIO_OUTPUT", "nat", `${noneOf}-j RETURN`);
}

function dnsRules(cfg: CaptureConfig, rs: RuleSet): void {
  const all = cfg.captureAllDns;
  const v4 = cfg.dnsServersV4;
  const v6 = cfg.dnsServersV6;
  rs.append("OUTPUT", "raw", "-j ISTIO_OUTPUT_DNS");
  if (all || v4.length > 0) rs.append4("ISTIO_OUTPUT", "nat", "-j ISTIO_OUTPUT_DNS");
  if (all || v6.length > 0) rs.append6("ISTIO_OUTPUT", "nat", "-j ISTIO_OUTPUT_DNS");
  if (all) {
    rs.append("ISTIO_OUTPUT_DNS", "nat", `-p tcp --dport 53 -j REDIRECT --to-ports ${AGENT_DNS_PORT}`);
  } else {
    for (const s of v4) {
      rs.append4("ISTIO_OUTPUT_DNS", "nat", `-p tcp --dport 53 -d ${s}/32 -j REDIRECT --to-ports ${AGENT_DNS_PORT}`);
    }
    for (const s of v6) {
      rs.append6("ISTIO_OUTPUT_DNS", "nat", `-p tcp --dport 53 -d ${s}/128 -j REDIRECT --to-ports ${AGENT_DNS_PORT}`);
    }
  }
  // Upstream spells the UDP redirects with `--to-port` (an accepted abbreviation).
  if (all) {
    rs.append("ISTIO_OUTPUT_DNS", "nat", `-p udp --dport 53 -j REDIRECT --to-port ${AGENT_DNS_PORT}`);
  } else {
    for (const s of v4) {
      rs.append4("ISTIO_OUTPUT_DNS", "nat", `-p udp --dport 53 -d ${s}/32 -j REDIRECT --to-port ${AGENT_DNS_PORT}`);
    }
    for (const s of v6) {
      rs.append6("ISTIO_OUTPUT_DNS", "nat", `-p udp --dport 53 -d ${s}/128 -j REDIRECT --to-port ${AGENT_DNS_PORT}`);
    }
  }
  // Conntrack zones: proxy <-> upstream resolvers in zone 1, app <-> proxy in zone 2.
  for (const [flag, ids] of [
    ["--uid-owner", cfg.proxyUid],
    ["--gid-owner", cfg.proxyGid],
  ] as const) {
    for (const id of splitList(ids)) {
      rs.append("ISTIO_OUTPUT_DNS", "raw", `-p udp --dport 53 -m owner ${flag} ${id} -j CT --zone 1`);
      rs.append("ISTIO_OUTPUT_DNS", "raw", `-p udp --sport ${AGENT_DNS_PORT} -m owner ${flag} ${id} -j CT --zone 2`);
    }
  }
  if (all) {
    rs.append("PREROUTING", "raw", "-j ISTIO_INBOUND");
    rs.append("ISTIO_OUTPUT_DNS", "raw", "-p udp --dport 53 -j CT --zone 2");
    rs.append("ISTIO_INBOUND", "raw", "-p udp --sport 53 -j CT --zone 1");
    return;
  }
  if (v4.length > 0) rs.append4("PREROUTING", "raw", "-j ISTIO_INBOUND");
  for (const s of v4) {
    rs.append4("ISTIO_OUTPUT_DNS", "raw", `-p udp --dport 53 -d ${s}/32 -j CT --zone 2`);
    rs.append4("ISTIO_INBOUND", "raw", `-p udp --sport 53 -s ${s}/32 -j CT --zone 1`);
  }
  if (v6.length > 0) rs.append6("PREROUTING", "raw", "-j ISTIO_INBOUND");
  for (const s of v6) {
    rs.append6("ISTIO_OUTPUT_DNS", "raw", `-p udp --dport 53 -d ${s}/128 -j CT --zone 2`);
    rs.append6("ISTIO_INBOUND", "raw", `-p udp --sport 53 -s ${s}/128 -j CT --zone 1`);
  }
}

/** The rules of istio-iptables' `Run()`, in its order. */
function buildRules(cfg: CaptureConfig): RuleSet {
  const rs = new RuleSet(cfg.enableIpv6);
  const lo4 = cfg.hostIpv4LoopbackCidr;
  const exclude = separateV4V6("outboundIpRangesExclude", cfg.outboundIpRangesExclude);
  const include = separateV4V6("outboundIpRangesInclude", cfg.outboundIpRangesInclude);
  const redirectDns = effectiveRedirectDns(cfg);
  const tproxy = isTproxy(cfg);

  for (const nic of splitList(cfg.excludeInterfaces)) {
    rs.append("PREROUTING", "nat", `-i ${nic} -j RETURN`);
    rs.append("OUTPUT", "nat", `-o ${nic} -j RETURN`);
  }
  if (tproxy) {
    for (const nic of splitList(cfg.excludeInterfaces)) {
      rs.append("PREROUTING", "mangle", `-i ${nic} -j RETURN`);
      rs.append("OUTPUT", "mangle", `-o ${nic} -j RETURN`);
    }
  }
  for (const nic of splitList(cfg.kubeVirtInterfaces)) rs.insert("PREROUTING", "nat", 1, `-i ${nic} -j RETURN`);

  if (cfg.dropInvalid) {
    rs.append("PREROUTING", "mangle", "-m conntrack --ctstate INVALID -j ISTIO_DROP");
    rs.append("ISTIO_DROP", "mangle", "-j DROP");
  }
  rs.append("ISTIO_INBOUND", "nat", `-p tcp --dport ${cfg.inboundTunnelPort} -j RETURN`);
  rs.append("ISTIO_REDIRECT", "nat", `-p tcp -j REDIRECT --to-ports ${cfg.proxyPort}`);
  rs.append("ISTIO_IN_REDIRECT", "nat", `-p tcp -j REDIRECT --to-ports ${cfg.inboundCapturePort}`);
  inboundRules(cfg, rs);

  rs.append("OUTPUT", "nat", "-j ISTIO_OUTPUT");
  for (const port of splitList(cfg.outboundPortsExclude)) {
    rs.append("ISTIO_OUTPUT", "nat", `-p tcp --dport ${port} -j RETURN`);
    rs.append("ISTIO_OUTPUT", "nat", `-p udp --dport ${port} -j RETURN`);
  }
  // 127.0.0.6 / ::6: the inbound passthrough cluster's source address.
  rs.appendVersioned("127.0.0.6/32", "::6/128", "ISTIO_OUTPUT", "nat", (a) => `-o lo -s ${a} -j RETURN`);

  const loopbackIncluded = include.v4.hasLoopback || include.v6.hasLoopback;
  for (const [flag, ids] of [
    ["--uid-owner", cfg.proxyUid],
    ["--gid-owner", cfg.proxyGid],
  ] as const) {
    for (const id of splitList(ids)) {
      // The proxy calling its own pod through a VIP: back through the inbound side.
      if (redirectDns && flag === "--uid-owner") {
        rs.appendVersioned(
          lo4,
          "::1/128",
          "ISTIO_OUTPUT",
          "nat",
          (a) =>
            `-o lo ! -d ${a} -p tcp -m multiport ! --dports 53,${cfg.inboundTunnelPort} -m owner ${flag} ${id} -j ISTIO_IN_REDIRECT`,
        );
      } else {
        rs.appendVersioned(
          lo4,
          "::1/128",
          "ISTIO_OUTPUT",
          "nat",
          (a) =>
            `-o lo ! -d ${a} -p tcp ! --dport ${cfg.inboundTunnelPort} -m owner ${flag} ${id} -j ISTIO_IN_REDIRECT`,
        );
      }
      // The app calling itself over lo is left alone, unless loopback was included explicitly.
      if (!loopbackIncluded) {
        if (redirectDns) {
          rs.append("ISTIO_OUTPUT", "nat", `-o lo -p tcp ! --dport 53 -m owner ! ${flag} ${id} -j RETURN`);
        } else {
          rs.append("ISTIO_OUTPUT", "nat", `-o lo -m owner ! ${flag} ${id} -j RETURN`);
        }
      }
      // The proxy's own traffic is never captured again.
      rs.append("ISTIO_OUTPUT", "nat", `-m owner ${flag} ${id} -j RETURN`);
    }
  }

  ownerGroupRules(rs, parseInterceptFilter(cfg.ownerGroupsInclude, cfg.ownerGroupsExclude));
  if (redirectDns) dnsRules(cfg, rs);

  rs.appendVersioned(lo4, "::1/128", "ISTIO_OUTPUT", "nat", (a) => `-d ${a} -j RETURN`);
  for (const cidr of exclude.v4.cidrs) rs.append4("ISTIO_OUTPUT", "nat", `-d ${cidr} -j RETURN`);
  for (const cidr of exclude.v6.cidrs) rs.append6("ISTIO_OUTPUT", "nat", `-d ${cidr} -j RETURN`);
  for (const port of splitList(cfg.outboundPortsInclude)) {
    rs.append("ISTIO_OUTPUT", "nat", `-p tcp --dport ${port} -j ISTIO_REDIRECT`);
  }
  outboundIncludeRules(cfg, include.v4, rs.append4.bind(rs), rs.insert4.bind(rs));
  outboundIncludeRules(cfg, include.v6, rs.append6.bind(rs), rs.insert6.bind(rs));

  if (tproxy) {
    const mark = cfg.inboundTProxyMark;
    rs.append("PREROUTING", "mangle", `-p tcp -m mark --mark ${mark} -j CONNMARK --save-mark`);
    rs.append("OUTPUT", "mangle", `-p tcp -o lo -m mark --mark ${mark} -j RETURN`);
    for (const [flag, ids] of [
      ["--uid-owner", cfg.proxyUid],
      ["--gid-owner", cfg.proxyGid],
    ] as const) {
      for (const id of splitList(ids)) {
        rs.appendVersioned(
          lo4,
          "::1/128",
          "OUTPUT",
          "mangle",
          (a) => `! -d ${a} -p tcp -o lo -m owner ${flag} ${id} -j MARK --set-mark ${OUTBOUND_MARK}`,
        );
      }
    }
    rs.append("OUTPUT", "mangle", `-p tcp -m connmark --mark ${mark} -j CONNMARK --restore-mark`);
    rs.insert("ISTIO_INBOUND", "mangle", 1, `-p tcp -m mark --mark ${mark} -j RETURN`);
    rs.insert4("ISTIO_INBOUND", "mangle", 2, "-p tcp -s 127.0.0.6/32 -i lo -j RETURN");
    rs.insert6("ISTIO_INBOUND", "mangle", 2, "-p tcp -s ::6/128 -i lo -j RETURN");
    rs.insert("ISTIO_INBOUND", "mangle", 3, `-p tcp -i lo -m mark ! --mark ${OUTBOUND_MARK} -j RETURN`);
  }
  return rs;
}

/**
 * The iptables rules istio-iptables writes for `config` (defaults filled and values
 * checked by {@link resolveCaptureConfig}), as restore inputs and as the record
 * `istio-iptables --dry-run` makes of a run on a clean pod.
 * @throws {@link MeshError} for a configuration value that cannot be used.
 */
export function iptablesCapture(config: Partial<CaptureConfig> = {}): IptablesCapture {
  const cfg = resolveCaptureConfig(config);
  const rs = buildRules(cfg);
  const v4 = restoreText(rs.v4);
  const v6 = cfg.enableIpv6 ? restoreText(rs.v6) : undefined;
  // Clean-state check (both families), the restores, then the final dumps.
  const record = ["iptables-save", "ip6tables-save", ...lines(v4), ...lines(v6 ?? ""), "iptables-save"];
  if (cfg.enableIpv6) record.push("ip6tables-save");
  return { v4, v6, dryRun: record.map((l) => `${l}\n`).join("") };
}

function lines(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}
