/**
 * Validation as the API server does it, for the fields networking reads. Every
 * function returns all problems at once, each with its field path, and never
 * throws on malformed input (a wrong JSON type is itself a problem).
 */
import { type DefaultingOptions, defaultObject } from "./defaults.js";
import { Problems } from "./internal/checks.js";
import {
  validateAdminNetworkPolicyObject,
  validateBaselineAdminNetworkPolicyObject,
  validateNetworkPolicyObject,
} from "./internal/policy.js";
import { validateServiceObject } from "./internal/service.js";
import { checkUnknownFields } from "./internal/unknown-fields.js";
import {
  validateEndpointSliceObject,
  validateNamespaceObject,
  validateNodeObject,
  validatePodObject,
} from "./internal/workload.js";
import { type ExtensionObject, isBuiltinKind, isNamespacedKind, kindDefinition } from "./kinds.js";
import type { LoadedExtension, LoadedObject, ParseOptions, ParseResult } from "./load.js";
import { parseManifests } from "./load.js";
import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  EndpointSlice,
  KubeObject,
  Namespace,
  NetworkPolicy,
  Node,
  Pod,
  Service,
} from "./objects.js";
import { NAMESPACED_KINDS } from "./objects.js";
import { ManifestError, type ManifestProblem, type ObjectRef } from "./problem.js";
import type { ValidationOptions } from "./validation-options.js";

type Raw = Record<string, unknown>;

function refOf(obj: KubeObject): ObjectRef {
  const ref: { kind?: string; namespace?: string; name?: string } = { kind: obj.kind };
  const md = obj.metadata as Raw | undefined;
  if (typeof md?.namespace === "string") ref.namespace = md.namespace;
  if (typeof md?.name === "string") ref.name = md.name;
  return ref;
}

function out(p: Problems, object: ObjectRef): ManifestProblem[] {
  return p.list.map((x) => ({ ...x, object }));
}

/**
 * Validate a Service as kube-apiserver would after defaulting: name (RFC 1035
 * label), type, ports (1-65535, names required when several, RFC 1123 names,
 * unique port/protocol), protocols, targetPort (number or IANA name), nodePort
 * (forbidden for ClusterIP, inside the configured range), clusterIP(s) ("None"
 * only for ClusterIP, valid IPs, one per family, matching ipFamilies, optional
 * service range), ExternalName host, session affinity, traffic policies,
 * externalIPs, loadBalancerSourceRanges, selector labels.
 * Pass the defaulted object (see `defaultService`).
 */
export function validateService(service: Service, options: ValidationOptions = {}): ManifestProblem[] {
  return out(validateServiceObject(service as Raw, options), refOf({ ...service, kind: "Service" }));
}

/** Validate a Pod's networking fields: name, containers and ports (IANA names, unique), DNS policy, hostname/subdomain, pod IPs. */
export function validatePod(pod: Pod): ManifestProblem[] {
  return out(validatePodObject(pod as Raw), refOf({ ...pod, kind: "Pod" }));
}

/** Validate a Node's networking fields: name, podCIDR(s), status addresses. */
export function validateNode(node: Node): ManifestProblem[] {
  return out(validateNodeObject(node as Raw), refOf({ ...node, kind: "Node" }));
}

/** Validate a Namespace (its name is an RFC 1123 label). */
export function validateNamespace(namespace: Namespace): ManifestProblem[] {
  return out(validateNamespaceObject(namespace as Raw), refOf({ ...namespace, kind: "Namespace" }));
}

/** Validate an EndpointSlice: addressType, endpoints (1-100 addresses of that type), hostnames, ports. */
export function validateEndpointSlice(slice: EndpointSlice): ManifestProblem[] {
  return out(validateEndpointSliceObject(slice as unknown as Raw), refOf({ ...slice, kind: "EndpointSlice" }));
}

/**
 * Validate a NetworkPolicy: name, selectors (operators and values), ports
 * (protocol, number or IANA name, endPort numeric and >= port), peers (at least one
 * field, ipBlock exclusive, except strictly inside cidr), policyTypes.
 */
export function validateNetworkPolicy(policy: NetworkPolicy): ManifestProblem[] {
  return out(validateNetworkPolicyObject(policy as Raw), refOf({ ...policy, kind: "NetworkPolicy" }));
}

/** Validate an AdminNetworkPolicy against its CRD schema and CEL rules (priority 0-1000, one-of fields, limits). */
export function validateAdminNetworkPolicy(policy: AdminNetworkPolicy): ManifestProblem[] {
  return out(
    validateAdminNetworkPolicyObject(policy as unknown as Raw),
    refOf({ ...policy, kind: "AdminNetworkPolicy" }),
  );
}

/** Validate a BaselineAdminNetworkPolicy (also: its name must be `default`). */
export function validateBaselineAdminNetworkPolicy(policy: BaselineAdminNetworkPolicy): ManifestProblem[] {
  return out(
    validateBaselineAdminNetworkPolicyObject(policy as unknown as Raw),
    refOf({ ...policy, kind: "BaselineAdminNetworkPolicy" }),
  );
}

