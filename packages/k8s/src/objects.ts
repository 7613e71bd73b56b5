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
