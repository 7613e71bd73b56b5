import { masqueradeMark, type ProxyEngine, type ProxyEvaluation, type Random } from "@knet/kube-proxy";
import { type PolicyEngine, type Protocol, type Verdict, walkthrough } from "@knet/netpol";
import { Addr, HookPriority, type HookRegistration, type Packet } from "@knet/netstack";

/** What the proxy hooks decided for one connection, kept for the cluster trace. */
export interface ProxyDecision {
  /** Node whose rules ran. */
  readonly node: string;
  /** Hook (`prerouting` for traffic arriving, `output` for the node's own). */
  readonly hook: "prerouting" | "output";
  /** The packet as it met the rules. */
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

function describe(p: Packet): string {
  return `${p.proto} ${p.src}:${p.sport} -> ${p.dst}:${p.dport}`;
}

/**
 * Netfilter hooks that run a kube-proxy engine on a simulated node: the
 * engine's `evaluate()` on the first packet of each connection at dstnat
 * (prerouting for arriving traffic, output for the node's own), turned into a
 * DNAT with the kube-proxy masquerade mark, and a srcnat hook that
 * masquerades marked connections, as KUBE-POSTROUTING does.
 */
export function proxyHooks(
  node: string,
  engine: ProxyEngine,
  random: Random,
  record: (d: ProxyDecision) => void,
): HookRegistration[] {
  const mark = masqueradeMark(engine.config);
  const owner = `kube-proxy (${engine.mode})`;
  const dnat = (hook: "prerouting" | "output") => (p: Packet, ctx: { readonly inDev: string | undefined }) => {
    if (p.family !== 4 || !L4.has(p.proto)) return "continue" as const;
    const evaluation = engine.evaluate(
      {
        src: p.src,
        dst: p.dst,
        protocol: p.proto as "tcp" | "udp" | "sctp",
        sport: p.sport,
        dport: p.dport,
        origin: hook === "output" ? "local" : "remote",
        ...(ctx.inDev !== undefined ? { inInterface: ctx.inDev } : {}),
      },
      { random },
    );
    const o = evaluation.outcome;
    if (o.kind === "accept" && !o.masquerade) return "continue" as const;
    record({ node, hook, packet: describe(p), evaluation });
    const decisive = evaluation.trace.findLast(
      (s) => s.matched && /DNAT|dnat |REJECT|reject|DROP|drop|MASQ/.test(s.text),
    );
    const rule = decisive?.chain;
    switch (o.kind) {
      case "dnat":
        return {
          verdict: "accept" as const,
          dnat: { addr: Addr.parse(o.backend.ip), port: o.backend.port },
          ...(o.masquerade ? { mark: p.mark | mark } : {}),
          ...(rule ? { rule } : {}),
          note: `service backend ${o.backend.ip}:${o.backend.port}`,
        };
      case "accept":
        return { verdict: "accept" as const, mark: p.mark | mark, note: "marked for masquerade" };
      case "reject":
        return { verdict: "reject" as const, note: o.reason, ...(rule ? { rule } : {}) };
      case "drop":
        return { verdict: "drop" as const, note: o.reason, ...(rule ? { rule } : {}) };
    }
  };
  return [
    { hook: "prerouting", priority: HookPriority.dstnat, owner, type: "nat", family: 4, fn: dnat("prerouting") },
    { hook: "output", priority: HookPriority.dstnat, owner, type: "nat", family: 4, fn: dnat("output") },
    {
      hook: "postrouting",
      priority: HookPriority.srcnat,
      owner,
      type: "nat",
      family: 4,
      fn: (p) =>
        (p.mark & mark) !== 0
          ? { verdict: "accept", masquerade: true, rule: "KUBE-POSTROUTING", note: "masquerade (kube-proxy mark)" }
          : "continue",
    },
  ];
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
        protocol: p.proto.toUpperCase() as Protocol,
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
