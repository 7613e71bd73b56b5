/**
 * Unknown-field detection, as kubectl's default `--validate=strict` (server-side
 * strict decoding) rejects them: a typo such as `targetport` is an error, not a
 * silently ignored field.
 */
import type { KubeKind } from "../objects.js";
import type { Problems } from "./checks.js";
import { KNOWN_FIELDS } from "./known-fields.js";

type Ref = 0 | string | readonly [string];

const SELECTOR = "LabelSelector";
// The policy.networking.k8s.io CRDs (structural schemas), in the same form.
const POLICY_FIELDS: Readonly<Record<string, Readonly<Record<string, Ref>>>> = {
  "policy.ANP": { apiVersion: 0, kind: 0, metadata: "ObjectMeta", spec: "policy.ANPSpec", status: 0 },
  "policy.BANP": { apiVersion: 0, kind: 0, metadata: "ObjectMeta", spec: "policy.BANPSpec", status: 0 },
  "policy.ANPSpec": {
    priority: 0,
    subject: "policy.Subject",
    ingress: ["policy.IngressRule"],
    egress: ["policy.EgressRule"],
  },
  "policy.BANPSpec": { subject: "policy.Subject", ingress: ["policy.IngressRule"], egress: ["policy.EgressRule"] },
  "policy.Subject": { namespaces: SELECTOR, pods: "policy.NamespacedPod" },
  "policy.NamespacedPod": { namespaceSelector: SELECTOR, podSelector: SELECTOR },
  "policy.IngressRule": { name: 0, action: 0, from: ["policy.IngressPeer"], ports: ["policy.Port"] },
  "policy.EgressRule": { name: 0, action: 0, to: ["policy.EgressPeer"], ports: ["policy.Port"] },
  "policy.IngressPeer": { namespaces: SELECTOR, pods: "policy.NamespacedPod" },
  "policy.EgressPeer": {
    namespaces: SELECTOR,
    pods: "policy.NamespacedPod",
    nodes: SELECTOR,
    networks: 0,
    domainNames: 0,
  },
  "policy.Port": { portNumber: "policy.PortNumber", namedPort: 0, portRange: "policy.PortRange" },
  "policy.PortNumber": { protocol: 0, port: 0 },
  "policy.PortRange": { protocol: 0, start: 0, end: 0 },
};

const ROOTS: Readonly<Record<KubeKind, string>> = {
  Service: "Service",
  Pod: "Pod",
  Node: "Node",
  Namespace: "Namespace",
  EndpointSlice: "discovery.EndpointSlice",
  NetworkPolicy: "networking.NetworkPolicy",
  AdminNetworkPolicy: "policy.ANP",
  BaselineAdminNetworkPolicy: "policy.BANP",
};

/**
 * The schema as maps, built once: decoding and unknown-field checks look a field up
 * for every key of every stored object, and a Map lookup stays cheap where the large
 * literal tables would be read as dictionaries.
 */
let schemaMaps: Map<string, ReadonlyMap<string, Ref>> | undefined;

/** The fields of a schema type (a KNOWN_FIELDS name or a policy CRD type), or undefined for free-form. */
export function schemaFields(type: string): ReadonlyMap<string, Ref> | undefined {
  if (schemaMaps === undefined) {
    schemaMaps = new Map();
    for (const table of [POLICY_FIELDS, KNOWN_FIELDS])
      for (const [name, fields] of Object.entries(table)) schemaMaps.set(name, new Map(Object.entries(fields)));
  }
  return schemaMaps.get(type);
}

/** The schema type of a kind's root object. */
export function schemaRoot(kind: KubeKind): string | undefined {
  return ROOTS[kind];
}

function walk(value: unknown, type: string, path: string, p: Problems, apiVersion: string, kind: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return; // type errors are validation's job
  const fields = schemaFields(type);
  if (fields === undefined) return;
  for (const [key, v] of Object.entries(value)) {
    const at = path === "" ? key : `${path}.${key}`;
    const ref = fields.get(key);
    if (ref === undefined) {
      p.unknownField(at, `${apiVersion} ${kind}`);
      continue;
    }
    if (ref === 0) continue;
    if (typeof ref === "string") walk(v, ref, at, p, apiVersion, kind);
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], ref[0], `${at}[${i}]`, p, apiVersion, kind);
    }
  }
}

/** Report every field of `obj` that its kind's schema does not have. */
export function checkUnknownFields(obj: { kind: KubeKind; apiVersion?: string }, p: Problems): void {
  walk(obj, ROOTS[obj.kind], "", p, obj.apiVersion ?? "", obj.kind);
}
