import type { ProxyConfig } from "@knet/kube-proxy";
import { quoteWord } from "./tokenize.js";

/** A jump from a built-in chain into a kube-proxy chain, ensured at every full sync. */
export interface JumpRule {
  /** Table. */
  readonly table: "filter" | "nat";
  /** Built-in chain the rule lives in. */
  readonly from: string;
  /** kube-proxy chain it jumps to. */
  readonly to: string;
  /** The rule's words after `-A FROM` / `-I FROM`. */
  readonly args: readonly string[];
}

const NEW = ["-m", "conntrack", "--ctstate", "NEW"];
const JUMPS: readonly [JumpRule["table"], string, string, string, readonly string[]][] = [
  ["filter", "KUBE-EXTERNAL-SERVICES", "INPUT", "kubernetes externally-visible service portals", NEW],
  ["filter", "KUBE-EXTERNAL-SERVICES", "FORWARD", "kubernetes externally-visible service portals", NEW],
  ["filter", "KUBE-NODEPORTS", "INPUT", "kubernetes health check service ports", []],
  ["filter", "KUBE-SERVICES", "FORWARD", "kubernetes service portals", NEW],
  ["filter", "KUBE-SERVICES", "OUTPUT", "kubernetes service portals", NEW],
  ["filter", "KUBE-FORWARD", "FORWARD", "kubernetes forwarding rules", []],
  ["filter", "KUBE-PROXY-FIREWALL", "INPUT", "kubernetes load balancer firewall", NEW],
  ["filter", "KUBE-PROXY-FIREWALL", "OUTPUT", "kubernetes load balancer firewall", NEW],
  ["filter", "KUBE-PROXY-FIREWALL", "FORWARD", "kubernetes load balancer firewall", NEW],
  ["nat", "KUBE-SERVICES", "OUTPUT", "kubernetes service portals", []],
  ["nat", "KUBE-SERVICES", "PREROUTING", "kubernetes service portals", []],
  ["nat", "KUBE-POSTROUTING", "POSTROUTING", "kubernetes postrouting rules", []],
];

/**
 * The jump rules kube-proxy ensures (check, then prepend when missing) in the
 * built-in chains, in the order it ensures them; the kubelet-duplicate
 * KUBE-FIREWALL jumps are included for IPv4 with localhost NodePorts.
 */
export function jumpRules(config: ProxyConfig): JumpRule[] {
  const out: JumpRule[] = JUMPS.map(([table, to, from, comment, extra]) => ({
    table,
    from,
    to,
    args: [...extra, "-m", "comment", "--comment", comment, "-j", to],
  }));
  if (config.family === 4 && config.localhostNodePorts) {
    for (const from of ["INPUT", "OUTPUT"])
      out.push({ table: "filter", from, to: "KUBE-FIREWALL", args: ["-j", "KUBE-FIREWALL"] });
  }
  return out;
}

/** The canary chain kube-proxy creates (empty) in mangle, nat and filter to detect flushes. */
export const CANARY_CHAIN = "KUBE-PROXY-CANARY";

/**
 * An iptables-restore input (for `--noflush`) that sets a fresh node up as
 * kube-proxy's startup does: the canary chains, the chains the jumps target,
 * and the jump rules prepended in kube-proxy's order (so later ones end up first).
 */
export function renderBootstrap(config: ProxyConfig): string {
  const jumps = jumpRules(config);
  const out: string[] = ["*mangle", `:${CANARY_CHAIN} - [0:0]`, "COMMIT"];
  for (const table of ["filter", "nat"] as const) {
    out.push(`*${table}`, `:${CANARY_CHAIN} - [0:0]`);
    const targets = [...new Set(jumps.filter((j) => j.table === table).map((j) => j.to))];
    for (const t of targets) out.push(`:${t} - [0:0]`);
    for (const j of jumps) if (j.table === table) out.push(`-I ${j.from} 1 ${j.args.map(quoteWord).join(" ")}`);
    out.push("COMMIT");
  }
  return `${out.join("\n")}\n`;
}
