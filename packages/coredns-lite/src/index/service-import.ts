/**
 * ServiceImport (`multicluster.x-k8s.io/v1alpha1`, KEP-1645) as a kind of the
 * `@knet/k8s` registry, so manifests carrying it load (`parseManifests` lists it
 * among `extensions`) and validate as the MCS API's CRD schema checks it.
 */
import { type KindDefinition, type KindProblem, registerKind } from "@knet/k8s";
import { Addr } from "@knet/netstack";
import type { ServiceImport } from "./dns-index.js";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function shape(o: Readonly<Record<string, unknown>>): KindProblem[] {
  const spec = o.spec;
  if (!isRecord(spec)) return [];
  const out: KindProblem[] = [];
  if (spec.type !== undefined && typeof spec.type !== "string")
    out.push({ code: "shape", field: "spec.type", message: "must be a string" });
  if (spec.ips !== undefined && !(Array.isArray(spec.ips) && spec.ips.every((ip) => typeof ip === "string")))
    out.push({ code: "shape", field: "spec.ips", message: "must be a list of strings" });
  if (spec.ports !== undefined) {
    if (!Array.isArray(spec.ports)) out.push({ code: "shape", field: "spec.ports", message: "must be a list" });
    else
      spec.ports.forEach((p, i) => {
        if (!isRecord(p) || typeof p.port !== "number")
          out.push({ code: "shape", field: `spec.ports[${i}].port`, message: "must be an integer" });
      });
  }
  return out;
}

function validate(o: ServiceImport): KindProblem[] {
  const spec = o.spec ?? {};
  const out: KindProblem[] = [];
  if (spec.type !== "ClusterSetIP" && spec.type !== "Headless")
    out.push({ code: "invalid", field: "spec.type", message: 'must be "ClusterSetIP" or "Headless"' });
  (spec.ips ?? []).forEach((ip, i) => {
    if (!Addr.isValid(ip))
      out.push({ code: "invalid", field: `spec.ips[${i}]`, message: `"${ip}" is not an IP address` });
  });
  (spec.ports ?? []).forEach((p, i) => {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      out.push({ code: "invalid", field: `spec.ports[${i}].port`, message: "must be an integer in 1..65535" });
  });
  return out;
}

/** The registry definition of ServiceImport. */
export const SERVICE_IMPORT_KIND: KindDefinition = {
  apiVersion: "multicluster.x-k8s.io/v1alpha1",
  kind: "ServiceImport",
  namespaced: true,
  shape,
  validate: (o) => validate(o as ServiceImport),
};

/** Register ServiceImport with the `@knet/k8s` kind registry (again is a no-op). */
export function registerServiceImport(): void {
  registerKind(SERVICE_IMPORT_KIND);
}
