/**
 * IPVS mode against the real kernel, inside throw-away namespaces (ipsets,
 * iptables rules and links are per network namespace). This kernel has no
 * IP_VS, so the IPVS table itself is checked against the kernel's algorithms in
 * schedulers.test.ts; here the artifacts around it load for real:
 * - kube-ipvs0 with the service addresses (this kernel has no dummy driver, so
 *   the test stands the link in with one end of a veth pair named kube-ipvs0;
 *   the `ip addr add` lines are the engine's),
 * - the `ipset restore` payload (all 17 sets, with their entries),
 * - the iptables-restore payload after the chains/jumps bootstrap.
 * Known exception: the `-m ipvs` match (KUBE-IPVS-OUT-FILTER rules) needs the
 * xt_ipvs module, which needs IP_VS. `iptables-restore --test` accepts the full
 * payload (with a warning); a real load is refused at that line and nowhere
 * else, so only those lines are stripped before the real load.
 */
import type { EndpointSlice, Service } from "@knet/k8s";
import { buildProxyState, type ProxyConfigInput, proxyConfig } from "@knet/kube-proxy";
import { service, slice } from "@knet/kube-proxy/contract";
import type { SetPacket } from "@knet/kube-proxy-iptables";
import { Addr } from "@knet/netstack";
import { describeKernel, Netns } from "@knet/testkit";
import { afterAll, expect, it } from "vitest";
import { IpvsEngine } from "../src/index.js";

function objects(v6: boolean): { services: Service[]; endpointSlices: EndpointSlice[] } {
  const ip = (v4: string, s6: string): string => (v6 ? s6 : v4);
  const fam = v6 ? { family: 6 as const } : {};
  return {
    services: [
      service({
        name: "dns",
        clusterIP: ip("10.96.0.10", "fd00:96::10"),
        ports: [
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 53 },
        ],
      }),
      service({
        name: "web",
        clusterIP: ip("10.96.0.20", "fd00:96::20"),
        type: "NodePort",
        affinitySeconds: 600,
        externalIPs: [ip("192.168.99.1", "fd00:99::1")],
        ports: [{ name: "p80", port: 80, nodePort: 30080 }],
      }),
      service({
        name: "lb",
        clusterIP: ip("10.96.0.30", "fd00:96::30"),
        type: "LoadBalancer",
        eTP: "Local",
        healthCheckNodePort: 32000,
        ports: [{ name: "p443", port: 443, nodePort: 30443 }],
        lbIngress: [ip("1.2.3.4", "2001:db8::4")],
        sourceRanges: [ip("203.0.113.0/24", "2001:db8:1::/48")],
      }),
      service({
        name: "sctp",
        clusterIP: ip("10.96.0.40", "fd00:96::40"),
        type: "NodePort",
        eTP: "Local",
        ports: [{ name: "s", port: 9000, protocol: "SCTP", nodePort: 30099 }],
      }),
      service({
        name: "udp-np",
        clusterIP: ip("10.96.0.50", "fd00:96::50"),
        type: "NodePort",
        ports: [{ name: "u", port: 5000, protocol: "UDP", nodePort: 30500 }],
      }),
    ],
    endpointSlices: [
      slice("dns", [{ ip: ip("10.244.1.5", "fd00:244:1::5"), node: "node-1" }], {
        ...fam,
        ports: [
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 53 },
        ],
      }),
      slice("web", [ip("10.244.2.7", "fd00:244:2::7"), { ip: ip("10.244.1.8", "fd00:244:1::8"), node: "node-1" }], fam),
      slice("lb", [{ ip: ip("10.244.1.9", "fd00:244:1::9"), node: "node-1" }], {
        ...fam,
        ports: [{ name: "p443", port: 8443 }],
      }),
      slice("sctp", [{ ip: ip("10.244.1.10", "fd00:244:1::a"), node: "node-1" }], {
        ...fam,
        ports: [{ name: "s", port: 9000, protocol: "SCTP" }],
      }),
      slice("udp-np", [ip("10.244.3.3", "fd00:244:3::3")], {
        ...fam,
        ports: [{ name: "u", port: 5000, protocol: "UDP" }],
      }),
    ],
  };
}

