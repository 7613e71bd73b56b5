import type { ProxyEvaluation, ProxyHookDecision } from "@knet/kube-proxy";
import { type PolicyEngine, type PolicyProtocol, type Verdict, walkthrough } from "@knet/netpol";
import { type Addr, HookPriority, type HookRegistration, type Packet } from "@knet/netstack";

/** What a node's proxy hooks decided for one connection, kept for the cluster trace. */
export interface ProxyDecision {
  /** Node whose rules ran. */
  readonly node: string;
  /** Hook (`prerouting` for traffic arriving, `output` for the node's own, `connect4`… for a socket-level mode). */
  readonly hook: ProxyHookDecision["hook"];
  /** The packet as it met the rules (for a socket hook: the call, its namespace and destination). */
  readonly packet: string;
  /** The engine's evaluation: outcome and rules visited. */
  readonly evaluation: ProxyEvaluation;
}

/** What the policy hook decided for one connection. */
export interface PolicyDecision {
  /** Node that enforced. */
  readonly node: string;
  /** Direction enforced there: egress on the client's node, ingress on the server's. */
  readonly direction: "egress" | "ingress";
  /** The engine's verdict with reasons. */
  readonly verdict: Verdict;
}

const L4 = new Set(["tcp", "udp", "sctp"]);

/** A packet as one line: `tcp 10.244.1.5:40001 -> 10.96.0.10:80`. */
export function describePacket(p: Packet): string {
  return `${p.proto} ${p.src}:${p.sport} -> ${p.dst}:${p.dport}`;
}

/**
 * A NetworkPolicy enforcement hook for a node's forward path (after service
 * DNAT, as policy sees the backend): on the first packet of a connection it
 * checks egress when the client is a pod of this node and ingress when the
 * server is, and drops what the policy engine denies.
 */
export function policyHook(
  node: string,
  policy: PolicyEngine,
  isLocalPod: (ip: Addr) => boolean,
  record: (d: PolicyDecision) => void,
): HookRegistration {
  return {
    hook: "forward",
    priority: HookPriority.filter,
    owner: "netpol",
    family: 4,
    fn: (p, ctx) => {
      if (ctx.ctState !== "new" || ctx.ctDir !== "original" || !L4.has(p.proto)) return "continue";
      const srcLocal = isLocalPod(p.src);
      const dstLocal = isLocalPod(p.dst);
      if (!srcLocal && !dstLocal) return "continue";
      const verdict = policy.verdict({
        from: p.src.toString(),
        to: p.dst.toString(),
        protocol: p.proto.toUpperCase() as PolicyProtocol,
        port: p.dport,
      });
      for (const direction of ["egress", "ingress"] as const) {
        if (direction === "egress" ? !srcLocal : !dstLocal) continue;
        record({ node, direction, verdict });
        if (!verdict[direction].allowed) {
          return {
            verdict: "drop",
            rule: direction,
            note: `${direction} of ${verdict[direction].subject}: ${walkthrough(verdict[direction])}`,
          };
        }
      }
      return "continue";
    },
  };
}
