import { Addr, Dataplane, formatTrace, HookPriority, makePacket, NetstackError, SYSCTL_DEFAULTS } from "@knet/netstack";
import { describe, expect, it } from "vitest";

/** c (10.1.0.2) -- r (10.1.0.1 | 10.2.0.1) -- s (10.2.0.2), r forwards. */
function routed(): Dataplane {
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
  dp.ns("r").setSysctl("net.ipv4.ip_forward", 1);
  dp.ns("s").listen({ proto: "tcp", port: 80 });
  return dp;
}

describe("sysctls", () => {
  it("start at the kernel defaults and per-device values copy conf.default at creation", () => {
    const dp = new Dataplane();
    const ns = dp.addNamespace("x");
    expect(ns.sysctl("net.ipv4.ip_forward")).toBe(0);
    expect(ns.sysctl("net.ipv4.conf.all.rp_filter")).toBe(0);
    expect(ns.sysctl("net.ipv4.conf.all.route_localnet")).toBe(0);
    expect(ns.sysctl("net.bridge.bridge-nf-call-iptables")).toBe(SYSCTL_DEFAULTS["net.bridge.bridge-nf-call-iptables"]);
    ns.setSysctl("net.ipv4.conf.default.rp_filter", 2);
    dp.addBridge("x", "br0");
    expect(ns.sysctl("net.ipv4.conf.br0.rp_filter")).toBe(2);
    expect(ns.sysctl("net.ipv4.conf.lo.rp_filter")).toBe(0);
    expect(() => ns.sysctl("net.ipv4.nope")).toThrow(NetstackError);
    expect(ns.changedSysctls()).toEqual([["net.ipv4.conf.default.rp_filter", 2]]);
  });

  it("rp_filter=1 drops a packet whose source routes back through another device; 2 accepts it", () => {
    const dp = routed();
    const r = dp.ns("r");
    // s spoofs a source that r routes via c0.
    const spoof = makePacket({ src: "10.1.0.77", dst: "10.1.0.2", proto: "udp", dport: 9 });
    expect(dp.send("s", spoof).outcome).toMatchObject({ kind: "delivered", ns: "c" });
    r.setSysctl("net.ipv4.conf.all.rp_filter", 1);
    expect(dp.send("s", spoof).outcome).toMatchObject({ kind: "dropped", reason: "rp-filter", ns: "r", dev: "s0" });
    r.setSysctl("net.ipv4.conf.all.rp_filter", 2);
    expect(dp.send("s", spoof).outcome.kind).toBe("delivered");
    // Loose mode still needs some route back.
    const nowhere = makePacket({ src: "198.51.100.1", dst: "10.1.0.2", proto: "udp", dport: 9 });
    expect(dp.send("s", nowhere).outcome).toMatchObject({ kind: "dropped", reason: "rp-filter" });
  });

  it("a packet to 127.0.0.1 arriving on a veth is martian unless route_localnet", () => {
    const dp = routed();
    dp.ns("c").addRoute({ dst: "127.0.0.0/8", dev: "eth0", table: "main", metric: 5 });
    dp.ns("r").listen({ proto: "tcp", port: 30080 });
    const p = makePacket({ src: "10.1.0.2", dst: "127.0.0.1", dport: 30080 });
    // The local table's 127/8 wins in c itself: it never leaves.
    expect(dp.send("c", p).outcome).toMatchObject({ kind: "delivered", ns: "c", dev: "lo" });
  });

  it("a DNAT to 127.0.0.1 from outside needs route_localnet on the input device", () => {
    const dp = routed();
    const r = dp.ns("r");
    r.listen({ proto: "tcp", port: 8080, addr: Addr.parse("127.0.0.1") });
    r.registerHook({
      hook: "prerouting",
      priority: HookPriority.dstnat,
      owner: "nodeport",
      type: "nat",
      fn: (p) =>
        p.dport === 30080 ? { verdict: "accept", dnat: { addr: Addr.parse("127.0.0.1"), port: 8080 } } : "continue",
    });
    const p = makePacket({ dst: "10.1.0.1", dport: 30080 });
    const t = dp.send("c", p);
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "martian", ns: "r" });
    r.setSysctl("net.ipv4.conf.c0.route_localnet", 1);
    const t2 = dp.send("c", { ...p, sport: 40001 });
    expect(t2.outcome).toMatchObject({ kind: "delivered", ns: "r", socket: { port: 8080 } });
  });

  it("a packet with a local source address arriving from outside is martian", () => {
    const dp = routed();
    const t = dp.send("s", makePacket({ src: "10.1.0.1", dst: "10.1.0.2", proto: "udp", dport: 9 }));
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "martian", ns: "r" });
  });
});

