/**
 * `@knet/netstack`: IPv4/IPv6 addresses and prefixes kept as numbers, a
 * longest-prefix-match table, and a simulated Linux dataplane: network
 * namespaces, links (loopback, veth, bridge, vxlan, dummy), routing tables,
 * neighbours, conntrack with NAT, sysctls, the netfilter hook pipeline,
 * packets and traces; plus a topology builder and `realize()` that emits the
 * `ip` commands building the same topology in real namespaces.
 *
 * @example
 * ```ts
 * import { Addr, Prefix, PrefixTable } from "@knet/netstack";
 *
 * const routes = new PrefixTable<string>()
 *   .insert(Prefix.parse("0.0.0.0/0"), "eth0")
 *   .insert(Prefix.parse("10.244.1.0/24"), "cni0");
 * routes.lookup(Addr.parse("10.244.1.9")); // "cni0"
 * Prefix.parse("10.0.0.0/8").subtract([Prefix.parse("10.0.0.0/9")]).map(String); // ["10.128.0.0/9"]
 * ```
 *
 * @module
 */

export type { Family, ParseOptions } from "./addr.js";
export { Addr, AddrError, formatIPv4, formatIPv6, parseIPv4 } from "./addr.js";
export type { Clock, CtMatch, CtState, CtTuple, TcpCtState } from "./conntrack.js";
export { Conntrack, ConntrackEntry, CT_TIMEOUTS, formatEntry, ManualClock } from "./conntrack.js";
export type { DataplaneOptions, Exchange, SendOptions, VxlanOptions } from "./dataplane.js";
export { Dataplane } from "./dataplane.js";
export type { Route, RouteProto, RouteScope, RouteType, TableName } from "./fib.js";
export { Fib, formatRoute } from "./fib.js";
export type { FlannelOptions } from "./flannel.js";
export { flannelTopology } from "./flannel.js";
export type { AddrScope, FdbEntry, IfAddr, LinkKind, VxlanConfig } from "./link.js";
export { Link } from "./link.js";
export type { NamespaceContext, RouteGet, RouteSpec } from "./net-namespace.js";
export { NetNamespace, NetstackError, neighKey, SYSCTL_DEFAULTS } from "./net-namespace.js";
export type { HookContext, HookFn, HookName, HookRegistration, HookResult, NatTarget, Verdict } from "./netfilter.js";
export { HOOK_NAMES, HookPriority, HookTable } from "./netfilter.js";
export type { Encap, IcmpQuote, Packet, PacketInit, Proto, SocketOwner, TcpFlags } from "./packet.js";
export {
  BROADCAST_MAC,
  formatMac,
  formatPacket,
  isIcmpError,
  isUnspecified,
  makePacket,
  parseMac,
  protoNumber,
} from "./packet.js";
export type { PrefixParseOptions } from "./prefix.js";
export { Prefix, wordMask } from "./prefix.js";
export type { PrefixEntry } from "./prefix-table.js";
export { PrefixTable } from "./prefix-table.js";
export type { IpProtocol } from "./protocols.js";
export { IP_PROTOCOLS, ipProtocolName, ipProtocolNumber } from "./protocols.js";
export type { Random } from "./random.js";
export { seededRandom } from "./random.js";
export type {
  SockAddr,
  SocketCall,
  SocketHookContext,
  SocketHookFn,
  SocketHookName,
  SocketHookOutcome,
  SocketHookRegistration,
  SocketHookResult,
} from "./socket-hooks.js";
export { SOCKET_HOOK_NAMES, SocketHookTable, socketHookName } from "./socket-hooks.js";
export type {
  DeviceSpec,
  FlatDevice,
  LinkSpec,
  NamespaceSpec,
  NeighbourSpec,
  Realized,
  RealizeOptions,
  Topology,
  TopologyRoute,
  VethEnd,
  VtepSpec,
} from "./topology.js";
export { buildTopology, isDeviceSysctl, realize, topologyDevices } from "./topology.js";
export type { DropReason, Outcome, Socket, StepKind, Trace, TraceStep } from "./trace.js";
export { describeSocket, formatTrace } from "./trace.js";
