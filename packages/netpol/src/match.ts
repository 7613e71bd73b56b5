/**
 * Matching of one peer or one port entry against a flow, with a second function
 * per kind that says in words why it missed (only called to explain a drop).
 */
import type { Addr } from "@knet/netstack";
import type { Endpoint, PodView } from "./cluster-view.js";
import type { AdminPeer, NpPeer, PortEntry, Sel } from "./compiled-policy.js";
import type { Direction, PolicyProtocol, Profile } from "./types.js";

function fmtLabels(l: Readonly<Record<string, string>>): string {
  const parts = Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`);
  return `{${parts.join(",")}}`;
}

function inBlock(
  peer: { cidr: { contains(a: Addr): boolean; family: number }; except: readonly { contains(a: Addr): boolean }[] },
  ip: Addr,
): boolean {
  if (ip.family !== peer.cidr.family || !peer.cidr.contains(ip)) return false;
  for (const e of peer.except) if (e.contains(ip)) return false;
  return true;
}

function memo(sel: Sel, index: number, size: number, labels: Readonly<Record<string, string>>): boolean {
  let m = sel.memo;
  if (m === undefined) {
    m = new Uint32Array(((size + 31) >>> 5) * 2);
    sel.memo = m;
  }
  const w = (index >>> 5) << 1;
  const bit = 1 << (index & 31);
  if (((m[w] as number) & bit) !== 0) return ((m[w + 1] as number) & bit) !== 0;
  const r = sel.c.matches(labels);
  m[w] = (m[w] as number) | bit;
  if (r) m[w + 1] = (m[w + 1] as number) | bit;
  return r;
}

/** Whether a pod selector matches the pod (memoised per pod). */
export function selPod(sel: Sel, pod: PodView): boolean {
  return memo(sel, pod.index, pod.total, pod.labels);
}

/** Whether a namespace selector matches the pod's namespace (memoised per namespace). */
export function selNs(sel: Sel, pod: PodView): boolean {
  return memo(sel, pod.nsIndex, pod.nsTotal, pod.nsLabels);
}

/** Whether a NetworkPolicy peer of a policy in `policyNs` matches the remote endpoint. */
export function npPeerMatches(
  peer: NpPeer,
  policyNs: string,
  remote: Endpoint,
  dir: Direction,
  profile: Profile,
): boolean {
  if (peer.kind === "pods") {
    if (remote.kind !== "pod") return false;
    const pod = remote.pod;
    if (peer.ns === undefined) {
      if (pod.namespace !== policyNs) return false;
    } else if (!selNs(peer.ns, pod)) return false;
    return peer.pod === undefined || selPod(peer.pod, pod);
  }
  if (remote.ip === undefined) return false;
  if (
    remote.kind === "pod" &&
    !(dir === "Ingress" ? profile.ipBlockMatchesPodIPs.ingress : profile.ipBlockMatchesPodIPs.egress)
  ) {
    return false;
  }
  return inBlock(peer, remote.ip);
}

/** Why a NetworkPolicy peer does not match (call only when {@link npPeerMatches} is false). */
export function npPeerMiss(peer: NpPeer, policyNs: string, remote: Endpoint, dir: Direction, profile: Profile): string {
  if (peer.kind === "pods") {
    if (remote.kind !== "pod") return `pod/namespace selectors match only pods, and ${describe(remote)} is not one`;
    const pod = remote.pod;
    if (peer.ns === undefined) {
      if (pod.namespace !== policyNs)
        return `no namespaceSelector means namespace ${policyNs} only; ${pod.key} is in ${pod.namespace}`;
    } else if (!peer.ns.c.matches(pod.nsLabels)) {
      return `namespaceSelector ${peer.ns.text} does not match namespace ${pod.namespace} ${fmtLabels(pod.nsLabels)}`;
    }
    if (peer.pod !== undefined && !peer.pod.c.matches(pod.labels)) {
      return `podSelector ${peer.pod.text} does not match ${pod.key} ${fmtLabels(pod.labels)}`;
    }
    return "matches";
  }
  const block = `ipBlock ${peer.cidr}${peer.except.length > 0 ? ` except ${peer.except.join(",")}` : ""}`;
  if (remote.ip === undefined) return `${block}: ${describe(remote)} has no IP`;
  if (
    remote.kind === "pod" &&
    !(dir === "Ingress" ? profile.ipBlockMatchesPodIPs.ingress : profile.ipBlockMatchesPodIPs.egress)
  ) {
    return `${block}: profile ${profile.name} does not match ipBlock against pod IPs on ${dir.toLowerCase()}`;
  }
  if (remote.ip.family !== peer.cidr.family || !peer.cidr.contains(remote.ip))
    return `${block} does not contain ${remote.ip}`;
  const ex = peer.except.find((e) => e.contains(remote.ip as Addr));
  return `${block}: ${remote.ip} is excluded by except ${ex}`;
}

/**
 * The port number a port entry admits for this flow, or -1. `dst` is the
 * destination pod (named ports resolve on it).
 */
export function portMatches(
  entry: PortEntry,
  protocol: PolicyProtocol,
  port: number,
  dst: PodView | undefined,
): number {
  if (entry.name !== undefined) {
    if (dst === undefined) return -1;
    const np = dst.namedPorts.get(entry.name);
    if (np === undefined || np.port !== port || np.protocol !== protocol) return -1;
    if (!entry.anyProtocol && np.protocol !== entry.protocol) return -1;
    return np.port;
  }
  if (entry.protocol !== protocol) return -1;
  if (entry.port === undefined) return port;
  if (entry.endPort === undefined) return entry.port === port ? port : -1;
  return port >= entry.port && port <= entry.endPort ? port : -1;
}

/**
 * The first entry of a rule's port list that admits the flow: its index and,
 * for a named port, the number it resolved to. `undefined` means the list
 * admits nothing; an absent list (all ports) gives `{}`.
 */
export function matchPortList(
  ports: readonly PortEntry[] | undefined,
  protocol: PolicyProtocol,
  port: number,
  dst: PodView | undefined,
): { readonly index?: number; readonly resolved?: number } | undefined {
  if (ports === undefined) return {};
  for (let k = 0; k < ports.length; k++) {
    const entry = ports[k] as PortEntry;
    const m = portMatches(entry, protocol, port, dst);
    if (m >= 0) return entry.name !== undefined ? { index: k, resolved: m } : { index: k };
  }
  return undefined;
}

/** Why a port entry does not admit the flow. */
export function portMiss(entry: PortEntry, protocol: PolicyProtocol, port: number, dst: PodView | undefined): string {
  if (entry.name !== undefined) {
    if (dst === undefined) return `named port ${entry.name} resolves only on a destination pod`;
    const np = dst.namedPorts.get(entry.name);
    if (np === undefined) return `named port ${entry.name} is not defined on ${dst.key}`;
    if (np.protocol !== protocol || (!entry.anyProtocol && np.protocol !== entry.protocol)) {
      return `named port ${entry.name} is ${np.port}/${np.protocol} on ${dst.key}${entry.anyProtocol ? "" : ` (rule asks ${entry.protocol})`}, flow is ${protocol}`;
    }
    return `named port ${entry.name} is ${np.port}/${np.protocol} on ${dst.key}, flow is to port ${port}`;
  }
  if (entry.protocol !== protocol) return `protocol ${entry.protocol} is not ${protocol}`;
  if (entry.endPort !== undefined)
    return `port range ${entry.port}-${entry.endPort}/${entry.protocol} does not include ${port}`;
  return `port ${entry.port}/${entry.protocol} is not ${port}`;
}

/** Whether an Admin/Baseline peer matches the remote endpoint (`action` decides how an unknown peer fails closed). */
export function adminPeerMatches(peer: AdminPeer, remote: Endpoint, action: string): boolean {
  switch (peer.kind) {
    case "namespaces":
      return remote.kind === "pod" && selNs(peer.ns as Sel, remote.pod);
    case "pods":
      return remote.kind === "pod" && selNs(peer.ns as Sel, remote.pod) && selPod(peer.pod as Sel, remote.pod);
    case "nodes":
      return remote.kind === "node" && remote.node !== undefined && (peer.node as Sel).c.matches(remote.node.labels);
    case "networks": {
      const ip = remote.ip;
      if (ip === undefined) return false;
      for (const p of peer.prefixes ?? []) if (p.family === ip.family && p.contains(ip)) return true;
      return false;
    }
    case "domainNames":
      return false;
    case "unknown":
      return action !== "Allow";
  }
}

/** One line naming an endpoint. */
export function describe(e: Endpoint): string {
  switch (e.kind) {
    case "pod":
      return `pod ${e.pod.key}`;
    case "node":
      return `node ${e.name}${e.ip !== undefined && e.name !== e.ip.toString() ? ` (${e.ip})` : ""}`;
    case "external":
      return `external ${e.ip}`;
  }
}