describe("hooks", () => {
  it("run in priority order with their owners in the trace, and a drop stops the packet", () => {
    const dp = routed();
    const order: string[] = [];
    const r = dp.ns("r");
    r.registerHook({
      hook: "forward",
      priority: HookPriority.filter,
      owner: "netpol",
      fn: (p) => {
        order.push("filter");
        return p.dport === 22 ? { verdict: "drop", rule: "deny-ssh" } : "accept";
      },
    });
    r.registerHook({
      hook: "forward",
      priority: HookPriority.mangle,
      owner: "mangle",
      fn: () => {
        order.push("mangle");
        return { verdict: "accept", mark: 0x4000 };
      },
    });
    const ok = dp.send("c", makePacket({ dst: "10.2.0.2", dport: 80 }));
    expect(order).toEqual(["mangle", "filter"]);
    expect(ok.outcome.kind).toBe("delivered");
    expect(ok.steps.find((st) => st.owner === "mangle")?.rewrite).toBe("mark 0x0 -> 0x4000");
    expect(ok.packet.mark).toBe(0); // scrubbed on the way into s
    const hooked = ok.steps.filter((s) => s.kind === "hook").map((s) => `${s.hook}:${s.owner}:${s.verdict}`);
    expect(hooked).toEqual(["forward:mangle:accept", "forward:netpol:accept"]);
    const bad = dp.send("c", makePacket({ dst: "10.2.0.2", dport: 22 }));
    expect(bad.outcome).toMatchObject({ kind: "dropped", reason: "hook-drop", ns: "r" });
    expect(bad.steps.at(-2)).toMatchObject({ kind: "hook", owner: "netpol", rule: "deny-ssh", verdict: "drop" });
  });

  it("a mark set in one namespace is seen by its later hooks but scrubbed when the packet leaves over a veth", () => {
    const dp = routed();
    const r = dp.ns("r");
    const marks: Record<string, number> = {};
    r.registerHook({
      hook: "prerouting",
      priority: HookPriority.mangle,
      owner: "m",
      fn: () => ({ verdict: "accept", mark: 0x4000 }),
    });
    r.registerHook({
      hook: "postrouting",
      priority: HookPriority.srcnat,
      owner: "m",
      fn: (p) => {
        marks.post = p.mark;
        return "accept";
      },
    });
    dp.ns("s").registerHook({
      hook: "input",
      priority: 0,
      owner: "m",
      fn: (p) => {
        marks.server = p.mark;
        return "accept";
      },
    });
    expect(dp.send("c", makePacket({ dst: "10.2.0.2", dport: 80 })).outcome.kind).toBe("delivered");
    expect(marks).toEqual({ post: 0x4000, server: 0 });
  });

  it("reject is its own reason; unregister removes the function", () => {
    const dp = routed();
    const off = dp.ns("r").registerHook({ hook: "prerouting", priority: 0, owner: "x", fn: () => "reject" });
    expect(dp.send("c", makePacket({ dst: "10.2.0.2" })).outcome).toMatchObject({ reason: "hook-reject" });
    off();
    expect(dp.send("c", makePacket({ dst: "10.2.0.2" })).outcome.kind).toBe("delivered");
  });

  it("nat hooks see only the first packet; established packets follow conntrack", () => {
    const dp = routed();
    let calls = 0;
    const r = dp.ns("r");
    r.registerHook({
      hook: "prerouting",
      priority: HookPriority.dstnat,
      owner: "kp",
      type: "nat",
      fn: (p, ctx) => {
        calls++;
        expect(ctx.ctState).toBe("new");
        return p.dst.equals(Addr.parse("10.96.0.1"))
          ? { verdict: "accept", dnat: { addr: Addr.parse("10.2.0.2"), port: 80 } }
          : "continue";
      },
    });
    const seen: string[] = [];
    r.registerHook({
      hook: "forward",
      priority: 0,
      owner: "f",
      fn: (_p, ctx) => {
        seen.push(`${ctx.ctState}/${ctx.ctDir}/${ctx.ctOrigDst}`);
        return "accept";
      },
    });
    const x = dp.exchange("c", makePacket({ dst: "10.96.0.1", dport: 443 }));
    expect(x.ok).toBe(true);
    expect(calls).toBe(1);
    expect(seen).toEqual(["new/original/10.96.0.1", "established/reply/10.96.0.1", "established/original/10.96.0.1"]);
    expect(x.ack?.packet.dst.toString()).toBe("10.2.0.2");
  });

  it("masquerade rewrites the source to the output device's address and replies find their way back", () => {
    const dp = routed();
    dp.ns("s").deleteRoute("default");
    dp.ns("r").registerHook({
      hook: "postrouting",
      priority: HookPriority.srcnat,
      owner: "masq",
      type: "nat",
      fn: (_p, ctx) => (ctx.outDev === "s0" ? { verdict: "accept", masquerade: true } : "continue"),
    });
    const x = dp.exchange("c", makePacket({ dst: "10.2.0.2", dport: 80 }));
    expect(x.request.packet.src.toString()).toBe("10.2.0.1");
    expect(x.ok).toBe(true);
    expect(dp.ns("r").conntrack.list()).toContain("src=10.2.0.2 dst=10.2.0.1 sport=80 dport=40000");
  });
});

