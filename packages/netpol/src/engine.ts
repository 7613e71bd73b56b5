/**
 * The policy engine: verdicts with reasons for flows between pods and IPs, over
 * AdminNetworkPolicy -> NetworkPolicy -> BaselineAdminNetworkPolicy -> default.
 */
import type { KubeObject } from "@knet/k8s";
import { ClusterView, type Endpoint, type PodView } from "./cluster-view.js";
import {
  type AdminPeer,
  type AdminPolicy,
  type AdminRule,
  compileAdminNetworkPolicy,
  compileBaselineAdminNetworkPolicy,
  compileNetworkPolicy,
  type NpPeer,
  type NpPolicy,
  type NpRule,
  type PortEntry,
} from "./compiled-policy.js";
import {
  adminPeerMatches,
  describe,
  matchPortList,
  npPeerMatches,
  npPeerMiss,
  portMatches,
  portMiss,
} from "./match.js";
import { PolicyError } from "./policy-error.js";
import { defaultProfile } from "./profile.js";
import type {
  Direction,
  DirectionVerdict,
  Flow,
  PolicyClusterState,
  PolicyProtocol,
  Profile,
  ResolvedEndpoint,
  RuleMiss,
  RuleRef,
  TierStep,
  Verdict,
} from "./types.js";

/** Options of a {@link PolicyEngine}. */
export interface PolicyEngineOptions {
  /** Choices for undefined areas; {@link defaultProfile} when absent. */
  readonly profile?: Profile;
}

/** Which policies of each tier select one pod, per direction (index 0 ingress, 1 egress). */
export interface Selection {
  readonly np: readonly [readonly NpPolicy[], readonly NpPolicy[]];
  readonly anp: readonly [readonly AdminPolicy[], readonly AdminPolicy[]];
  readonly banp: readonly [AdminPolicy | undefined, AdminPolicy | undefined];
  /** Hot path: ANP rules in evaluation order (priority, then written order), per direction. */
  readonly anpRulesIn: readonly AdminRule[];
  readonly anpRulesEg: readonly AdminRule[];
  /** Hot path: every rule of every isolating NetworkPolicy; undefined when not isolated. */
  readonly npRulesIn: readonly NpRule[] | undefined;
  readonly npRulesEg: readonly NpRule[] | undefined;
  /** Hot path: the BANP rules when the BANP selects the pod. */
  readonly banpRulesIn: readonly AdminRule[] | undefined;
  readonly banpRulesEg: readonly AdminRule[] | undefined;
}

/** The policies that apply to one pod (see {@link PolicyEngine.policiesFor}). */
export interface PodPolicies {
  /** NetworkPolicies (`ns/name`) isolating the pod for ingress. */
  readonly ingress: readonly string[];
  /** NetworkPolicies isolating the pod for egress. */
  readonly egress: readonly string[];
  /** AdminNetworkPolicies selecting the pod with ingress rules, in evaluation order. */
  readonly adminIngress: readonly string[];
  /** AdminNetworkPolicies selecting the pod with egress rules, in evaluation order. */
  readonly adminEgress: readonly string[];
  /** Whether the BaselineAdminNetworkPolicy selects the pod (with ingress, egress rules). */
  readonly baseline: { readonly ingress: boolean; readonly egress: boolean };
}

const D_INGRESS = 0;
const D_EGRESS = 1;

function dirIndex(d: Direction): 0 | 1 {
  return d === "Ingress" ? D_INGRESS : D_EGRESS;
}

/** A flow whose endpoints have been resolved. */
interface ResolvedFlow {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly protocol: PolicyProtocol;
  readonly port: number;
}

function publicEndpoint(e: Endpoint): ResolvedEndpoint {
  const ip = e.ip?.toString();
  switch (e.kind) {
    case "pod":
      return { kind: "pod", name: e.pod.key, ip };
    case "node":
      return { kind: "node", name: e.name, ip };
    case "external":
      return { kind: "external", name: e.ip.toString(), ip };
  }
}

