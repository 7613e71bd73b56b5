/**
 * Policies turned into the engine's internal form: API-server defaults applied
 * (by `@knet/k8s`), selectors compiled once, CIDRs parsed, and what the API
 * server would reject refused with a {@link PolicyError}.
 */
import {
  type AdminNetworkPolicy,
  type AdminNetworkPolicyEgressPeer,
  type AdminNetworkPolicyPort,
  type BaselineAdminNetworkPolicy,
  type CompiledSelector,
  compileSelector,
  defaultAdminNetworkPolicy,
  defaultBaselineAdminNetworkPolicy,
  defaultNetworkPolicy,
  formatSelector,
  type LabelSelector,
  type ManifestProblem,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  SelectorError,
  validateAdminNetworkPolicy,
  validateBaselineAdminNetworkPolicy,
  validateNetworkPolicy,
} from "@knet/k8s";
import { Prefix } from "@knet/netstack";
import { PolicyError } from "./policy-error.js";
import type { PolicyProtocol } from "./types.js";

/**
 * A compiled selector with its kubectl-style text for explanations, and a
 * per-pod memo (two bitsets over pod indexes, filled lazily by the matcher).
 * A Sel is always applied to the same thing (pod labels or the pod's namespace
 * labels), so the pod index is a sound memo key.
 */
export interface Sel {
  readonly c: CompiledSelector;
  readonly text: string;
  /**
   * Memo over pod indexes (pod selectors) or namespace indexes (namespace
   * selectors): word 2w holds "evaluated" bits, word 2w+1 "matched" bits, so one
   * cache line answers both.
   */
  memo: Uint32Array | undefined;
}

/**
 * A NetworkPolicy peer. Both variants carry every field (unused ones undefined,
 * same order) so the hot path sees one object shape.
 */
export type NpPeer =
  | {
      readonly kind: "pods";
      /** undefined: the policy's own namespace. */
      readonly ns: Sel | undefined;
      /** undefined: every pod of the selected namespaces. */
      readonly pod: Sel | undefined;
      readonly cidr?: undefined;
      readonly except?: undefined;
    }
  | {
      readonly kind: "ipBlock";
      readonly ns?: undefined;
      readonly pod?: undefined;
      readonly cidr: Prefix;
      readonly except: readonly Prefix[];
    };

/** One port entry (NetworkPolicyPort or an Admin port), protocol always set, every field present. */
export interface PortEntry {
  readonly protocol: PolicyProtocol;
  /** undefined with `name` undefined: every port of the protocol. */
  readonly port: number | undefined;
  /** Inclusive range end. */
  readonly endPort: number | undefined;
  /** Named port, resolved on the destination pod. */
  readonly name: string | undefined;
  /** Admin `namedPort` matches the container port's own protocol rather than a fixed one. */
  readonly anyProtocol: boolean;
}

function entry(
  protocol: PolicyProtocol,
  port?: number,
  endPort?: number,
  name?: string,
  anyProtocol = false,
): PortEntry {
  return { protocol, port, endPort, name, anyProtocol };
}

/** A NetworkPolicy rule. */
export interface NpRule {
  readonly index: number;
  /** The policy's namespace (a peer without namespaceSelector means this one). */
  readonly namespace: string;
  /** undefined: every peer, external IPs included. */
  readonly peers: readonly NpPeer[] | undefined;
  /** undefined: every port of every protocol. */
  readonly ports: readonly PortEntry[] | undefined;
}

/** A NetworkPolicy ready to evaluate. */
export interface NpPolicy {
  /** `ns/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly subject: Sel;
  /** undefined: the policy is not of type Ingress (its ingress rules are ignored). */
  readonly ingress: readonly NpRule[] | undefined;
  /** undefined: the policy is not of type Egress. */
  readonly egress: readonly NpRule[] | undefined;
}

/** An Admin/Baseline peer: `kind` says which field is set; the others are undefined (one object shape). */
export interface AdminPeer {
  readonly kind: "namespaces" | "pods" | "nodes" | "networks" | "domainNames" | "unknown";
  /** namespaces, pods: the namespace selector. */
  readonly ns: Sel | undefined;
  /** pods: the pod selector. */
  readonly pod: Sel | undefined;
  /** nodes: the node selector. */
  readonly node: Sel | undefined;
  /** networks: the CIDRs. */
  readonly prefixes: readonly Prefix[] | undefined;
  /** domainNames: the names (never matched from an IP). */
  readonly names: readonly string[] | undefined;
}

function adminPeerOf(kind: AdminPeer["kind"], fields: Partial<Omit<AdminPeer, "kind">>): AdminPeer {
  return {
    kind,
    ns: fields.ns,
    pod: fields.pod,
    node: fields.node,
    prefixes: fields.prefixes,
    names: fields.names,
  };
}

