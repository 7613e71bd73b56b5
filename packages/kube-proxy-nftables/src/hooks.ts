/**
 * An nftables ruleset at the kernel's netfilter hook points of a `@knet/netstack`
 * namespace: one hook function per base chain, at the chain's hook and priority,
 * running that chain with the {@link NftEvaluator}.
 */
import type { HookName, HookRegistration } from "@knet/netstack";
import type { NftEvaluator } from "./evaluator.js";

/** Options of {@link nftChainHooks}. */
export interface NftChainHookOptions {
  /** Prefix of each registration's owner in traces (`istio-init shop/web` → `istio-init shop/web inet istio-proxy-nat/prerouting`). */
  readonly owner: string;
}

const HOOKS = new Set<string>(["prerouting", "input", "forward", "output", "postrouting"]);

/**
 * Netfilter hook registrations for the base chains `evaluator`'s ruleset has
 * now: each at its hook and priority (`type nat` chains as `type: "nat"`, which
 * see only a connection's first packet), for its table's family (`inet`: both).
 * Locally generated packets bring their socket's owner (`meta skuid`/`skgid`)
 * at output and postrouting. A `ct mark set meta mark` is kept on the
 * connection; other `ct mark` values are not.
 */
export function nftChainHooks(evaluator: NftEvaluator, options: NftChainHookOptions): HookRegistration[] {
  const out: HookRegistration[] = [];
  for (const t of evaluator.ruleset.tables.values()) {
    for (const ch of t.baseChains) {
      const h = ch.hook;
      if (h === undefined || !HOOKS.has(h.hook)) continue;
      const family = t.family === "ip" ? 4 : t.family === "ip6" ? 6 : undefined;
      out.push({
        hook: h.hook as HookName,
        priority: h.priority,
        type: h.type === "nat" ? "nat" : "filter",
        ...(family !== undefined ? { family } : {}),
        owner: `${options.owner} ${t.family} ${t.name}/${ch.name}`,
        fn: (packet, ctx) => {
          const v = evaluator.runBaseChain(
            t.family,
            t.name,
            ch.name,
            {
              src: packet.src,
              dst: packet.dst,
              proto: packet.proto,
              sport: packet.sport,
              dport: packet.dport,
              mark: packet.mark,
              ct: ctx.ctState,
              ctmark: ctx.ctMark,
              ...(packet.uid !== undefined ? { uid: packet.uid } : {}),
              ...(packet.gid !== undefined ? { gid: packet.gid } : {}),
            },
            {
              iif: ctx.inDev ?? "",
              oif: ctx.outDev ?? "",
              now: ctx.now / 1000,
              random: (n) => Math.floor(ctx.random() * n),
            },
          );
          const rule = v.decidedBy !== undefined ? { rule: v.decidedBy } : {};
          if (v.verdict !== "accept") return { verdict: v.verdict, ...rule };
          const ctMark = v.ctmark !== ctx.ctMark && v.ctmark === v.mark;
          return {
            verdict: v.dnat !== undefined || v.masquerade ? "accept" : "continue",
            ...(v.mark !== packet.mark || ctMark ? { mark: v.mark } : {}),
            ...(ctMark ? { ctMark: true } : {}),
            ...(v.dnat !== undefined ? { dnat: { addr: v.dnat.addr, port: v.dnat.port } } : {}),
            ...(v.masquerade ? { masquerade: true } : {}),
          };
        },
      });
    }
  }
  return out;
}
