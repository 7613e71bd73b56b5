/**
 * Istio's PeerAuthentication (`security.istio.io/v1beta1`): the kind, its
 * validation as istiod's webhook does it, and the mTLS mode a workload ends up
 * with after mesh-wide, namespace and workload policies are composed as istiod
 * composes them (`ComposePeerAuthentication`).
 */
import {
  type ExtensionObject,
  type KindDefinition,
  type KindProblem,
  matchSelector,
  type ObjectMeta,
  type Pod,
  registerKind,
} from "@knet/k8s";

/** The apiVersion PeerAuthentication is read from. */
export const PEER_AUTHENTICATION_API_VERSION = "security.istio.io/v1beta1";

/** istiod's default root namespace: a policy without selector there is mesh-wide. */
export const DEFAULT_ROOT_NAMESPACE = "istio-system";

/** A PeerAuthentication `mtls.mode` as written (`UNSET` inherits from the wider scope). */
export type MtlsModeSetting = "UNSET" | "DISABLE" | "PERMISSIVE" | "STRICT";

/** The mode in force for a port: what a sidecar accepts there. */
export type MtlsMode = Exclude<MtlsModeSetting, "UNSET">;

const MODES: readonly string[] = ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"];

/** A PeerAuthentication object. */
export interface PeerAuthentication extends ExtensionObject {
  /** `security.istio.io/v1beta1`. */
  readonly apiVersion: string;
  /** `PeerAuthentication`. */
  readonly kind: "PeerAuthentication";
  /** Name, namespace (the root namespace for mesh-wide policies), creationTimestamp (the oldest wins a tie). */
  readonly metadata?: ObjectMeta;
  /** The policy. */
  readonly spec?: {
    /** Workloads it applies to (in its namespace); none: the whole namespace, or the mesh in the root namespace. */
    readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
    /** The mode for every port. */
    readonly mtls?: { readonly mode?: MtlsModeSetting };
    /** Modes per workload port (container port); only with a selector. */
    readonly portLevelMtls?: Readonly<Record<string, { readonly mode?: MtlsModeSetting }>>;
  };
}

/** Problems istiod's validation (`ValidatePeerAuthentication`) and the CRD schema report. */
export function validatePeerAuthentication(pa: PeerAuthentication): KindProblem[] {
  const out: KindProblem[] = [];
  const spec = pa.spec ?? {};
  const mode = spec.mtls?.mode;
  if (mode !== undefined && !MODES.includes(mode))
    out.push({
      code: "invalid",
      field: "spec.mtls.mode",
      message: `Unsupported value: ${JSON.stringify(mode)}: supported values: ${MODES.map((m) => `"${m}"`).join(", ")}`,
    });
  const labels = spec.selector?.matchLabels;
  const emptySelector = labels === undefined || Object.keys(labels).length === 0;
  const ports = spec.portLevelMtls;
  if (ports !== undefined) {
    if (emptySelector && Object.keys(ports).length > 0)
      out.push({
        code: "invalid",
        field: "spec.portLevelMtls",
        message: "mesh/namespace peer authentication cannot have port level mTLS (add spec.selector)",
      });
    if (Object.keys(ports).length === 0)
      out.push({
        code: "invalid",
        field: "spec.portLevelMtls",
        message: "port level mTLS, if defined, must have at least one element",
      });
    for (const [port, m] of Object.entries(ports)) {
      const n = Number(port);
      if (!/^[0-9]+$/.test(port) || n < 1 || n > 65535)
        out.push({ code: "invalid", field: `spec.portLevelMtls[${port}]`, message: "port must be in range 1..65535" });
      if (m?.mode !== undefined && !MODES.includes(m.mode))
        out.push({
          code: "invalid",
          field: `spec.portLevelMtls[${port}].mode`,
          message: `Unsupported value: ${JSON.stringify(m.mode)}: supported values: ${MODES.map((x) => `"${x}"`).join(", ")}`,
        });
    }
  }
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k === "" || k.includes("*") || v.includes("*"))
      out.push({
        code: "invalid",
        field: `spec.selector.matchLabels[${k}]`,
        message: "wildcard or empty labels are not supported in a workload selector",
      });
  }
  return out;
}

const DEFINITION: KindDefinition = {
  apiVersion: PEER_AUTHENTICATION_API_VERSION,
  kind: "PeerAuthentication",
  namespaced: true,
  validate: (o) => validatePeerAuthentication(o as PeerAuthentication),
};

/**
 * Register PeerAuthentication (`security.istio.io/v1beta1`) with the `@knet/k8s`
 * kind registry, so manifest readers accept and validate it. Idempotent.
 * @throws KindRegistryError (from `@knet/k8s`) when another package registered the kind differently.
 */