/** An Admin/Baseline rule. */
export interface AdminRule {
  readonly index: number;
  readonly name: string | undefined;
  readonly action: "Allow" | "Deny" | "Pass";
  readonly peers: readonly AdminPeer[];
  readonly ports: readonly PortEntry[] | undefined;
}

/** An AdminNetworkPolicy or the BaselineAdminNetworkPolicy, ready to evaluate. */
export interface AdminPolicy {
  readonly kind: "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy";
  /** The policy's name. */
  readonly key: string;
  /** ANP priority (lower first); BANP: 1001. */
  readonly priority: number;
  /** Subject: namespaces selector, and a pod selector (undefined: every pod). */
  readonly subjectNs: Sel;
  readonly subjectPod: Sel | undefined;
  readonly ingress: readonly AdminRule[];
  readonly egress: readonly AdminRule[];
}

const PROTOCOLS: ReadonlySet<string> = new Set(["TCP", "UDP", "SCTP"]);
const IANA_SVC_NAME = /^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/;

function sel(policy: string, field: string, s: LabelSelector): Sel {
  try {
    return { c: compileSelector(s), text: formatSelector(s) || "{}", memo: undefined };
  } catch (e) {
    if (e instanceof SelectorError) throw new PolicyError(policy, `${field}.${e.field}`, e.message);
    throw e;
  }
}

function protocolOf(policy: string, field: string, p: string | undefined): PolicyProtocol {
  const v = p ?? "TCP";
  if (!PROTOCOLS.has(v))
    throw new PolicyError(policy, field, `unsupported protocol ${JSON.stringify(v)}: use TCP, UDP or SCTP`);
  return v as PolicyProtocol;
}

function portNumber(policy: string, field: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new PolicyError(policy, field, `must be a port number between 1 and 65535, got ${JSON.stringify(n)}`);
  }
  return n;
}

function parseCidr(policy: string, field: string, text: string): Prefix {
  try {
    // The API server parses CIDRs sloppily: host bits are masked away.
    return Prefix.parse(text, { mask: true });
  } catch (e) {
    throw new PolicyError(policy, field, `${e instanceof Error ? e.message : String(e)}`);
  }
}

function npPort(policy: string, field: string, p: NetworkPolicyPort): PortEntry {
  const protocol = protocolOf(policy, `${field}.protocol`, p.protocol);
  if (p.port === undefined) {
    if (p.endPort !== undefined)
      throw new PolicyError(policy, `${field}.endPort`, "may not be set without a numeric port");
    return entry(protocol);
  }
  if (typeof p.port === "string") {
    if (/^[0-9]+$/.test(p.port)) return npPort(policy, field, { ...p, port: Number(p.port) });
    if (!IANA_SVC_NAME.test(p.port)) {
      throw new PolicyError(
        policy,
        `${field}.port`,
        `${JSON.stringify(p.port)} is not a valid port name (IANA_SVC_NAME: at most 15 lower-case letters, digits and '-', with a letter)`,
      );
    }
    if (p.endPort !== undefined) throw new PolicyError(policy, `${field}.endPort`, "may not be set with a named port");
    return entry(protocol, undefined, undefined, p.port);
  }
  const port = portNumber(policy, `${field}.port`, p.port);
  if (p.endPort === undefined) return entry(protocol, port);
  const endPort = portNumber(policy, `${field}.endPort`, p.endPort);
  if (endPort < port)
    throw new PolicyError(policy, `${field}.endPort`, `must be greater than or equal to port ${port}`);
  return entry(protocol, port, endPort);
}

function npPeer(policy: string, field: string, p: NetworkPolicyPeer): NpPeer {
  if (p.ipBlock !== undefined) {
    if (p.podSelector !== undefined || p.namespaceSelector !== undefined) {
      throw new PolicyError(policy, field, "ipBlock may not be combined with podSelector or namespaceSelector");
    }
    const cidr = parseCidr(policy, `${field}.ipBlock.cidr`, p.ipBlock.cidr);
    const except = (p.ipBlock.except ?? []).map((e, i) => {
      const x = parseCidr(policy, `${field}.ipBlock.except[${i}]`, e);
      if (x.family !== cidr.family || !cidr.covers(x) || x.length <= cidr.length) {
        throw new PolicyError(policy, `${field}.ipBlock.except[${i}]`, `${e} must be a strict subset of cidr ${cidr}`);
      }
      return x;
    });
    return { kind: "ipBlock", ns: undefined, pod: undefined, cidr, except };
  }
  if (p.podSelector === undefined && p.namespaceSelector === undefined) {
    throw new PolicyError(policy, field, "a peer must set podSelector, namespaceSelector or ipBlock");
  }
  return {
    kind: "pods",
    ns: p.namespaceSelector === undefined ? undefined : sel(policy, `${field}.namespaceSelector`, p.namespaceSelector),
    pod: p.podSelector === undefined ? undefined : sel(policy, `${field}.podSelector`, p.podSelector),
    cidr: undefined,
    except: undefined,
  };
}