describe("routing", () => {
  it("validates gateways like the kernel and refuses duplicates", () => {
    const dp = routed();
    const c = dp.ns("c");
    expect(() => c.addRoute({ dst: "192.0.2.0/24", via: "10.9.9.9" })).toThrow(/invalid gateway/);
    expect(() => c.addRoute({ dst: "192.0.2.0/24", via: "10.1.0.1", dev: "lo" })).toThrow(/invalid gateway/);
    c.addRoute({ dst: "192.0.2.0/24", via: "10.9.9.9", dev: "eth0", onlink: true });
    expect(() => c.addRoute({ dst: "192.0.2.0/24", via: "10.1.0.1" })).toThrow(/exists/);
    c.addRoute({ dst: "192.0.2.0/24", via: "10.1.0.1", metric: 10 });
    const g = c.routeGet("192.0.2.5");
    expect(g).toMatchObject({ kind: "unicast", dev: "eth0" });
    expect(g.kind !== "error" && g.via?.toString()).toBe("10.9.9.9");
  });

  it("skips routes through a down device and falls back to a shorter prefix", () => {
    const dp = routed();
    const c = dp.ns("c");
    dp.addBridge("c", "br9");
    c.addAddress("br9", "10.9.0.1/24");
    c.addRoute({ dst: "10.2.0.0/16", dev: "br9" });
    expect(c.routeGet("10.2.0.2")).toMatchObject({ dev: "br9" });
    c.setUp("br9", false);
    expect(c.routeGet("10.2.0.2")).toMatchObject({ dev: "eth0" });
  });

  it("route types decide the drop reason", () => {
    const dp = routed();
    const c = dp.ns("c");
    c.addRoute({ dst: "192.0.2.0/26", type: "blackhole" });
    c.addRoute({ dst: "192.0.2.64/26", type: "unreachable" });
    c.addRoute({ dst: "192.0.2.128/26", type: "prohibit" });
    const reason = (d: string): unknown => {
      const o = dp.send("c", makePacket({ dst: d })).outcome;
      return o.kind === "dropped" ? o.reason : o.kind;
    };
    expect([reason("192.0.2.1"), reason("192.0.2.65"), reason("192.0.2.129")]).toEqual([
      "blackhole",
      "unreachable",
      "prohibit",
    ]);
    expect(c.routeGet("192.0.2.1")).toMatchObject({ kind: "error", errno: "EINVAL" });
  });

  it("a routing loop ends on TTL", () => {
    const dp = routed();
    dp.ns("r").addRoute({ dst: "192.0.2.0/24", via: "10.2.0.2" });
    dp.ns("s").setSysctl("net.ipv4.ip_forward", 1);
    const t = dp.send("c", makePacket({ dst: "192.0.2.1", ttl: 8 }));
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "ttl-exceeded" });
  });

  it("IPv6 works end to end on a veth", () => {
    const dp = new Dataplane();
    dp.addNamespace("a");
    dp.addNamespace("b");
    dp.addVeth("a", "eth0", "b", "eth0");
    dp.ns("a").addAddress("eth0", "fd00::1/64");
    dp.ns("b").addAddress("eth0", "fd00::2/64");
    dp.ns("b").listen({ proto: "udp", port: 53 });
    const x = dp.exchange("a", makePacket({ dst: "fd00::2", proto: "udp", dport: 53 }));
    expect(x.ok).toBe(true);
    expect(x.request.sent.src.toString()).toBe("fd00::1");
  });
});

