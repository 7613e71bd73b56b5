/**
 * `@knet/k8s`: Kubernetes networking objects: shapes, API-server defaulting and
 * validation, label selectors, manifest loading and the EndpointSlice controller.
 *
 * @example
 * ```ts
 * import { defaultObject, loadManifests, matchSelector } from "@knet/k8s";
 *
 * const objects = loadManifests(yamlText).map((o) => defaultObject(o));
 * matchSelector({ matchLabels: { app: "web" } }, { app: "web", tier: "fe" }); // true
 * ```
 *
 * @module
 */

export type { ClusterSourceOptions, KubeConnection, KubeReply } from "./cluster-source.js";
export {
  ClusterSource,
  ClusterSourceError,
  inClusterConnection,
  KubeClient,
  loadKubeconfig,
  WATCHABLE_KINDS,
} from "./cluster-source.js";
export type {
  ChangeEvent,
  ChangeListener,
  ChangeType,
  ClusterStateOptions,
  KindChangeEvent,
  KindMap,
  SubscribeOptions,
} from "./cluster-state.js";
export { ClusterState, StateError } from "./cluster-state.js";
export type { DefaultingOptions, IPFamily } from "./defaults.js";
export {
  DEFAULT_CLIENT_IP_TIMEOUT_SECONDS,
  defaultAdminNetworkPolicy,
  defaultBaselineAdminNetworkPolicy,
  defaultEndpointSlice,
  defaultNamespace,
  defaultNetworkPolicy,
  defaultNode,
  defaultObject,
  defaultPod,
  defaultService,
  NAMESPACE_NAME_LABEL,
} from "./defaults.js";
export type { DirectorySourceOptions } from "./directory-source.js";
export { DirectorySource, DirectorySourceError } from "./directory-source.js";
export type { AddressType, EndpointSliceOptions } from "./endpoint-slices.js";
export {
  addressTypesFor,
  DEFAULT_MAX_ENDPOINTS_PER_SLICE,
  ENDPOINTSLICE_CONTROLLER_NAME,
  endpointSlicesFor,
  findPort,
  hasControllerSlices,
  isPodReady,
  isPodTerminal,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_TOPOLOGY_ZONE,
  podIPs,
  shouldPodBeInEndpoints,
} from "./endpoint-slices.js";
export type { ExtensionObject, KindDefinition, KindProblem } from "./kinds.js";
export {
  isBuiltinKind,
  isNamespacedKind,
  KindRegistryError,
  kindDefinition,
  registeredKinds,
  registerKind,
} from "./kinds.js";
export { LabelIndex } from "./label-index.js";
export type {
  LoadedExtension,
  LoadedObject,
  LoadOptions,
  ManifestFormat,
  ManifestText,
  ParseOptions,
  ParseResult,
  ReadDocument,
} from "./load.js";
export {
  DEFAULT_MAX_FULL_PARSE_BYTES,
  loadManifests,
  parseManifests,
  readDocuments,
  serializeManifests,
} from "./load.js";
export type { ObjectNameRef } from "./object-key.js";
export { namespaceOf, objectKey } from "./object-key.js";
export type {
  AdminNetworkPolicy,
  AdminNetworkPolicyEgressPeer,
  AdminNetworkPolicyEgressRule,
  AdminNetworkPolicyIngressPeer,
  AdminNetworkPolicyIngressRule,
  AdminNetworkPolicyPort,
  AdminNetworkPolicySpec,
  AdminNetworkPolicySubject,
  BaselineAdminNetworkPolicy,
  BaselineAdminNetworkPolicyEgressRule,
  BaselineAdminNetworkPolicyIngressRule,
  BaselineAdminNetworkPolicySpec,
  Container,
  ContainerPort,
  EndpointConditions,
  EndpointHints,
  EndpointPort,
  EndpointSlice,
  IPBlock,
  KubeKind,
  KubeObject,
  LabelSelector,
  LabelSelectorRequirement,
  Namespace,
  NamespacedPod,
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
export { KIND_API_VERSIONS, NAMESPACED_KINDS } from "./objects.js";
export type { DocumentRef, ManifestProblem, ObjectRef, ProblemCode } from "./problem.js";
export { formatDocumentRef, formatObjectRef, formatProblem, ManifestError } from "./problem.js";
export type { CompiledSelector, Labels, Requirement, SelectorOperator } from "./selector.js";
export {
  compileSelector,
  formatSelector,
  matchLabelMap,
  matchSelector,
  SelectorError,
  selectorFromLabelMap,
  selectorMatches,
} from "./selector.js";
export type { AdmittedManifests, DroppedObject, ValidateManifestsOptions, ValidationReport } from "./validate.js";
export {
  admitManifests,
  assertValid,
  validateAdminNetworkPolicy,
  validateBaselineAdminNetworkPolicy,
  validateEndpointSlice,
  validateManifests,
  validateNamespace,
  validateNetworkPolicy,
  validateNode,
  validateObject,
  validatePod,
  validateService,
} from "./validate.js";
export type { ValidationOptions } from "./validation-options.js";
export { DEFAULT_NODE_PORT_RANGE, nodePortRangeOf } from "./validation-options.js";
