/**
 * Socket-level hook points, as the kernel offers them to cgroup BPF programs
 * (`BPF_PROG_TYPE_CGROUP_SOCK_ADDR`): `connect4/6` when a socket connects,
 * `sendmsg4/6` for each datagram sent with an explicit destination, `recvmsg4/6`
 * for the source address a datagram is reported from, `getpeername4/6` for the
 * peer a connected socket reports. A function there may rewrite the address and
 * port the application gave (or is shown), or refuse the call (EPERM), so an
 * engine can translate a service address at `connect()` time, before any
 * packet exists and without a conntrack NAT entry.
 */
import type { Addr } from "./addr.js";

/** The socket-level hook points (the kernel's `BPF_CGROUP_INET{4,6}_*` attach types). */
export type SocketHookName =
  | "connect4"
  | "connect6"
  | "sendmsg4"
  | "sendmsg6"
  | "recvmsg4"
  | "recvmsg6"
  | "getpeername4"
  | "getpeername6";

/** Every socket-level hook point, IPv4 then IPv6 for each call. */
export const SOCKET_HOOK_NAMES: readonly SocketHookName[] = [
  "connect4",
  "connect6",
  "sendmsg4",
  "sendmsg6",
  "recvmsg4",
  "recvmsg6",
  "getpeername4",
  "getpeername6",
];

/** The call a socket hook runs in (the name without the family). */
export type SocketCall = "connect" | "sendmsg" | "recvmsg" | "getpeername";

/** The hook point of `call` for address family `family`. */
export function socketHookName(call: SocketCall, family: 4 | 6): SocketHookName {
  return `${call}${family}` as SocketHookName;
}

/** An address and port as the socket call carries them (`struct bpf_sock_addr`'s user_ip/user_port). */
export interface SockAddr {
  /** The address. */
  readonly addr: Addr;
  /** The port. */
  readonly port: number;
}

/** What a socket hook function sees besides the address. */
export interface SocketHookContext {
  /** The hook point being run. */
  readonly hook: SocketHookName;
  /** Namespace of the socket. */
  readonly ns: string;
  /** Transport protocol of the socket. */
  readonly proto: "tcp" | "udp" | "sctp";
  /** The socket's own address and port, when bound (`msg_src_ip4` for sendmsg). */
  readonly local: SockAddr | undefined;
  /** Seeded random number in [0, 1) (`bpf_get_prandom_u32` scaled). */
  random(): number;
  /** Current time in milliseconds from the dataplane's clock. */
  readonly now: number;
}

/**
 * What a socket hook function returns: `continue` leaves the address as it is,
 * `reject` fails the call with EPERM (the program returned 0), or a rewrite.
 */
export type SocketHookResult =
  | "continue"
  | "reject"
  | {
      /** The address the call goes on with (or reports, for recvmsg/getpeername). */
      readonly to: SockAddr;
      /** The rule or map entry that decided (shown in the trace). */
      readonly rule?: string;
      /** Free text for the trace. */
      readonly note?: string;
    };

/** A socket hook function. */
export type SocketHookFn = (address: SockAddr, ctx: SocketHookContext) => SocketHookResult;

/** Registration of a socket hook function (one attached program). */
export interface SocketHookRegistration {
  /** The hook point. */
  readonly hook: SocketHookName;
  /** Who attaches it (shown in traces). */
  readonly owner: string;
  /** The function. */
  readonly fn: SocketHookFn;
}

/** What running one hook point did to an address. */
export interface SocketHookOutcome {
  /** The address after every function ran (unchanged when none rewrote it). */
  readonly address: SockAddr;
  /** Whether a function refused the call (EPERM). */
  readonly rejected: boolean;
  /** The functions that rewrote or refused, in order, for traces. */
  readonly decisions: readonly {
    readonly owner: string;
    readonly from: SockAddr;
    readonly result: Exclude<SocketHookResult, "continue">;
  }[];
}

/**
 * The socket hook functions of one namespace, per hook point, in attach order
 * (as `BPF_F_ALLOW_MULTI` runs programs). The dataplane runs them on the
 * socket calls of processes in the namespace.
 */
export class SocketHookTable {
  private readonly lists = new Map<SocketHookName, SocketHookRegistration[]>();
  private count = 0;

  /** Attach a function; returns a function that detaches it. */
  register(reg: SocketHookRegistration): () => void {
    this.lists.set(reg.hook, [...(this.lists.get(reg.hook) ?? []), reg]);
    this.count++;
    return () => {
      const cur = this.lists.get(reg.hook) ?? [];
      if (!cur.includes(reg)) return;
      this.lists.set(
        reg.hook,
        cur.filter((r) => r !== reg),
      );
      this.count--;
    };
  }

  /** Functions attached at `hook`, in run order. */
  list(hook: SocketHookName): readonly SocketHookRegistration[] {
    return this.lists.get(hook) ?? [];
  }

  /** Number of attached functions across all hook points. */
  get size(): number {
    return this.count;
  }

  /**
   * Run the functions of `ctx.hook` on `address`, each seeing the previous one's
   * rewrite; stops at the first that refuses.
   */
  run(address: SockAddr, ctx: SocketHookContext): SocketHookOutcome {
    let cur = address;
    const decisions: { owner: string; from: SockAddr; result: Exclude<SocketHookResult, "continue"> }[] = [];
    for (const reg of this.list(ctx.hook)) {
      const r = reg.fn(cur, ctx);
      if (r === "continue") continue;
      decisions.push({ owner: reg.owner, from: cur, result: r });
      if (r === "reject") return { address: cur, rejected: true, decisions };
      cur = r.to;
    }
    return { address: cur, rejected: false, decisions };
  }
}
