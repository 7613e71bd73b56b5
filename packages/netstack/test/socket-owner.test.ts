import { Addr, Dataplane, HookPriority, makePacket, type Packet } from "@knet/netstack";
import { describe, expect, it } from "vitest";

const LOOPBACK = Addr.parse("127.0.0.1");

/** Two namespaces on a veth; `a` records the socket owner each hook sees and redirects tcp/80 to 127.0.0.1:15001. */
function setup() {
  const dp = new Dataplane();
  const a = dp.addNamespace("a");
  const b = dp.addNamespace("b");
  dp.addVeth("a", "eth0", "b", "eth0");
  a.addAddress("eth0", "10.0.0.1/24");
  b.addAddress("eth0", "10.0.0.2/24");
  const seen: string[] = [];
  const record = (ns: string) => (p: Packet, ctx: { hook: string }) => {
    seen.push(`${ns} ${ctx.hook} ${p.dst}:${p.dport} uid=${p.uid ?? "-"}`);
    return "continue" as const;
  };
  for (const [name, n] of [
    ["a", a],
    ["b", b],
  ] as const)
    for (const hook of ["prerouting", "input", "output", "postrouting"] as const)
      n.registerHook({ hook, priority: HookPriority.filter, owner: "spy", fn: record(name) });
  let natRuns = 0;
  a.registerHook({
    hook: "output",
    priority: HookPriority.dstnat,
    type: "nat",
    owner: "redirect",
    fn: (p) =>
      p.dport === 80 && p.uid !== 1337 ? { verdict: "accept", dnat: { addr: LOOPBACK, port: 15001 } } : "continue",
  });
  a.registerHook({
    hook: "prerouting",
    priority: HookPriority.dstnat,
    type: "nat",
    owner: "inbound",
    fn: () => {
      natRuns++;
      return "continue";
    },
  });
  a.listen({ proto: "tcp", port: 15001 });
  b.listen({ proto: "tcp", port: 80 });
  return { dp, seen, natRuns: () => natRuns };
}

describe("packets carry their socket's owner", () => {
  it("in output and postrouting of the sending namespace, not past a veth or lo", () => {
    const { dp, seen } = setup();
    const t = dp.send("a", makePacket({ dst: "10.0.0.2", dport: 80, uid: 1337, gid: 1337 }));
    expect(t.outcome).toMatchObject({ kind: "delivered", ns: "b" });
    expect(seen).toEqual([
      "a output 10.0.0.2:80 uid=1337",
      "a postrouting 10.0.0.2:80 uid=1337",
      "b prerouting 10.0.0.2:80 uid=-",
      "b input 10.0.0.2:80 uid=-",
    ]);
  });

  it("a packet redirected to loopback keeps its connection: prerouting NAT does not run again", () => {
    const { dp, seen, natRuns } = setup();
    const t = dp.exchange("a", makePacket({ dst: "10.0.0.2", dport: 80, uid: 1000 }));
    expect(t.request.outcome).toMatchObject({ kind: "delivered", ns: "a", dev: "lo" });
    expect(t.request.packet.dport).toBe(15001);
    expect(t.ok).toBe(true);
    expect(natRuns()).toBe(0);
    expect(seen.slice(0, 4)).toEqual([
      "a output 127.0.0.1:15001 uid=1000",
      "a postrouting 127.0.0.1:15001 uid=1000",
      "a prerouting 127.0.0.1:15001 uid=-",
      "a input 127.0.0.1:15001 uid=-",
    ]);
  });
});