function portsAdmit(ports: readonly PortEntry[] | undefined, f: ResolvedFlow, dstPod: PodView | undefined): boolean {
  if (ports === undefined) return true;
  for (let k = 0; k < ports.length; k++) {
    if (portMatches(ports[k] as PortEntry, f.protocol, f.port, dstPod) >= 0) return true;
  }
  return false;
}

function adminRuleHits(r: AdminRule, remote: Endpoint, f: ResolvedFlow, dstPod: PodView | undefined): boolean {
  if (!portsAdmit(r.ports, f, dstPod)) return false;
  for (let j = 0; j < r.peers.length; j++) {
    if (adminPeerMatches(r.peers[j] as AdminPeer, remote, r.action)) return true;
  }
  return false;
}

function npRuleAdmits(
  r: NpRule,
  dir: Direction,
  remote: Endpoint,
  f: ResolvedFlow,
  dstPod: PodView | undefined,
  profile: Profile,
): boolean {
  if (!portsAdmit(r.ports, f, dstPod)) return false;
  if (r.peers === undefined) return true;
  for (let j = 0; j < r.peers.length; j++) {
    if (npPeerMatches(r.peers[j] as NpPeer, r.namespace, remote, dir, profile)) return true;
  }
  return false;
}

/** What the package's own modules (compiler, matrix, services) read from an engine; not exported. */
export interface EngineInternals {
  readonly cluster: ClusterView;
  readonly networkPolicies: readonly NpPolicy[];
  selection(pod: PodView): Selection;
  allowsIndex(i: number, j: number, protocol: PolicyProtocol, port: number): boolean;
}

const INTERNALS = new WeakMap<object, EngineInternals>();

/** The internals of an engine (for this package's modules only). */
export function internals(engine: PolicyEngine): EngineInternals {
  const i = INTERNALS.get(engine);
  if (i === undefined) throw new TypeError("not a PolicyEngine");
  return i;
}

/**
 * NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy semantics over
 * a fixed cluster state. Verdicts are per connection (replies of an allowed
 * connection are allowed) and per direction: egress of the client AND ingress of
 * the server. Construct a new engine when the state changes; per-pod policy
 * selection is computed once and cached.
 *
 * @example
 * ```ts
 * const engine = new PolicyEngine({ namespaces, pods, networkPolicies });
 * const v = engine.verdict({ from: "x/b", to: "x/a", protocol: "TCP", port: 80 });
 * v.allowed; // false
 * explain(v); // walkthrough naming the isolating policies and why each rule missed
 * ```
 */
export class PolicyEngine {
  /** The profile deciding undefined areas. */
  readonly profile: Profile;
  private readonly cluster: ClusterView;
  private readonly networkPolicies: readonly NpPolicy[];
  private readonly adminPolicies: readonly AdminPolicy[];
  private readonly baselinePolicy: AdminPolicy | undefined;
  private readonly npByNs = new Map<string, NpPolicy[]>();
  private readonly selections: (Selection | undefined)[];
  private readonly hostNetworkAsNode: boolean;

