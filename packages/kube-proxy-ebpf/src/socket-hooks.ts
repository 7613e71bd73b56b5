import type { ProxyEngine } from "@knet/kube-proxy";
import { Addr, type SocketHookFn, type SocketHookRegistration } from "@knet/netstack";

/**
 * The socket LB as `@knet/netstack` socket hook functions (IPv4): connect and
 * sendmsg ask the engine where the frontend goes (origin `local`: the socket
 * path, no SNAT) and remember the translation per namespace, protocol and
 * backend, as the program's reverse map does per socket cookie; recvmsg and
 * getpeername give the frontend back.
 */
export function socketLbHooks(
  engine: ProxyEngine,
  reverse: Map<string, { addr: Addr; port: number }>,
): SocketHookRegistration[] {
  const owner = `cgroup/sock_lb (${engine.mode})`;
  const forward: SocketHookFn = (address, ctx) => {
    const e = engine.evaluate(
      {
        src: ctx.local?.addr ?? engine.config.nodeIPs[0] ?? address.addr,
        sport: ctx.local?.port ?? 0,
        dst: address.addr,
        dport: address.port,
        protocol: ctx.proto,
        origin: "local",
      },
      { random: { next: () => ctx.random() }, now: ctx.now, trace: false },
    );
    const o = e.outcome;
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
