import type {
  Addr,
  HookRegistration,
  Packet,
  Prefix,
  Random,
  SocketHookName,
  SocketHookRegistration,
} from "@knet/netstack";
import type { ProxyConfig } from "./config.js";
import type { ProxyState } from "./proxy-state.js";
import type { Protocol } from "./service-port.js";

/** Options of {@link ProxyEngine.sync}. */
export interface SyncOptions {
  /** Force a full sync (otherwise the engine decides: first sync, or after a failure, is full). */
  readonly full?: boolean;
}

/** What one {@link ProxyEngine.sync} wrote. */
export interface SyncResult {
  /** Whether this was a full sync. */
  readonly full: boolean;
  /** The artifact of this sync as a real node would be given it (full or partial payload). */
  readonly payload: string;
  /** Service ports whose per-service objects were (re)written. */
  readonly servicePortsWritten: number;
  /** Service ports whose per-service objects were deleted. */
  readonly servicePortsDeleted: number;
}

/**
 * A packet (the first of a connection) as the proxy sees it. Addresses may be
 * given as text.
 */
export interface ProxyPacket {
  /** Source address. */
  readonly src: Addr | string;
  /** Destination address. */
  readonly dst: Addr | string;
  /** Transport protocol (default tcp). */
  readonly protocol?: Protocol;
  /** Source port (default 40000). */
  readonly sport?: number;
  /** Destination port. */
  readonly dport: number;
  /**
   * Where the packet enters the node: `remote` (arrives on an interface:
   * PREROUTING) or `local` (sent by a process on the node: OUTPUT). Default:
   * `local` when `src` is a node IP or loopback, else `remote`.
   */
  readonly origin?: "remote" | "local";
  /** Input interface name for `remote` packets (default `eth0`). */
  readonly inInterface?: string;
}

/** The engine-independent result of a packet through the proxy rules. */
export type ProxyOutcome =
  | {
      /** Translated to a service backend. */
      readonly kind: "dnat";
      /** The backend chosen. */
      readonly backend: { readonly ip: string; readonly port: number };
      /** Whether the packet leaves source-NATed (masqueraded). */
      readonly masquerade: boolean;
    }
  | {
      /** Rejected (ICMP port unreachable / TCP RST). */
      readonly kind: "reject";
      /** Why (the rule's comment or a description). */
      readonly reason: string;
    }
  | {
      /** Silently dropped. */
      readonly kind: "drop";
      /** Why. */
      readonly reason: string;
    }
  | {
      /** Not a service destination: passed through unchanged. */
      readonly kind: "accept";
      /** Whether the packet leaves source-NATed. */
      readonly masquerade: boolean;
    };

/** One step of an evaluation trace: a rule (or chain policy) the packet visited. */
export interface TraceStep {
  /** Table (iptables), table family (nftables) or `ipvs`. */
  readonly table: string;
  /** Chain (or virtual server) name. */
  readonly chain: string;
  /** 1-based rule number in the chain; 0 for the chain policy or a non-rule step. */
  readonly rule: number;
  /** The rule text. */
  readonly text: string;
  /** Whether the rule's matches held. */
  readonly matched: boolean;
  /**
   * Set on the one step that decided the outcome: the rule that translated the
   * destination (for a DNAT), rejected or dropped the packet, or masqueraded it
   * (for an accept that leaves source-NATed). Absent elsewhere.
   */
  readonly decisive?: boolean;
}

/** An evaluation: the outcome and every rule visited on the way. */
export interface ProxyEvaluation {
  /** What happened to the packet. */
  readonly outcome: ProxyOutcome;
  /** Rules visited, in order. */
  readonly trace: readonly TraceStep[];
}

/** Options of {@link ProxyEngine.evaluate}. */
export interface EvaluateOptions {
  /** Random source for endpoint choice (default: the engine's). */
  readonly random?: Random;
  /** Current time in ms for affinity state (default: the engine's clock). */
  readonly now?: number;
  /** Record the trace (default true). */
  readonly trace?: boolean;
}

