/**
 * `@knet/k8s`: Kubernetes networking objects: shapes, API-server defaulting and
 * validation, label selectors, manifest loading and the EndpointSlice controller.
 *
 * @module
 */
export type {
  Container,
  ContainerPort,
  EndpointConditions,
  EndpointHints,
  EndpointPort,
  EndpointSlice,
  IPBlock,
  LabelSelector,
  LabelSelectorRequirement,
  Namespace,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicySpec,
  Node,
  ObjectMeta,
  Pod,
  PodSpec,
  PodStatus,
  Service,
  ServicePort,
  ServiceSpec,
  SliceEndpoint,
} from "./objects.js";
