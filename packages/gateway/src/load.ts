/**
 * Reading manifests for the gateway: the Gateway API and Ingress kinds (and
 * Secrets) next to the kinds `@knet/k8s` knows (Services, EndpointSlices,
 * Namespaces). Every object is defaulted and validated as the API server would;
 * a problem names its document, object and field.
 */
import type { EndpointSlice, KubeObject, ManifestProblem, ManifestText, Namespace, Service } from "@knet/k8s";
import { defaultObject, KIND_API_VERSIONS, ManifestError, validateObject } from "@knet/k8s";
import { parseAllDocuments } from "yaml";
import { registerGatewayKinds } from "./kinds.js";
import type { GatewayInputs } from "./model.js";
import type { Gateway, GatewayClass, HTTPRoute, Ingress, IngressClass, ReferenceGrant, Secret } from "./types.js";
import { GATEWAY_GROUP } from "./types.js";
import {
  defaultGatewayObject,
  GATEWAY_API_VERSIONS,
  GATEWAY_KIND_API_VERSIONS,
  type GatewayPackageObject,
  validateGatewayObject,
} from "./validate.js";

/** What {@link loadGatewayInputs} returns: the inputs and the objects it skipped. */
export interface LoadedGatewayInputs {
  /** Objects by kind. */
  readonly inputs: Required<{ -readonly [K in keyof GatewayInputs]: NonNullable<GatewayInputs[K]>[number][] }>;
  /** Kinds present but not used by the gateway (Deployments, ConfigMaps, ...), with counts. */
  readonly ignored: ReadonlyMap<string, number>;
}

const OWN = GATEWAY_KIND_API_VERSIONS as Readonly<Record<string, string>>;
const K8S = KIND_API_VERSIONS as Readonly<Record<string, string>>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The Gateway API and Ingress objects of {@link gatewayInputsFrom}, by kind. */
export type GatewayKindLists = Pick<
  LoadedGatewayInputs["inputs"],
  "gatewayClasses" | "gateways" | "httpRoutes" | "referenceGrants" | "ingresses" | "ingressClasses"
>;

/** Put a defaulted object of this package's kinds into its list. */
function sortInto(inputs: GatewayKindLists, obj: GatewayPackageObject): void {
  switch (obj.kind) {
    case "GatewayClass":
      inputs.gatewayClasses.push(obj as GatewayClass);
      break;
    case "Gateway":
      inputs.gateways.push(obj as Gateway);
      break;
    case "HTTPRoute":
      inputs.httpRoutes.push(obj as HTTPRoute);
      break;
    case "ReferenceGrant":
      inputs.referenceGrants.push(obj as ReferenceGrant);
      break;
    case "Ingress":
      inputs.ingresses.push(obj as Ingress);
      break;
    case "IngressClass":
      inputs.ingressClasses.push(obj as IngressClass);
      break;
  }
}

/**
 * Gateway inputs from objects a knet manifest reader already admitted through the
 * kind registry (see {@link registerGatewayKinds}): this package's kinds, defaulted,
 * by kind; objects of other kinds are left out. For the cluster extension
 * (`gatewayClusterExtension`), which takes Services and EndpointSlices from
 * the cluster itself.
 */
export function gatewayInputsFrom(objects: Iterable<{ readonly kind: string }>): GatewayKindLists {
  const inputs: GatewayKindLists = {
    gatewayClasses: [],
    gateways: [],
    httpRoutes: [],
    referenceGrants: [],
    ingresses: [],
    ingressClasses: [],
  };
  for (const o of objects)
    if (OWN[o.kind] !== undefined) sortInto(inputs, defaultGatewayObject(o as unknown as GatewayPackageObject));
  return inputs;
}

/**
 * Load manifest texts (multi-document YAML or JSON, `List`s) into gateway inputs.
 * @throws ManifestError (from `@knet/k8s`) listing every syntax, apiVersion and validation problem.
 */
export function loadGatewayInputs(texts: readonly ManifestText[]): LoadedGatewayInputs {
  registerGatewayKinds();
  const inputs: LoadedGatewayInputs["inputs"] = {
    gatewayClasses: [],
    gateways: [],
    httpRoutes: [],
    referenceGrants: [],
    ingresses: [],
    ingressClasses: [],
    services: [],
    endpointSlices: [],
    namespaces: [],
    secrets: [],
  };
  const ignored = new Map<string, number>();
  const problems: ManifestProblem[] = [];
  const admit = (v: unknown, source: string, document: number, item?: number): void => {
    const where = item === undefined ? { source, document } : { source, document, item };
    if (!isRecord(v)) {
      problems.push({ code: "shape", field: "", message: "document is not an object", source: where });
      return;
    }
    const kind = typeof v.kind === "string" ? v.kind : "";
    const apiVersion = typeof v.apiVersion === "string" ? v.apiVersion : "";
    if (kind === "List" && Array.isArray(v.items)) {
      v.items.forEach((it, i) => {
        admit(it, source, document, i);
      });
      return;
    }
    const expected = OWN[kind] ?? K8S[kind] ?? (kind === "Secret" ? "v1" : undefined);
    if (expected === undefined) {
      ignored.set(kind, (ignored.get(kind) ?? 0) + 1);
      return;
    }
    const served = expected.startsWith(`${GATEWAY_GROUP}/`)
      ? GATEWAY_API_VERSIONS.includes(apiVersion)
      : apiVersion === expected;
    if (!served) {
      problems.push({
        code: "api-version",
        field: "apiVersion",
        message: `${kind} is read as ${expected}, not "${apiVersion}"`,
        source: where,
        object: { kind },
      });
      return;
    }
    if (kind === "Secret") {
      inputs.secrets.push(v as unknown as Secret);
      return;
    }
    if (OWN[kind] !== undefined) {
      const obj = defaultGatewayObject(v as unknown as GatewayPackageObject);
      const found = validateGatewayObject(obj);
      for (const p of found) problems.push({ ...p, source: where });
      if (found.length > 0) return;
      sortInto(inputs, obj);
      return;
    }
    if (kind !== "Service" && kind !== "EndpointSlice" && kind !== "Namespace") {
      ignored.set(kind, (ignored.get(kind) ?? 0) + 1);
      return;
    }
    const obj = defaultObject(v as unknown as KubeObject);
    const found = validateObject(obj);
    for (const p of found) problems.push({ ...p, source: where });
    if (found.length > 0) return;
    if (obj.kind === "Service") inputs.services.push(obj as Service);
    else if (obj.kind === "EndpointSlice") inputs.endpointSlices.push(obj as EndpointSlice);
    else inputs.namespaces.push(obj as Namespace);
  };
  for (const t of texts) {
    const docs = parseAllDocuments(t.text);
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      const where = { source: t.name, document: i + 1 };
      if (doc.errors.length > 0) {
        problems.push({ code: "syntax", field: "", message: doc.errors[0]?.message ?? "syntax error", source: where });
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return;
      admit(value, t.name, i + 1);
    });
  }
  if (problems.length > 0) throw new ManifestError(problems);
  return { inputs, ignored };
}