  /**
   * @throws {@link PolicyError} for a policy the API server would reject.
   */
  constructor(state: PolicyClusterState, options: PolicyEngineOptions = {}) {
    this.profile = options.profile ?? defaultProfile;
    this.hostNetworkAsNode = this.profile.hostNetworkPods === "node";
    this.cluster = new ClusterView(state.pods, state.namespaces ?? [], state.nodes ?? []);
    const seen = new Set<string>();
    this.networkPolicies = (state.networkPolicies ?? []).map((p) => {
      const c = compileNetworkPolicy(p);
      if (seen.has(c.key))
        throw new PolicyError(c.key, "metadata.name", "two NetworkPolicies share this namespace/name");
      seen.add(c.key);
      return c;
    });
    for (const p of this.networkPolicies) {
      let list = this.npByNs.get(p.namespace);
      if (list === undefined) {
        list = [];
        this.npByNs.set(p.namespace, list);
      }
      list.push(p);
    }
    this.adminPolicies = (state.adminNetworkPolicies ?? [])
      .map(compileAdminNetworkPolicy)
      .sort((a, b) => a.priority - b.priority || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.baselinePolicy =
      state.baselineAdminNetworkPolicy === undefined
        ? undefined
        : compileBaselineAdminNetworkPolicy(state.baselineAdminNetworkPolicy);
    this.selections = new Array(this.cluster.pods.length);
    INTERNALS.set(this, {
      cluster: this.cluster,
      networkPolicies: this.networkPolicies,
      selection: (pod) => this.selection(pod),
      allowsIndex: (i, j, protocol, port) => this.allowsIndex(i, j, protocol, port),
    });
  }

  /**
   * An engine from loaded manifests (`loadManifests` of `@knet/k8s`): Pods,
   * Namespaces, Nodes, NetworkPolicies, AdminNetworkPolicies and the
   * BaselineAdminNetworkPolicy; other kinds are ignored.
   */
  static fromObjects(objects: readonly KubeObject[], options: PolicyEngineOptions = {}): PolicyEngine {
    const state: {
      pods: NonNullable<PolicyClusterState["pods"]>[number][];
      namespaces: NonNullable<PolicyClusterState["namespaces"]>[number][];
      nodes: NonNullable<PolicyClusterState["nodes"]>[number][];
      networkPolicies: NonNullable<PolicyClusterState["networkPolicies"]>[number][];
      adminNetworkPolicies: NonNullable<PolicyClusterState["adminNetworkPolicies"]>[number][];
      baselineAdminNetworkPolicy?: PolicyClusterState["baselineAdminNetworkPolicy"];
    } = { pods: [], namespaces: [], nodes: [], networkPolicies: [], adminNetworkPolicies: [] };
    for (const o of objects) {
      switch (o.kind) {
        case "Pod":
          state.pods.push(o);
          break;
        case "Namespace":
          state.namespaces.push(o);
          break;
        case "Node":
          state.nodes.push(o);
          break;
        case "NetworkPolicy":
          state.networkPolicies.push(o);
          break;
        case "AdminNetworkPolicy":
          state.adminNetworkPolicies.push(o);
          break;
        case "BaselineAdminNetworkPolicy":
          if (state.baselineAdminNetworkPolicy !== undefined) {
            throw new PolicyError(
              o.metadata?.name ?? "default",
              "metadata.name",
              "only one BaselineAdminNetworkPolicy may exist",
            );
          }
          state.baselineAdminNetworkPolicy = o;
          break;
        default:
          break;
      }
    }
    return new PolicyEngine(state, options);
  }

  /** The policies of each tier selecting a pod (cached). */
  private selection(pod: PodView): Selection {
    const cached = this.selections[pod.index];
    if (cached !== undefined) return cached;
    const npIn: NpPolicy[] = [];
    const npEg: NpPolicy[] = [];
    const subjectOk = !(pod.hostNetwork && this.hostNetworkAsNode);
    if (subjectOk) {
      for (const p of this.npByNs.get(pod.namespace) ?? []) {
        if (!p.subject.c.matches(pod.labels)) continue;
        if (p.ingress !== undefined) npIn.push(p);
        if (p.egress !== undefined) npEg.push(p);
      }
    }
    const adminSelects = (a: AdminPolicy): boolean =>
      subjectOk &&
      !pod.hostNetwork &&
      a.subjectNs.c.matches(pod.nsLabels) &&
      (a.subjectPod === undefined || a.subjectPod.c.matches(pod.labels));
    const anpIn: AdminPolicy[] = [];
    const anpEg: AdminPolicy[] = [];
    for (const a of this.adminPolicies) {
      if (!adminSelects(a)) continue;
      if (a.ingress.length > 0) anpIn.push(a);
      if (a.egress.length > 0) anpEg.push(a);
    }
    const b = this.baselinePolicy;
    const bSel = b !== undefined && adminSelects(b);
    const bIn = bSel && (b as AdminPolicy).ingress.length > 0 ? b : undefined;
    const bEg = bSel && (b as AdminPolicy).egress.length > 0 ? b : undefined;
    const s: Selection = {
      np: [npIn, npEg],
      anp: [anpIn, anpEg],
      banp: [bIn, bEg],
      anpRulesIn: anpIn.flatMap((a) => a.ingress),
      anpRulesEg: anpEg.flatMap((a) => a.egress),
      npRulesIn: npIn.length === 0 ? undefined : npIn.flatMap((p) => p.ingress ?? []),
      npRulesEg: npEg.length === 0 ? undefined : npEg.flatMap((p) => p.egress ?? []),
      banpRulesIn: bIn?.ingress,
      banpRulesEg: bEg?.egress,
    };
    this.selections[pod.index] = s;
    return s;
  }

  /**
   * The policies that apply to a pod, per tier and direction.
   * @throws RangeError for an unknown pod.
   */
  policiesFor(podKey: string): PodPolicies {
    const pod = this.cluster.pod(podKey);
    if (pod === undefined) throw new RangeError(`unknown pod ${podKey}`);
    const s = this.selection(pod);
    return {
      ingress: s.np[D_INGRESS].map((p) => p.key),
      egress: s.np[D_EGRESS].map((p) => p.key),
      adminIngress: s.anp[D_INGRESS].map((p) => p.key),
      adminEgress: s.anp[D_EGRESS].map((p) => p.key),
      baseline: { ingress: s.banp[D_INGRESS] !== undefined, egress: s.banp[D_EGRESS] !== undefined },
    };
  }

  private resolveFlow(flow: Flow): ResolvedFlow {
    if (flow.protocol !== "TCP" && flow.protocol !== "UDP" && flow.protocol !== "SCTP") {
      throw new RangeError(
        `unsupported protocol ${JSON.stringify(flow.protocol)}: NetworkPolicy covers TCP, UDP and SCTP`,
      );
    }
    if (!Number.isInteger(flow.port) || flow.port < 1 || flow.port > 65535) {
      throw new RangeError(`port must be 1-65535, got ${flow.port}`);
    }
    const src = this.cluster.resolve(flow.from, this.hostNetworkAsNode);
    const dst = this.cluster.resolve(flow.to, this.hostNetworkAsNode, src.ip?.family);
    const src2 =
      src.kind === "pod" && dst.ip !== undefined && src.ip?.family !== dst.ip.family
        ? this.cluster.resolve(flow.from, this.hostNetworkAsNode, dst.ip.family)
        : src;
    return { src: src2, dst, protocol: flow.protocol, port: flow.port };
  }

  /** Pods (`ns/name`) sorted by namespace then name. */
  podKeys(): string[] {
    return this.cluster.pods.map((p) => p.key);
  }

  /**
   * Whether a flow is allowed (both directions), without building explanations.
   * @throws RangeError for an unknown pod, a bad protocol or port.
   */
  allows(flow: Flow): boolean {
    const f = this.resolveFlow(flow);
    if (this.exempt(f) !== undefined) return true;
    return this.allowsDir(D_EGRESS, f) && this.allowsDir(D_INGRESS, f);
  }

  /** Whether pod `i` may connect to pod `j` (indexes into the sorted pod list, primary IPs): the matrix hot path. */
  private allowsIndex(i: number, j: number, protocol: PolicyProtocol, port: number): boolean {
    const src = this.cluster.endpointAt(i);
    const dst = this.cluster.endpointAt(j);
    if (src.ip !== undefined && dst.ip !== undefined && src.ip.family !== dst.ip.family) {
      return this.allows({ from: src.name, to: dst.name, protocol, port });
    }
    const f: ResolvedFlow = { src, dst, protocol, port };
    if (this.exempt(f) !== undefined) return true;
    return this.allowsDir(D_EGRESS, f) && this.allowsDir(D_INGRESS, f);
  }

  /** The hot path of {@link PolicyEngine.direction}: same tiers, no allocation, no reasons. */
  private allowsDir(di: 0 | 1, f: ResolvedFlow): boolean {
    const eg = di === D_EGRESS;
    const pod = eg ? f.src.pod : f.dst.pod;
    if (pod === undefined) return true;
    const remote = eg ? f.dst : f.src;
    const dstPod = f.dst.pod;
    const sel = this.selection(pod);
    const anp = eg ? sel.anpRulesEg : sel.anpRulesIn;
    for (let k = 0; k < anp.length; k++) {
      const r = anp[k] as AdminRule;
      if (!adminRuleHits(r, remote, f, dstPod)) continue;
      if (r.action === "Allow") return true;
      if (r.action === "Deny") return false;
      break; // Pass
    }
    const np = eg ? sel.npRulesEg : sel.npRulesIn;
    if (np !== undefined) {
      const dir: Direction = eg ? "Egress" : "Ingress";
      for (let k = 0; k < np.length; k++) {
        if (npRuleAdmits(np[k] as NpRule, dir, remote, f, dstPod, this.profile)) return true;
      }
      return false;
    }
    const banp = eg ? sel.banpRulesEg : sel.banpRulesIn;
    if (banp !== undefined) {
      for (let k = 0; k < banp.length; k++) {
        const r = banp[k] as AdminRule;
        if (adminRuleHits(r, remote, f, dstPod)) return r.action === "Allow";
      }
    }
    return true;
  }

  /**
   * The verdict of a flow with its reasons in both directions.
   * @throws RangeError for an unknown pod, a bad protocol or port.
   */
  verdict(flow: Flow): Verdict {
    const f = this.resolveFlow(flow);
    const notes: string[] = [];
    const exempt = this.exempt(f);
    let egress: DirectionVerdict;
    let ingress: DirectionVerdict;
    if (exempt !== undefined) {
      notes.push(exempt);
      const step: TierStep = { tier: "Profile", outcome: "Allowed", policies: [], note: exempt };
      const mk = (direction: Direction, e: Endpoint): DirectionVerdict => ({
        direction,
        subject: e.kind === "pod" ? e.pod.key : undefined,
        allowed: true,
        decidedBy: "Profile",
        steps: [step],
        misses: [],
      });
      egress = mk("Egress", f.src);
      ingress = mk("Ingress", f.dst);
    } else {
      egress = this.direction("Egress", f, true);
      ingress = this.direction("Ingress", f, true);
    }
    return {
      flow,
      from: publicEndpoint(f.src),
      to: publicEndpoint(f.dst),
      allowed: egress.allowed && ingress.allowed,
      egress,
      ingress,
      notes,
    };
  }

  /** A profile rule that decides the whole flow, as a sentence, or undefined. */
  private exempt(f: ResolvedFlow): string | undefined {
    const p = this.profile;
    if (p.selfTraffic === "allow" && f.src.kind === "pod" && f.dst.kind === "pod" && f.src.pod === f.dst.pod) {
      return `pod to itself: allowed by profile ${p.name} (selfTraffic=allow; upstream e2e ignores loopback)`;
    }
    if (p.nodeTraffic === "allow" && (f.src.kind === "node" || f.dst.kind === "node")) {
      const n = f.src.kind === "node" ? f.src : f.dst;
      return `${describe(n)} traffic: allowed by profile ${p.name} (nodeTraffic=allow${
        n.kind === "node" && n.node === undefined ? ", hostNetwork pods are node traffic" : ""
      })`;
    }
    return undefined;
  }

  private direction(dir: Direction, f: ResolvedFlow, detail: boolean): DirectionVerdict {
    const subject = dir === "Egress" ? f.src : f.dst;
    const remote = dir === "Egress" ? f.dst : f.src;
    if (subject.kind !== "pod") {
      return {
        direction: dir,
        subject: undefined,
        allowed: true,
        decidedBy: "Default",
        steps: detail
          ? [
              {
                tier: "Default",
                outcome: "Allowed",
                policies: [],
                note: `${describe(subject)} is not a pod: no policy applies`,
              },
            ]
          : [],
        misses: [],
      };
    }
    const pod = subject.pod;
    const dstPod = f.dst.kind === "pod" ? f.dst.pod : undefined;
    const di = dirIndex(dir);
    const sel = this.selection(pod);
    const steps: TierStep[] = [];
    const done = (
      allowed: boolean,
      decidedBy: DirectionVerdict["decidedBy"],
      misses: RuleMiss[] = [],
    ): DirectionVerdict => ({
      direction: dir,
      subject: pod.key,
      allowed,
      decidedBy,
      steps,
      misses,
    });

    // 1. AdminNetworkPolicy tier.
    const anps = sel.anp[di];
    if (anps.length > 0) {
      const hit = this.firstAdminMatch(anps, dir, remote, f, dstPod);
      if (hit === undefined) {
        if (detail) steps.push({ tier: "ANP", outcome: "NoMatch", policies: anps.map((a) => a.key) });
      } else {
        const note = detail ? this.ambiguity(anps, hit, dir, remote, f, dstPod) : undefined;
        if (detail) {
          steps.push({
            tier: "ANP",
            outcome: hit.rule.action,
            policies: [hit.policy.key],
            match: hit.ref,
            ...(note === undefined ? {} : { note }),
          });
        }
        if (hit.rule.action === "Allow") return done(true, "ANP");
        if (hit.rule.action === "Deny") return done(false, "ANP");
      }
    } else if (detail && this.adminPolicies.length > 0) {
      steps.push({ tier: "ANP", outcome: "NotSelected", policies: [] });
    }

    // 2. NetworkPolicy tier: isolation decides, BANP is never consulted for isolated pods.
    const nps = sel.np[di];
    if (nps.length > 0) {
      for (const p of nps) {
        const rules = (dir === "Ingress" ? p.ingress : p.egress) as readonly NpRule[];
        for (const r of rules) {
          const ref = this.npRuleMatch(p, r, dir, remote, f, dstPod);
          if (ref !== undefined) {
            if (detail) steps.push({ tier: "NPv1", outcome: "Allowed", policies: nps.map((x) => x.key), match: ref });
            return done(true, "NPv1");
          }
        }
      }
      if (!detail) return done(false, "NPv1");
      steps.push({ tier: "NPv1", outcome: "Dropped", policies: nps.map((x) => x.key) });
      return done(false, "NPv1", this.npMisses(nps, dir, remote, f, dstPod));
    }
    if (detail) steps.push({ tier: "NPv1", outcome: "NotIsolated", policies: [] });

    // 3. Baseline tier.
    const banp = sel.banp[di];
    if (banp !== undefined) {
      const hit = this.firstAdminMatch([banp], dir, remote, f, dstPod);
      if (hit !== undefined) {
        if (detail) steps.push({ tier: "BANP", outcome: hit.rule.action, policies: [banp.key], match: hit.ref });
        return done(hit.rule.action === "Allow", "BANP");
      }
      if (detail) steps.push({ tier: "BANP", outcome: "NoMatch", policies: [banp.key] });
    } else if (detail && this.baselinePolicy !== undefined) {
      steps.push({ tier: "BANP", outcome: "NotSelected", policies: [] });
    }

    // 4. Nothing decided: allowed.
    if (detail) steps.push({ tier: "Default", outcome: "Allowed", policies: [] });
    return done(true, "Default");
  }

  private npRuleMatch(
    p: NpPolicy,
    r: NpRule,
    dir: Direction,
    remote: Endpoint,
    f: ResolvedFlow,
    dstPod: PodView | undefined,
  ): RuleRef | undefined {
    const ports = matchPortList(r.ports, f.protocol, f.port, dstPod);
    if (ports === undefined) return undefined;
    const portIdx = ports.index;
    const resolved = ports.resolved;
    let peerIdx: number | undefined;
    if (r.peers !== undefined) {
      let found = -1;
      for (let j = 0; j < r.peers.length; j++) {
        if (npPeerMatches(r.peers[j] as (typeof r.peers)[number], p.namespace, remote, dir, this.profile)) {
          found = j;
          break;
        }
      }
      if (found < 0) return undefined;
      peerIdx = found;
    }
    return {
      kind: "NetworkPolicy",
      policy: p.key,
      direction: dir,
      rule: r.index,
      ...(peerIdx === undefined ? {} : { peer: peerIdx }),
      ...(portIdx === undefined ? {} : { port: portIdx }),
      ...(resolved === undefined ? {} : { resolvedPort: resolved }),
    };
  }

  private npMisses(
    nps: readonly NpPolicy[],
    dir: Direction,
    remote: Endpoint,
    f: ResolvedFlow,
    dstPod: PodView | undefined,
  ): RuleMiss[] {
    const out: RuleMiss[] = [];
    for (const p of nps) {
      const rules = (dir === "Ingress" ? p.ingress : p.egress) as readonly NpRule[];
      if (rules.length === 0) {
        out.push({
          rule: { kind: "NetworkPolicy", policy: p.key, direction: dir, rule: -1 },
          reason: `${p.key} has no ${dir.toLowerCase()} rules: it only isolates`,
        });
        continue;
      }
      for (const r of rules) {
        const ref: RuleRef = { kind: "NetworkPolicy", policy: p.key, direction: dir, rule: r.index };
        const reasons: string[] = [];
        if (r.ports !== undefined && !r.ports.some((e) => portMatches(e, f.protocol, f.port, dstPod) >= 0)) {
          reasons.push(r.ports.map((e) => portMiss(e, f.protocol, f.port, dstPod)).join("; "));
        }
        if (
          r.peers !== undefined &&
          !r.peers.some((peer) => npPeerMatches(peer, p.namespace, remote, dir, this.profile))
        ) {
          reasons.push(r.peers.map((peer) => npPeerMiss(peer, p.namespace, remote, dir, this.profile)).join("; "));
        }
        out.push({ rule: ref, reason: reasons.join("; and ") });
      }
    }
    return out;
  }

  private adminRuleMatch(
    a: AdminPolicy,
    r: AdminRule,
    dir: Direction,
    remote: Endpoint,
    f: ResolvedFlow,
    dstPod: PodView | undefined,
  ): RuleRef | undefined {
    const ports = matchPortList(r.ports, f.protocol, f.port, dstPod);
    if (ports === undefined) return undefined;
    const portIdx = ports.index;
    const resolved = ports.resolved;
    let peerIdx = -1;
    for (let j = 0; j < r.peers.length; j++) {
      if (adminPeerMatches(r.peers[j] as (typeof r.peers)[number], remote, r.action)) {
        peerIdx = j;
        break;
      }
    }
    if (peerIdx < 0) return undefined;
    return {
      kind: a.kind,
      policy: a.key,
      direction: dir,
      rule: r.index,
      ...(r.name === undefined ? {} : { ruleName: r.name }),
      peer: peerIdx,
      ...(portIdx === undefined ? {} : { port: portIdx }),
      ...(resolved === undefined ? {} : { resolvedPort: resolved }),
      action: r.action,
    };
  }

  private firstAdminMatch(
    list: readonly AdminPolicy[],
    dir: Direction,
    remote: Endpoint,
    f: ResolvedFlow,
    dstPod: PodView | undefined,
  ): { policy: AdminPolicy; rule: AdminRule; ref: RuleRef } | undefined {
    for (const a of list) {
      for (const r of dir === "Ingress" ? a.ingress : a.egress) {
        const ref = this.adminRuleMatch(a, r, dir, remote, f, dstPod);
        if (ref !== undefined) return { policy: a, rule: r, ref };
      }
    }
    return undefined;
  }

  /** Another ANP of the same priority whose first match has a different action: the result is undefined upstream. */
  private ambiguity(
    list: readonly AdminPolicy[],
    hit: { policy: AdminPolicy; rule: AdminRule },
    dir: Direction,
    remote: Endpoint,
    f: ResolvedFlow,
    dstPod: PodView | undefined,
  ): string | undefined {
    for (const a of list) {
      if (a === hit.policy || a.priority !== hit.policy.priority) continue;
      const other = this.firstAdminMatch([a], dir, remote, f, dstPod);
      if (other !== undefined && other.rule.action !== hit.rule.action) {
        return `ambiguous: ${a.key} has the same priority ${a.priority} and would ${other.rule.action}; upstream leaves this undefined`;
      }
    }
    return undefined;
  }
}
