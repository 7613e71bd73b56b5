/**
 * Multus's pod-facing pieces, as Multus and the Network Plumbing WG's
 * network-attachment-definition client implement the de-facto standard (v1.2):
 * the NetworkAttachmentDefinition kind, the `networks` selection annotation and
 * the `network-status` annotation.
 * @packageDocumentation
 */
export type { BandwidthEntry, NetworkSelectionElement, PortMapEntry } from "./annotation.js";
export {
  attachmentInterfaceNames,
  isGoMac,
  NETWORKS_ANNOTATION,
  NetworkAnnotationError,
  parseNetworkSelectionAnnotation,
} from "./annotation.js";
export type { NetworkAttachmentDefinition } from "./nad.js";
export { NETWORK_ATTACHMENT_DEFINITION_KIND, registerNetworkAttachmentDefinition } from "./nad.js";
export type { DeviceInfo, NetworkStatus } from "./network-status.js";
export { createNetworkStatuses, formatNetworkStatusAnnotation, NETWORK_STATUS_ANNOTATION } from "./network-status.js";
