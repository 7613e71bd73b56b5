/**
 * An iptables ruleset at the kernel's netfilter hook points of a `@knet/netstack`
 * namespace: one hook function per table and built-in chain, each walking that
 * chain with the {@link IptablesEvaluator}.
 */
import { type HookName, HookPriority, type HookRegistration, protoNumber } from "@knet/netstack";
import type { IptablesEvaluator } from "./evaluator.js";
import { CT } from "./rule-spec.js";

/** Table, built-in chain, hook, priority and NAT-ness of every chain a packet can cross, in the kernel's order. */
const PLAN: readonly (readonly [string, string, HookName, number, "filter" | "nat"])[] = [
  ["raw", "PREROUTING", "prerouting", HookPriority.raw, "filter"],
  ["raw", "OUTPUT", "output", HookPriority.raw, "filter"],
  ["mangle", "PREROUTING", "prerouting", HookPriority.mangle, "filter"],
  ["mangle", "INPUT", "input", HookPriority.mangle, "filter"],
  ["mangle", "FORWARD", "forward", HookPriority.mangle, "filter"],
  ["mangle", "OUTPUT", "output", HookPriority.mangle, "filter"],
  ["mangle", "POSTROUTING", "postrouting", HookPriority.mangle, "filter"],
  ["nat", "PREROUTING", "prerouting", HookPriority.dstnat, "nat"],
  ["nat", "OUTPUT", "output", HookPriority.dstnat, "nat"],
  ["filter", "INPUT", "input", HookPriority.filter, "filter"],
  ["filter", "FORWARD", "forward", HookPriority.filter, "filter"],
  ["filter", "OUTPUT", "output", HookPriority.filter, "filter"],
  ["nat", "POSTROUTING", "postrouting", HookPriority.srcnat, "nat"],
  ["nat", "INPUT", "input", HookPriority.srcnat, "nat"],
];

const STATES: Readonly<Record<string, number>> = {
  new: CT.NEW,
  established: CT.ESTABLISHED,
  related: CT.RELATED,
  invalid: CT.INVALID,
  untracked: CT.UNTRACKED,
};

/** Options of {@link iptablesChainHooks}. */
export interface ChainHookOptions {
  /** Address family the rules are for (`iptables-restore` 4, `ip6tables-restore` 6). */
  readonly family: 4 | 6;
  /** Prefix of each registration's owner in traces (`kube-proxy iptables` → `kube-proxy iptables nat/OUTPUT`). */
  readonly owner: string;
}

/**
 * Netfilter hook registrations that walk an iptables ruleset chain by chain: one
 * per table and built-in chain, at the kernel's priorities (raw -300, mangle
 * -150, nat dstnat -100 / srcnat 100 as `type: "nat"`, filter 0). `evaluator`
 * is called for each packet, so a ruleset that changes is followed. Locally
 * generated packets bring their socket's owner (`-m owner`) in output and
 * postrouting.
 */
export function iptablesChainHooks(evaluator: () => IptablesEvaluator, options: ChainHookOptions): HookRegistration[] {
  return PLAN.map(([table, chain, hook, priority, type]) => ({
    hook,
    priority,
    type,
    family: options.family,
    owner: `${options.owner} ${table}/${chain}`,
    fn: (packet, ctx) => {
      let ctstate = STATES[ctx.ctState] ?? CT.NEW;
      if (ctx.ctOrigDst !== undefined && !ctx.ctOrigDst.equals(packet.dst)) ctstate |= CT.DNAT;
      const sending = hook === "output" || hook === "postrouting";
      const v = evaluator().runChain(
        table,
        chain,
        {
          src: packet.src,
          dst: packet.dst,
          protocol: protoNumber(packet.proto, packet.family),
          sport: packet.sport,
          dport: packet.dport,
          mark: packet.mark,
          ctstate,
          ...(ctx.inDev !== undefined ? { inInterface: ctx.inDev } : {}),
          ...(ctx.outDev !== undefined ? { outInterface: ctx.outDev } : {}),
          ...(sending && packet.uid !== undefined ? { uid: packet.uid } : {}),
          ...(sending && packet.gid !== undefined ? { gid: packet.gid } : {}),
        },
        { isLocal: (a) => ctx.isLocal(a), random: { next: () => ctx.random() }, now: ctx.now },
      );
      // the owner names the table and chain; the rule is what decided, when one did
      const rule = v.reason !== undefined ? { rule: v.reason } : {};
      if (v.verdict !== "accept") return { verdict: v.verdict, ...rule };
      return {
        verdict: v.dnat || v.snat ? "accept" : "continue",
        ...rule,
        ...(v.mark !== packet.mark ? { mark: v.mark } : {}),
        ...(v.dnat ? { dnat: { addr: v.dnat.addr, port: v.dnat.port } } : {}),
        ...(v.snat
          ? v.snat.kind === "masquerade" || !v.snat.addr
            ? { masquerade: true }
            : { snat: { addr: v.snat.addr } }
          : {}),
      };
    },
  }));
}
