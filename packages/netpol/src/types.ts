/**
 * Public data shapes of `@knet/netpol`: flows, profiles and verdicts.
 */
import type { AdminNetworkPolicy, BaselineAdminNetworkPolicy, Namespace, NetworkPolicy, Node, Pod } from "@knet/k8s";

/** A transport protocol NetworkPolicy is defined for. */
export type PolicyProtocol = "TCP" | "UDP" | "SCTP";

/** A policy direction, named as in `spec.policyTypes`. */
export type Direction = "Ingress" | "Egress";

/** Everything policy verdicts depend on. Objects are read as written and defaulted by the engine. */
export interface PolicyClusterState {
  /** Namespaces (their labels feed namespace selectors); a namespace a pod uses but that is absent here gets only `kubernetes.io/metadata.name`. */
  readonly namespaces?: readonly Namespace[];
  /** Pods: labels, IPs (`status.podIPs`/`podIP`), container ports (named ports), `hostNetwork`. */
  readonly pods: readonly Pod[];
  /** networking.k8s.io/v1 NetworkPolicies. */
  readonly networkPolicies?: readonly NetworkPolicy[];
  /** AdminNetworkPolicies (cluster-scoped, evaluated before NetworkPolicy). */
  readonly adminNetworkPolicies?: readonly AdminNetworkPolicy[];
  /** The BaselineAdminNetworkPolicy singleton (evaluated after NetworkPolicy). */
  readonly baselineAdminNetworkPolicy?: BaselineAdminNetworkPolicy | undefined;
  /** Nodes: their `status.addresses` identify node traffic and ANP `nodes` peers. */
  readonly nodes?: readonly Node[];
}

/**
 * One connection attempt. `from` and `to` are a pod as `namespace/name` or an IP
 * address (a pod's IP resolves to that pod). The port is the destination port
 * as the destination pod sees it, i.e. after any Service DNAT (the targetPort).
 */
export interface Flow {
  /** Client: `ns/pod` or an IP. */
  readonly from: string;
  /** Server: `ns/pod` or an IP. */
  readonly to: string;
  /** Transport protocol. */
  readonly protocol: PolicyProtocol;
  /** Destination port (1-65535). */
  readonly port: number;
}

/**
 * Choices for the areas the NetworkPolicy specification leaves undefined. Every
 * verdict that one of these decided says so in its notes.
 */
export interface Profile {
  /** Name shown in explanations. */
  readonly name: string;
  /** A pod reaching itself: `allow` (a pod cannot block itself; upstream e2e ignores loopback) or `evaluate` like any flow. */
  readonly selfTraffic: "allow" | "evaluate";
  /** hostNetwork pods: `node` (never selected, their traffic is node traffic; most CNIs) or `pod` (treated as ordinary pods). */
  readonly hostNetworkPods: "node" | "pod";
  /** Traffic between a node and a pod: `allow` (the documented "node traffic is always allowed") or `evaluate` as an external IP. */
  readonly nodeTraffic: "allow" | "evaluate";
  /** Whether ipBlock peers match pod IPs (upstream conformance does so on egress), per direction. */
  readonly ipBlockMatchesPodIPs: { readonly ingress: boolean; readonly egress: boolean };
}

/** The policy tiers a direction passes through, in order. */
export type Tier = "ANP" | "NPv1" | "BANP" | "Default" | "Profile";

/** Which rule of which policy, and which peer and port of it, decided something. */
export interface RuleRef {
  /** Policy kind. */
  readonly kind: "NetworkPolicy" | "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy";
  /** `ns/name` for NetworkPolicy, `name` for the cluster-scoped kinds. */
  readonly policy: string;
  /** Rule direction. */
  readonly direction: Direction;
  /** Index of the rule in `spec.ingress`/`spec.egress`. */
  readonly rule: number;
  /** The rule's name (Admin/Baseline rules may carry one). */
  readonly ruleName?: string;
  /** Index of the peer that matched; absent when the rule has no peer list (all peers). */
  readonly peer?: number;
  /** Index of the port entry that matched; absent when the rule has no port list (all ports). */
  readonly port?: number;
  /** A named port's number on the destination pod, when the matching entry named one. */
  readonly resolvedPort?: number;
  /** Admin/Baseline action of the rule. */
  readonly action?: "Allow" | "Deny" | "Pass";
}

/** Why one rule of an isolating policy did not admit a flow. */
export interface RuleMiss {
  /** The rule. */
  readonly rule: RuleRef;
  /** Which clause failed, in words (port, protocol, namespace selector, pod selector, ipBlock/except). */
  readonly reason: string;
}

/** One tier's outcome in a direction. */
export interface TierStep {
  /** The tier. */
  readonly tier: Tier;
  /**
   * `Allow`/`Deny`/`Pass` (an Admin/Baseline rule matched), `NoMatch` (policies selected the pod,
   * no rule matched), `NotSelected` (no policy of the tier selects the pod), `Allowed`/`Dropped`
   * (NetworkPolicy isolated the pod), `NotIsolated` (no NetworkPolicy isolates it).
   */
  readonly outcome: "Allow" | "Deny" | "Pass" | "NoMatch" | "NotSelected" | "Allowed" | "Dropped" | "NotIsolated";
  /** Policies the tier considered for the pod (the isolating ones for NetworkPolicy). */
  readonly policies: readonly string[];
  /** The rule that decided, when one did. */
  readonly match?: RuleRef;
  /** Extra words (profile decisions, ambiguity). */
  readonly note?: string;
}

/** The verdict of one direction: egress of the client, or ingress of the server. */
export interface DirectionVerdict {
  /** The direction. */
  readonly direction: Direction;
  /** The pod whose policies apply (`ns/name`), or undefined when that side is not a pod. */
  readonly subject: string | undefined;
  /** Whether this direction lets the connection through. */
  readonly allowed: boolean;
  /** The tier that decided. */
  readonly decidedBy: Tier;
  /** Tiers visited, in order. */
  readonly steps: readonly TierStep[];
  /** For a NetworkPolicy drop: every rule of the isolating policies and why it missed. */
  readonly misses: readonly RuleMiss[];
}

/** What a flow's endpoint turned out to be. */
export interface ResolvedEndpoint {
  /** `pod` (policy subject), `node` (a node address or a hostNetwork pod in the `node` profile), or `external`. */
  readonly kind: "pod" | "node" | "external";
  /** `ns/name` for pods (and hostNetwork pods), the IP otherwise. */
  readonly name: string;
  /** The address used for ipBlock/networks matching, when known. */
  readonly ip: string | undefined;
}

/** The verdict of a flow: allowed iff egress of the client and ingress of the server both allow it. */
export interface Verdict {
  /** The flow asked about. */
  readonly flow: Flow;
  /** The client. */
  readonly from: ResolvedEndpoint;
  /** The server. */
  readonly to: ResolvedEndpoint;
  /** The connection (and its replies) is allowed. */
  readonly allowed: boolean;
  /** Client side. */
  readonly egress: DirectionVerdict;
  /** Server side. */
  readonly ingress: DirectionVerdict;
  /** Profile decisions and other remarks (e.g. "pod to itself: allowed by profile"). */
  readonly notes: readonly string[];
}
