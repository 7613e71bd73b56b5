import { buildTopology, flannelTopology, NetstackError, realize, type Topology } from "@knet/netstack";
import { describe, expect, it } from "vitest";
import { randomTopology } from "./random-topology.js";

describe("realize", () => {
  it("runs every command inside a knet- namespace, never in the root namespace", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { topology } = randomTopology(seed);
      const r = realize(topology, { prefix: "knet-t-" });
      for (const c of r.setup) {
        const inside =
          (c[0] === "ip" && c[1] === "netns" && (c[2] === "add" || c[2] === "exec") && c[3]?.startsWith("knet-t-")) ||
          ((c[0] === "ip" || c[0] === "bridge") && c[1] === "-n" && c[2]?.startsWith("knet-t-"));
        expect(inside, c.join(" ")).toBe(true);
        // A veth's peer goes straight into a namespace too.
        if (c.includes("veth")) {
          const i = c.indexOf("netns");
          if (i >= 0) expect(c[i + 1]?.startsWith("knet-t-")).toBe(true);
        }
      }
      expect(r.teardown.map((c) => c.join(" "))).toEqual(
        [...topology.namespaces].reverse().map((n) => `ip netns del knet-t-${n.name}`),
      );
    }
  });

  it("emits what flannel's node needs, in an order the kernel accepts", () => {
    const r = realize(flannelTopology(), { prefix: "knet-f-" });
    const lines = r.setup.map((c) => c.join(" "));
    const at = (s: string): number => {
      const i = lines.indexOf(s);
      expect(i, s).toBeGreaterThanOrEqual(0);
      return i;
    };
    const vx = at(
      "ip -n knet-f-node1 link add flannel.1 mtu 1450 address 0e:00:00:00:00:01 type vxlan id 1 local 192.168.56.11 dev eth0 dstport 8472 nolearning",
    );
    const underlay = at(
      "ip -n knet-f-node1 link add eth0 mtu 1500 type veth peer name eth0 mtu 1500 netns knet-f-node2",
    );
    expect(underlay).toBeLessThan(vx);
    const route = at("ip -n knet-f-node1 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink");
    const up = at("ip -n knet-f-node1 link set flannel.1 up");
    expect(up).toBeLessThan(route);
    at("ip -n knet-f-node1 neigh replace 10.244.2.0 lladdr 0e:00:00:00:00:02 dev flannel.1 nud permanent");
    at("bridge -n knet-f-node1 fdb append 0e:00:00:00:00:02 dev flannel.1 dst 192.168.56.12");
    at("ip netns exec knet-f-node1 sysctl -qw net.ipv4.ip_forward=1");
    at("ip -n knet-f-node1 link set veth1a master cni0");
    expect(r.script()).toMatch(/^#!\/bin\/sh\nset -e\nip netns add knet-f-node1\n/);
    expect(r.nsName("pod2a")).toBe("knet-f-pod2a");
    expect(() => r.nsName("nope")).toThrow(NetstackError);
  });

  it("refuses a prefix that is not knet-", () => {
    expect(() => realize(flannelTopology(), { prefix: "prod-" })).toThrow(/knet-/);
  });
});

describe("buildTopology", () => {
  it("refuses what the kernel would refuse", () => {
    const t: Topology = {
      namespaces: [{ name: "a" }, { name: "b" }],
      links: [{ kind: "veth", a: { ns: "a", name: "eth0", addresses: ["10.0.0.1/24"] }, b: { ns: "b", name: "eth0" } }],
      routes: [{ ns: "a", dst: "10.1.0.0/16", via: "10.9.0.1" }],
    };
    expect(() => buildTopology(t)).toThrow(/invalid gateway/);
    expect(() =>
      buildTopology({
        namespaces: [{ name: "a" }],
        links: [{ kind: "bridge", ns: "a", name: "this-name-is-too-long" }],
      }),
    ).toThrow(/invalid device name/);
  });

  it("random topologies build, and their routes were all accepted", () => {
    for (let seed = 100; seed < 130; seed++) {
      const { topology, destinations } = randomTopology(seed);
      const dp = buildTopology(topology);
      expect(dp.namespaces().length).toBeGreaterThanOrEqual(2);
      expect(dp.namespaces().length).toBeLessThanOrEqual(6);
      const added = dp.namespaces().flatMap((n) => n.fib.routes("main").filter((r) => r.proto === "boot"));
      expect(added.length).toBe(topology.routes?.length ?? 0);
      for (const d of destinations.values()) expect(d.length).toBeGreaterThan(20);
    }
  });
});
