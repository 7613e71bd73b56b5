import {
  Addr,
  Dataplane,
  formatTrace,
  makePacket,
  SOCKET_HOOK_NAMES,
  type SockAddr,
  socketHookName,
} from "@knet/netstack";
import { describe, expect, it } from "vitest";

const VIP = Addr.parse("10.96.0.10");
const BACKEND = Addr.parse("10.0.0.2");

function twoHosts(): Dataplane {
  const dp = new Dataplane();
  const a = dp.addNamespace("a");
  const b = dp.addNamespace("b");
  dp.addVeth("a", "eth0", "b", "eth0");
  a.addAddress("eth0", "10.0.0.1/24");
  b.addAddress("eth0", "10.0.0.2/24");
  return dp;
}

/** A socket-level load balancer on `a`: the VIP:80 is the backend:8080, at connect and sendmsg, and back. */
function attachLb(dp: Dataplane): string[] {
  const seen: string[] = [];
  const fwd = (sa: SockAddr) =>
    sa.addr.equals(VIP) && sa.port === 80
      ? { to: { addr: BACKEND, port: 8080 }, rule: "svc 10.96.0.10:80" }
      : "continue";
  const rev = (sa: SockAddr) =>
    sa.addr.equals(BACKEND) && sa.port === 8080 ? { to: { addr: VIP, port: 80 } } : "continue";
  const a = dp.ns("a");
  for (const [hook, fn] of [
    ["connect4", fwd],
    ["sendmsg4", fwd],
    ["recvmsg4", rev],
    ["getpeername4", rev],
  ] as const) {
    a.registerSocketHook({
      hook,
      owner: "test-lb",
      fn: (sa, ctx) => {
        seen.push(`${ctx.hook} ${ctx.proto}`);
        return (fn as (s: SockAddr) => ReturnType<typeof fwd>)(sa);
      },
    });
  }
  return seen;
}

describe("socket-level hook points", () => {
  it("names the eight cgroup sock_addr attach points", () => {
    expect(SOCKET_HOOK_NAMES).toHaveLength(8);
    expect(socketHookName("getpeername", 6)).toBe("getpeername6");
  });

  it("translates a TCP destination at connect(), with no conntrack NAT, and reports the service as the peer", () => {
    const dp = twoHosts();
    dp.ns("b").listen({ proto: "tcp", port: 8080 });
    const seen = attachLb(dp);
    const x = dp.exchange("a", makePacket({ dst: VIP.toString(), dport: 80 }));
    expect(x.ok).toBe(true);
    expect(x.request.sent.dst.equals(BACKEND)).toBe(true);
    expect(x.request.sent.dport).toBe(8080);
    expect(x.request.steps.some((s) => s.kind === "nat")).toBe(false);
    expect(x.request.steps[0]).toMatchObject({ kind: "socket", socketHook: "connect4", owner: "test-lb" });
    expect(formatTrace(x.request)).toContain("dst 10.96.0.10:80 -> 10.0.0.2:8080");
    expect(x.peer?.addr.equals(VIP)).toBe(true);
    expect(x.peer?.port).toBe(80);
    // connect once, getpeername once: the reply and the ACK are on connected sockets
    expect(seen).toEqual(["connect4 tcp", "getpeername4 tcp"]);
  });

  it("uses sendmsg and recvmsg for UDP", () => {
    const dp = twoHosts();
    dp.ns("b").listen({ proto: "udp", port: 8080 });
    const seen = attachLb(dp);
    const x = dp.exchange("a", makePacket({ proto: "udp", dst: VIP.toString(), dport: 80 }));
    expect(x.ok).toBe(true);
    expect(x.peer).toEqual({ addr: VIP, port: 80 });
    expect(seen).toEqual(["sendmsg4 udp", "recvmsg4 udp"]);
  });

  it("the reply's trace ends with the getpeername/recvmsg rewrite, after delivery to the client's socket", () => {
    for (const [proto, hook] of [
      ["tcp", "getpeername4"],
      ["udp", "recvmsg4"],
    ] as const) {
      const dp = twoHosts();
      dp.ns("b").listen({ proto, port: 8080 });
      attachLb(dp);
      const x = dp.exchange("a", makePacket({ proto, dst: VIP.toString(), dport: 80 }));
      const steps = x.reply?.steps ?? [];
      expect(steps.at(-2)?.kind, proto).toBe("deliver");
      expect(steps.at(-1), proto).toMatchObject({
        kind: "socket",
        ns: "a",
        socketHook: hook,
        owner: "test-lb",
        rewrite: "src 10.0.0.2:8080 -> 10.96.0.10:80",
      });
      expect(formatTrace(x.reply as NonNullable<typeof x.reply>)).toContain(`${hook} [test-lb`);
      // Without tracing, no steps are kept.
      expect(
        dp.exchange("a", makePacket({ proto, dst: VIP.toString(), dport: 80 }), { trace: false }).reply?.steps,
      ).toEqual([]);
    }
  });

  it("drops with socket-rejected when a function refuses the call, and leaves other traffic alone", () => {
    const dp = twoHosts();
    dp.ns("b").listen({ proto: "tcp", port: 80 });
    dp.ns("a").registerSocketHook({
      hook: "connect4",
      owner: "deny",
      fn: (sa) => (sa.port === 22 ? "reject" : "continue"),
    });
    const t = dp.send("a", makePacket({ dst: "10.0.0.2", dport: 22 }));
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "socket-rejected" });
    const ok = dp.exchange("a", makePacket({ dst: "10.0.0.2", dport: 80 }));
    expect(ok.ok).toBe(true);
    expect(ok.peer).toBeUndefined();
  });

  it("detaches", () => {
    const dp = twoHosts();
    dp.ns("b").listen({ proto: "tcp", port: 80 });
    const off = dp.ns("a").registerSocketHook({ hook: "connect4", owner: "deny", fn: () => "reject" });
    expect(dp.send("a", makePacket({ dst: "10.0.0.2", dport: 80 })).outcome.kind).toBe("dropped");
    off();
    expect(dp.ns("a").socketHooks.size).toBe(0);
    expect(dp.send("a", makePacket({ dst: "10.0.0.2", dport: 80 })).outcome.kind).toBe("delivered");
  });
});