const namespaces: Netns[] = [];
afterAll(() => {
  for (const ns of namespaces) ns.delete();
});

/** `ipset save` as a map of set name → sorted entries (drops the create lines' options). */
function savedEntries(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const w = line.trim().split(/\s+/);
    if (w[0] === "create" && w[1]) out.set(w[1], []);
    if (w[0] === "add" && w[1] && w[2]) out.get(w[1])?.push(w[2]);
  }
  for (const v of out.values()) v.sort();
  return out;
}

describeKernel("IPVS mode artifacts in a real namespace", { commands: ["ip", "ipset", "iptables-restore"] }, () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: kube-ipvs0, ipset restore and iptables-restore load`, () => {
      const cfg: ProxyConfigInput =
        family === 4
          ? { nodeName: "node-1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.244.0.0/16" }
          : { family: 6, nodeName: "node-1", nodeIPs: ["fd00:192::2"], clusterCIDR: "fd00:244::/32" };
      const config = proxyConfig(cfg);
      const engine = new IpvsEngine({ config, now: () => 0 });
      engine.sync(buildProxyState(config, objects(family === 6)));
      const ns = Netns.create(`ipvs${family}`);
      namespaces.push(ns);

      // kube-ipvs0 with every bound address (a veth end stands in for the dummy link, see above)
      const [create, ...adds] = engine.renderDummyInterface().trim().split("\n");
      expect(create).toBe("ip link add kube-ipvs0 type dummy");
      ns.must("ip", ["link", "add", "kube-ipvs0", "type", "veth", "peer", "name", "kipvs-peer"]);
      ns.must("ip", ["link", "set", "kube-ipvs0", "up"]);
      ns.must("ip", ["link", "set", "kipvs-peer", "up"]);
      for (const line of adds) ns.must("ip", [...line.split(" ").slice(1), ...(family === 6 ? ["nodad"] : [])]);
      const shown = ns.must("ip", ["-o", `-${family}`, "addr", "show", "dev", "kube-ipvs0"]);
      for (const a of engine.dummyAddresses()) {
        expect(shown).toContain(`${a.toString()}/${family === 4 ? 32 : 128}`);
        // the virtual addresses are local to the node: what makes IPVS see the packets at LOCAL_IN
        expect(ns.must("ip", ["route", "get", a.toString()])).toMatch(/^local /);
      }

      // ipsets: the restore payload loads, and the kernel holds exactly our entries
      const sets = engine.renderIpsets();
      ns.must("ipset", ["restore"], sets);
      const kernel = savedEntries(ns.must("ipset", ["save"]));
      const ours = savedEntries(sets);
      expect(kernel.size).toBe(17);
      expect([...kernel.keys()].sort()).toEqual([...ours.keys()].sort());
      for (const [name, entries] of ours) expect(kernel.get(name), name).toEqual(entries);
      expect(ours.get(family === 4 ? "KUBE-NODE-PORT-SCTP-HASH" : "KUBE-6-NODE-PORT-SCTP-HASH")?.length).toBe(1);

      // the evaluator's membership tests (IpsetLookup) agree with `ipset test` in the kernel
      const lookup = engine.ipsets();
      const A = (t: string): Addr => Addr.parse(t);
      const v = (a: string, b: string): string => (family === 4 ? a : b);
      const probes: { set: string; flags: ("src" | "dst")[]; pkt: SetPacket; text: string }[] = [];
      const vips = [v("10.96.0.10", "fd00:96::10"), v("10.96.0.20", "fd00:96::20"), v("10.96.0.99", "fd00:96::99")];
      for (const vip of vips)
        for (const [proto, pn] of [
          ["udp", 17],
          ["tcp", 6],
        ] as const)
          for (const port of [53, 80, 81])
            probes.push({
              set: lookup.name("KUBE-CLUSTER-IP"),
              flags: ["dst", "dst"],
              pkt: { src: A(v("10.244.9.9", "fd00:244:9::9")), dst: A(vip), proto: pn, sport: 40000, dport: port },
              text: `${vip},${proto}:${port}`,
            });
      for (const port of [30080, 30443, 30500, 31000])
        probes.push({
          set: lookup.name("KUBE-NODE-PORT-TCP"),
          flags: ["dst"],
          pkt: {
            src: A(v("203.0.113.9", "2001:db8:1::9")),
            dst: A(v("192.168.0.2", "fd00:192::2")),
            proto: 6,
            sport: 1,
            dport: port,
          },
          text: String(port),
        });
      for (const src of [v("203.0.113.9", "2001:db8:1::9"), v("198.51.100.1", "2001:db8:2::1")])
        probes.push({
          set: lookup.name("KUBE-LOAD-BALANCER-SOURCE-CIDR"),
          flags: ["dst", "dst", "src"],
          pkt: { src: A(src), dst: A(v("1.2.3.4", "2001:db8::4")), proto: 6, sport: 1, dport: 443 },
          text: `${v("1.2.3.4", "2001:db8::4")},tcp:443,${src}`,
        });
      for (const [src, dst] of [
        [v("10.244.1.5", "fd00:244:1::5"), v("10.244.1.5", "fd00:244:1::5")],
        [v("10.244.2.7", "fd00:244:2::7"), v("10.244.1.5", "fd00:244:1::5")],
      ] as const)
        probes.push({
          set: lookup.name("KUBE-LOOP-BACK"),
          flags: ["dst", "dst", "src"],
          pkt: { src: A(src), dst: A(dst), proto: 17, sport: 1, dport: 53 },
          text: `${dst},udp:53,${src}`,
        });
      let hits = 0;
      for (const pr of probes) {
        const kernelHas = ns.run("ipset", ["test", pr.set, pr.text]).code === 0;
        expect(lookup.test(pr.set, pr.flags, pr.pkt), `${pr.set} ${pr.text}`).toBe(kernelHas);
        if (kernelHas) hits++;
      }
      expect(hits).toBeGreaterThanOrEqual(6);
      expect(hits).toBeLessThan(probes.length);

      const restore = family === 4 ? "iptables-restore" : "ip6tables-restore";
      const save = family === 4 ? "iptables-save" : "ip6tables-save";
      // the chains and jumps kube-proxy ensures, then the payload
      ns.must(restore, ["--noflush"], engine.renderBootstrap());
      const payload = engine.renderIptables();
      const ipvsLines = payload.split("\n").filter((l) => l.includes(" -m ipvs "));
      expect(ipvsLines).toHaveLength(1); // the LB VIP whose source range excludes the node
      // --test accepts the whole payload (iptables only warns that the ipvs extension is missing) ...
      const test = ns.run(restore, ["--noflush", "--test"], payload);
      expect(test.code, test.stderr).toBe(0);
      // ... but a real load is refused exactly at the -m ipvs line (no xt_ipvs without IP_VS)
      const real = ns.run(restore, ["--noflush"], payload);
      expect(real.code).not.toBe(0);
      const failedLine = Number(/line (\d+): RULE_APPEND failed/.exec(real.stderr)?.[1]);
      expect(payload.split("\n")[failedLine - 1]).toBe(ipvsLines[0]);
      const stripped = payload
        .split("\n")
        .filter((l) => !l.includes(" -m ipvs "))
        .join("\n");
      ns.must(restore, ["--noflush", "--test"], stripped);
      ns.must(restore, ["--noflush"], stripped);
      const dump = ns.must(save, []);
      // every rule we wrote is in the kernel (iptables-save prints -A lines; count per chain)
      const count = (text: string, chain: string): number =>
        text.split("\n").filter((l) => l.startsWith(`-A ${chain} `)).length;
      for (const chain of [
        "KUBE-SERVICES",
        "KUBE-POSTROUTING",
        "KUBE-NODE-PORT",
        "KUBE-LOAD-BALANCER",
        "KUBE-MARK-MASQ",
        "KUBE-FORWARD",
        "KUBE-PROXY-FIREWALL",
        "KUBE-SOURCE-RANGES-FIREWALL",
        "KUBE-IPVS-FILTER",
      ])
        expect(count(dump, chain), chain).toBe(count(stripped, chain));
      expect(dump).toContain("--match-set");
    });
  }
});
