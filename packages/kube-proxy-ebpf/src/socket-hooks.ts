import type { EngineHookOptions, ProxyEngine } from "@knet/kube-proxy";
import { Addr, makePacket, type SocketHookFn, type SocketHookRegistration } from "@knet/netstack";

/**
 * The socket LB as `@knet/netstack` socket hook functions (IPv4): connect and
 * sendmsg ask the engine where the frontend goes (origin `local`: the socket
 * path, no SNAT) and remember the translation per namespace, protocol and
 * backend, as the program's reverse map does per socket cookie; recvmsg and
 * getpeername give the frontend back. `options.random` picks backends (default:
 * the dataplane's); `options.observe` hears every translation or refusal with
 * the evaluation's map lookups.
 */
export function socketLbHooks(
  engine: ProxyEngine,
  reverse: Map<string, { addr: Addr; port: number }>,
  options: EngineHookOptions = {},
): SocketHookRegistration[] {
  const owner = `cgroup/sock_lb (${engine.mode})`;
  const { observe } = options;
  const forward: SocketHookFn = (address, ctx) => {
    const src = ctx.local?.addr ?? engine.config.nodeIPs[0] ?? address.addr;
    const sport = ctx.local?.port ?? 0;
    const e = engine.evaluate(
      { src, sport, dst: address.addr, dport: address.port, protocol: ctx.proto, origin: "local" },
      { random: options.random ?? { next: () => ctx.random() }, now: ctx.now, trace: observe !== undefined },
    );
    const o = e.outcome;
    if (observe && (o.kind === "dnat" || o.kind === "reject"))
      observe({
        hook: ctx.hook,
        packet: makePacket({
          ...(ctx.local ? { src: ctx.local.addr } : {}),
          dst: address.addr,
          proto: ctx.proto,
          sport,
          dport: address.port,
        }),
        socketNs: ctx.ns,
        evaluation: e,
      });
    if (o.kind === "reject") return "reject";
    if (o.kind !== "dnat") return "continue";
    const to = {
      addr: Addr.parse(o.backend.ip),
      port: o.backend.port,
    };
    reverse.set(`${ctx.ns}|${ctx.proto}|${to.addr}|${to.port}`, { addr: address.addr, port: address.port });
    return {
      to,
      rule: `cilium_lb4_services_v2 ${address.addr}:${address.port}`,
      note: `service backend ${o.backend.ip}:${o.backend.port}`,
    };
  };
  const back: SocketHookFn = (address, ctx) => {
    const svc = reverse.get(`${ctx.ns}|${ctx.proto}|${address.addr}|${address.port}`);
    return svc
      ? { to: svc, rule: "cilium_lb4_reverse_sk", note: `service address ${svc.addr}:${svc.port}` }
      : "continue";
  };
  return [
    { hook: "connect4", owner, fn: forward },
    { hook: "sendmsg4", owner, fn: forward },
    { hook: "recvmsg4", owner, fn: back },
    { hook: "getpeername4", owner, fn: back },
  ];
}
