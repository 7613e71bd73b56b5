/**
 * The Kubernetes object shapes knet reads. Core, discovery and networking kinds
 * come from the well-kept `kubernetes-types` package; what it lacks (the
 * policy.networking.k8s.io Admin/Baseline policies) is declared in this package.
 */
export type { EndpointConditions, EndpointHints, EndpointPort, EndpointSlice, Endpoint as SliceEndpoint } from "kubernetes-types/discovery/v1";
export type { LabelSelector, LabelSelectorRequirement, ObjectMeta } from "kubernetes-types/meta/v1";
export type {
  IPBlock,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicySpec,
} from "kubernetes-types/networking/v1";
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
} from "kubernetes-types/core/v1";