/**
 * Validate any supported object by its kind (pass it defaulted); objects of
 * kinds other packages registered go to their definition's `validate`.
 */
export function validateObject(obj: KubeObject | ExtensionObject, options: ValidationOptions = {}): ManifestProblem[] {
  if (!isBuiltinKind(obj.kind)) {
    const object = refOf(obj as KubeObject);
    return (kindDefinition(obj.kind)?.validate?.(obj as ExtensionObject, options) ?? []).map((p) => ({ ...p, object }));
  }
  const o = obj as KubeObject;
  switch (o.kind) {
    case "Service":
      return validateService(o, options);
    case "Pod":
      return validatePod(o);
    case "Node":
      return validateNode(o);
    case "Namespace":
      return validateNamespace(o);
    case "EndpointSlice":
      return validateEndpointSlice(o);
    case "NetworkPolicy":
      return validateNetworkPolicy(o);
    case "AdminNetworkPolicy":
      return validateAdminNetworkPolicy(o);
    case "BaselineAdminNetworkPolicy":
      return validateBaselineAdminNetworkPolicy(o);
  }
  return [];
}

/**
 * ClusterIPs and NodePorts already taken by earlier Services in the same input
 * (the allocators reject a second claim). Records this service's claims.
 */
function allocationConflicts(
  svc: Service & { kind: "Service" },
  allocated: { ips: Map<string, string>; nodePorts: Map<number, string> },
): ManifestProblem[] {
  const out: ManifestProblem[] = [];
  const me = `${svc.metadata?.namespace ?? "default"}/${svc.metadata?.name ?? ""}`;
  const ips = Array.isArray(svc.spec?.clusterIPs) ? svc.spec.clusterIPs : [];
  ips.forEach((ip, i) => {
    if (typeof ip !== "string" || ip === "" || ip === "None") return;
    const owner = allocated.ips.get(ip);
    if (owner !== undefined && owner !== me) {
      out.push({
        code: "duplicate",
        field: `spec.clusterIPs[${i}]`,
        message: `Invalid value: ${JSON.stringify(ip)}: provided IP is already allocated (to Service ${owner})`,
      });
    } else allocated.ips.set(ip, me);
  });
  const ports = Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
  ports.forEach((port, i) => {
    const np = port?.nodePort;
    if (typeof np !== "number" || np === 0) return;
    const owner = allocated.nodePorts.get(np);
    if (owner !== undefined && owner !== me) {
      out.push({
        code: "duplicate",
        field: `spec.ports[${i}].nodePort`,
        message: `Invalid value: ${np}: provided port is already allocated (to Service ${owner})`,
      });
    } else allocated.nodePorts.set(np, me);
  });
  return out;
}

/** Options for {@link validateManifests}. */
export interface ValidateManifestsOptions extends ValidationOptions, DefaultingOptions, ParseOptions {
  /**
   * Fields the kind's schema does not have (typos such as `targetport`): `"error"`
   * reports them as `unknown-field` problems, as kubectl's default
   * `--validate=strict` does; `"ignore"` drops them silently like `--validate=false`.
   * Default `"error"`.
   */
  readonly unknownFields?: "error" | "ignore";
}

/** What {@link validateManifests} found. */
export interface ValidationReport {
  /** Every object of this package's kinds, defaulted, with its source. */
  readonly objects: readonly LoadedObject[];
  /** Every object of a kind another package registered, defaulted, with its source. */
  readonly extensions: readonly LoadedExtension[];
  /** Every problem: loading, per-object validation, duplicates across objects. */
  readonly problems: readonly ManifestProblem[];
  /** Objects per kind, in first-seen order. */
  readonly counts: ReadonlyMap<string, number>;
}

/**
 * Load, default and validate manifests the way `kubectl apply` + the API server
 * would: loading problems, unknown fields (strict decoding), then per-object
 * validation (on the defaulted object),
 * then duplicates (same kind, namespace and name; a ClusterIP or NodePort claimed
 * by two Services), reported in document order.
 * Accepts text, named texts or an earlier {@link ParseResult}.
 */
