/**
 * The status stanzas knet's controller writes: per owned Gateway its conditions
 * and per listener `attachedRoutes` and conditions; per HTTPRoute, per parentRef
 * of a Gateway knet owns, the route's conditions.
 */
import type { GatewayModel } from "./model.js";
import type { Condition, ParentReference, RouteGroupKind } from "./types.js";

/** One Gateway's status. */
export interface GatewayStatusEntry {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** Gateway conditions. */
  readonly conditions: readonly Condition[];
  /** Listener statuses in spec order. */
  readonly listeners: readonly {
    readonly name: string;
    readonly attachedRoutes: number;
    readonly supportedKinds: readonly RouteGroupKind[];
    readonly conditions: readonly Condition[];
  }[];
}

/** One route's status. */
export interface RouteStatusEntry {
  /** `HTTPRoute`. */
  readonly kind: string;
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** Per parentRef (of Gateways knet owns). */
  readonly parents: readonly {
    readonly parentRef: ParentReference;
    readonly controllerName: string;
    readonly conditions: readonly Condition[];
  }[];
}

/** Everything {@link gatewayStatus} reports. */
export interface GatewayStatusReport {
  /** Gateways (objects of knet's GatewayClasses). */
  readonly gateways: readonly GatewayStatusEntry[];
  /** HTTPRoutes with at least one parent knet owns. */
  readonly routes: readonly RouteStatusEntry[];
}

/**
 * The status of every Gateway object and HTTPRoute knet owns (the Gateways and
 * routes it made from Ingresses are internal and not listed).
 */
export function gatewayStatus(
  model: GatewayModel,
  controllerName = "knet.dev/gateway-controller",
): GatewayStatusReport {
  return {
    gateways: model.gateways
      .filter((g) => g.source === "Gateway")
      .map((g) => ({
        namespace: g.key.namespace,
        name: g.key.name,
        conditions: g.conditions,
        listeners: g.listeners.map((l) => ({
          name: l.name,
          attachedRoutes: l.attachedRoutes,
          supportedKinds: l.supportedKinds,
          conditions: l.conditions,
        })),
      })),
    routes: model.routes
      .filter((r) => r.kind === "HTTPRoute")
      .map((r) => ({
        kind: r.kind,
        namespace: r.key.namespace,
        name: r.key.name,
        parents: r.parents.map((p) => ({ parentRef: p.parentRef, controllerName, conditions: p.conditions })),
      })),
  };
}
