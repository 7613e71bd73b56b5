/**
 * Service traffic as policy sees it: after DNAT, a connection to a Service port
 * is a connection to one backend pod's IP and targetPort. Policies select pods,
 * never Services, so an egress rule must admit the backends, not the ClusterIP.
 */
import { defaultService, matchLabelMap, type Service } from "@knet/k8s";
import { internals, type PolicyEngine } from "./engine.js";
import type { PolicyProtocol, Verdict } from "./types.js";

/** One backend a Service port leads to. */
export interface ServiceTarget {
  /** Backend pod, `ns/name`. */
  readonly pod: string;
  /** The targetPort resolved on that pod (a named targetPort may differ per pod). */
  readonly port: number;
  /** The Service port's protocol. */
  readonly protocol: PolicyProtocol;
}

/**
 * The backends of a Service port: pods of the Service's namespace matching its
 * selector (an empty or absent selector selects none, as the EndpointSlice
 * controller does), with the targetPort resolved per pod. Pods without an IP,
 * or without the named targetPort, are not backends.
 *
 * @param port the Service port, by number or by name.
 * @throws RangeError when the Service has no such port.
 */
export function serviceTargets(engine: PolicyEngine, service: Service, port: number | string): ServiceTarget[] {
  const svc = defaultService(service);
  const ns = svc.metadata?.namespace ?? "default";
  const sp = (svc.spec?.ports ?? []).find((p) => (typeof port === "number" ? p.port === port : p.name === port));
  if (sp === undefined) throw new RangeError(`service ${ns}/${svc.metadata?.name} has no port ${port}`);
  const protocol = (sp.protocol ?? "TCP") as PolicyProtocol;
  const selector = svc.spec?.selector;
  if (selector === undefined || Object.keys(selector).length === 0) return [];
  const out: ServiceTarget[] = [];
  for (const pod of internals(engine).cluster.pods) {
    if (pod.namespace !== ns || pod.ips.length === 0 || !matchLabelMap(selector, pod.labels)) continue;
    const tp = sp.targetPort ?? sp.port;
    let number: number | undefined;
    if (typeof tp === "number") number = tp;
    else if (/^[0-9]+$/.test(tp)) number = Number(tp);
    else {
      const named = pod.namedPorts.get(tp);
      if (named !== undefined && named.protocol === protocol) number = named.port;
    }
    if (number !== undefined) out.push({ pod: pod.key, port: number, protocol });
  }
  return out;
}

/**
 * The verdict of a client reaching each backend through a Service port: the
 * flow policy evaluates is the post-DNAT one (backend pod, targetPort).
 */
export function serviceVerdicts(
  engine: PolicyEngine,
  from: string,
  service: Service,
  port: number | string,
): { readonly target: ServiceTarget; readonly verdict: Verdict }[] {
  return serviceTargets(engine, service, port).map((target) => ({
    target,
    verdict: engine.verdict({ from, to: target.pod, protocol: target.protocol, port: target.port }),
  }));
}