/** Throw the first problem the API server's validation (in `@knet/k8s`) found. */
function rejectProblems(key: string, problems: readonly ManifestProblem[]): void {
  const p = problems[0];
  if (p !== undefined) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    throw new PolicyError(key, p.field || "<object>", `${p.message}${more}`);
  }
}

/** Default and validate (both via `@knet/k8s`), then compile one NetworkPolicy. */
export function compileNetworkPolicy(raw: NetworkPolicy): NpPolicy {
  const np = defaultNetworkPolicy(raw);
  const ns = np.metadata?.namespace ?? "default";
  const name = np.metadata?.name;
  const key = `${ns}/${name ?? "<unnamed>"}`;
  rejectProblems(key, validateNetworkPolicy(np));
  if (name === undefined || name === "") throw new PolicyError(key, "metadata.name", "a NetworkPolicy needs a name");
  const spec = np.spec ?? { podSelector: {} };
  const types = spec.policyTypes ?? ["Ingress"];
  if (types.length > 2) throw new PolicyError(key, "spec.policyTypes", "may not have more than 2 entries");
  types.forEach((t, i) => {
    if (t !== "Ingress" && t !== "Egress") {
      throw new PolicyError(
        key,
        `spec.policyTypes[${i}]`,
        `unsupported value ${JSON.stringify(t)}: use Ingress or Egress`,
      );
    }
  });
  const rules = (
    list: readonly { ports?: NetworkPolicyPort[]; from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[] }[] | undefined,
    dir: "ingress" | "egress",
  ): NpRule[] =>
    (list ?? []).map((r, index) => {
      const peerList = dir === "ingress" ? r.from : r.to;
      const peerField = dir === "ingress" ? "from" : "to";
      return {
        index,
        namespace: ns,
        peers: peerList?.map((p, j) => npPeer(key, `spec.${dir}[${index}].${peerField}[${j}]`, p)),
        ports: r.ports?.map((p, k) => npPort(key, `spec.${dir}[${index}].ports[${k}]`, p)),
      };
    });
  return {
    key,
    namespace: ns,
    subject: sel(key, "spec.podSelector", spec.podSelector ?? {}),
    ingress: types.includes("Ingress") ? rules(spec.ingress, "ingress") : undefined,
    egress: types.includes("Egress") ? rules(spec.egress, "egress") : undefined,
  };
}

function adminPort(policy: string, field: string, p: AdminNetworkPolicyPort): PortEntry {
  const set = [p.portNumber, p.portRange, p.namedPort].filter((v) => v !== undefined).length;
  if (set !== 1) throw new PolicyError(policy, field, "exactly one of portNumber, portRange or namedPort must be set");
  if (p.portNumber !== undefined) {
    return entry(
      protocolOf(policy, `${field}.portNumber.protocol`, p.portNumber.protocol),
      portNumber(policy, `${field}.portNumber.port`, p.portNumber.port),
    );
  }
  if (p.portRange !== undefined) {
    const start = portNumber(policy, `${field}.portRange.start`, p.portRange.start);
    const end = portNumber(policy, `${field}.portRange.end`, p.portRange.end);
    if (end <= start) throw new PolicyError(policy, `${field}.portRange.end`, `must be greater than start ${start}`);
    return entry(protocolOf(policy, `${field}.portRange.protocol`, p.portRange.protocol), start, end);
  }
  return entry("TCP", undefined, undefined, p.namedPort as string, true);
}

function adminPeer(policy: string, field: string, p: AdminNetworkPolicyEgressPeer): AdminPeer {
  const known = [p.namespaces, p.pods, p.nodes, p.networks, p.domainNames].filter((v) => v !== undefined).length;
  if (known > 1)
    throw new PolicyError(policy, field, "exactly one of namespaces, pods, nodes, networks or domainNames must be set");
  if (p.namespaces !== undefined)
    return adminPeerOf("namespaces", { ns: sel(policy, `${field}.namespaces`, p.namespaces) });
  if (p.pods !== undefined) {
    return adminPeerOf("pods", {
      ns: sel(policy, `${field}.pods.namespaceSelector`, p.pods.namespaceSelector ?? {}),
      pod: sel(policy, `${field}.pods.podSelector`, p.pods.podSelector ?? {}),
    });
  }
  if (p.nodes !== undefined) return adminPeerOf("nodes", { node: sel(policy, `${field}.nodes`, p.nodes) });
  if (p.networks !== undefined) {
    return adminPeerOf("networks", {
      prefixes: p.networks.map((n, i) => parseCidr(policy, `${field}.networks[${i}]`, n)),
    });
  }
  if (p.domainNames !== undefined) return adminPeerOf("domainNames", { names: [...p.domainNames] });
  return adminPeerOf("unknown", {});
}

