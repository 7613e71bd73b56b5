/**
 * Compilation of the engine's policies to one nftables `inet` table that a
 * Linux router (or node) enforces on its FORWARD hook:
 *
 * - two base chains, `egress` (priority -1) and `ingress` (priority 0); an
 *   `accept` ends only its own base chain, a `drop` is final, so a connection
 *   passes iff the client's egress AND the server's ingress allow it;
 * - both accept `ct state established,related` first (replies of allowed
 *   connections) and drop `invalid`;
 * - per direction a verdict map `pod IP -> jump <chain>` holding only pods some
 *   policy applies to (a pod without an entry is not isolated: default accept);
 * - per pod chain: AdminNetworkPolicy rules in priority order (Allow = accept,
 *   Deny = drop, Pass = goto the pod's NetworkPolicy/Baseline part), then either
 *   a jump into the chain of every isolating NetworkPolicy followed by a drop, or
 *   the BaselineAdminNetworkPolicy rules followed by an accept;
 * - one chain per NetworkPolicy and direction holding its rules, one nft rule per
 *   (rule, peer, port), each with a counter and a comment naming them;
 * - pod and namespace selectors become sets of current pod IPs, ipBlock becomes
 *   the prefixes of `cidr` minus `except`, named ports become `ip . port` pairs
 *   resolved on each destination pod.
 *
 * The script replaces the table in one `nft -f` transaction (atomic update).
 */
import type { Prefix } from "@knet/netstack";
import { type Endpoint, type PodView, podEndpoint } from "./cluster-view.js";
import type { AdminPolicy, AdminRule, NpPeer, NpPolicy, PortEntry } from "./compiled-policy.js";
import { internals, type PolicyEngine } from "./engine.js";
import { adminPeerMatches, npPeerMatches } from "./match.js";
import type { Direction } from "./types.js";

/** Options of {@link compileNft}. */
export interface NftOptions {
  /** Table name (in family `inet`); default `knet_netpol`. */
  readonly table?: string;
  /** Start the script with the add + delete idiom so `nft -f` replaces the table atomically; default true. */
  readonly replace?: boolean;
}

/** A compiled ruleset. */
export interface PolicyNftRuleset {
  /** The `nft -f` script. */
  readonly text: string;
  /** The table name. */
  readonly table: string;
  /** Number of chains. */
  readonly chains: number;
  /** Number of rules (statements lines inside chains). */
  readonly rules: number;
}

interface Fam {
  v4: string[];
  v6: string[];
}

const L4 = { TCP: "tcp", UDP: "udp", SCTP: "sctp" } as const;