describe("links", () => {
  it("a dummy device takes addresses but swallows what is sent through it", () => {
    const dp = new Dataplane();
    const n = dp.addNamespace("n");
    dp.addDummy("n", "kube-ipvs0");
    n.addAddress("kube-ipvs0", "10.96.0.10/32");
    n.addRoute({ dst: "203.0.113.0/24", dev: "kube-ipvs0" });
    expect(n.isLocal(Addr.parse("10.96.0.10"))).toBe(true);
    expect(dp.send("n", makePacket({ dst: "10.96.0.10", proto: "icmp" })).outcome).toMatchObject({
      kind: "delivered",
      dev: "lo",
    });
    expect(dp.send("n", makePacket({ dst: "203.0.113.1" })).outcome).toMatchObject({
      kind: "dropped",
      reason: "dummy",
    });
  });

  it("bridge hairpin: a bridged frame DNATed back to its sender needs hairpin mode (and masquerade)", () => {
    const dp = new Dataplane();
    const node = dp.addNamespace("node");
    dp.addBridge("node", "cni0");
    node.addAddress("cni0", "10.244.0.1/24");
    node.setSysctl("net.ipv4.ip_forward", 1); // the de-SNATed reply is routed back out cni0
    for (const p of ["a", "b"]) {
      dp.addNamespace(p);
      dp.addVeth(p, "eth0", "node", `veth${p}`);
      node.setMaster(`veth${p}`, "cni0");
    }
    dp.ns("a").addAddress("eth0", "10.244.0.2/24");
    dp.ns("b").addAddress("eth0", "10.244.0.3/24");
    dp.ns("a").listen({ proto: "tcp", port: 8080 });
    const a = Addr.parse("10.244.0.2");
    node.registerHook({
      hook: "prerouting",
      priority: HookPriority.dstnat,
      owner: "proxy",
      type: "nat",
      fn: (p) => (p.dport === 80 ? { verdict: "accept", dnat: { addr: a, port: 8080 } } : "continue"),
    });
    node.registerHook({
      hook: "postrouting",
      priority: HookPriority.srcnat,
      owner: "proxy",
      type: "nat",
      fn: (p) => (p.src.equals(p.dst) ? { verdict: "accept", masquerade: true, rule: "hairpin-masq" } : "continue"),
    });
    const syn = makePacket({ dst: "10.244.0.3", dport: 80 });
    const t = dp.send("a", syn);
    expect(t.outcome).toMatchObject({ kind: "dropped", reason: "not-for-host", dev: "vetha" });
    expect(t.outcome.kind === "dropped" && t.outcome.detail).toContain("hairpin off");
    node.setHairpin("vetha", true);
    const x = dp.exchange("a", { ...syn, sport: 40001 });
    expect(x.request.outcome).toMatchObject({ kind: "delivered", ns: "a", socket: { port: 8080 } });
    expect(x.request.packet.src.toString()).toBe("10.244.0.1");
    expect(x.request.steps.some((s) => s.kind === "bridge" && s.note.includes("(hairpin)"))).toBe(true);
    expect(x.ok, x.reply ? formatTrace(x.reply) : "no reply").toBe(true);
    expect(x.reply?.packet.src.toString()).toBe("10.244.0.3");
    expect(x.reply?.packet.sport).toBe(80);
  });

  it("bridged traffic meets the bridge namespace's forward hook when bridge-nf-call-iptables=1", () => {
    const dp = new Dataplane();
    dp.addNamespace("node");
    dp.addBridge("node", "cni0");
    for (const p of ["a", "b"]) {
      dp.addNamespace(p);
      dp.addVeth(p, "eth0", "node", `veth${p}`);
      dp.ns("node").setMaster(`veth${p}`, "cni0");
    }
    dp.ns("a").addAddress("eth0", "10.244.0.2/24");
    dp.ns("b").addAddress("eth0", "10.244.0.3/24");
    dp.ns("b").listen({ proto: "tcp", port: 80 });
    const seen: string[] = [];
    dp.ns("node").registerHook({
      hook: "forward",
      priority: 0,
      owner: "netpol",
      fn: (p, ctx) => {
        seen.push(`${ctx.bridged} ${ctx.inDev} ${ctx.physIn} ${p.src}->${p.dst}`);
        return p.dport === 81 ? "drop" : "accept";
      },
    });
    expect(dp.exchange("a", makePacket({ dst: "10.244.0.3", dport: 80 })).ok).toBe(true);
    expect(seen[0]).toBe("true cni0 vetha 10.244.0.2->10.244.0.3");
    expect(dp.send("a", makePacket({ dst: "10.244.0.3", dport: 81 })).outcome).toMatchObject({
      reason: "hook-drop",
      ns: "node",
    });
    dp.ns("node").setSysctl("net.bridge.bridge-nf-call-iptables", 0);
    expect(dp.send("a", makePacket({ dst: "10.244.0.3", dport: 81 })).outcome.kind).toBe("delivered");
  });

  it("a link that is down neither answers ARP nor sends", () => {
    const dp = routed();
    dp.ns("s").setUp("eth0", false);
    expect(dp.send("c", makePacket({ dst: "10.2.0.2" })).outcome).toMatchObject({
      kind: "dropped",
      reason: "neighbour-failed",
      ns: "r",
    });
    dp.ns("r").addNeighbour("s0", "10.2.0.2", dp.ns("s").link("eth0").mac);
    expect(dp.send("c", makePacket({ dst: "10.2.0.2" })).outcome).toMatchObject({
      kind: "dropped",
      reason: "link-down",
      ns: "r",
    });
    dp.ns("c").setUp("eth0", false);
    expect(dp.ns("c").routeGet("10.2.0.2")).toMatchObject({ kind: "error", errno: "ENETUNREACH" });
  });
});

