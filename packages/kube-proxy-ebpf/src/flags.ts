/**
 * The service flags of Cilium's `lb{4,6}_service.flags`/`flags2` (one 16-bit
 * word: low byte `flags`, high byte `flags2`), bit for bit as
 * `pkg/loadbalancer` defines them, and their text as its `ServiceFlags.String()`
 * prints it in map dumps.
 */
export const SVC_FLAG = {
  externalIPs: 1 << 0,
  nodePort: 1 << 1,
  extLocalScope: 1 << 2,
  hostPort: 1 << 3,
  sessionAffinity: 1 << 4,
  loadBalancer: 1 << 5,
  routable: 1 << 6,
  sourceRange: 1 << 7,
  localRedirect: 1 << 8,
  nat46x64: 1 << 9,
  l7LoadBalancer: 1 << 10,
  loopback: 1 << 11,
  intLocalScope: 1 << 12,
  twoScopes: 1 << 13,
  /** On backend slots: quarantined; on the master entry: source-range deny. */
  quarantined: 1 << 14,
  sourceRangeDeny: 1 << 14,
  fwdModeDSR: 1 << 15,
} as const;

/** Frontend (service) types as Cilium names them. */
export type FrontendType = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalIPs";

/** The type bit of a frontend type. */
export function typeFlag(type: FrontendType): number {
  switch (type) {
    case "NodePort":
      return SVC_FLAG.nodePort;
    case "LoadBalancer":
      return SVC_FLAG.loadBalancer;
    case "ExternalIPs":
      return SVC_FLAG.externalIPs;
    default:
      return 0;
  }
}

/** The frontend type encoded in `flags` (Cilium's `ServiceFlags.SVCType`). */
export function flagsType(flags: number): string {
  if (flags & SVC_FLAG.externalIPs) return "ExternalIPs";
  if (flags & SVC_FLAG.nodePort) return "NodePort";
  if (flags & SVC_FLAG.loadBalancer) return "LoadBalancer";
  if (flags & SVC_FLAG.hostPort) return "HostPort";
  if (flags & SVC_FLAG.localRedirect) return "LocalRedirect";
  return "ClusterIP";
}

/** `ServiceFlags.String()` with `", "` joined as `+`, the form map dumps print. */
export function formatServiceFlags(flags: number): string {
  const out = [flagsType(flags)];
  let seenDeny = false;
  if (flags & SVC_FLAG.extLocalScope) out.push("Local");
  if (flags & SVC_FLAG.intLocalScope) out.push("InternalLocal");
  if (flags & SVC_FLAG.twoScopes) out.push("two-scopes");
  if (flags & SVC_FLAG.sessionAffinity) out.push("sessionAffinity");
  if (!(flags & SVC_FLAG.routable)) out.push("non-routable");
  if (flags & SVC_FLAG.sourceRange) {
    out.push("check source-range");
    if (flags & SVC_FLAG.sourceRangeDeny) {
      seenDeny = true;
      out.push("deny");
    }
  }
  if (flags & SVC_FLAG.nat46x64) out.push("46x64");
  if (flags & SVC_FLAG.l7LoadBalancer) out.push("l7-load-balancer");
  if (flags & SVC_FLAG.loopback) out.push(flags & SVC_FLAG.hostPort ? "loopback" : "delegate-if-local");
  if (!seenDeny && flags & SVC_FLAG.quarantined) out.push("quarantined");
  if (flags & SVC_FLAG.fwdModeDSR) out.push("dsr");
  return out.join("+");
}

/** Load-balancing algorithm codes of the master entry's upper 8 bits. */
export const LB_ALG = { undef: 0, random: 1, maglev: 2 } as const;

/** An algorithm code as dumps print it. */
export function formatLbAlg(code: number): string {
  return code === LB_ALG.random ? "random" : code === LB_ALG.maglev ? "maglev" : "undef";
}

/** Backend states of `lb{4,6}_backend.flags`. */
export const BACKEND_STATE = { active: 0, terminating: 1, quarantined: 2, maintenance: 3 } as const;

/** A backend state name. */
export type BackendStateName = keyof typeof BACKEND_STATE;

/** The state name of a backend flags byte (unknown values read as active, as Cilium does). */
export function backendStateName(flags: number): BackendStateName {
  return flags === 1 ? "terminating" : flags === 2 ? "quarantined" : flags === 3 ? "maintenance" : "active";
}

/** IANA protocol numbers of the L4 types (0 is Cilium's ANY). */
export const L4_PROTO = { ANY: 0, TCP: 6, UDP: 17, SCTP: 132 } as const;

/** Upper-case L4 protocol name. */
export type L4Name = keyof typeof L4_PROTO;

/** The L4 name of a protocol number (`NewL4TypeFromNumber`). */
export function l4Name(proto: number): L4Name {
  return proto === 6 ? "TCP" : proto === 17 ? "UDP" : proto === 132 ? "SCTP" : "ANY";
}