function comment(text: string): string {
  const t = text.replace(/["\\]/g, "'");
  return `comment "${t.length > 120 ? `${t.slice(0, 117)}...` : t}"`;
}

function ident(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, "_");
}

function podIps(pods: readonly PodView[]): Fam {
  const out: Fam = { v4: [], v6: [] };
  for (const p of pods) for (const ip of p.ips) (ip.family === 4 ? out.v4 : out.v6).push(ip.toString());
  return out;
}

/** Prefixes without those covered by another one (nft rejects overlapping intervals in a set). */
function disjoint(prefixes: readonly Prefix[]): Prefix[] {
  const sorted = [...prefixes].sort((a, b) => a.length - b.length);
  const out: Prefix[] = [];
  for (const p of sorted) if (!out.some((q) => q.covers(p))) out.push(p);
  return out.sort((a, b) => a.compare(b));
}

function prefixFam(prefixes: readonly Prefix[]): Fam {
  const out: Fam = { v4: [], v6: [] };
  for (const p of disjoint(prefixes)) (p.family === 4 ? out.v4 : out.v6).push(p.toString());
  return out;
}

/** Address match fragments, one per family with elements; undefined = match any address. */
function addrFragments(field: "saddr" | "daddr", fam: Fam): string[] {
  const out: string[] = [];
  if (fam.v4.length > 0) out.push(`ip ${field} ${fam.v4.length === 1 ? fam.v4[0] : `{ ${fam.v4.join(", ")} }`}`);
  if (fam.v6.length > 0) out.push(`ip6 ${field} ${fam.v6.length === 1 ? fam.v6[0] : `{ ${fam.v6.join(", ")} }`}`);
  return out;
}

function portFragment(e: PortEntry): string {
  const l4 = L4[e.protocol];
  if (e.port === undefined) return `meta l4proto ${l4}`;
  if (e.endPort === undefined || e.endPort === e.port) return `${l4} dport ${e.port}`;
  return `${l4} dport ${e.port}-${e.endPort}`;
}

/** `ip daddr . tcp dport { ip . port, ... }` fragments for a named port over destination pods. */
function namedFragments(name: string, entry: PortEntry, dsts: readonly PodView[]): string[] {
  const groups = new Map<string, Fam>();
  for (const pod of dsts) {
    const np = pod.namedPorts.get(name);
    if (np === undefined || (!entry.anyProtocol && np.protocol !== entry.protocol)) continue;
    const l4 = L4[np.protocol];
    let g = groups.get(l4);
    if (g === undefined) {
      g = { v4: [], v6: [] };
      groups.set(l4, g);
    }
    for (const ip of pod.ips) (ip.family === 4 ? g.v4 : g.v6).push(`${ip} . ${np.port}`);
  }
  const out: string[] = [];
  for (const [l4, g] of groups) {
    if (g.v4.length > 0) out.push(`ip daddr . ${l4} dport { ${g.v4.join(", ")} }`);
    if (g.v6.length > 0) out.push(`ip6 daddr . ${l4} dport { ${g.v6.join(", ")} }`);
  }
  return out;
}

class Writer {
  readonly lines: string[] = [];
  chains = 0;
  rules = 0;
  chain(name: string, header: string | undefined, body: readonly string[]): void {
    this.chains++;
    this.lines.push(`\tchain ${name} {`);
    if (header !== undefined) this.lines.push(`\t\t${header}`);
    for (const b of body) {
      this.lines.push(`\t\t${b}`);
      if (!b.startsWith("#")) this.rules++;
    }
    this.lines.push("\t}");
  }
}

/**
 * Compile the engine's policies for its pods into an nftables script (one
 * `inet` table). Load it with `nft -f` in the namespace that forwards between
 * pods (a router, or a node's root namespace).
 */
export function compileNft(engine: PolicyEngine, options: NftOptions = {}): PolicyNftRuleset {
  const table = options.table ?? "knet_netpol";
  const profile = engine.profile;
  const ix = internals(engine);
  const pods = ix.cluster.pods.filter((p) => !(p.hostNetwork && profile.hostNetworkPods === "node"));
  const w = new Writer();
  const allPodIps = podIps(pods);
  const endpointOf = (pod: PodView): Endpoint => podEndpoint(pod, pod.ips[0]);

  // Per NetworkPolicy and direction: one chain with its rules (accept on match, return otherwise).
  const npChain = new Map<NpPolicy, [string | undefined, string | undefined]>();
  ix.networkPolicies.forEach((p, i) => {
    const names: [string | undefined, string | undefined] = [undefined, undefined];
    (["Ingress", "Egress"] as const).forEach((dir, di) => {
      const rules = dir === "Ingress" ? p.ingress : p.egress;
      if (rules === undefined) return;
      const subjects = pods.filter((pod) => ix.selection(pod).np[di]?.includes(p));
      if (subjects.length === 0) return;
      const name = `np${i}_${dir.toLowerCase()}_${ident(p.key)}`;
      names[di] = name;
      w.chain(name, undefined, npRuleLines(p, dir, rules, subjects));
    });
    npChain.set(p, names);
  });

  function npRuleLines(
    p: NpPolicy,
    dir: Direction,
    rules: NonNullable<NpPolicy["ingress"]>,
    subjects: readonly PodView[],
  ): string[] {
    const out: string[] = [];
    const remoteField = dir === "Ingress" ? "saddr" : "daddr";
    const ipBlockOnPods =
      dir === "Ingress" ? profile.ipBlockMatchesPodIPs.ingress : profile.ipBlockMatchesPodIPs.egress;
    for (const r of rules) {
      const peers: (NpPeer | undefined)[] = r.peers === undefined ? [undefined] : [...r.peers];
      const ports: (PortEntry | undefined)[] = r.ports === undefined ? [undefined] : [...r.ports];
      peers.forEach((peer, j) => {
        // Remote pods the peer admits (for named ports on egress) and its address fragments.
        const remotePods = pods.filter((pod) =>
          peer === undefined ? true : npPeerMatches(peer, p.namespace, endpointOf(pod), dir, profile),
        );
        let peerFrags: string[];
        if (peer === undefined) peerFrags = [""];
        else if (peer.kind === "pods") peerFrags = addrFragments(remoteField, podIps(remotePods));
        else {
          peerFrags = addrFragments(remoteField, prefixFam(peer.cidr.subtract([...peer.except])));
          if (!ipBlockOnPods) {
            peerFrags = peerFrags.map(
              (f) =>
                `${f} ${f.startsWith("ip6") ? "ip6" : "ip"} ${remoteField} != @pod_ips${f.startsWith("ip6") ? "6" : "4"}`,
            );
          }
        }
        ports.forEach((port, k) => {
          const tag = `np ${p.key} ${dir.toLowerCase()} rule ${r.index}${peer === undefined ? "" : ` peer ${j}`}${port === undefined ? "" : ` port ${k}`}`;
          let frags: string[];
          if (port?.name !== undefined) {
            if (dir === "Ingress") {
              const named = namedFragments(port.name, port, subjects);
              frags = peerFrags.flatMap((pf) => named.map((nf) => `${pf} ${nf}`.trim()));
            } else {
              frags = namedFragments(port.name, port, remotePods);
            }
          } else {
            const pf2 = port === undefined ? "" : portFragment(port);
            frags = peerFrags.map((pf) => `${pf} ${pf2}`.trim());
          }
          if (frags.length === 0) out.push(`# ${tag}: matches no current pod or address`);
          for (const f of frags) out.push(`${f} counter accept ${comment(tag)}`.trim());
        });
      });
    }
    return out;
  }

  function adminLines(a: AdminPolicy, r: AdminRule, dir: Direction, subject: PodView, verdict: string): string[] {
    const out: string[] = [];
    const remoteField = dir === "Ingress" ? "saddr" : "daddr";
    const kind = a.kind === "AdminNetworkPolicy" ? "anp" : "banp";
    const ports: (PortEntry | undefined)[] = r.ports === undefined ? [undefined] : [...r.ports];
    r.peers.forEach((peer, j) => {
      const remotePods = pods.filter((pod) => adminPeerMatches(peer, endpointOf(pod), r.action));
      let peerFrags: string[];
      switch (peer.kind) {
        case "namespaces":
        case "pods":
          peerFrags = addrFragments(remoteField, podIps(remotePods));
          break;
        case "nodes": {
          const nodes = ix.cluster.nodes.filter((n) => peer.node?.c.matches(n.labels) === true);
          const fam: Fam = { v4: [], v6: [] };
          for (const n of nodes) for (const ip of n.ips) (ip.family === 4 ? fam.v4 : fam.v6).push(ip.toString());
          peerFrags = addrFragments(remoteField, fam);
          break;
        }
        case "networks":
          peerFrags = addrFragments(remoteField, prefixFam(peer.prefixes ?? []));
          break;
        case "domainNames":
          peerFrags = [];
          break;
        case "unknown":
          peerFrags = r.action === "Allow" ? [] : [""];
          break;
      }
      ports.forEach((port, k) => {
        const tag = `${kind} ${a.key} ${dir.toLowerCase()} rule ${r.index}${r.name === undefined ? "" : ` ${r.name}`} peer ${j}${port === undefined ? "" : ` port ${k}`}: ${r.action}`;
        let frags: string[];
        if (port?.name !== undefined) {
          if (dir === "Ingress") {
            const np = subject.namedPorts.get(port.name);
            frags = np === undefined ? [] : peerFrags.map((pf) => `${pf} ${L4[np.protocol]} dport ${np.port}`.trim());
          } else {
            frags =
              peer.kind === "pods" || peer.kind === "namespaces" ? namedFragments(port.name, port, remotePods) : [];
          }
        } else {
          const pf2 = port === undefined ? "" : portFragment(port);
          frags = peerFrags.map((pf) => `${pf} ${pf2}`.trim());
        }
        if (frags.length === 0) out.push(`# ${tag}: matches no current pod or address`);
        for (const f of frags) out.push(`${f} counter ${verdict} ${comment(tag)}`.trim());
      });
    });
    return out;
  }

  // Per pod and direction: the tier chain.
  const podMaps: [Map<string, string>, Map<string, string>] = [new Map(), new Map()];
  for (const pod of pods) {
    const sel = ix.selection(pod);
    (["Ingress", "Egress"] as const).forEach((dir, di) => {
      const anps = sel.anp[di] ?? [];
      const nps = sel.np[di] ?? [];
      const banp = sel.banp[di];
      if (anps.length === 0 && nps.length === 0 && banp === undefined) return;
      const base = `${dir.toLowerCase()}_${pod.index}_${ident(pod.key)}`;
      const rest = anps.length > 0 ? `${base}_np` : base;
      const restLines: string[] = [];
      if (nps.length > 0) {
        for (const p of nps) {
          const c = npChain.get(p)?.[di];
          if (c !== undefined) restLines.push(`jump ${c}`);
        }
        restLines.push(
          `counter drop ${comment(`${pod.key} isolated for ${dir.toLowerCase()} by ${nps.map((p) => p.key).join(", ")}: no rule matched`)}`,
        );
      } else {
        if (banp !== undefined) {
          for (const r of dir === "Ingress" ? banp.ingress : banp.egress) {
            restLines.push(...adminLines(banp, r, dir, pod, r.action === "Allow" ? "accept" : "drop"));
          }
        }
        restLines.push(
          `counter accept ${comment(`${pod.key} ${dir.toLowerCase()}: no policy decided, default allow`)}`,
        );
      }
      if (anps.length > 0) {
        const lines: string[] = [];
        for (const a of anps) {
          for (const r of dir === "Ingress" ? a.ingress : a.egress) {
            const verdict = r.action === "Allow" ? "accept" : r.action === "Deny" ? "drop" : `goto ${rest}`;
            lines.push(...adminLines(a, r, dir, pod, verdict));
          }
        }
        lines.push(`goto ${rest}`);
        w.chain(rest, undefined, restLines);
        w.chain(base, undefined, lines);
      } else {
        w.chain(rest, undefined, restLines);
      }
      for (const ip of pod.ips) (podMaps[di] as Map<string, string>).set(ip.toString(), base);
    });
  }

  const body: string[] = [];
  const maps: string[] = [];
  const mapDecl = (name: string, type: string, entries: [string, string][]): void => {
    const elems =
      entries.length === 0 ? "" : ` elements = { ${entries.map(([ip, c]) => `${ip} : jump ${c}`).join(", ")} }`;
    maps.push(`\tmap ${name} {`, `\t\ttype ${type} : verdict;${elems}`, "\t}");
  };
  const split = (m: Map<string, string>, v6: boolean): [string, string][] =>
    [...m].filter(([ip]) => ip.includes(":") === v6);
  mapDecl("ingress_pods4", "ipv4_addr", split(podMaps[0], false));
  mapDecl("egress_pods4", "ipv4_addr", split(podMaps[1], false));
  mapDecl("ingress_pods6", "ipv6_addr", split(podMaps[0], true));
  mapDecl("egress_pods6", "ipv6_addr", split(podMaps[1], true));
  const setDecl = (name: string, type: string, elems: readonly string[]): void => {
    body.push(
      `\tset ${name} {`,
      `\t\ttype ${type};${elems.length === 0 ? "" : ` elements = { ${elems.join(", ")} }`}`,
      "\t}",
    );
  };
  setDecl("pod_ips4", "ipv4_addr", allPodIps.v4);
  setDecl("pod_ips6", "ipv6_addr", allPodIps.v6);
  const nodeIps: Fam = { v4: [], v6: [] };
  for (const n of ix.cluster.nodes)
    for (const ip of n.ips) (ip.family === 4 ? nodeIps.v4 : nodeIps.v6).push(ip.toString());
  for (const pod of ix.cluster.pods) {
    if (pod.hostNetwork && profile.hostNetworkPods === "node") {
      for (const ip of pod.ips) {
        const list = ip.family === 4 ? nodeIps.v4 : nodeIps.v6;
        if (!list.includes(ip.toString())) list.push(ip.toString());
      }
    }
  }
  setDecl("node_ips4", "ipv4_addr", nodeIps.v4);
  setDecl("node_ips6", "ipv6_addr", nodeIps.v6);

  const baseChain = (dir: "egress" | "ingress", priority: number, field: "saddr" | "daddr"): void => {
    const lines = [
      `ct state established,related counter accept ${comment("replies and related of admitted connections")}`,
      `ct state invalid counter drop ${comment("invalid conntrack state")}`,
    ];
    if (profile.nodeTraffic === "allow") {
      lines.push(`ip saddr @node_ips4 counter accept ${comment(`profile ${profile.name}: node traffic allowed`)}`);
      lines.push(`ip daddr @node_ips4 counter accept ${comment(`profile ${profile.name}: node traffic allowed`)}`);
      lines.push(`ip6 saddr @node_ips6 counter accept ${comment(`profile ${profile.name}: node traffic allowed`)}`);
      lines.push(`ip6 daddr @node_ips6 counter accept ${comment(`profile ${profile.name}: node traffic allowed`)}`);
    }
    lines.push(`ip ${field} vmap @${dir}_pods4`, `ip6 ${field} vmap @${dir}_pods6`);
    bw.chain(dir, `type filter hook forward priority ${priority}; policy accept;`, lines);
  };
  const bw = new Writer();
  baseChain("egress", -1, "saddr");
  baseChain("ingress", 0, "daddr");
  w.chains += bw.chains;
  w.rules += bw.rules;

  const head = options.replace === false ? [] : [`table inet ${table}`, `delete table inet ${table}`];
  const text = `${[...head, `table inet ${table} {`, ...body, ...w.lines, ...maps, ...bw.lines, "}"].join("\n")}\n`;
  return { text, table, chains: w.chains, rules: w.rules };
}
