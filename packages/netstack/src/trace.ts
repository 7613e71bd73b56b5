import type { Addr } from "./addr.js";
import type { HookName, Verdict } from "./netfilter.js";
import type { Packet } from "./packet.js";
import type { SocketHookName } from "./socket-hooks.js";

/**
 * Why a packet was dropped. Each names the kernel behaviour it stands for:
 * `no-route` (ENETUNREACH), `unreachable`/`prohibit`/`blackhole` (route types),
 * `neighbour-failed` (ARP/ND got no answer), `mtu-exceeded` (larger than the
 * link MTU with DF set), `hook-drop`/`hook-reject` (a netfilter hook),
 * `rp-filter` (reverse-path check), `forwarding-disabled` (ip_forward=0),
 * `martian` (127/8 off loopback without route_localnet), `ttl-exceeded`,
 * `link-down`, `not-for-host` (frame for another MAC), `no-tunnel` (no vxlan
 * device or FDB entry), `no-listener` (no socket: TCP RST / ICMP port unreachable),
 * `loop` (hop budget spent), `dummy` (a dummy device swallows what it sends),
 * `socket-rejected` (a socket-level hook refused the call: EPERM from `connect()`/`sendmsg()`).
 */
export type DropReason =
  | "no-route"
  | "unreachable"
  | "prohibit"
  | "blackhole"
  | "neighbour-failed"
  | "mtu-exceeded"
  | "hook-drop"
  | "hook-reject"
  | "rp-filter"
  | "forwarding-disabled"
  | "martian"
  | "ttl-exceeded"
  | "link-down"
  | "not-for-host"
  | "no-tunnel"
  | "no-listener"
  | "loop"
  | "dummy"
  | "socket-rejected";

/** What kind of event a {@link TraceStep} records. */
export type StepKind =
  | "socket"
  | "send"
  | "route"
  | "hook"
  | "conntrack"
  | "nat"
  | "neigh"
  | "xmit"
  | "recv"
  | "bridge"
  | "encap"
  | "decap"
  | "mtu"
  | "deliver"
  | "drop";

/** One hop or decision of a packet's path. */
export interface TraceStep {
  /** What happened. */
  readonly kind: StepKind;
  /** Namespace where it happened. */
  readonly ns: string;
  /** Device involved (in/out device, bridge port…). */
  readonly dev?: string;
  /** Netfilter hook, for `hook` and `nat` steps. */
  readonly hook?: HookName;
  /** Socket-level hook point, for `socket` steps. */
  readonly socketHook?: SocketHookName;
  /** Who registered the hook function (e.g. `kube-proxy-iptables`). */
  readonly owner?: string;
  /** Rule or chain the hook reports (e.g. `KUBE-SVC-XYZ`). */
  readonly rule?: string;
  /** Hook verdict. */
  readonly verdict?: Verdict;
  /** A rewrite in `field old -> new` form (DNAT, SNAT, de-NAT, mark). */
  readonly rewrite?: string;
  /** Human text: the decision and its inputs. */
  readonly note: string;
}

/** Where a packet ended. */
export type Outcome =
  | {
      /** Reached the IP stack of `ns` on `dev`. */
      readonly kind: "delivered";
      /** Namespace that received it. */
      readonly ns: string;
      /** Device it arrived on. */
      readonly dev: string;
      /** The listening socket that takes it, when one matches. */
      readonly socket: Socket | undefined;
    }
  | {
      /** Dropped. */
      readonly kind: "dropped";
      /** Why. */
      readonly reason: DropReason;
      /** Namespace where it was dropped. */
      readonly ns: string;
      /** Device, when one is involved. */
      readonly dev?: string;
      /** Details for a human. */
      readonly detail: string;
    };

/**
 * A socket in a namespace: a listening one (address unspecified = all
 * addresses), or a client's connected one (with `peer`), which takes only the
 * packets of its own connection, as the kernel looks up established sockets
 * before listeners.
 */
export interface Socket {
  /** Protocol. */
  readonly proto: "tcp" | "udp" | "sctp";
  /** Local port. */
  readonly port: number;
  /** Bound address; undefined listens on every address. */
  readonly addr?: Addr;
  /** The remote end of a connected socket (what `connect()` was given, after any socket-level translation). */
  readonly peer?: { readonly addr: Addr; readonly port: number };
}

/** How traces name a socket: `socket tcp/8080`, or `client socket tcp/40002 connected to 10.96.0.10:80`. */
export function describeSocket(socket: Socket): string {
  return socket.peer === undefined
    ? `socket ${socket.proto}/${socket.port}`
    : `client socket ${socket.proto}/${socket.port} connected to ${formatHostPort(socket.peer.addr, socket.peer.port)}`;
}

function formatHostPort(addr: Addr, port: number): string {
  return addr.family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Everything that happened to one packet sent with `Dataplane.send`. */
export interface Trace {
  /** The steps in order. */
  readonly steps: readonly TraceStep[];
  /** Where it ended. */
  readonly outcome: Outcome;
  /** The packet as it arrived (after NAT and decapsulation) or as it was when dropped. */
  readonly packet: Packet;
  /** The packet as it left the sender (source address filled in). */
  readonly sent: Packet;
}

/** Multi-line text of a trace: one step per line, then the outcome. */
export function formatTrace(trace: Trace): string {
  const lines = trace.steps.map((s) => {
    const where = s.dev ? `${s.ns}/${s.dev}` : s.ns;
    const hook = s.hook ? ` ${s.hook}` : s.socketHook ? ` ${s.socketHook}` : "";
    const who = s.owner ? ` [${s.owner}${s.rule ? ` ${s.rule}` : ""}]` : "";
    const verdict = s.verdict ? ` ${s.verdict}` : "";
    const rw = s.rewrite ? ` {${s.rewrite}}` : "";
    return `${s.kind.padEnd(9)} ${where}${hook}${who}${verdict}${rw}: ${s.note}`;
  });
  const o = trace.outcome;
  lines.push(
    o.kind === "delivered"
      ? `=> delivered to ${o.ns}/${o.dev}${o.socket ? ` (${describeSocket(o.socket)})` : " (no socket)"}`
      : `=> dropped in ${o.ns}${o.dev ? `/${o.dev}` : ""}: ${o.reason} (${o.detail})`,
  );
  return lines.join("\n");
}