export function registerMeshKinds(): void {
  registerKind(DEFINITION);
}

/** The mTLS modes a workload ends up with, and which policy decided each level. */
export interface EffectivePeerAuthentication {
  /** The mode of every port without a port-level setting. */
  readonly mode: MtlsMode;
  /** Port-level modes (container ports) of the workload policy. */
  readonly perPort: ReadonlyMap<number, MtlsMode>;
  /** The policies that took part, `namespace/name`, by scope (absent scopes had none). */
  readonly from: { readonly mesh?: string; readonly namespace?: string; readonly workload?: string };
}

const keyOf = (pa: PeerAuthentication): string => `${pa.metadata?.namespace ?? "default"}/${pa.metadata?.name ?? ""}`;

/** The older of two policies (creationTimestamp; equal or absent: the first by namespace/name). */
function older(a: PeerAuthentication | undefined, b: PeerAuthentication): PeerAuthentication {
  if (a === undefined) return b;
  const ta = a.metadata?.creationTimestamp ?? "";
  const tb = b.metadata?.creationTimestamp ?? "";
  if (ta !== tb && ta !== "" && tb !== "") return tb < ta ? b : a;
  return keyOf(b) < keyOf(a) ? b : a;
}

const isSet = (m: MtlsModeSetting | undefined): m is MtlsMode => m !== undefined && m !== "UNSET";

/**
 * The mTLS modes for `pod` as istiod composes its PeerAuthentications: the
 * narrowest scope wins (a workload policy with a selector matching the pod in
 * its namespace, then the namespace's policy without selector, then the
 * mesh-wide one in the root namespace); within a scope the oldest policy wins;
 * `UNSET` inherits from the wider scope; with none, PERMISSIVE. Port-level
 * modes come from the workload policy only.
 */
export function effectivePeerAuthentication(
  pod: Pod,
  policies: readonly PeerAuthentication[],
  rootNamespace: string = DEFAULT_ROOT_NAMESPACE,
): EffectivePeerAuthentication {
  const ns = pod.metadata?.namespace ?? "default";
  let mesh: PeerAuthentication | undefined;
  let namespace: PeerAuthentication | undefined;
  let workload: PeerAuthentication | undefined;
  for (const pa of policies) {
    const paNs = pa.metadata?.namespace ?? "default";
    const labels = pa.spec?.selector?.matchLabels;
    const emptySelector = labels === undefined || Object.keys(labels).length === 0;
    if (emptySelector) {
      if (paNs === rootNamespace) mesh = older(mesh, pa);
      else if (paNs === ns) namespace = older(namespace, pa);
    } else if (paNs === ns && paNs !== rootNamespace && matchSelector({ matchLabels: labels }, pod.metadata?.labels)) {
      workload = older(workload, pa);
    }
  }
  let mode: MtlsMode = "PERMISSIVE";
  for (const pa of [mesh, namespace, workload]) {
    const m = pa?.spec?.mtls?.mode;
    if (isSet(m)) mode = m;
  }
  const perPort = new Map<number, MtlsMode>();
  for (const [port, m] of Object.entries(workload?.spec?.portLevelMtls ?? {})) {
    perPort.set(Number(port), isSet(m?.mode) ? m.mode : mode);
  }
  return {
    mode,
    perPort,
    from: {
      ...(mesh !== undefined ? { mesh: keyOf(mesh) } : {}),
      ...(namespace !== undefined ? { namespace: keyOf(namespace) } : {}),
      ...(workload !== undefined ? { workload: keyOf(workload) } : {}),
    },
  };
}

/** The mode in force on one of the workload's ports. */
export function mtlsModeFor(e: EffectivePeerAuthentication, port: number): MtlsMode {
  return e.perPort.get(port) ?? e.mode;
}

/**
 * Whether a sidecar whose port is in `mode` admits a connection, mutual TLS
 * (from another sidecar) or plaintext: STRICT admits only mTLS, PERMISSIVE
 * both, DISABLE only plaintext (it does not terminate TLS). With the reason.
 */
export function peerAuthenticationAdmits(
  mode: MtlsMode,
  mtls: boolean,
): { readonly admitted: boolean; readonly reason: string } {
  if (mode === "STRICT")
    return mtls
      ? { admitted: true, reason: "STRICT: mutual TLS required, and presented" }
      : { admitted: false, reason: "STRICT: mutual TLS required, the client sent plaintext" };
  if (mode === "DISABLE")
    return mtls
      ? { admitted: false, reason: "DISABLE: the sidecar does not terminate mutual TLS" }
      : { admitted: true, reason: "DISABLE: plaintext" };
  return { admitted: true, reason: `PERMISSIVE: ${mtls ? "mutual TLS" : "plaintext"} accepted` };
}