describe("deletion", () => {
  it("deleting a veth end deletes both ends with their routes and bridge membership", () => {
    const dp = new Dataplane();
    dp.addNamespace("node");
    dp.addNamespace("pod");
    dp.addBridge("node", "cni0");
    dp.ns("node").addAddress("cni0", "10.244.0.1/24");
    dp.addVeth("pod", "eth0", "node", "veth1");
    dp.ns("node").setMaster("veth1", "cni0");
    dp.ns("pod").addAddress("eth0", "10.244.0.2/24");
    dp.ns("pod").addRoute({ dst: "default", via: "10.244.0.1" });
    expect(dp.exchange("pod", makePacket({ dst: "10.244.0.1", proto: "icmp" })).ok).toBe(true);
    dp.deleteLink("pod", "eth0");
    expect(dp.ns("node").findLink("veth1")).toBeUndefined();
    expect(dp.ns("node").link("cni0").ports).toEqual([]);
    expect(dp.ns("pod").fib.routes("main")).toEqual([]);
    expect(dp.ns("pod").routeGet("10.244.0.1")).toMatchObject({ kind: "error", errno: "ENETUNREACH" });
    expect(dp.send("node", makePacket({ dst: "10.244.0.2", proto: "icmp" })).outcome).toMatchObject({
      reason: "neighbour-failed",
    });
  });

  it("deleting a namespace deletes the other ends of its veths", () => {
    const dp = routed();
    dp.deleteNamespace("s");
    expect(() => dp.ns("s")).toThrow(NetstackError);
    expect(dp.ns("r").findLink("s0")).toBeUndefined();
    expect(dp.ns("r").routeGet("10.2.0.2")).toMatchObject({ kind: "error" });
  });

  it("deleting a primary address takes its secondaries and the subnet's routes; a secondary goes alone", () => {
    const dp = routed();
    const c = dp.ns("c");
    c.addAddress("eth0", "10.1.0.3/24");
    expect(c.link("eth0").addresses.map((a) => `${a.addr} ${a.secondary}`)).toEqual([
      "10.1.0.2 false",
      "10.1.0.3 true",
    ]);
    c.deleteAddress("eth0", "10.1.0.3/24");
    expect(c.isLocal(Addr.parse("10.1.0.3"))).toBe(false);
    expect(c.routeGet("10.1.0.1")).toMatchObject({ kind: "unicast", dev: "eth0" });
    c.addAddress("eth0", "10.1.0.3/24");
    c.deleteAddress("eth0", "10.1.0.2/24");
    expect(c.link("eth0").addresses).toEqual([]);
    expect(c.routeGet("10.1.0.1")).toMatchObject({ kind: "error", errno: "ENETUNREACH" });
    expect(c.fib.routes("local").filter((r) => r.dev === "eth0")).toEqual([]);
    expect(() => c.deleteAddress("eth0", "10.1.0.2/24")).toThrow(/not on eth0/);
  });
});