export function validateManifests(
  input:
    | string
    | { readonly name: string; readonly text: string }
    | readonly { readonly name: string; readonly text: string }[]
    | ParseResult,
  options: ValidateManifestsOptions = {},
): ValidationReport {
  const parsed: ParseResult =
    typeof input === "object" && !Array.isArray(input) && "problems" in input
      ? input
      : parseManifests(input as string, options);
  const problems: ManifestProblem[] = [...parsed.problems];
  const objects: LoadedObject[] = [];
  const counts = new Map<string, number>();
  const seen = new Map<string, { readonly source: LoadedObject["source"] }>();
  // The same kind, namespace and name twice: the second is a duplicate of the first.
  const duplicateName = (obj: KubeObject, namespaced: boolean, source: LoadedObject["source"]): void => {
    const md = obj.metadata;
    if (typeof md?.name !== "string" || md.name === "") return;
    const ns = namespaced && typeof md.namespace === "string" ? md.namespace : "";
    const key = `${obj.kind}/${ns}/${md.name}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, { source });
      return;
    }
    problems.push({
      code: "duplicate",
      field: "metadata.name",
      message: `Duplicate value: ${JSON.stringify(md.name)}: already defined in ${first.source.source !== undefined ? `${first.source.source} ` : ""}document ${first.source.document}`,
      source,
      object: refOf(obj),
    });
  };
  const allocated = { ips: new Map<string, string>(), nodePorts: new Map<number, string>() };
  for (const { object, source } of parsed.objects) {
    if (options.unknownFields !== "ignore") {
      const unknown = new Problems();
      checkUnknownFields(object, unknown);
      for (const p of unknown.list) problems.push({ ...p, source, object: refOf(object) });
    }
    const defaulted = defaultObject(object, options);
    objects.push({ object: defaulted, source });
    counts.set(defaulted.kind, (counts.get(defaulted.kind) ?? 0) + 1);
    for (const p of validateObject(defaulted, options)) problems.push({ ...p, source });
    if (defaulted.kind === "Service") {
      for (const p of allocationConflicts(defaulted, allocated))
        problems.push({ ...p, source, object: refOf(defaulted) });
    }
    duplicateName(defaulted, NAMESPACED_KINDS.has(defaulted.kind), source);
  }
  const extensions: LoadedExtension[] = [];
  for (const { object, source } of parsed.extensions) {
    const defaulted = defaultObject(object, options);
    extensions.push({ object: defaulted, source });
    counts.set(defaulted.kind, (counts.get(defaulted.kind) ?? 0) + 1);
    for (const p of validateObject(defaulted, options)) problems.push({ ...p, source });
    duplicateName(defaulted as KubeObject, isNamespacedKind(defaulted.kind) === true, source);
  }
  // Document order: by file (first appearance), document, List item; stable within one.
  const fileOrder = new Map<string | undefined, number>();
  for (const p of problems) if (!fileOrder.has(p.source?.source)) fileOrder.set(p.source?.source, fileOrder.size);
  for (const o of parsed.objects) if (!fileOrder.has(o.source.source)) fileOrder.set(o.source.source, fileOrder.size);
  const rank = (p: ManifestProblem): [number, number, number] => [
    fileOrder.get(p.source?.source) ?? 0,
    p.source?.document ?? 0,
    p.source?.item ?? -1,
  ];
  const located = parsed.locate !== undefined ? parsed.locate(problems) : problems;
  const sorted = located
    .map((p, i) => ({ p, i, r: rank(p) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.r[2] - b.r[2] || a.i - b.i)
    .map((x) => x.p);
  return { objects, extensions, problems: sorted, counts };
}

/**
 * Default and validate one object, returning the defaulted object.
 *
 * @throws {@link ManifestError} with every problem when it is invalid.
 */
export function assertValid<T extends KubeObject>(obj: T, options: ValidateManifestsOptions = {}): T {
  const d = defaultObject(obj, options);
  const problems = validateObject(d, options);
  if (problems.length > 0) throw new ManifestError(problems);
  return d;
}

/** An object {@link admitManifests} left out, with the problems that made it unusable. */
export interface DroppedObject {
  /** The object (defaulted) and where it came from. */
  readonly object: LoadedObject;
  /** Its problems, each with a field path and the line of that field. */
  readonly problems: readonly ManifestProblem[];
}

/** What {@link admitManifests} found. */
export interface AdmittedManifests {
  /** Objects with no problem, defaulted, in input order: what every engine can use. */
  readonly objects: readonly KubeObject[];
  /** Objects left out because the API server would reject them, each with its problems. */
  readonly dropped: readonly DroppedObject[];
  /** Every problem, as {@link validateManifests} reports it (also those not about one object, such as syntax errors). */
  readonly problems: readonly ManifestProblem[];
}

function sourceKey(ref: { source?: string; document: number; item?: number } | undefined): string {
  return ref === undefined ? "" : `${ref.source ?? ""}\0${ref.document}\0${ref.item ?? ""}`;
}

/**
 * The objects a command can use, as `kubectl apply` would leave them in the API
 * server: every object that {@link validateManifests} finds a problem with (a wrong
 * type, an invalid value, an unknown field, a duplicate) is left out and listed in
 * `dropped` with its problems, the same field-path problems every command reports.
 * The rest are defaulted (nulls read as the API server reads them) and safe to give
 * to any engine.
 */
export function admitManifests(
  input:
    | string
    | { readonly name: string; readonly text: string }
    | readonly { readonly name: string; readonly text: string }[]
    | ParseResult,
  options: ValidateManifestsOptions = {},
): AdmittedManifests {
  const report = validateManifests(input, options);
  const byObject = new Map<string, ManifestProblem[]>();
  for (const p of report.problems) {
    const key = sourceKey(p.source);
    const list = byObject.get(key);
    if (list === undefined) byObject.set(key, [p]);
    else list.push(p);
  }
  const objects: KubeObject[] = [];
  const dropped: DroppedObject[] = [];
  for (const o of report.objects) {
    const problems = byObject.get(sourceKey(o.source));
    if (problems === undefined) objects.push(o.object);
    else dropped.push({ object: o, problems });
  }
  return { objects, dropped, problems: report.problems };
}
