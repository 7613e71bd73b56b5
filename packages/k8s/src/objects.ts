/**
 * The Kubernetes object shapes knet reads. Core, discovery and networking kinds
 * come from the well-kept `kubernetes-types` package; what it lacks (the
 * policy.networking.k8s.io Admin/Baseline policies) is declared in this package.
 */

export type {
  Container,
  ContainerPort,
  Namespace,
  Node,
  Pod,
  PodSpec,
  PodStatus,
  Service,
  ServicePort,
  ServiceSpec,
} from "kubernetes-types/core/v1.js";
export type {
  Endpoint as SliceEndpoint,
  EndpointConditions,
  EndpointHints,
  EndpointPort,
  EndpointSlice,
} from "kubernetes-types/discovery/v1.js";
export type { LabelSelector, LabelSelectorRequirement, ObjectMeta } from "kubernetes-types/meta/v1.js";
export type {
  IPBlock,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicySpec,
} from "kubernetes-types/networking/v1.js";

import type { Namespace, Node, Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { LabelSelector, ObjectMeta } from "kubernetes-types/meta/v1.js";
import type { NetworkPolicy } from "kubernetes-types/networking/v1.js";

/** The pods an Admin/Baseline policy applies to: pods in selected namespaces that match `podSelector`. */
export interface NamespacedPod {
  /** Namespaces whose pods may match (`{}` = all namespaces). */
  namespaceSelector: LabelSelector;
  /** Pods inside those namespaces (`{}` = all pods). */
  podSelector: LabelSelector;
}

/** Who an Admin/Baseline policy applies to: exactly one of `namespaces` or `pods`. */
export interface AdminNetworkPolicySubject {
  /** All pods in namespaces matching this selector. */
  namespaces?: LabelSelector;
  /** Pods matching a namespace and a pod selector. */
  pods?: NamespacedPod;
}

/** A port matcher in an Admin/Baseline rule: exactly one of the three fields. */
export interface AdminNetworkPolicyPort {
  /** One port number with its protocol (TCP when absent). */
  portNumber?: { protocol?: string; port: number };
  /** A named container port on the destination pod (experimental upstream). */
  namedPort?: string;
  /** An inclusive range `start`..`end` (start < end) with its protocol (TCP when absent). */
  portRange?: { protocol?: string; start: number; end: number };
}

/** An ingress peer: exactly one of `namespaces` or `pods`. */
export interface AdminNetworkPolicyIngressPeer {
  /** All pods in namespaces matching this selector. */
  namespaces?: LabelSelector;
  /** Pods matching a namespace and a pod selector. */
  pods?: NamespacedPod;
}

/** An egress peer: exactly one field. */
export interface AdminNetworkPolicyEgressPeer {
  /** All pods in namespaces matching this selector. */
  namespaces?: LabelSelector;
  /** Pods matching a namespace and a pod selector. */
  pods?: NamespacedPod;
  /** Nodes matching this selector (their `status.addresses`). */
  nodes?: LabelSelector;
  /** CIDRs (at most 25); match any IP, pod IPs included. */
  networks?: string[];
  /** DNS names, `*.` prefix wildcard allowed (ANP Allow rules only). */
  domainNames?: string[];
}

/** One AdminNetworkPolicy ingress rule. */
export interface AdminNetworkPolicyIngressRule {
  /** Optional rule name (at most 100 characters). */
  name?: string;
  /** What a match does. */
  action: "Allow" | "Deny" | "Pass";
  /** Sources (1 to 100 peers). */
  from: AdminNetworkPolicyIngressPeer[];
  /** Destination ports; absent = all ports. */
  ports?: AdminNetworkPolicyPort[];
}

/** One AdminNetworkPolicy egress rule. */
export interface AdminNetworkPolicyEgressRule {
  /** Optional rule name (at most 100 characters). */
  name?: string;
  /** What a match does. */
  action: "Allow" | "Deny" | "Pass";
  /** Destinations (1 to 100 peers). */
  to: AdminNetworkPolicyEgressPeer[];
  /** Destination ports; absent = all ports. */
  ports?: AdminNetworkPolicyPort[];
}

/** The spec of an AdminNetworkPolicy. */
export interface AdminNetworkPolicySpec {
  /** 0-1000; lower numbers take precedence. */
  priority: number;
  /** The pods the policy applies to. */
  subject: AdminNetworkPolicySubject;
  /** Ingress rules in evaluation order (at most 100). */
  ingress?: AdminNetworkPolicyIngressRule[];
  /** Egress rules in evaluation order (at most 100). */
  egress?: AdminNetworkPolicyEgressRule[];
}

/** policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy: a cluster-scoped, prioritised policy evaluated before NetworkPolicy. */
export interface AdminNetworkPolicy {
  /** Always `policy.networking.k8s.io/v1alpha1`. */
  apiVersion?: "policy.networking.k8s.io/v1alpha1";
  /** Always `AdminNetworkPolicy`. */
  kind?: "AdminNetworkPolicy";
  /** Object metadata (cluster-scoped: no namespace). */
  metadata?: ObjectMeta;
  /** The policy. */
  spec: AdminNetworkPolicySpec;
}

/** One BaselineAdminNetworkPolicy ingress rule (no `Pass`). */
export interface BaselineAdminNetworkPolicyIngressRule {
  /** Optional rule name (at most 100 characters). */
  name?: string;
  /** What a match does. */
  action: "Allow" | "Deny";
  /** Sources (1 to 100 peers). */
  from: AdminNetworkPolicyIngressPeer[];
  /** Destination ports; absent = all ports. */
  ports?: AdminNetworkPolicyPort[];
}

/** One BaselineAdminNetworkPolicy egress rule (no `Pass`). */
export interface BaselineAdminNetworkPolicyEgressRule {
  /** Optional rule name (at most 100 characters). */
  name?: string;
  /** What a match does. */
  action: "Allow" | "Deny";
  /** Destinations (1 to 100 peers). */
  to: AdminNetworkPolicyEgressPeer[];
  /** Destination ports; absent = all ports. */
  ports?: AdminNetworkPolicyPort[];
}

/** The spec of a BaselineAdminNetworkPolicy. */
export interface BaselineAdminNetworkPolicySpec {
  /** The pods the policy applies to. */
  subject: AdminNetworkPolicySubject;
  /** Ingress rules in evaluation order (at most 100). */
  ingress?: BaselineAdminNetworkPolicyIngressRule[];
  /** Egress rules in evaluation order (at most 100). */
  egress?: BaselineAdminNetworkPolicyEgressRule[];
}

/** policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy: the cluster singleton (named `default`) evaluated after NetworkPolicy. */
export interface BaselineAdminNetworkPolicy {
  /** Always `policy.networking.k8s.io/v1alpha1`. */
  apiVersion?: "policy.networking.k8s.io/v1alpha1";
  /** Always `BaselineAdminNetworkPolicy`. */
  kind?: "BaselineAdminNetworkPolicy";
  /** Object metadata; the name must be `default`. */
  metadata?: ObjectMeta;
  /** The policy. */
  spec: BaselineAdminNetworkPolicySpec;
}

/** Every object kind knet understands, discriminated by `kind`. */
export type KubeObject =
  | (Service & { kind: "Service" })
  | (Pod & { kind: "Pod" })
  | (Node & { kind: "Node" })
  | (Namespace & { kind: "Namespace" })
  | (EndpointSlice & { kind: "EndpointSlice" })
  | (NetworkPolicy & { kind: "NetworkPolicy" })
  | (AdminNetworkPolicy & { kind: "AdminNetworkPolicy" })
  | (BaselineAdminNetworkPolicy & { kind: "BaselineAdminNetworkPolicy" });

/** The `kind` of a {@link KubeObject}. */
export type KubeKind = KubeObject["kind"];

/** The apiVersion each supported kind is loaded from. */
export const KIND_API_VERSIONS: Readonly<Record<KubeKind, string>> = {
  Service: "v1",
  Pod: "v1",
  Node: "v1",
  Namespace: "v1",
  EndpointSlice: "discovery.k8s.io/v1",
  NetworkPolicy: "networking.k8s.io/v1",
  AdminNetworkPolicy: "policy.networking.k8s.io/v1alpha1",
  BaselineAdminNetworkPolicy: "policy.networking.k8s.io/v1alpha1",
};

/** Kinds whose objects live in a namespace (the others are cluster-scoped). */
export const NAMESPACED_KINDS: ReadonlySet<KubeKind> = new Set<KubeKind>([
  "Service",
  "Pod",
  "EndpointSlice",
  "NetworkPolicy",
]);
