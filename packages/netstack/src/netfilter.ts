import type { Addr } from "./addr.js";
import type { CtState } from "./conntrack.js";
import type { Packet } from "./packet.js";

/** The five IP netfilter hooks. */
export type HookName = "prerouting" | "input" | "forward" | "output" | "postrouting";

/** The hooks in the order a forwarded packet meets them (input and output are local ends). */
export const HOOK_NAMES: readonly HookName[] = ["prerouting", "input", "forward", "output", "postrouting"];

/**
 * Standard hook priorities (lower runs first), as nftables names them:
 * raw -300, conntrack -200 (the dataplane's own lookup), mangle -150,
 * dstnat -100, filter 0, security 50, srcnat 100.
 */
export const HookPriority = {
  /** `raw` table / `priority raw`. */
  raw: -300,
  /** Where conntrack looks the packet up; hooks before it see no entry. */
  conntrack: -200,
  /** `mangle` table. */
  mangle: -150,
  /** `nat` PREROUTING/OUTPUT (`priority dstnat`). */
  dstnat: -100,
  /** `filter` table. */
  filter: 0,
  /** `security` table. */
  security: 50,
  /** `nat` POSTROUTING/INPUT (`priority srcnat`). */
  srcnat: 100,
} as const;

/**
 * A hook function's verdict. `accept` and `continue` both let the packet go on
 * to the next hook function (as NF_ACCEPT does between base chains); `continue`
 * says the function did not decide, so the trace can tell them apart. `drop`
 * discards silently; `reject` discards and tells the sender (ICMP/RST).
 */
export type Verdict = "accept" | "continue" | "drop" | "reject";

/** A NAT target: the new address and, optionally, port. */
export interface NatTarget {
  /** New address. */
  readonly addr: Addr;
  /** New port; unchanged when absent. */
  readonly port?: number;
}

/** What a hook function returns: a verdict, plus rewrites it asks for. */
export interface HookResult {
  /** The verdict. */
  readonly verdict: Verdict;
  /** The rule/chain that decided (shown in the trace). */
  readonly rule?: string;
  /** Free text for the trace. */
  readonly note?: string;
  /** Set the packet mark (and the conntrack entry's mark when `ctMark`). */
  readonly mark?: number;
  /** Also store the mark on the conntrack entry (`CONNMARK --save-mark`). */
  readonly ctMark?: boolean;
  /**
   * Destination NAT (prerouting/output). Honoured only for the first packet of
   * a connection (conntrack `new`); later packets follow the entry, as in Linux.
   */
  readonly dnat?: NatTarget;
  /** Source NAT (postrouting/input), same rule as `dnat`. */
  readonly snat?: NatTarget;
  /** Masquerade: SNAT to the output device's address chosen like the kernel does. */
  readonly masquerade?: boolean | { readonly port?: number };
}

/** What a hook function sees besides the packet. */
export interface HookContext {
  /** The hook being run. */
  readonly hook: HookName;
  /** Namespace name. */
  readonly ns: string;
  /** Input device (prerouting, input, forward). */
  readonly inDev: string | undefined;
  /** Output device (forward, output, postrouting). */
  readonly outDev: string | undefined;
  /** Conntrack state of the packet (`untracked` before the conntrack priority). */
  readonly ctState: CtState;
  /** Direction of the packet in its connection. */
  readonly ctDir: "original" | "reply";
  /** Mark stored on the conntrack entry (0 when none). */
  readonly ctMark: number;
  /** The entry's original-direction destination (before DNAT), when tracked. */
  readonly ctOrigDst: Addr | undefined;
  /** The entry's original-direction destination port, when tracked. */
  readonly ctOrigDport: number | undefined;
  /** True when the frame is being bridged (br_netfilter with bridge-nf-call-iptables=1). */
  readonly bridged: boolean;
  /** For bridged frames: the bridge port it came in on (iptables `-m physdev --physdev-in`). */
  readonly physIn?: string;
  /** Whether `addr` is a local address of this namespace (iptables `addrtype --dst-type LOCAL`). */
  isLocal(addr: Addr): boolean;
  /** Seeded random number in [0, 1) for probabilistic rules. */
  random(): number;
  /** Current time in milliseconds from the dataplane's clock. */
  readonly now: number;
}

/** A hook function: look at the packet and return a verdict (with rewrites). */
export type HookFn = (packet: Packet, ctx: HookContext) => Verdict | HookResult;

/** Registration of a hook function in a namespace. */
export interface HookRegistration {
  /** Which hook. */
  readonly hook: HookName;
  /** Priority; see {@link HookPriority}. Ties run in registration order. */
  readonly priority: number;
  /** Who registers it (shown in traces). */
  readonly owner: string;
  /**
   * `nat` hooks (iptables nat table, nftables `type nat` chains) run only for
   * the first packet of a connection, and only until that packet's NAT of
   * their kind is decided; later packets follow the conntrack entry. Default `filter`.
   */
  readonly type?: "filter" | "nat";
  /** Address family it applies to; both when absent (nftables `inet`). */
  readonly family?: 4 | 6;
  /** The function. */
  readonly fn: HookFn;
}

interface Entry extends HookRegistration {
  readonly seq: number;
}

/**
 * The hook functions of one namespace, per hook, kept sorted by priority. The
 * dataplane runs them; engines (kube-proxy, netpol) register into it.
 */
export class HookTable {
  private readonly lists = new Map<HookName, Entry[]>();
  private seq = 0;
  private count = 0;

  /** Register a hook function; returns a function that removes it. */
  register(reg: HookRegistration): () => void {
    const entry: Entry = { ...reg, seq: this.seq++ };
    const list = [...(this.lists.get(reg.hook) ?? []), entry];
    list.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    this.lists.set(reg.hook, list);
    this.count++;
    return () => {
      const cur = this.lists.get(reg.hook) ?? [];
      if (!cur.includes(entry)) return;
      this.lists.set(
        reg.hook,
        cur.filter((e) => e !== entry),
      );
      this.count--;
    };
  }

  /** Hook functions of `hook` in run order. */
  list(hook: HookName): readonly HookRegistration[] {
    return this.lists.get(hook) ?? [];
  }

  /** Number of registered functions across all hooks. */
  get size(): number {
    return this.count;
  }
}
