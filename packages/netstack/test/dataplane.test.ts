import { Addr, Dataplane, formatTrace, HookPriority, ManualClock, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";

function twoHosts(clock = new ManualClock()): Dataplane {
  const dp = new Dataplane({ clock });
  const a = dp.addNamespace("a");
  const b = dp.addNamespace("b");
  dp.addVeth("a", "eth0", "b", "eth0");
  a.addAddress("eth0", "10.0.0.1/24");
  b.addAddress("eth0", "10.0.0.2/24");
  return dp;
}

describe("dataplane basics", () => {
  it("delivers over a veth and picks the source address", () => {
    const dp = twoHosts();
    dp.ns("b").listen({ proto: "tcp", port: 80 });
    const t = dp.send("a", makePacket({ dst: "10.0.0.2", dport: 80 }));
    expect(t.outcome).toMatchObject({ kind: "delivered", ns: "b", dev: "eth0" });
    expect(t.sent.src.toString()).toBe("10.0.0.1");
    expect(t.steps.map((s) => s.kind)).toEqual(["send", "route", "neigh", "xmit", "recv", "route", "deliver"]);
  });

  it("fails neighbour resolution for an absent host on the subnet", () => {
    const dp = twoHosts();
    const t = dp.send("a", makePacket({ dst: "10.0.0.9" }));
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "neighbour-failed" });
  });

  it("has no route off-subnet without a default route", () => {
    const dp = twoHosts();
    const t = dp.send("a", makePacket({ dst: "192.0.2.1" }));
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "no-route" });
    expect(dp.ns("a").routeGet("192.0.2.1")).toMatchObject({ kind: "error", errno: "ENETUNREACH" });
  });

  it("routes through a router only with ip_forward=1", () => {
    const dp = new Dataplane();
    for (const n of ["c", "r", "s"]) dp.addNamespace(n);
    dp.addVeth("c", "eth0", "r", "c0");
    dp.addVeth("s", "eth0", "r", "s0");
    dp.ns("c").addAddress("eth0", "10.1.0.2/24");
    dp.ns("r").addAddress("c0", "10.1.0.1/24");
    dp.ns("r").addAddress("s0", "10.2.0.1/24");
    dp.ns("s").addAddress("eth0", "10.2.0.2/24");
    dp.ns("c").addRoute({ dst: "default", via: "10.1.0.1" });
    dp.ns("s").addRoute({ dst: "default", via: "10.2.0.1" });
    dp.ns("s").listen({ proto: "tcp", port: 80 });
    const p = makePacket({ dst: "10.2.0.2" });
    expect(dp.send("c", p).outcome).toMatchObject({ kind: "dropped", reason: "forwarding-disabled", ns: "r" });
    dp.ns("r").setSysctl("net.ipv4.ip_forward", 1);
    const t = dp.send("c", p);
    expect(t.outcome).toMatchObject({ kind: "delivered", ns: "s" });
    expect(t.packet.ttl).toBe(63);
    expect(dp.exchange("c", p).ok).toBe(true);
  });

  it("DNATs in output and un-DNATs the reply", () => {
    const clock = new ManualClock();
    const dp = twoHosts(clock);
    const a = dp.ns("a");
    dp.ns("b").listen({ proto: "tcp", port: 8080 });
    a.addRoute({ dst: "10.96.0.0/12", dev: "eth0" });
    a.registerHook({
      hook: "output",
      priority: HookPriority.dstnat,
      owner: "test",
      type: "nat",
      fn: (p) =>
        p.dst.equals(Addr.parse("10.96.0.10"))
          ? { verdict: "accept", dnat: { addr: Addr.parse("10.0.0.2"), port: 8080 }, rule: "SVC" }
          : "continue",
    });
    const x = dp.exchange("a", makePacket({ dst: "10.96.0.10", dport: 80 }));
    expect(x.request.outcome).toMatchObject({ kind: "delivered", ns: "b" });
    expect(x.request.packet.dport).toBe(8080);
    expect(x.reply?.packet.src.toString()).toBe("10.96.0.10");
    expect(x.reply?.packet.sport).toBe(80);
    expect(x.ok).toBe(true);
    clock.advance(500);
    expect(a.conntrack.list()).toMatch(
      /^tcp {6}6 431999 ESTABLISHED src=10\.0\.0\.1 dst=10\.96\.0\.10 sport=40000 dport=80 src=10\.0\.0\.2 dst=10\.0\.0\.1 sport=8080 dport=40000 \[ASSURED\] mark=0 use=1$/,
    );
    expect(formatTrace(x.request)).toContain("DNAT");
    // The SYN-ACK reaches the client's own socket (the one connect() made), not "no listening socket".
    expect(x.reply?.outcome).toMatchObject({ kind: "delivered", ns: "a", socket: { proto: "tcp", port: 40000 } });
    expect(
      formatTrace(x.reply as NonNullable<typeof x.reply>)
        .split("\n")
        .slice(-2),
    ).toEqual([
      "deliver   a/eth0: client socket tcp/40000 connected to 10.96.0.10:80",
      "=> delivered to a/eth0 (client socket tcp/40000 connected to 10.96.0.10:80)",
    ]);
    // The socket lives as long as the exchange.
    expect(a.sockets).toEqual([]);
  });

  it("a connected socket takes only its own connection's packets, before any listener", () => {
    const dp = twoHosts();
    const a = dp.ns("a");
    const local = Addr.parse("10.0.0.1");
    const server = Addr.parse("10.0.0.2");
    const client = { proto: "tcp" as const, port: 40000, addr: local, peer: { addr: server, port: 80 } };
    a.listen(client);
    expect(a.socketFor("tcp", local, 40000, server, 80)).toBe(client);
    expect(a.socketFor("tcp", local, 40000, server, 81)).toBeUndefined();
    expect(a.socketFor("tcp", local, 40000)).toBeUndefined();
    const listener = { proto: "tcp" as const, port: 40000 };
    a.listen(listener);
    expect(a.socketFor("tcp", local, 40000, server, 81)).toBe(listener);
    expect(a.socketFor("tcp", local, 40000, server, 80)).toBe(client);
    a.close(client);
    expect(a.socketFor("tcp", local, 40000, server, 80)).toBe(listener);
    a.close(client);
    expect(a.sockets).toEqual([listener]);
  });
});