/**
 * One kube-proxy mode (iptables, nftables, ipvs). An engine keeps the rules of
 * the last sync; `render()` is the artifact text, `evaluate()` runs a packet
 * through the same rules (the pure packet-level entry; netstack's netfilter
 * pipeline adapter builds on it).
 */
export interface ProxyEngine {
  /** Mode name (`iptables`, `nftables`, `ipvs`). */
  readonly mode: string;
  /** The configuration the engine was built with. */
  readonly config: ProxyConfig;
  /**
   * Sync to `state`: full the first time, after a failure or when asked,
   * otherwise partial where the mode supports it.
   * @throws when the state cannot be rendered; the engine keeps its previous rules.
   */
  sync(state: ProxyState, options?: SyncOptions): SyncResult;
  /** The complete artifact for the current rules (what a full sync writes). */
  render(): string;
  /** Run one packet (the first of a connection) through the current rules. */
  evaluate(packet: ProxyPacket, options?: EvaluateOptions): ProxyEvaluation;
  /**
   * Netfilter hook functions that run the engine's current rules inside a
   * `@knet/netstack` namespace (register each with `NetNamespace.registerHook`):
   * how an engine attaches to a simulated node's packet path.
   */
  hooks(options?: EngineHookOptions): HookRegistration[];
  /**
   * Socket-level hook functions (cgroup BPF `connect`/`sendmsg`/`recvmsg`/
   * `getpeername`) for a mode that translates services when a process opens a
   * connection rather than per packet (ebpf, as Cilium's socket LB). A cluster
   * registers them in the namespace of every pod on the node and in the node's
   * own (`NetNamespace.registerSocketHook`); `hooks()` then only meets traffic
   * that arrives from outside. Absent for the per-packet modes.
   */
  socketHooks?(options?: EngineHookOptions): SocketHookRegistration[];
}

/** What the proxy hooks decided for one connection (see {@link EngineHookOptions.observe}). */
export interface ProxyHookDecision {
  /**
   * Hook: `prerouting` for traffic arriving, `output` for the node's own, or
   * the socket-level point (`connect4`, `sendmsg4`, …) for a socket hook.
   */
  readonly hook: "prerouting" | "output" | SocketHookName;
  /**
   * The packet as it met the rules. For a socket hook, the connection the
   * call asks for (source unspecified until the socket is bound).
   */
  readonly packet: Packet;
  /** For a socket hook: the namespace of the socket. */
  readonly socketNs?: string;
  /** The engine's evaluation: outcome and rules visited. */
  readonly evaluation: ProxyEvaluation;
}

/** Options of {@link ProxyEngine.hooks}. */
export interface EngineHookOptions {
  /** Random source for endpoint choice (default: the engine's). */
  readonly random?: Random;
  /** Told about every connection the rules translated, rejected, dropped or marked for masquerade. */
  readonly observe?: (decision: ProxyHookDecision) => void;
}

/**
 * What kube-proxy detects on the host and writes its rules differently for, so a
 * render can match a given node. One type for every mode; each reads the parts it uses.
 */
export interface ProxyHostOptions {
  /** iptables, ipvs: the iptables binary supports `--random-fully`, appended to MASQUERADE (default true). */
  readonly randomFully?: boolean;
  /** iptables: the nfacct counters exist (the localhost NodePort and INVALID-drop rules count into them; default false). */
  readonly nfacct?: boolean;
  /** iptables: `net.netfilter.nf_conntrack_tcp_be_liberal` is 1 (no INVALID-drop rule; default false). */
  readonly conntrackTCPLiberal?: boolean;
  /**
   * nftables: the service CIDRs (kube-proxy learns them from ServiceCIDR objects);
   * the `cluster-ips-check` chain drops traffic to their unallocated addresses. Default: none.
   */
  readonly serviceCIDRs?: readonly (string | Prefix)[];
}

/** Options every engine factory accepts. */
export interface EngineOptions extends ProxyHostOptions {
  /** Node and proxy configuration. */
  readonly config: ProxyConfig;
  /** Random source for endpoint choice (default seeded with 1). */
  readonly random?: Random;
  /** Clock for affinity timeouts, ms (default `Date.now`). */
  readonly now?: () => number;
}
