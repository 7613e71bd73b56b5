/**
 * Condition types and reasons the Gateway API specification defines
 * (apis/v1/gateway_types.go, shared_types.go), and a constructor.
 */
import type { Condition } from "./types.js";

/** Route, Gateway and Listener reasons used by knet (spelled as the spec does). */
export const Reason = {
  Accepted: "Accepted",
  Programmed: "Programmed",
  ResolvedRefs: "ResolvedRefs",
  Pending: "Pending",
  Invalid: "Invalid",
  ListenersNotValid: "ListenersNotValid",
  NotAllowedByListeners: "NotAllowedByListeners",
  NoMatchingListenerHostname: "NoMatchingListenerHostname",
  NoMatchingParent: "NoMatchingParent",
  UnsupportedValue: "UnsupportedValue",
  IncompatibleFilters: "IncompatibleFilters",
  RefNotPermitted: "RefNotPermitted",
  InvalidKind: "InvalidKind",
  BackendNotFound: "BackendNotFound",
  UnsupportedProtocol: "UnsupportedProtocol",
  InvalidCertificateRef: "InvalidCertificateRef",
  InvalidRouteKinds: "InvalidRouteKinds",
  NoConflicts: "NoConflicts",
  ProtocolConflict: "ProtocolConflict",
  HostnameConflict: "HostnameConflict",
} as const;

/** A condition with the given type, status, reason and message. */
export function condition(type: string, ok: boolean | "Unknown", reason: string, message: string): Condition {
  return { type, status: ok === "Unknown" ? "Unknown" : ok ? "True" : "False", reason, message };
}