type AnyAdminRule = {
  name?: string;
  action: string;
  from?: AdminNetworkPolicyEgressPeer[];
  to?: AdminNetworkPolicyEgressPeer[];
  ports?: AdminNetworkPolicyPort[];
};

function adminRules(
  policy: string,
  list: readonly AnyAdminRule[] | undefined,
  dir: "ingress" | "egress",
  actions: readonly string[],
): AdminRule[] {
  return (list ?? []).map((r, index) => {
    const at = `spec.${dir}[${index}]`;
    if (!actions.includes(r.action)) {
      throw new PolicyError(
        policy,
        `${at}.action`,
        `unsupported action ${JSON.stringify(r.action)}: use ${actions.join(", ")}`,
      );
    }
    const peers = (dir === "ingress" ? r.from : r.to) ?? [];
    if (peers.length === 0)
      throw new PolicyError(policy, `${at}.${dir === "ingress" ? "from" : "to"}`, "needs at least one peer");
    if (r.ports !== undefined && r.ports.length === 0)
      throw new PolicyError(policy, `${at}.ports`, "must not be empty when set");
    return {
      index,
      name: r.name,
      action: r.action as AdminRule["action"],
      peers: peers.map((p, j) => adminPeer(policy, `${at}.${dir === "ingress" ? "from" : "to"}[${j}]`, p)),
      ports: r.ports?.map((p, k) => adminPort(policy, `${at}.ports[${k}]`, p)),
    };
  });
}

function subjectOf(
  policy: string,
  s: { namespaces?: LabelSelector; pods?: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector } },
): {
  subjectNs: Sel;
  subjectPod: Sel | undefined;
} {
  if ((s.namespaces === undefined) === (s.pods === undefined)) {
    throw new PolicyError(policy, "spec.subject", "exactly one of namespaces or pods must be set");
  }
  if (s.namespaces !== undefined)
    return { subjectNs: sel(policy, "spec.subject.namespaces", s.namespaces), subjectPod: undefined };
  return {
    subjectNs: sel(policy, "spec.subject.pods.namespaceSelector", s.pods?.namespaceSelector ?? {}),
    subjectPod: sel(policy, "spec.subject.pods.podSelector", s.pods?.podSelector ?? {}),
  };
}

/** Default, validate and compile an AdminNetworkPolicy. */
export function compileAdminNetworkPolicy(raw: AdminNetworkPolicy): AdminPolicy {
  const anp = defaultAdminNetworkPolicy(raw);
  const key = anp.metadata?.name ?? "<unnamed>";
  rejectProblems(key, validateAdminNetworkPolicy(anp));
  const spec = anp.spec;
  if (!Number.isInteger(spec.priority) || spec.priority < 0 || spec.priority > 1000) {
    throw new PolicyError(
      key,
      "spec.priority",
      `must be an integer from 0 to 1000, got ${JSON.stringify(spec.priority)}`,
    );
  }
  const actions = ["Allow", "Deny", "Pass"];
  return {
    kind: "AdminNetworkPolicy",
    key,
    priority: spec.priority,
    ...subjectOf(key, spec.subject),
    ingress: adminRules(key, spec.ingress as AnyAdminRule[] | undefined, "ingress", actions),
    egress: adminRules(key, spec.egress as AnyAdminRule[] | undefined, "egress", actions),
  };
}

/** Default, validate and compile the BaselineAdminNetworkPolicy. */
export function compileBaselineAdminNetworkPolicy(raw: BaselineAdminNetworkPolicy): AdminPolicy {
  const banp = defaultBaselineAdminNetworkPolicy(raw);
  const key = banp.metadata?.name ?? "default";
  rejectProblems(key, validateBaselineAdminNetworkPolicy(banp));
  if (key !== "default")
    throw new PolicyError(key, "metadata.name", 'the BaselineAdminNetworkPolicy is a singleton named "default"');
  const spec = banp.spec;
  const actions = ["Allow", "Deny"];
  return {
    kind: "BaselineAdminNetworkPolicy",
    key,
    priority: 1001,
    ...subjectOf(key, spec.subject),
    ingress: adminRules(key, spec.ingress as AnyAdminRule[] | undefined, "ingress", actions),
    egress: adminRules(key, spec.egress as AnyAdminRule[] | undefined, "egress", actions),
  };
}
