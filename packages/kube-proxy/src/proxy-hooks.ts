/**
 * How an engine attaches to a `@knet/netstack` namespace: netfilter hook
 * functions that run the engine's `evaluate()` on the first packet of each
 * connection at dstnat (prerouting for arriving traffic, output for the node's
 * own), turned into a DNAT with kube-proxy's masquerade mark, and a srcnat
 * function that masquerades marked connections, as KUBE-POSTROUTING does.
 * Every engine's `hooks()` returns these; the decisive trace step names the rule.
 */
import { Addr, HookPriority, type HookRegistration, type Packet } from "@knet/netstack";
import { masqueradeMark } from "./config.js";
import type { EngineHookOptions, ProxyEngine, ProxyEvaluation, ProxyOutcome, TraceStep } from "./engine.js";

const L4 = new Set(["tcp", "udp", "sctp"]);

/**
 * The step of `trace` that decided `outcome`, given the steps an evaluator
 * flagged as deciding something (a NAT, a drop, a reject): for a DNAT the
 * first of them (destination NAT comes before source NAT on the path), for a
 * drop, a reject or a masqueraded accept the last one; none for a plain
 * accept. Returns the trace with only that step flagged `decisive`.
 */
export function settleDecisive(trace: readonly TraceStep[], outcome: ProxyOutcome): TraceStep[] {
  let pick = -1;
  if (outcome.kind === "dnat") pick = trace.findIndex((s) => s.decisive === true);
  else if (outcome.kind !== "accept" || outcome.masquerade) pick = trace.findLastIndex((s) => s.decisive === true);
  return trace.map((s, i) => {
    if (i === pick) return s;
    if (s.decisive !== true) return s;
    const { decisive: _, ...rest } = s;
    return rest;
  });
}

/**
 * The netfilter hook registrations that run `engine` on a simulated node (see
 * the module comment). `options.observe` hears every connection the rules
 * translated, rejected, dropped or marked, with the evaluation.
 */
export function evaluationHooks(engine: ProxyEngine, options: EngineHookOptions = {}): HookRegistration[] {
  const mark = masqueradeMark(engine.config);
  const owner = `kube-proxy (${engine.mode})`;
  const { random, observe } = options;
  const dnat = (hook: "prerouting" | "output") => (p: Packet, ctx: { readonly inDev: string | undefined }) => {
    if (p.family !== 4 || !L4.has(p.proto)) return "continue" as const;
    const evaluation: ProxyEvaluation = engine.evaluate(
      {
        src: p.src,
        dst: p.dst,
        protocol: p.proto as "tcp" | "udp" | "sctp",
        sport: p.sport,
        dport: p.dport,
        origin: hook === "output" ? "local" : "remote",
        ...(ctx.inDev !== undefined ? { inInterface: ctx.inDev } : {}),
      },
      random !== undefined ? { random } : {},
    );
    const o = evaluation.outcome;
    if (o.kind === "accept" && !o.masquerade) return "continue" as const;
    observe?.({ hook, packet: p, evaluation });
    const rule = evaluation.trace.find((s) => s.decisive === true)?.chain;
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
